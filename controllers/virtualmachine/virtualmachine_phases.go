package virtualmachine

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/storageaccess"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// How soon a VM is looked at again when nothing else brings it back.
const (
	// ipPollInterval: a powered-on VM without an address.
	ipPollInterval = 2 * time.Second
	// driftInterval: a settled VM, to notice changes made in vSphere directly (such as a
	// power-off from the vSphere Client).
	driftInterval = 5 * time.Minute
	// imageRetryInterval: a VM whose image the content library lacks; the library may lag the
	// VirtualMachineImage object.
	imageRetryInterval = time.Minute
	// networkRetryInterval: a VM whose network vCenter lacks; nothing watches vSphere's networks.
	networkRetryInterval = 30 * time.Second
	// nameRetryInterval: a VM whose name another vSphere VM has; nothing watches vSphere's VMs.
	nameRetryInterval = 30 * time.Second
)

// checkPrereqs decides whether the VM may use its class here and whether its image exists. A VM
// that exists keeps being managed (power, status) whatever happened to its class or binding:
// revocation only warns. But one whose vSphere VM is gone is made again only as a new VM may be.
func (r *Reconciler) checkPrereqs(ctx context.Context, s *scope) (ctrl.Result, error) {
	d, err := classaccess.Check(ctx, r.readers(), s.vm.Namespace, s.vm.Spec.ClassName)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.access = d
	// The storage class places a new VM; one that exists keeps its disks where they are whatever
	// became of it, and only new disks take its policy.
	if s.storage, err = storageaccess.Check(ctx, r.readers(), s.vm.Namespace, s.vm.Spec.StorageClass); err != nil {
		return ctrl.Result{}, err
	}
	if !s.existed {
		if s.imageFound, err = r.imageExists(ctx, s.vm.Spec.ImageName); err != nil {
			return ctrl.Result{}, err
		}
	}
	s.checked = true
	if s.blocked() {
		s.log.Info("waiting for prerequisites", "reason", prereqCondition(s.access, s.storage, s.vm.Spec.ImageName, s.imageFound, false).Reason)
	}
	return ctrl.Result{}, nil // the binding, class, quota and image watches bring a waiting VM back
}

// blocked says whether nothing may be made in vSphere for the VM this pass.
func (s *scope) blocked() bool { return !s.existed && !s.mayCreate() }

// mayCreate says whether a new vSphere VM may be made for the VM: for one that exists, whether it
// may be made again should it be gone from vSphere.
func (s *scope) mayCreate() bool {
	return s.checked && s.access.Usable() && s.storage.Usable() && s.imageFound && !s.policy.blocks() &&
		(s.guestData == nil || !s.guestData.missing)
}

// recordAddresses records, before any vSphere call acts on them, each NIC's address and, the first
// time, that the deploy begins, and writes that at once, so a manager that restarts midway knows
// both; only then does it free the addresses NICs moved or removed no longer hold.
func (r *Reconciler) recordAddresses(ctx context.Context, s *scope) (ctrl.Result, error) {
	vm := s.vm
	if s.blocked() {
		return ctrl.Result{}, nil
	}
	release, err := r.allocateAddresses(ctx, vm)
	if err != nil {
		s.addressErr = err
		return ctrl.Result{}, err
	}
	starting := !deployStarted(vm)
	if starting {
		vm.Status.Phase = vmopv1.Creating
		conditions.Set(&vm.Status.Conditions, deployingCondition(vm.Spec.ImageName))
	}
	if !starting && release == nil {
		return ctrl.Result{}, nil
	}
	if err := r.write(ctx, s); err != nil {
		return ctrl.Result{}, fmt.Errorf("record the VM's addresses before vSphere acts on them: %w", err)
	}
	if release != nil {
		release()
	}
	return ctrl.Result{}, nil
}

// ensureVM makes vSphere match the spec and reads back what it reports.
func (r *Reconciler) ensureVM(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.blocked() {
		return ctrl.Result{}, nil
	}
	vm := s.vm
	spec := r.vmSpec(vm, s.access.Found)
	spec.StoragePolicyID = s.storage.PolicyID
	spec.Placement, spec.ClusterModule = s.policy.placement, s.policy.module
	spec.MustExist = !s.mayCreate() // revocation blocks re-creating a VM removed in vSphere too
	if !setGuestData(s, &spec) {
		return ctrl.Result{}, nil // VirtualMachineMetadataReady says why; a spec edit brings it back
	}
	state, err := r.Provider.EnsureVM(ctx, spec)
	if errors.Is(err, vsphere.ErrImageNotFound) {
		s.imageFound = false
		return ctrl.Result{RequeueAfter: imageRetryInterval}, nil
	}
	if errors.Is(err, vsphere.ErrNetworkNotFound) {
		s.networkErr = err // nothing watches vSphere's networks: look again later
		return ctrl.Result{RequeueAfter: networkRetryInterval}, nil
	}
	if errors.Is(err, vsphere.ErrVMNotFound) {
		s.missing = true // the binding, class, quota and guest data watches bring it back
		s.log.Info("vSphere VM is gone and may not be made again yet", "uniqueID", vm.Status.UniqueID)
		return ctrl.Result{}, nil
	}
	if errors.Is(err, vsphere.ErrPlacementNotFound) || errors.Is(err, vsphere.ErrClusterModuleNotFound) {
		s.policy.reason, s.policy.message = vmopv1.VirtualMachineSetResourcePolicyNotReadyReason, err.Error()
		return ctrl.Result{RequeueAfter: policyRetryInterval}, nil
	}
	if errors.Is(err, vsphere.ErrNameTaken) {
		s.nameErr = err
		return ctrl.Result{RequeueAfter: nameRetryInterval}, nil
	}
	if err != nil {
		s.vsphereErr = err
		return ctrl.Result{}, fmt.Errorf("ensure vSphere VM for %s/%s: %w", vm.Namespace, vm.Name, err)
	}
	r.guestAddresses(vm, state.NICs)
	s.state = &state
	if vm.Status.Class == nil && s.access.Found != nil {
		c := s.access.Found
		vm.Status.Class = &vmopv1.AppliedClass{Name: c.Name, Generation: c.Generation, Spec: *c.Spec.DeepCopy()}
	}
	if state.PowerState == vmopv1.VirtualMachinePoweredOn && state.IP == "" {
		return ctrl.Result{RequeueAfter: ipPollInterval}, nil
	}
	return ctrl.Result{RequeueAfter: driftInterval}, nil
}

// deployStarted says whether a deploy may have reached vSphere. Only a VM that provably never did
// says no: one with no Provisioned condition yet, or waiting on prerequisites or for its first
// address (IPAddressUnavailable False, which status writes only before any deploy began).
func deployStarted(vm *vmopv1.VirtualMachine) bool {
	c := conditions.Get(vm.Status.Conditions, vmopv1.VirtualMachineProvisionedCondition)
	switch {
	case vm.Status.UniqueID != "":
		return true
	case c == nil, c.Reason == vmopv1.WaitingForPrereqsReason:
		return false
	}
	return c.Reason != vmopv1.IPAddressUnavailableReason || c.Status != corev1.ConditionFalse
}

// deleteVM destroys the vSphere VM, then lets the object go once vCenter said it is gone.
func (r *Reconciler) deleteVM(ctx context.Context, s *scope) (ctrl.Result, error) {
	vm := s.vm
	vmRef := ref(vm)
	placement, err := r.placementOf(ctx, vm)
	if err != nil {
		return ctrl.Result{}, err
	}
	vmRef.Placement = placement
	err = r.Provider.DeleteVM(ctx, vmRef)
	// A VM that provably never reached vSphere has nothing there: an outage must not keep it (or
	// the cluster that owns it) from being deleted. Any other waits for vCenter.
	if err != nil && !(vsphere.IsUnreachable(err) && !deployStarted(vm)) {
		s.vsphereErr = err
		return ctrl.Result{}, fmt.Errorf("delete vSphere VM for %s/%s: %w", vm.Namespace, vm.Name, err)
	}
	r.releaseAddresses(vm)
	controllerutil.RemoveFinalizer(vm, vmopv1.VirtualMachineFinalizer)
	return ctrl.Result{}, nil
}

func (r *Reconciler) imageExists(ctx context.Context, name string) (bool, error) {
	found, err := confirm.Exists(ctx, r.readers(), client.ObjectKey{Name: name}, &vmopv1.VirtualMachineImage{})
	if err != nil {
		return false, fmt.Errorf("read VirtualMachineImage %q: %w", name, err)
	}
	return found, nil
}

func (r *Reconciler) readers() confirm.Readers { return confirm.Readers{Cache: r.Client, Live: r.Live} }

// vmSpec is what the provider needs. A VM made before keeps its applied class, whatever the class
// is now (or whether it still exists); a new VM takes the class as it is.
func (r *Reconciler) vmSpec(vm *vmopv1.VirtualMachine, class *vmopv1.VirtualMachineClass) vsphere.VMSpec {
	spec := vsphere.VMSpec{VMRef: ref(vm), Image: vm.Spec.ImageName, PowerState: vm.Spec.PowerState}
	switch {
	case vm.Status.Class != nil:
		spec.Sizing = vsphere.SizingFromClass(vm.Status.Class.Spec)
	case class != nil:
		spec.Sizing = vsphere.SizingFromClass(class.Spec)
	}
	r.networkSpec(vm, &spec)
	spec.Disks = volumeDisks(vm.Spec.Volumes)
	return spec
}

// volumeDisks are the disks the VM's vSphere volumes ask for; never nil, so volumes removed from
// the spec are removed from the VM. Sizes round up to whole MiB.
func volumeDisks(volumes []vmopv1.VirtualMachineVolume) []vsphere.Disk {
	disks := []vsphere.Disk{}
	for _, v := range volumes {
		if v.VsphereVolume == nil {
			continue
		}
		if q, ok := v.VsphereVolume.Size(); ok {
			disks = append(disks, vsphere.Disk{Name: v.Name, CapacityMiB: (q.Value() + mib - 1) / mib})
		}
	}
	return disks
}

const mib = 1 << 20

func ref(vm *vmopv1.VirtualMachine) vsphere.VMRef {
	return vsphere.VMRef{Namespace: vm.Namespace, Name: vm.Name, InstanceUUID: string(vm.UID)}
}
