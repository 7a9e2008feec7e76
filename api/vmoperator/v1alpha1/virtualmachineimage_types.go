package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualMachineImageProductInfo describes the software in the image.
type VirtualMachineImageProductInfo struct {
	// Product is the product name.
	// +optional
	Product string `json:"product,omitempty"`
	// Vendor is who made the product.
	// +optional
	Vendor string `json:"vendor,omitempty"`
	// Version is the short version, such as v1.20.2.
	// +optional
	Version string `json:"version,omitempty"`
	// FullVersion is the full version, such as v1.20.2+vmware.1-tkg.2.3e10706.
	// +optional
	FullVersion string `json:"fullVersion,omitempty"`
}

// VirtualMachineImageOSInfo describes the guest operating system of the image.
type VirtualMachineImageOSInfo struct {
	// Version of the operating system.
	// +optional
	Version string `json:"version,omitempty"`
	// Type is the vSphere guest id, such as vmwarePhoton64Guest.
	// +optional
	Type string `json:"type,omitempty"`
}

// OvfProperty is a property the image's OVF descriptor declares.
type OvfProperty struct {
	// Key of the property.
	Key string `json:"key"`
	// Type of the property, such as string.
	Type string `json:"type"`
	// Default value of the property.
	// +optional
	Default *string `json:"default,omitempty"`
}

// VirtualMachineImageSpec describes an image VMs deploy from.
type VirtualMachineImageSpec struct {
	// Type is the image format, such as ovf.
	Type string `json:"type"`
	// ImageSourceType is where the image comes from, such as Content Library.
	// +optional
	ImageSourceType string `json:"imageSourceType,omitempty"`
	// ProductInfo describes the software in the image.
	// +optional
	ProductInfo VirtualMachineImageProductInfo `json:"productInfo,omitempty"`
	// OSInfo describes the guest operating system.
	// +optional
	OSInfo VirtualMachineImageOSInfo `json:"osInfo,omitempty"`
	// OVFEnv are the properties the image's OVF descriptor declares.
	// +optional
	OVFEnv map[string]OvfProperty `json:"ovfEnv,omitempty"`
	// HardwareVersion is the virtual hardware version of the image.
	// +optional
	HardwareVersion int32 `json:"hwVersion,omitempty"`
}

// VirtualMachineImageStatus says where the image lives in vSphere.
type VirtualMachineImageStatus struct {
	// Uuid is the content library item id.
	// +optional
	Uuid string `json:"uuid,omitempty"`
	// InternalId is the content library item name.
	// +optional
	InternalId string `json:"internalId,omitempty"`
	// PowerState of the image's template VM, when it has one.
	// +optional
	PowerState string `json:"powerState,omitempty"`
	// ImageSupported says whether VMs can be deployed from the image.
	// +optional
	ImageSupported *bool `json:"imageSupported,omitempty"`
	// Conditions describe the image's state.
	// +optional
	Conditions Conditions `json:"conditions,omitempty"`
}

// VirtualMachineImage is an image in a vSphere content library that VirtualMachines deploy from.
// The manager keeps one per library item.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=vmimage
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.productInfo.version"
// +kubebuilder:printcolumn:name="OsType",type="string",JSONPath=".spec.osInfo.type"
// +kubebuilder:printcolumn:name="Format",type="string",JSONPath=".spec.type"
// +kubebuilder:printcolumn:name="ImageSupported",type="boolean",priority=1,JSONPath=".status.imageSupported"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type VirtualMachineImage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VirtualMachineImageSpec   `json:"spec,omitempty"`
	Status VirtualMachineImageStatus `json:"status,omitempty"`
}

// VirtualMachineImageList is a list of VirtualMachineImages.
// +kubebuilder:object:root=true
type VirtualMachineImageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualMachineImage `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualMachineImage{}, &VirtualMachineImageList{})
}
