package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualMachineClassKind is the only kind a binding's classRef may name.
const VirtualMachineClassKind = "VirtualMachineClass"

// ClassReference names the VirtualMachineClass a binding makes usable.
type ClassReference struct {
	// APIVersion of the class, vmoperator.vmware.com/v1alpha1.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the class; only VirtualMachineClass is allowed, and it is the default.
	// +kubebuilder:validation:Enum=VirtualMachineClass;""
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name of the VirtualMachineClass. This, not the binding's own name, is what the binding binds.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
}

// VirtualMachineClassBindingStatus says whether the bound class exists.
type VirtualMachineClassBindingStatus struct {
	// Conditions describe the binding's state; ClassFound says whether the class exists.
	// +optional
	Conditions Conditions `json:"conditions,omitempty"`
}

// VirtualMachineClassBinding makes a VirtualMachineClass usable in the binding's namespace.
// Only platform admins create them; namespace users may read them.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=vmclassbinding
// +kubebuilder:subresource:status
// +kubebuilder:selectablefield:JSONPath=".classRef.name"
// +kubebuilder:printcolumn:name="VirtualMachineClass",type="string",JSONPath=".classRef.name"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Class-Found",type="string",priority=1,JSONPath=".status.conditions[?(@.type==\"ClassFound\")].status"
type VirtualMachineClassBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// ClassRef names the class made usable in this namespace.
	// +required
	ClassRef ClassReference `json:"classRef"`

	Status VirtualMachineClassBindingStatus `json:"status,omitempty"`
}

// VirtualMachineClassBindingList is a list of VirtualMachineClassBindings.
// +kubebuilder:object:root=true
type VirtualMachineClassBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualMachineClassBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualMachineClassBinding{}, &VirtualMachineClassBindingList{})
}
