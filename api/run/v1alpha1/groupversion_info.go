// Package v1alpha1 holds the run.tanzu.vmware.com/v1alpha1 API: TanzuKubernetesClusters, which
// expand into VirtualMachines sized by bound VM classes, and the TanzuKubernetesReleases they run.
// +kubebuilder:object:generate=true
// +groupName=run.tanzu.vmware.com
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// GroupName is the API group, also the prefix of the label and annotation keys the product owns.
const GroupName = "run.tanzu.vmware.com"

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

	// SchemeBuilder registers this package's types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this package's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
