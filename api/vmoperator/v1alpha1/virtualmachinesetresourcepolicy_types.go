package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ResourcePoolSpec is the child resource pool, under the namespace's pool, that the policy's VMs
// are placed in.
type ResourcePoolSpec struct {
	// Name of the child resource pool under the namespace's pool. Required; fixed once set. No two
	// policies of a namespace may name the same pool.
	// +kubebuilder:validation:MaxLength=80
	// +optional
	Name string `json:"name,omitempty"`

	// Reservations are guaranteed to the pool's VMs together. cpu is in cores (such as 2 or
	// 500m), reserved as that many cores at the clock of the supervisor cluster's slowest host,
	// in MHz; memory is rounded up to whole MiB. Unset reserves nothing. Each must not exceed its
	// limit.
	// +optional
	Reservations VirtualMachineResourceSpec `json:"reservations,omitempty"`

	// Limits cap what the pool's VMs may use together, in the same units as the reservations.
	// Unset is unlimited.
	// +optional
	Limits VirtualMachineResourceSpec `json:"limits,omitempty"`
}

// FolderSpec is the child VM folder, under the namespace's folder, that the policy's VMs are
// placed in.
type FolderSpec struct {
	// Name of the child folder under the namespace's VM folder. Required; fixed once set. No two
	// policies of a namespace may name the same folder.
	// +kubebuilder:validation:MaxLength=80
	// +optional
	Name string `json:"name,omitempty"`
}

// ClusterModuleSpec asks for one vSphere cluster module: VMs in the same module are kept on
// different hosts by DRS (anti-affinity), as for a cluster's control plane.
type ClusterModuleSpec struct {
	// GroupName names the module within the policy. A VM joins it with the annotation
	// vsphere-cluster-module-group set to this name.
	GroupName string `json:"groupname"`
}

// VirtualMachineSetResourcePolicySpec is where a set of VMs goes in vSphere.
type VirtualMachineSetResourcePolicySpec struct {
	// ResourcePool is the child resource pool made for the policy.
	// +optional
	ResourcePool ResourcePoolSpec `json:"resourcepool,omitempty"`
	// Folder is the child VM folder made for the policy.
	// +optional
	Folder FolderSpec `json:"folder,omitempty"`
	// ClusterModules are the cluster modules made for the policy, one per group name.
	// +optional
	ClusterModules []ClusterModuleSpec `json:"clustermodules,omitempty"`
}

// ClusterModuleStatus is the vSphere cluster module made for a group.
type ClusterModuleStatus struct {
	// GroupName is the group of spec.clustermodules.
	GroupName string `json:"groupname"`
	// ModuleUuid is the module's id in vCenter.
	ModuleUuid string `json:"moduleUUID"`
}

// VirtualMachineSetResourcePolicyStatus is what exists in vSphere for the policy.
type VirtualMachineSetResourcePolicyStatus struct {
	// ClusterModules are the cluster modules that exist, one per group.
	// +optional
	ClusterModules []ClusterModuleStatus `json:"clustermodules,omitempty"`

	// Conditions say whether the pool, folder and modules exist (Ready) and, while the policy is
	// deleted, what it waits for.
	// +optional
	Conditions Conditions `json:"conditions,omitempty"`

	// ObservedGeneration is the generation the status was last computed from without error.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// VirtualMachineSetResourcePolicy groups VMs of a namespace in vSphere: a child resource pool
// with its own reservations and limits, a child VM folder, and cluster modules. A VM names it in
// spec.resourcePolicyName.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",priority=1,JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
type VirtualMachineSetResourcePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VirtualMachineSetResourcePolicySpec   `json:"spec,omitempty"`
	Status VirtualMachineSetResourcePolicyStatus `json:"status,omitempty"`
}

// ModuleUUID is the id of the cluster module made for group; empty when there is none yet.
func (p *VirtualMachineSetResourcePolicy) ModuleUUID(group string) string {
	for _, m := range p.Status.ClusterModules {
		if m.GroupName == group {
			return m.ModuleUuid
		}
	}
	return ""
}

// VirtualMachineSetResourcePolicyList is a list of VirtualMachineSetResourcePolicies.
// +kubebuilder:object:root=true
type VirtualMachineSetResourcePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualMachineSetResourcePolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualMachineSetResourcePolicy{}, &VirtualMachineSetResourcePolicyList{})
}
