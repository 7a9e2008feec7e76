package virtualmachineclassbinding

import (
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

const (
	// VirtualMachineClassBindingClassFoundCondition says whether the VirtualMachineClass named by
	// classRef.name exists. The api's Class-Found printer column reads it.
	VirtualMachineClassBindingClassFoundCondition vmopv1.ConditionType = "ClassFound"

	// VirtualMachineClassBindingClassFoundVirtualMachineClassNotFoundReason means the named class
	// does not exist, so the binding makes nothing usable until it is created. It is the reason
	// VM and cluster conditions use for the same fact.
	VirtualMachineClassBindingClassFoundVirtualMachineClassNotFoundReason = "VirtualMachineClassNotFound"
)

// classFoundCondition is the ClassFound condition of a binding naming class.
func classFoundCondition(class string, found bool) vmopv1.Condition {
	if found {
		return conditions.True(VirtualMachineClassBindingClassFoundCondition)
	}
	return conditions.False(VirtualMachineClassBindingClassFoundCondition,
		VirtualMachineClassBindingClassFoundVirtualMachineClassNotFoundReason, vmopv1.ConditionSeverityWarning,
		"VirtualMachineClass %q does not exist; this binding takes effect once it is created", class)
}
