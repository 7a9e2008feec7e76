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
	"github.com/vm-service/vm-service/internal/vsphere"
)

const (
	// ipPollInterval is how soon a powered-on VM without an address is looked at again.
	ipPollInterval = 2 * time.Second
	// driftInterval is how often a settled VM is compared with vSphere, to notice changes made
	// there directly (such as a power-off from the vSphere Client).
	driftInterval = 5 * time.Minute
)

// StaticIPAnnotation records the address a VM was given from the IP pool, before its deploy.
const StaticIPAnnotation = "vmoperator.vmware.com/static-ip"

// reconcileNormal checks the prerequisites, then makes vSphere match the spec.
func (r *Reconciler) reconcileNormal(ctx context.Context, vm *vmopv1.VirtualMachine) (ctrl.Result, error) {
	created := vm.Status.UniqueID != ""
	d, err := classaccess.Check(ctx, r.readers(), vm.Namespace, vm.Spec.ClassName)
	if err != nil {
		return ctrl.Result{}, err
	}
	class := d.Found // nil when the class does not exist
	imageFound := true
	if !created {
		if imageFound, err = r.imageExists(ctx, vm.Spec.ImageName); err != nil {
			return ctrl.Result{}, err
		}
	}
	// A VM that exists keeps being managed (power, status) whatever happened to its class or
	// binding: revocation only warns. One that does not exist waits.
	if !r.setPrereq(vm, prereqCondition(d, vm.Spec.ImageName, imageFound, created)) && !created {
		vm.Status.Phase = vmopv1.Creating
		conditions.Set(&vm.Status.Conditions, conditions.False(VirtualMachineProvisionedCondition, VirtualMachineWaitingForPrereqsReason,
			vmopv1.ConditionSeverityInfo, "waiting for %s", vmopv1.VirtualMachinePrereqReadyCondition))
		return ctrl.Result{}, nil // the binding, class and image watches bring the VM back
	}
	if !created && !deployStarted(vm) {
		return r.startDeploy(ctx, vm)
	}

	state, err := r.Provider.EnsureVM(ctx, r.vmSpec(vm, class))
	if errors.Is(err, vsphere.ErrImageNotFound) {
		r.setPrereq(vm, imageMissing(vm.Spec.ImageName))
		return ctrl.Result{RequeueAfter: time.Minute}, nil // the library may lag the image object
	}
	if err != nil {
		r.setProvisioned(vm, provisionError(err))
		return ctrl.Result{}, fmt.Errorf("ensure vSphere VM for %s/%s: %w", vm.Namespace, vm.Name, err)
	}
	applyState(&vm.Status, state)
	if vm.Status.Class == nil && class != nil {
		vm.Status.Class = &vmopv1.AppliedClass{Name: class.Name, Generation: class.Generation, Spec: class.Spec}
	}
	r.setProvisioned(vm, conditions.True(VirtualMachineProvisionedCondition))
	conditions.Set(&vm.Status.Conditions, classInSync(class, vm.Status.Class))
	vm.Status.ObservedGeneration = vm.Generation
	if state.PowerState == vmopv1.VirtualMachinePoweredOn && state.IP == "" {
		return ctrl.Result{RequeueAfter: ipPollInterval}, nil
	}
	return ctrl.Result{RequeueAfter: driftInterval}, nil
}

// startDeploy records, before the slow deploy with side effects in vSphere, that it begins and
// which address the VM gets, so a manager that restarts midway knows both.
func (r *Reconciler) startDeploy(ctx context.Context, vm *vmopv1.VirtualMachine) (ctrl.Result, error) {
	if r.IPs != nil {
		addr, err := r.address(ctx, vm)
		if err != nil {
			return ctrl.Result{}, err
		}
		if vm.Annotations == nil {
			vm.Annotations = map[string]string{}
		}
		vm.Annotations[StaticIPAnnotation] = addr
	}
	vm.Status.Phase = vmopv1.Creating
	conditions.Set(&vm.Status.Conditions, conditions.Unknown(VirtualMachineProvisionedCondition, VirtualMachineDeployingReason,
		"deploying from image %q", vm.Spec.ImageName))
	return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
}

// deployStarted says whether a deploy may have reached vSphere: everything but waiting on
// prerequisites means it may have.
func deployStarted(vm *vmopv1.VirtualMachine) bool {
	c := conditions.Get(vm.Status.Conditions, VirtualMachineProvisionedCondition)
	return vm.Status.UniqueID != "" || (c != nil && c.Reason != VirtualMachineWaitingForPrereqsReason)
}

// reconcileDelete destroys the vSphere VM, then lets the object go.
func (r *Reconciler) reconcileDelete(ctx context.Context, vm *vmopv1.VirtualMachine) (ctrl.Result, error) {
	vm.Status.Phase = vmopv1.Deleting
	err := r.Provider.DeleteVM(ctx, ref(vm))
	if err != nil && !(vsphere.IsUnreachable(err) && !deployStarted(vm)) {
		r.setProvisioned(vm, provisionError(err))
		return ctrl.Result{}, fmt.Errorf("delete vSphere VM for %s/%s: %w", vm.Namespace, vm.Name, err)
	}
	// A VM that never got past its prerequisites has nothing in vSphere: an outage must not
	// keep it (or the cluster that owns it) from being deleted.
	if r.IPs != nil {
		r.IPs.Release(string(vm.UID))
	}
	vm.Status.Phase = vmopv1.Deleted
	controllerutil.RemoveFinalizer(vm, Finalizer)
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
	if addr := vm.Annotations[StaticIPAnnotation]; r.IPs != nil && addr != "" {
		spec.Network = &vsphere.StaticIP{Address: addr, Netmask: r.IPs.Netmask(), Gateway: r.IPs.Gateway()}
	}
	return spec
}

// address is the VM's static address. The first call after a start reserves every address
// already recorded on a VM, so a restarted manager never hands one out twice.
func (r *Reconciler) address(ctx context.Context, vm *vmopv1.VirtualMachine) (string, error) {
	if err := r.reserveAddressesInUse(ctx); err != nil {
		return "", err
	}
	return r.IPs.Allocate(string(vm.UID))
}

func (r *Reconciler) reserveAddressesInUse(ctx context.Context) error {
	r.seedMu.Lock()
	defer r.seedMu.Unlock()
	if r.seeded {
		return nil
	}
	vms := &vmopv1.VirtualMachineList{}
	if err := r.Client.List(ctx, vms); err != nil {
		return fmt.Errorf("read addresses in use: %w", err)
	}
	for _, v := range vms.Items {
		r.IPs.Reserve(string(v.UID), v.Annotations[StaticIPAnnotation])
	}
	r.seeded = true
	return nil
}

// setPrereq sets the prerequisite condition, with a Warning event when it newly fails, and says
// whether it holds.
func (r *Reconciler) setPrereq(vm *vmopv1.VirtualMachine, c vmopv1.Condition) bool {
	r.setWithEvent(vm, c)
	return c.Status == corev1.ConditionTrue
}

func (r *Reconciler) setProvisioned(vm *vmopv1.VirtualMachine, c vmopv1.Condition) {
	r.setWithEvent(vm, c)
}

// setWithEvent sets c and records a Warning event when c is a failure that was not already
// reported with the same reason, so a VM blocked for an hour yields one event, not hundreds.
func (r *Reconciler) setWithEvent(vm *vmopv1.VirtualMachine, c vmopv1.Condition) {
	old := conditions.Get(vm.Status.Conditions, c.Type)
	if c.Status != corev1.ConditionTrue && (old == nil || old.Reason != c.Reason || old.Status != c.Status) {
		r.Recorder.Event(vm, corev1.EventTypeWarning, c.Reason, c.Message)
	}
	conditions.Set(&vm.Status.Conditions, c)
}

func ref(vm *vmopv1.VirtualMachine) vsphere.VMRef {
	return vsphere.VMRef{Namespace: vm.Namespace, Name: vm.Name, InstanceUUID: string(vm.UID)}
}
