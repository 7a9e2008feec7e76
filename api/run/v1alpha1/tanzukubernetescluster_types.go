package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// Volume is an extra disk mounted on every node of a pool.
type Volume struct {
	// Name of the volume, unique within the pool.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// MountPath is where the volume is mounted in the node.
	// +kubebuilder:validation:MinLength=1
	MountPath string `json:"mountPath"`
	// Capacity of the volume, such as storage: 20Gi.
	Capacity corev1.ResourceList `json:"capacity"`
	// StorageClass of the volume; the pool's storage class when empty.
	// +optional
	StorageClass string `json:"storageClass,omitempty"`
}

// TopologySettings describe one pool of nodes.
type TopologySettings struct {
	// Count is the number of nodes. The control plane has 1 or 3; workers 0 or more.
	// +kubebuilder:validation:Minimum=0
	Count int32 `json:"count"`

	// Class names the VirtualMachineClass of the pool's nodes. It must be bound in the cluster's
	// namespace.
	// +kubebuilder:validation:MinLength=1
	Class string `json:"class"`

	// StorageClass names the storage class for the nodes' disks; it must be assigned to the
	// cluster's namespace.
	// +kubebuilder:validation:MinLength=1
	StorageClass string `json:"storageClass"`

	// Volumes are extra disks on every node of the pool.
	// +optional
	Volumes []Volume `json:"volumes,omitempty"`
}

// Topology is the control plane and worker pools.
type Topology struct {
	// ControlPlane is the pool of control plane nodes.
	ControlPlane TopologySettings `json:"controlPlane"`
	// Workers is the pool of worker nodes.
	Workers TopologySettings `json:"workers"`
}

// Distribution is the Kubernetes release the cluster runs.
type Distribution struct {
	// Version is a hint, such as v1.20 or v1.20.2, matched as a prefix of the release versions;
	// the newest matching TanzuKubernetesRelease is chosen.
	// +optional
	Version string `json:"version,omitempty"`

	// FullVersion is the resolved release, such as v1.20.2+vmware.1-tkg.2.3e10706. It is filled in
	// from Version when empty and must agree with Version when both are given.
	// +optional
	FullVersion string `json:"fullVersion,omitempty"`
}

// NetworkRanges is a list of CIDR blocks.
type NetworkRanges struct {
	// CIDRBlocks are the ranges, such as 192.168.0.0/16.
	// +optional
	CIDRBlocks []string `json:"cidrBlocks,omitempty"`
}

// CNIConfiguration names the cluster's CNI plugin.
type CNIConfiguration struct {
	// Name of the CNI plugin, such as antrea or calico.
	Name string `json:"name"`
}

// ProxyConfiguration is the HTTP proxy the nodes use.
type ProxyConfiguration struct {
	// HttpProxy is the proxy for HTTP traffic.
	// +optional
	HttpProxy string `json:"httpProxy,omitempty"`
	// HttpsProxy is the proxy for HTTPS traffic.
	// +optional
	HttpsProxy string `json:"httpsProxy,omitempty"`
	// NoProxy lists hosts and ranges reached directly.
	// +optional
	NoProxy []string `json:"noProxy,omitempty"`
}

// Network is the cluster's network settings.
type Network struct {
	// CNI names the CNI plugin.
	// +optional
	CNI *CNIConfiguration `json:"cni,omitempty"`
	// Services are the Service IP ranges.
	// +optional
	Services *NetworkRanges `json:"services,omitempty"`
	// Pods are the Pod IP ranges.
	// +optional
	Pods *NetworkRanges `json:"pods,omitempty"`
	// ServiceDomain is the cluster DNS domain, such as cluster.local.
	// +optional
	ServiceDomain string `json:"serviceDomain,omitempty"`
	// Proxy is the HTTP proxy the nodes use.
	// +optional
	Proxy *ProxyConfiguration `json:"proxy,omitempty"`
}

// StorageClasses configures the storage classes inside the cluster.
type StorageClasses struct {
	// Classes are the storage classes made available in the cluster.
	// +optional
	Classes []string `json:"classes,omitempty"`
	// DefaultClass is the cluster's default storage class.
	// +optional
	DefaultClass string `json:"defaultClass,omitempty"`
}

// Settings are the cluster's network and storage settings; stored and validated.
type Settings struct {
	// Network settings.
	// +optional
	Network *Network `json:"network,omitempty"`
	// Storage settings.
	// +optional
	Storage *StorageClasses `json:"storage,omitempty"`
}

// TanzuKubernetesClusterSpec is the cluster a user wants.
type TanzuKubernetesClusterSpec struct {
	// Topology is the control plane and worker pools.
	Topology Topology `json:"topology"`
	// Distribution is the Kubernetes release to run.
	Distribution Distribution `json:"distribution"`
	// Settings are network and storage settings.
	// +optional
	Settings *Settings `json:"settings,omitempty"`
}

// TanzuKubernetesClusterPhase is where a cluster is in its life.
// +kubebuilder:validation:Enum=creating;running;updating;failed;deleting
type TanzuKubernetesClusterPhase string

const (
	// PhaseCreating means nodes are being made.
	PhaseCreating TanzuKubernetesClusterPhase = "creating"
	// PhaseRunning means every node is healthy.
	PhaseRunning TanzuKubernetesClusterPhase = "running"
	// PhaseUpdating means the cluster is being scaled or changed.
	PhaseUpdating TanzuKubernetesClusterPhase = "updating"
	// PhaseFailed means a node cannot be made until someone acts; the condition says why.
	PhaseFailed TanzuKubernetesClusterPhase = "failed"
	// PhaseDeleting means the cluster and its VMs are being removed.
	PhaseDeleting TanzuKubernetesClusterPhase = "deleting"
)

// NodeState is the state of one node or its VM.
type NodeState string

const (
	// NodeStatePending means the node is not ready yet.
	NodeStatePending NodeState = "pending"
	// NodeStateReady means the node is ready.
	NodeStateReady NodeState = "ready"
	// NodeStateError means the node failed.
	NodeStateError NodeState = "error"
)

// APIEndpoint is where a cluster's Kubernetes API is served.
type APIEndpoint struct {
	// Host is the endpoint's IP address or DNS name.
	Host string `json:"host"`
	// Port is the endpoint's port.
	Port int `json:"port"`
}

// TanzuKubernetesClusterStatus is the cluster as it is.
type TanzuKubernetesClusterStatus struct {
	// APIEndpoints are where the cluster's API is served: the address the load balancer gave the
	// control plane's VirtualMachineService, port 6443. Empty until it has one.
	// +optional
	APIEndpoints []APIEndpoint `json:"apiEndpoints,omitempty"`

	// Phase is creating, running, updating, failed or deleting.
	// +optional
	Phase TanzuKubernetesClusterPhase `json:"phase,omitempty"`

	// Conditions describe the cluster: ControlPlaneReady, NodesHealthy,
	// TanzuKubernetesReleaseCompatible, UpdatesAvailable and Ready.
	// +optional
	Conditions vmopv1.Conditions `json:"conditions,omitempty"`

	// NodeStatus is each node's state, keyed by machine name.
	// +optional
	NodeStatus map[string]NodeState `json:"nodeStatus,omitempty"`

	// VMStatus is each node VM's state, keyed by machine name.
	// +optional
	VMStatus map[string]NodeState `json:"vmStatus,omitempty"`

	// Version is the Kubernetes version the cluster runs.
	// +optional
	Version string `json:"version,omitempty"`

	// ObservedGeneration is the generation of the spec last reconciled without error.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// TanzuKubernetesCluster is a Kubernetes cluster whose nodes are VirtualMachines in the cluster's
// namespace, sized by VM classes bound there.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=tkc
// +kubebuilder:subresource:status
// +kubebuilder:selectablefield:JSONPath=".spec.topology.controlPlane.class"
// +kubebuilder:selectablefield:JSONPath=".spec.topology.workers.class"
// +kubebuilder:printcolumn:name="Control Plane",type="integer",JSONPath=".spec.topology.controlPlane.count"
// +kubebuilder:printcolumn:name="Worker",type="integer",JSONPath=".spec.topology.workers.count"
// +kubebuilder:printcolumn:name="Distribution",type="string",JSONPath=".spec.distribution.fullVersion"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="TKR Compatible",type="string",JSONPath=".status.conditions[?(@.type==\"TanzuKubernetesReleaseCompatible\")].status"
// +kubebuilder:printcolumn:name="Updates Available",type="string",JSONPath=".status.conditions[?(@.type==\"UpdatesAvailable\")].message"
// +kubebuilder:printcolumn:name="Version",type="string",priority=1,JSONPath=".status.version"
type TanzuKubernetesCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TanzuKubernetesClusterSpec   `json:"spec,omitempty"`
	Status TanzuKubernetesClusterStatus `json:"status,omitempty"`
}

// TanzuKubernetesClusterList is a list of TanzuKubernetesClusters.
// +kubebuilder:object:root=true
type TanzuKubernetesClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TanzuKubernetesCluster `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TanzuKubernetesCluster{}, &TanzuKubernetesClusterList{})
}
