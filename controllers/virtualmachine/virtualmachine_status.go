package virtualmachine

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/vsphere"
)

const (
	// VirtualMachineProvisionedCondition says whether the VM exists in vSphere as the spec says.
	VirtualMachineProvisionedCondition vmopv1.ConditionType = "VirtualMachineProvisioned"
	// VirtualMachineWaitingForPrereqsReason: nothing is made in vSphere until the prerequisites hold.
	VirtualMachineWaitingForPrereqsReason = "WaitingForPrereqs"
	// VirtualMachineDeployingReason: the deploy has started and may have reached vSphere.
	VirtualMachineDeployingReason = "Deploying"
	// VirtualMachineVCenterUnreachableReason: vCenter could not be reached; the controller retries.
	VirtualMachineVCenterUnreachableReason = "VCenterUnreachable"
	// VirtualMachineProvisioningFailedReason: vCenter refused an operation.
	VirtualMachineProvisioningFailedReason = "ProvisioningFailed"

	// VirtualMachineClassInSyncCondition says whether the class still has the spec the VM was
	// made with. The VM is never resized to follow a class edit; this condition tells users.
	VirtualMachineClassInSyncCondition vmopv1.ConditionType = "VirtualMachineClassInSync"
	// VirtualMachineClassChangedReason: the class was edited after the VM was made.
	VirtualMachineClassChangedReason = "VirtualMachineClassChanged"
)

// prereqCondition states the class decision and the image check. For a VM that already exists
// in vSphere, a lost class or binding is a Warning: the VM keeps running, unchanged.
func prereqCondition(d classaccess.Decision, image string, imageFound, created bool) vmopv1.Condition {
	switch {
	case !d.Usable() && created:
		return conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, d.Reason(), vmopv1.ConditionSeverityWarning,
			"%s; the existing VM keeps running unchanged, but no new VM of this class can be made here", d.Message())
	case !d.Usable():
		return conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, d.Reason(), vmopv1.ConditionSeverityError, "%s", d.Message())
	case !imageFound && !created:
		return imageMissing(image)
	}
	return conditions.True(vmopv1.VirtualMachinePrereqReadyCondition)
}

func imageMissing(image string) vmopv1.Condition {
	return conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, vmopv1.VirtualMachineImageNotFoundReason, vmopv1.ConditionSeverityError,
		"VirtualMachineImage %q not found; the VM is created once it appears (kubectl get virtualmachineimages lists the images)", image)
}

// provisionError states a failed vSphere call.
func provisionError(err error) vmopv1.Condition {
	if vsphere.IsUnreachable(err) {
		return conditions.False(VirtualMachineProvisionedCondition, VirtualMachineVCenterUnreachableReason, vmopv1.ConditionSeverityWarning,
			"vCenter cannot be reached; retrying with backoff, nothing is deleted meanwhile: %v", err)
	}
	return conditions.False(VirtualMachineProvisionedCondition, VirtualMachineProvisioningFailedReason, vmopv1.ConditionSeverityError, "%v", err)
}

// classInSync compares the class as it is now with the class as applied.
func classInSync(class *vmopv1.VirtualMachineClass, applied *vmopv1.AppliedClass) vmopv1.Condition {
	if class == nil || applied == nil || equality.Semantic.DeepEqual(class.Spec, applied.Spec) {
		return conditions.True(VirtualMachineClassInSyncCondition)
	}
	return conditions.False(VirtualMachineClassInSyncCondition, VirtualMachineClassChangedReason, vmopv1.ConditionSeverityInfo,
		"VirtualMachineClass %q changed after this VM was made (generation %d, now %d); the VM keeps %s",
		class.Name, applied.Generation, class.Generation, describe(applied.Spec))
}

func describe(spec vmopv1.VirtualMachineClassSpec) string {
	return fmt.Sprintf("%d CPUs and %s of memory", spec.Hardware.Cpus, spec.Hardware.Memory.String())
}

// applyState copies what vSphere reports into status.
func applyState(status *vmopv1.VirtualMachineStatus, s vsphere.VMState) {
	status.UniqueID, status.BiosUUID, status.InstanceUUID = s.MoID, s.BiosUUID, s.InstanceUUID
	status.Host, status.PowerState, status.VmIp = s.Host, s.PowerState, s.IP
	status.Phase = vmopv1.Created
}
