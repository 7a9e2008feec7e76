package virtualmachine

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/storageaccess"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// statusInput is everything a VM's status is computed from, as plain values, so the computation
// can be table-tested.
type statusInput struct {
	// Deleting says the VM is being deleted; Gone that its finalizer was removed this pass.
	Deleting, Gone bool
	// Existed says the VM existed in vSphere when the reconcile began; Missing that vSphere said
	// this pass that it no longer does, and nothing was made.
	Existed, Missing bool
	// Checked says the prerequisites were read this pass: Access, Storage (for a VM not made yet)
	// and ImageFound hold them.
	Checked    bool
	Access     classaccess.Decision
	Storage    storageaccess.Decision
	ImageFound bool
	// DeployStarted says a deploy may have reached vSphere.
	DeployStarted bool
	// State is what vSphere reported this pass; nil when it was not asked or the call failed.
	State *vsphere.VMState
	// VSphereErr is the vSphere call that failed this pass; NetworkErr names a missing network,
	// NameErr the vSphere VM that has the VM's name.
	VSphereErr, NetworkErr, NameErr error
	// AddressErr says why no address could be allocated for a NIC.
	AddressErr error
	// Class is the class as it is now (nil when gone); Applied the class as the VM was made.
	Class   *vmopv1.VirtualMachineClass
	Applied *vmopv1.AppliedClass
	Image   string
	// Policy is what the VM's resource policy decided.
	Policy policyDecision
	// Metadata is spec.vmMetadata, in Namespace; GuestData its source as read (nil when not read),
	// GuestIgnored the keys applying it left out and GuestErr why it could not be applied.
	Metadata     *vmopv1.VirtualMachineMetadata
	Namespace    string
	GuestData    *guestData
	GuestIgnored []string
	GuestErr     error
	// Readiness is the readiness probe's verdict; nil without a probe or when it did not run.
	Readiness *readiness
}

// vmStatus is the computed part of a VM's status. A nil condition is left as it was.
type vmStatus struct {
	Phase                                                       vmopv1.VMStatusPhase
	State                                                       *vsphere.VMState
	PrereqReady, Provisioned, ClassInSync, Ready, MetadataReady *vmopv1.Condition
	// Forget clears what status says of a vSphere VM that is gone.
	Forget bool
}

func (r *Reconciler) statusInput(s *scope) statusInput {
	vm := s.vm
	return statusInput{
		Deleting:      !vm.DeletionTimestamp.IsZero(),
		Gone:          !controllerutil.ContainsFinalizer(vm, vmopv1.VirtualMachineFinalizer),
		Existed:       s.existed,
		Missing:       s.missing,
		Checked:       s.checked,
		Access:        s.access,
		Storage:       s.storage,
		ImageFound:    s.imageFound,
		DeployStarted: deployStarted(vm),
		State:         s.state,
		VSphereErr:    s.vsphereErr,
		NetworkErr:    s.networkErr,
		NameErr:       s.nameErr,
		AddressErr:    s.addressErr,
		Class:         s.access.Found,
		Applied:       vm.Status.Class,
		Image:         vm.Spec.ImageName,
		Policy:        s.policy,
		Metadata:      vm.Spec.VmMetadata,
		Namespace:     vm.Namespace,
		GuestData:     s.guestData,
		GuestIgnored:  s.guestIgnored,
		GuestErr:      s.guestErr,
		Readiness:     s.readiness,
	}
}

// computeStatus is the VM's phase and conditions from in, in one place.
func computeStatus(in statusInput) vmStatus {
	out := vmStatus{State: in.State, Forget: in.Missing}
	// A VM gone from vSphere is a VM not made yet, and vSphere just said nothing is there.
	in.Existed, in.DeployStarted = in.Existed && !in.Missing, in.DeployStarted && !in.Missing
	exists := in.Existed || in.State != nil
	switch {
	case in.Deleting && in.Gone:
		out.Phase = vmopv1.Deleted
	case in.Deleting:
		out.Phase = vmopv1.Deleting
	case exists:
		out.Phase = vmopv1.Created
	default:
		out.Phase = vmopv1.Creating
	}
	if in.Checked {
		out.PrereqReady = ptr(prereqCondition(in.Access, in.Storage, in.Image, in.ImageFound, exists))
		if in.Policy.blocks() && out.PrereqReady.Status == corev1.ConditionTrue {
			out.PrereqReady = ptr(policyCondition(in.Policy, exists))
		}
	}
	if !in.Deleting {
		out.MetadataReady = metadataCondition(in, exists)
	}
	blocked := (out.PrereqReady != nil && out.PrereqReady.Status != corev1.ConditionTrue) ||
		(!exists && in.GuestData != nil && in.GuestData.missing)
	switch {
	case in.VSphereErr != nil:
		out.Provisioned = ptr(provisionError(in.VSphereErr))
	case in.AddressErr != nil && in.DeployStarted && !exists:
		// Unknown, not False: a deploy that may have reached vSphere must stay known as started.
		out.Provisioned = ptr(conditions.Unknown(vmopv1.VirtualMachineProvisionedCondition, vmopv1.IPAddressUnavailableReason,
			"%v; the deploy that began is finished once an address is free (delete a VM on that network, or give it a larger pool)", in.AddressErr))
	case in.AddressErr != nil:
		out.Provisioned = ptr(conditions.False(vmopv1.VirtualMachineProvisionedCondition, vmopv1.IPAddressUnavailableReason,
			vmopv1.ConditionSeverityError, "%v; %s once an address is free (delete a VM on that network, or give it a larger pool)", in.AddressErr, waitsFor(exists)))
	case in.NetworkErr != nil:
		out.Provisioned = ptr(conditions.False(vmopv1.VirtualMachineProvisionedCondition, vmopv1.NetworkNotFoundReason,
			vmopv1.ConditionSeverityError, "%v; %s once it exists in vCenter", in.NetworkErr, waitsFor(exists)))
	case in.NameErr != nil:
		out.Provisioned = ptr(conditions.False(vmopv1.VirtualMachineProvisionedCondition, vmopv1.VirtualMachineNameTakenReason,
			vmopv1.ConditionSeverityError, "%v; it is left alone, and the VM is made once the name is free: rename or remove that VM in vCenter, or recreate this VirtualMachine under another name", in.NameErr))
	case in.State != nil:
		out.Provisioned = ptr(conditions.True(vmopv1.VirtualMachineProvisionedCondition))
	case in.Existed || in.Deleting:
	case in.DeployStarted:
		out.Provisioned = ptr(deployingCondition(in.Image))
	case blocked:
		out.Provisioned = ptr(conditions.False(vmopv1.VirtualMachineProvisionedCondition, vmopv1.WaitingForPrereqsReason,
			vmopv1.ConditionSeverityInfo, "waiting for prerequisites: see %s and %s",
			vmopv1.VirtualMachinePrereqReadyCondition, vmopv1.VirtualMachineMetadataReadyCondition))
	}
	if !in.Deleting {
		out.ClassInSync = ptr(classInSync(in.Class, in.Applied))
		out.Ready = readyCondition(exists, in.State, in.Readiness)
	}
	return out
}

// waitsFor says what waits for a missing address or network: the VM, or for a VM that exists the
// edit of its NICs, which keeps them as they are meanwhile.
func waitsFor(exists bool) string {
	if exists {
		return "the VM keeps its NICs as they are; the edit of networkInterfaces is applied"
	}
	return "the VM is made"
}

// applyStatus writes the computed status onto vm.
func applyStatus(vm *vmopv1.VirtualMachine, st vmStatus) {
	vm.Status.Phase = st.Phase
	if st.Forget {
		forgetVSphereVM(&vm.Status)
	}
	if st.State != nil {
		applyState(&vm.Status, *st.State)
	}
	for _, c := range []*vmopv1.Condition{st.PrereqReady, st.Provisioned, st.ClassInSync, st.Ready, st.MetadataReady} {
		if c != nil {
			conditions.Set(&vm.Status.Conditions, *c)
		}
	}
}

// forgetVSphereVM clears what status says of a vSphere VM that is gone, and the class it was made
// with: another VM is a new VM, made from the class as it is then, and may take another class. The
// NICs' addresses stay: they are the manager's allocations, which the next VM gets.
func forgetVSphereVM(status *vmopv1.VirtualMachineStatus) {
	status.UniqueID, status.BiosUUID, status.InstanceUUID, status.Host, status.VmIp = "", "", "", "", ""
	status.PowerState, status.Class, status.Volumes = "", nil, nil
	for i := range status.NetworkInterfaces {
		status.NetworkInterfaces[i].MacAddress, status.NetworkInterfaces[i].Connected = "", false
	}
}

// readyCondition says whether the VM is on with an address and, when it has a readiness probe,
// passes it; nil (unchanged) when it exists but vSphere was not read this pass.
func readyCondition(exists bool, state *vsphere.VMState, probe *readiness) *vmopv1.Condition {
	switch {
	case probe != nil && probe.ready:
		return ptr(conditions.True(vmopv1.ReadyCondition))
	case probe != nil:
		return ptr(conditions.False(vmopv1.ReadyCondition, vmopv1.ReadinessProbeFailedReason, vmopv1.ConditionSeverityInfo, "%s", probe.message))
	case state != nil && state.PowerState != vmopv1.VirtualMachinePoweredOn:
		return ptr(conditions.False(vmopv1.ReadyCondition, vmopv1.PoweredOffReason, vmopv1.ConditionSeverityInfo, "the VM is powered off"))
	case state != nil && state.IP == "":
		return ptr(conditions.False(vmopv1.ReadyCondition, vmopv1.WaitingForAddressReason, vmopv1.ConditionSeverityInfo,
			"the VM is powered on; waiting for the guest to report an address"))
	case state != nil:
		return ptr(conditions.True(vmopv1.ReadyCondition))
	case !exists:
		return ptr(conditions.False(vmopv1.ReadyCondition, vmopv1.NotProvisionedReason, vmopv1.ConditionSeverityInfo,
			"the VM does not exist in vSphere yet; see %s", vmopv1.VirtualMachineProvisionedCondition))
	}
	return nil
}

func deployingCondition(image string) vmopv1.Condition {
	return conditions.Unknown(vmopv1.VirtualMachineProvisionedCondition, vmopv1.DeployingReason, "deploying from image %q", image)
}

func ptr(c vmopv1.Condition) *vmopv1.Condition { return &c }

// prereqCondition states the class decision and, for a VM not made yet, the storage decision and
// the image check. For a VM that already exists in vSphere, a lost class or binding is a
// Warning: the VM keeps running, unchanged.
func prereqCondition(d classaccess.Decision, storage storageaccess.Decision, image string, imageFound, created bool) vmopv1.Condition {
	switch {
	case !d.Usable() && created:
		return conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, d.Reason(), vmopv1.ConditionSeverityWarning,
			"%s; the existing VM keeps running unchanged, but no new VM of this class can be made here", d.Message())
	case !d.Usable():
		return conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, d.Reason(), vmopv1.ConditionSeverityError, "%s", d.Message())
	case !storage.Usable() && !created:
		return conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, storage.Reason(), vmopv1.ConditionSeverityError,
			"%s; the VM is created once it is", storage.Message())
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
		return conditions.False(vmopv1.VirtualMachineProvisionedCondition, vmopv1.VCenterUnreachableReason, vmopv1.ConditionSeverityWarning,
			"vCenter cannot be reached; retrying with backoff, nothing is deleted meanwhile: %v", err)
	}
	return conditions.False(vmopv1.VirtualMachineProvisionedCondition, vmopv1.ProvisioningFailedReason, vmopv1.ConditionSeverityError, "%v", err)
}

// classInSync compares the class as it is now with the class as applied.
func classInSync(class *vmopv1.VirtualMachineClass, applied *vmopv1.AppliedClass) vmopv1.Condition {
	if class == nil || applied == nil || equality.Semantic.DeepEqual(class.Spec, applied.Spec) {
		return conditions.True(vmopv1.VirtualMachineClassInSyncCondition)
	}
	return conditions.False(vmopv1.VirtualMachineClassInSyncCondition, vmopv1.VirtualMachineClassChangedReason, vmopv1.ConditionSeverityInfo,
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
	applyNICs(status, s.NICs)
	if s.Disks != nil {
		status.Volumes = nil
		for _, d := range s.Disks {
			status.Volumes = append(status.Volumes, vmopv1.VirtualMachineVolumeStatus{Name: d.Name, Attached: true, DiskUuid: d.UUID})
		}
	}
}
