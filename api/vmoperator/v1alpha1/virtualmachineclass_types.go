package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VGPUDevice is an NVIDIA GRID vGPU a VM of this class gets.
type VGPUDevice struct {
	// ProfileName is the vGPU profile, such as grid_p100-8q, as the hosts' GPUs offer it.
	// +kubebuilder:validation:MinLength=1
	ProfileName string `json:"profileName"`
}

// DynamicDirectPathIODevice is a host PCI device passed through to a VM of this class; vSphere
// picks, at power on, a free host device with these ids (and label).
type DynamicDirectPathIODevice struct {
	// VendorID is the PCI vendor id of the device, 1 to 65535 (0xFFFF); PCI ids are 16 bits.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	VendorID int `json:"vendorID"`
	// DeviceID is the PCI device id of the device, 1 to 65535 (0xFFFF).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	DeviceID int `json:"deviceID"`
	// CustomLabel, when set, is the label an administrator gave the host devices, which tells
	// apart devices with the same vendor and device ids: only a device with that label is used.
	// +optional
	CustomLabel string `json:"customLabel,omitempty"`
}

// VirtualDevices lists the PCI devices a VM of this class gets besides CPU and memory; see
// VirtualMachineClassHardware.Devices for what they imply.
type VirtualDevices struct {
	// VGPUDevices are the vGPUs attached to each VM, one per entry.
	// +optional
	VGPUDevices []VGPUDevice `json:"vgpuDevices,omitempty"`
	// DynamicDirectPathIODevices are the passthrough devices attached to each VM, one per entry.
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

	// Devices are the vGPUs and passthrough PCI devices each VM of the class gets, added when
	// the VM is made. vSphere powers such a VM on only when all of its memory is reserved, so a
	// VM of a class with any device has all of its memory reserved, whatever the class requests,
	// and a memory limit below it is refused.
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
	// a best-effort class requests nothing. A class with devices reserves all of its memory
	// whatever it requests.
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
