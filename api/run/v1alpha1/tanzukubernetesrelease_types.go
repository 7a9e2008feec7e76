package v1alpha1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// TanzuKubernetesReleaseSpec describes one Kubernetes release clusters can run.
type TanzuKubernetesReleaseSpec struct {
	// Version is the full release version, such as v1.20.2+vmware.1-tkg.2.3e10706.
	// +kubebuilder:validation:MinLength=1
	Version string `json:"version"`

	// KubernetesVersion is the upstream Kubernetes version, such as v1.20.2.
	// +kubebuilder:validation:MinLength=1
	KubernetesVersion string `json:"kubernetesVersion"`

	// Repository is where the release's container images come from.
	// +optional
	Repository string `json:"repository,omitempty"`

	// NodeImageName names the VirtualMachineImage the cluster's nodes boot from.
	// +kubebuilder:validation:MinLength=1
	NodeImageName string `json:"nodeImageName"`
}

// TanzuKubernetesReleaseStatus says whether the release can be used and what updates it has.
type TanzuKubernetesReleaseStatus struct {
	// Conditions: Compatible, and UpdatesAvailable whose message lists newer patch releases.
	// +optional
	Conditions vmopv1.Conditions `json:"conditions,omitempty"`
}

// TanzuKubernetesRelease is a Kubernetes release TanzuKubernetesClusters can run. Its name is its
// version with "+" written as "---", since "+" cannot appear in a name.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=tkr
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version"
// +kubebuilder:printcolumn:name="Compatible",type="string",JSONPath=".status.conditions[?(@.type==\"Compatible\")].status"
// +kubebuilder:printcolumn:name="Updates Available",type="string",JSONPath=".status.conditions[?(@.type==\"UpdatesAvailable\")].message"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type TanzuKubernetesRelease struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TanzuKubernetesReleaseSpec   `json:"spec,omitempty"`
	Status TanzuKubernetesReleaseStatus `json:"status,omitempty"`
}

// TanzuKubernetesReleaseList is a list of TanzuKubernetesReleases.
// +kubebuilder:object:root=true
type TanzuKubernetesReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TanzuKubernetesRelease `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TanzuKubernetesRelease{}, &TanzuKubernetesReleaseList{})
}

// ReleaseName is the object name of the release with the given version: "+" is not allowed in
// names, so it is written "---" (v1.20.2+vmware.1 becomes v1.20.2---vmware.1).
func ReleaseName(version string) string {
	return strings.ReplaceAll(version, "+", "---")
}
