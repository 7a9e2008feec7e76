// Package virtualmachine admits VirtualMachines: the class must exist and be bound in the VM's
// namespace, what the VM was deployed from cannot change once it exists in vSphere, and the
// metadata the product writes is the manager's to change.
package virtualmachine

import (
	"context"

	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/ownership"
)

// +kubebuilder:webhook:path=/validate-vmoperator-vmware-com-v1alpha1-virtualmachine,mutating=false,failurePolicy=fail,sideEffects=None,groups=vmoperator.vmware.com,resources=virtualmachines,verbs=create;update,versions=v1alpha1,name=vvirtualmachine.vmoperator.vmware.com,admissionReviewVersions=v1

// Validator checks VirtualMachines on create and update.
type Validator struct {
	enforcement.ClassPolicy
	// Guard keeps the VM's finalizer, cluster owner references and product labels and
	// annotations in the manager's hands.
	Guard ownership.Guard
}

// finalizer is what a user who removes the VM's finalizer is told to do instead.
var finalizer = ownership.Finalizer{
	Name:    vmopv1.VirtualMachineFinalizer,
	Instead: "delete the VirtualMachine instead; the controller removes its finalizer once the vSphere VM is gone",
}

var _ admission.Validator[*vmopv1.VirtualMachine] = &Validator{}

// SetupWithManager registers the webhook with the manager's webhook server.
func (v *Validator) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &vmopv1.VirtualMachine{}).WithValidator(v).Complete()
}

var specPath = field.NewPath("spec")

// ValidateCreate refuses a class that does not exist or is not bound in the namespace, a storage
// class not assigned to it, malformed guest data, fields this release does not act on, and,
// from anyone but the manager, an owner reference to a cluster or a product label or annotation.
func (v *Validator) ValidateCreate(ctx context.Context, vm *vmopv1.VirtualMachine) (admission.Warnings, error) {
	owned, err := v.Guard.Check(ctx, nil, vm, finalizer)
	if err != nil {
		return nil, err
	}
	f := enforcement.Findings{Invalid: append(specErrors(nil, vm), owned...)}
	if err := v.checkClass(ctx, vm, &f); err != nil {
		return nil, err
	}
	if err := v.checkStorage(ctx, vm, &f); err != nil {
		return nil, err
	}
	return v.Mode.Answer(vmopv1.GroupVersion.WithKind("VirtualMachine").GroupKind(), vm.Name, f)
}

// ValidateUpdate checks a changed class like a new one. Once the VM exists in vSphere
// (status.uniqueID is set), its class, image, storage class and resource policy are fixed:
// vSphere VMs are not resized, re-imaged or moved in place, so a change would be silently
// ignored. Only the manager may remove the finalizer or change cluster owner references and
// product labels and annotations.
func (v *Validator) ValidateUpdate(ctx context.Context, old, vm *vmopv1.VirtualMachine) (admission.Warnings, error) {
	owned, err := v.Guard.Check(ctx, old, vm, finalizer)
	if err != nil {
		return nil, err
	}
	f := enforcement.Findings{Invalid: append(specErrors(old, vm), owned...)}
	exists := old.Status.UniqueID != ""
	if exists {
		for _, fixed := range []struct {
			name     string
			old, new string
		}{
			{"className", old.Spec.ClassName, vm.Spec.ClassName},
			{"imageName", old.Spec.ImageName, vm.Spec.ImageName},
			{"storageClass", old.Spec.StorageClass, vm.Spec.StorageClass},
			{"resourcePolicyName", old.Spec.ResourcePolicyName, vm.Spec.ResourcePolicyName},
		} {
			if fixed.old != fixed.new {
				f.Invalid = append(f.Invalid, field.Forbidden(specPath.Child(fixed.name),
					"cannot change once the VM exists in vSphere; create a new VirtualMachine instead"))
			}
		}
	}
	if old.Spec.ClassName != vm.Spec.ClassName && !exists { // a fixed class is refused above
		if err := v.checkClass(ctx, vm, &f); err != nil {
			return nil, err
		}
	}
	if old.Spec.StorageClass != vm.Spec.StorageClass && !exists {
		if err := v.checkStorage(ctx, vm, &f); err != nil {
			return nil, err
		}
	}
	return v.Mode.Answer(vmopv1.GroupVersion.WithKind("VirtualMachine").GroupKind(), vm.Name, f)
}

// ValidateDelete admits every delete.
func (v *Validator) ValidateDelete(context.Context, *vmopv1.VirtualMachine) (admission.Warnings, error) {
	return nil, nil
}

func (v *Validator) checkStorage(ctx context.Context, vm *vmopv1.VirtualMachine, f *enforcement.Findings) error {
	return v.CheckStorage(ctx, vm.Namespace, vm.Spec.StorageClass, specPath.Child("storageClass"), f)
}

func (v *Validator) checkClass(ctx context.Context, vm *vmopv1.VirtualMachine, f *enforcement.Findings) error {
	return v.CheckClass(ctx, vm.Namespace, vm.Spec.ClassName, specPath.Child("className"), f)
}
