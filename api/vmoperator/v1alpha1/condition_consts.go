package v1alpha1

// Conditions and reasons of VirtualMachines, named as in the public vm-operator v1alpha1 API so
// clients written against it find them here.
const (
	// VirtualMachinePrereqReadyCondition says whether the VM's class exists, is bound in the VM's
	// namespace, and its image exists.
	VirtualMachinePrereqReadyCondition ConditionType = "VirtualMachinePrereqReady"

	// VirtualMachineClassNotFoundReason (VirtualMachinePrereqReady False): no
	// VirtualMachineClass has the VM's className.
	VirtualMachineClassNotFoundReason = "VirtualMachineClassNotFound"
	// VirtualMachineClassBindingNotFoundReason (VirtualMachinePrereqReady False): the class is not
	// bound in the VM's namespace.
	VirtualMachineClassBindingNotFoundReason = "VirtualMachineClassBindingNotFound"
	// VirtualMachineImageNotFoundReason (VirtualMachinePrereqReady False): no VirtualMachineImage
	// (or content library item) has the VM's imageName.
	VirtualMachineImageNotFoundReason = "VirtualMachineImageNotFound"
)
