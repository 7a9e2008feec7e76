// Package v1alpha1 holds the vmoperator.vmware.com/v1alpha1 API: VM classes, the bindings that
// make a class usable in a namespace, VirtualMachines and VirtualMachineImages. Field names and
// JSON shapes follow the public vm-operator v1alpha1 API; fields this product adds are new names.
// +kubebuilder:object:generate=true
// +groupName=vmoperator.vmware.com
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// GroupName is the API group, also the prefix of the label and annotation keys the product owns.
const GroupName = "vmoperator.vmware.com"

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

	// SchemeBuilder registers this package's types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this package's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
