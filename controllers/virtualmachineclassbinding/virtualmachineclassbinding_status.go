package virtualmachineclassbinding

import (
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// classFoundCondition is the ClassFound condition of a binding naming class.
func classFoundCondition(class string, found bool) vmopv1.Condition {
	if found {
		return conditions.True(vmopv1.ClassFoundCondition)
	}
	return conditions.False(vmopv1.ClassFoundCondition,
		vmopv1.VirtualMachineClassNotFoundReason, vmopv1.ConditionSeverityWarning,
		"VirtualMachineClass %q does not exist; this binding takes effect once it is created", class)
}
