package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualMachineServiceType says how a VirtualMachineService is reached: the subset of core
// Service types that make sense for VMs.
// +kubebuilder:validation:Enum=ClusterIP;LoadBalancer;ExternalName
type VirtualMachineServiceType string

const (
	// VirtualMachineServiceTypeClusterIP is reachable inside the cluster at its cluster IP.
	VirtualMachineServiceTypeClusterIP VirtualMachineServiceType = "ClusterIP"
	// VirtualMachineServiceTypeLoadBalancer is also reachable at the address the platform's load
	// balancer gives it (status.loadBalancer).
	VirtualMachineServiceTypeLoadBalancer VirtualMachineServiceType = "LoadBalancer"
	// VirtualMachineServiceTypeExternalName is a DNS alias (CNAME) for externalName; no VM backs it.
	VirtualMachineServiceTypeExternalName VirtualMachineServiceType = "ExternalName"
)

// VirtualMachineServicePort is one port of the service and the VM port it forwards to.
type VirtualMachineServicePort struct {
	// Name of the port, a DNS label; required and unique when the service has more than one port.
	Name string `json:"name"`

	// Protocol of the port: TCP (the default when empty), UDP or SCTP.
	Protocol string `json:"protocol"`

	// Port the service listens on, 1-65535.
	Port int32 `json:"port"`

	// TargetPort is the port the VMs listen on, 1-65535; 0 means the same as port.
	TargetPort int32 `json:"targetPort"`
}

// LoadBalancerStatus is what the load balancer in front of the service reports.
type LoadBalancerStatus struct {
	// Ingress are the addresses at which the load balancer receives the service's traffic.
	// +optional
	Ingress []LoadBalancerIngress `json:"ingress,omitempty"`
}

// LoadBalancerIngress is one address of the load balancer: an IP, a host name, or both.
type LoadBalancerIngress struct {
	// IP address of the load balancer.
	// +optional
	IP string `json:"ip,omitempty"`

	// Hostname of the load balancer, for those that are reached by DNS name.
	// +optional
	Hostname string `json:"hostname,omitempty"`
}

// VirtualMachineServiceSpec is the network service a user wants in front of a set of VMs.
type VirtualMachineServiceSpec struct {
	// Type is ClusterIP, LoadBalancer or ExternalName.
	// +required
	Type VirtualMachineServiceType `json:"type"`

	// Ports the service exposes; each forwards to its targetPort on the selected VMs.
	// +optional
	Ports []VirtualMachineServicePort `json:"ports,omitempty"`

	// Selector picks the VirtualMachines of the service's namespace that back it, by their
	// labels. Required for ClusterIP and LoadBalancer; refused for ExternalName. Only VMs that are
	// powered on, have an address and are Ready (their readiness probe passes, when they have
	// one) receive traffic.
	// +optional
	Selector map[string]string `json:"selector,omitempty"`

	// LoadBalancerIP asks the load balancer for a given address. Refused in this release: the
	// load balancer picks the address.
	// +optional
	LoadBalancerIP string `json:"loadBalancerIP,omitempty"`

	// LoadBalancerSourceRanges would restrict which client CIDRs the load balancer admits.
	// Refused in this release: the load balancer admits every client.
	// +optional
	LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges,omitempty"`

	// ClusterIP is the service's address inside the cluster: empty to have one allocated, an
	// address of the service range to ask for it, or "None" for a headless ClusterIP service.
	// Fixed once set. Not allowed for ExternalName.
	// +optional
	ClusterIP string `json:"clusterIp,omitempty"`

	// ExternalName is the DNS name an ExternalName service is an alias for; required for that type
	// and refused for the others.
	// +optional
	ExternalName string `json:"externalName,omitempty"`
}

// VirtualMachineServiceStatus is the service as it is.
type VirtualMachineServiceStatus struct {
	// LoadBalancer is what the load balancer of a LoadBalancer service reports, copied from the
	// Service that backs it.
	// +optional
	LoadBalancer LoadBalancerStatus `json:"loadBalancer,omitempty"`

	// ClusterIP is the address the cluster allocated to the service (its Service's clusterIP);
	// empty for ExternalName.
	// +optional
	ClusterIP string `json:"clusterIp,omitempty"`

	// Conditions: ServiceReady says whether the Service that backs it is as the spec says (and,
	// for LoadBalancer, has an address); EndpointsReady whether any VM receives its traffic.
	// +optional
	Conditions Conditions `json:"conditions,omitempty"`

	// ObservedGeneration is the generation the status was last computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// VirtualMachineService exposes a network service provided by the VirtualMachines its selector
// picks, as a Service does for Pods. It is backed by a core Service of the same name, without a
// pod selector, and by EndpointSlices listing the selected VMs that are ready.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=vmservice
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Type",type="string",JSONPath=".spec.type"
// +kubebuilder:printcolumn:name="Cluster-IP",type="string",JSONPath=".status.clusterIp"
// +kubebuilder:printcolumn:name="External-IP",type="string",JSONPath=".status.loadBalancer.ingress[*].ip"
// +kubebuilder:printcolumn:name="Ports",type="string",JSONPath=".spec.ports[*].port"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type VirtualMachineService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VirtualMachineServiceSpec   `json:"spec,omitempty"`
	Status VirtualMachineServiceStatus `json:"status,omitempty"`
}

// VirtualMachineServiceList is a list of VirtualMachineServices.
// +kubebuilder:object:root=true
type VirtualMachineServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualMachineService `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualMachineService{}, &VirtualMachineServiceList{})
}
