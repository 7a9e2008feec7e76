package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VGPUDevice is an NVIDIA GRID vGPU a VM of this class gets.
type VGPUDevice struct {
	// ProfileName is the vGPU profile, such as grid_p100-8q.
	ProfileName string `json:"profileName"`
}

// DynamicDirectPathIODevice is a PCI device passed through to a VM of this class.
type DynamicDirectPathIODevice struct {
	// VendorID is the PCI vendor id of the device.
	VendorID int `json:"vendorID"`
	// DeviceID is the PCI device id of the device.
	DeviceID int `json:"deviceID"`
	// CustomLabel tells apart devices with the same vendor and device ids.
	// +optional
	CustomLabel string `json:"customLabel,omitempty"`
}

// VirtualDevices lists the devices a VM of this class gets besides CPU and memory.
type VirtualDevices struct {
	// VGPUDevices are the vGPUs attached to each VM.
	// +optional
	VGPUDevices []VGPUDevice `json:"vgpuDevices,omitempty"`
	// DynamicDirectPathIODevices are the passthrough devices attached to each VM.
	// +optional
	DynamicDirectPathIODevices []DynamicDirectPathIODevice `json:"dynamicDirectPathIODevices,omitempty"`
}

// VirtualMachineClassHardware is the virtual hardware of a VM of this class.
type VirtualMachineClassHardware struct {
	// Cpus is the number of virtual CPUs.
	// +kubebuilder:validation:Minimum=1
	// +required
	Cpus int64 `json:"cpus,omitempty"`

	// Memory is the amount of memory, such as 8Gi. It must be more than zero.
	// +required
	Memory resource.Quantity `json:"memory,omitempty"`

	// Devices are extra devices, such as vGPUs.
	// +optional
	Devices VirtualDevices `json:"devices,omitempty"`
}

// VirtualMachineResourceSpec is an amount of CPU and memory.
type VirtualMachineResourceSpec struct {
	// Cpu is CPU capacity, such as 1000m; in vSphere a reservation of cpu cores times the host's clock.
	// +optional
	Cpu resource.Quantity `json:"cpu,omitempty"`
	// Memory is memory capacity, such as 8Gi.
	// +optional
	Memory resource.Quantity `json:"memory,omitempty"`
}

// VirtualMachineClassResources are the reservations and limits of a VM of this class.
type VirtualMachineClassResources struct {
	// Requests are reserved for the VM. A guaranteed class requests all of its hardware;
	// a best-effort class requests nothing.
	// +optional
	Requests VirtualMachineResourceSpec `json:"requests,omitempty"`
	// Limits cap what the VM may use. They are never below the requests.
	// +optional
	Limits VirtualMachineResourceSpec `json:"limits,omitempty"`
}

// VirtualMachineClassPolicies are the vSphere resource policies of a VM of this class.
type VirtualMachineClassPolicies struct {
	// Resources are the reservations and limits.
	// +optional
	Resources VirtualMachineClassResources `json:"resources,omitempty"`
}

// VirtualMachineClassSpec is the size and policy of a class of VMs.
type VirtualMachineClassSpec struct {
	// Hardware is the virtual hardware each VM of the class gets.
	// +required
	Hardware VirtualMachineClassHardware `json:"hardware"`

	// Policies are the resource reservations and limits of each VM of the class.
	// +optional
	Policies VirtualMachineClassPolicies `json:"policies,omitempty"`
}

// VirtualMachineClassStatus says where the class is bound.
type VirtualMachineClassStatus struct {
	// Namespaces lists, sorted, the namespaces where a VirtualMachineClassBinding names this class.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// Conditions describe the class's state.
	// +optional
	Conditions Conditions `json:"conditions,omitempty"`
}

// VirtualMachineClass is the size of a VM (CPU, memory, devices) and whether vSphere reserves it
// (guaranteed) or not (best-effort). A class is visible in every namespace, but usable only in
// namespaces where a VirtualMachineClassBinding names it.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=vmclass
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="CPU",type="string",JSONPath=".spec.hardware.cpus"
// +kubebuilder:printcolumn:name="Memory",type="string",JSONPath=".spec.hardware.memory"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="VGPUDevicesProfileNames",type="string",priority=1,JSONPath=".spec.hardware.devices.vgpuDevices[*].profileName"
// +kubebuilder:printcolumn:name="PassthroughDeviceIDs",type="string",priority=1,JSONPath=".spec.hardware.devices.dynamicDirectPathIODevices[*].deviceID"
// +kubebuilder:printcolumn:name="Reserved-CPU",type="string",priority=1,JSONPath=".spec.policies.resources.requests.cpu"
// +kubebuilder:printcolumn:name="Reserved-Memory",type="string",priority=1,JSONPath=".spec.policies.resources.requests.memory"
// +kubebuilder:printcolumn:name="Bound-In",type="string",priority=1,JSONPath=".status.namespaces"
type VirtualMachineClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VirtualMachineClassSpec   `json:"spec,omitempty"`
	Status VirtualMachineClassStatus `json:"status,omitempty"`
}

// VirtualMachineClassList is a list of VirtualMachineClasses.
// +kubebuilder:object:root=true
type VirtualMachineClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualMachineClass `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualMachineClass{}, &VirtualMachineClassList{})
}
