package virtualmachinesetresourcepolicy

import (
	"fmt"
	"strings"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// statusInput is what the Ready condition is computed from, as plain values.
type statusInput struct {
	Deleting bool
	// State is what vSphere holds; nil when it was not asked or the call failed.
	State *vsphere.ResourcePolicyState
	// VSphereErr is the vSphere call that failed.
	VSphereErr error
	// Users name the VirtualMachines that still name a policy being deleted; InUseErr says VMs
	// are still in its pool or folder.
	Users    []string
	InUseErr error
}

// usersNamed is how many VirtualMachines a condition names before "and N more".
const usersNamed = 5

// readyCondition says whether the pool, folder and modules exist, or what a deletion waits for.
func readyCondition(in statusInput) vmopv1.Condition {
	switch {
	case in.VSphereErr != nil && vsphere.IsUnreachable(in.VSphereErr):
		return conditions.False(vmopv1.ReadyCondition, vmopv1.VCenterUnreachableReason, vmopv1.ConditionSeverityWarning,
			"vCenter cannot be reached; retrying with backoff: %v", in.VSphereErr)
	case in.VSphereErr != nil:
		return conditions.False(vmopv1.ReadyCondition, vmopv1.ResourcePolicyCreationFailedReason, vmopv1.ConditionSeverityError, "%v", in.VSphereErr)
	case in.Deleting && len(in.Users) > 0:
		names := strings.Join(in.Users[:min(usersNamed, len(in.Users))], ", ")
		if more := len(in.Users) - usersNamed; more > 0 {
			names += fmt.Sprintf(" and %d more", more)
		}
		return conditions.False(vmopv1.ReadyCondition, vmopv1.ResourcePolicyInUseReason, vmopv1.ConditionSeverityInfo,
			"being deleted; waiting for %d VirtualMachine(s) that name it to be deleted: %s", len(in.Users), names)
	case in.Deleting && in.InUseErr != nil:
		return conditions.False(vmopv1.ReadyCondition, vmopv1.ResourcePolicyInUseReason, vmopv1.ConditionSeverityWarning,
			"being deleted; nothing is removed while VMs are in its pool or folder in vSphere (move or delete them there): %v", in.InUseErr)
	case in.Deleting:
		return conditions.False(vmopv1.ReadyCondition, vmopv1.ResourcePolicyInUseReason, vmopv1.ConditionSeverityInfo, "being deleted")
	case in.State != nil:
		return conditions.True(vmopv1.ReadyCondition)
	}
	return conditions.Unknown(vmopv1.ReadyCondition, vmopv1.ResourcePolicyPendingReason, "not made in vSphere yet")
}
