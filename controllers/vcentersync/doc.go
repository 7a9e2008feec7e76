// Package vcentersync owns the mirror of vCenter's namespace-management API into Kubernetes, as
// in vSphere 7.0U2a: each vCenter namespace becomes a Namespace, each VM class assigned to at
// least one namespace becomes a cluster-scoped VirtualMachineClass, and each assignment becomes a
// VirtualMachineClassBinding named after the class in that namespace. Each storage policy
// assigned to a namespace becomes a StorageClass named after the policy and an entry of the
// namespace's storage ResourceQuota, as vSphere with Tanzu shows them.
//
// The Syncer is a manager.Runnable that polls vCenter every interval. It labels everything it
// creates with VCenterSyncLabel and only updates or deletes objects carrying that label, so objects
// admins make with kubectl are never touched, even when they are named like a vCenter class.
// Only a complete, successful read of vCenter may delete anything: when vCenter cannot be
// reached or a listing fails, the sync deletes nothing and retries at the next interval. Even a
// complete read never deletes a class VirtualMachines still use, nor a Namespace that still
// holds VirtualMachines or TanzuKubernetesClusters: those wait until they are unused.
//
// The package holds no vCenter session code. It reads vCenter through the small
// InventoryReader interface, implemented by internal/vsphere/namespaces (which owns the REST
// session, logging in again when vCenter drops it, and the Connection that never logs its
// password); this package maps what it reads to Kubernetes objects and writes them.
package vcentersync

// The sync creates Namespaces for vCenter namespaces and deletes the ones it created.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;delete

// The sync mirrors vCenter VM classes and their assignments.
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclasses,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclassbindings,verbs=get;list;watch;create;update;delete

// The sync keeps a class while VirtualMachines use it and a Namespace while it holds
// VirtualMachines or TanzuKubernetesClusters, and records a Warning event on a Namespace it keeps.
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachines,verbs=get;list;watch
// +kubebuilder:rbac:groups=run.tanzu.vmware.com,resources=tanzukubernetesclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// The sync mirrors storage policies assigned to namespaces as StorageClasses and storage quotas.
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas,verbs=get;list;watch;create;update;delete
