package virtualmachineclass

import (
	"slices"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// namespacesOf returns the namespaces of the bindings, sorted and without repeats (a namespace
// may hold several bindings of one class); nil when there are none.
func namespacesOf(bindings []*vmopv1.VirtualMachineClassBinding) []string {
	var namespaces []string
	for _, b := range bindings {
		namespaces = append(namespaces, b.Namespace)
	}
	slices.Sort(namespaces)
	return slices.Compact(namespaces)
}

// boundCondition is the Bound condition of class, given the namespaces where it is bound.
func boundCondition(class string, namespaces []string) vmopv1.Condition {
	if len(namespaces) > 0 {
		return conditions.True(vmopv1.BoundCondition)
	}
	return conditions.False(vmopv1.BoundCondition, vmopv1.NotBoundReason, vmopv1.ConditionSeverityInfo,
		"VirtualMachineClass %q is not bound in any namespace; a VirtualMachineClassBinding naming it makes it usable in the binding's namespace", class)
}
