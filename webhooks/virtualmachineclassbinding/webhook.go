// Package virtualmachineclassbinding admits VirtualMachineClassBindings: it defaults classRef's
// kind and apiVersion, requires a class name, fixes classRef once set, and warns when the class
// does not exist yet.
package virtualmachineclassbinding

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/enforcement"
)

// +kubebuilder:webhook:path=/mutate-vmoperator-vmware-com-v1alpha1-virtualmachineclassbinding,mutating=true,failurePolicy=fail,sideEffects=None,groups=vmoperator.vmware.com,resources=virtualmachineclassbindings,verbs=create;update,versions=v1alpha1,name=mvirtualmachineclassbinding.vmoperator.vmware.com,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-vmoperator-vmware-com-v1alpha1-virtualmachineclassbinding,mutating=false,failurePolicy=fail,sideEffects=None,groups=vmoperator.vmware.com,resources=virtualmachineclassbindings,verbs=create;update,versions=v1alpha1,name=vvirtualmachineclassbinding.vmoperator.vmware.com,admissionReviewVersions=v1

// Webhook defaults and validates bindings.
type Webhook struct {
	// Readers are the manager's cache and the apiserver, which confirms a missing class before
	// the binding is warned about.
	Readers confirm.Readers
}

var (
	_ admission.Defaulter[*vmopv1.VirtualMachineClassBinding] = &Webhook{}
	_ admission.Validator[*vmopv1.VirtualMachineClassBinding] = &Webhook{}

	gk           = vmopv1.GroupVersion.WithKind("VirtualMachineClassBinding").GroupKind()
	classRefPath = field.NewPath("classRef")
)

// SetupWithManager registers both webhooks with the manager's webhook server.
func (w *Webhook) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &vmopv1.VirtualMachineClassBinding{}).WithDefaulter(w).WithValidator(w).Complete()
}

// Default fills classRef's kind and apiVersion when they are empty.
func (w *Webhook) Default(_ context.Context, b *vmopv1.VirtualMachineClassBinding) error {
	if b.ClassRef.Kind == "" {
		b.ClassRef.Kind = vmopv1.VirtualMachineClassKind
	}
	if b.ClassRef.APIVersion == "" {
		b.ClassRef.APIVersion = vmopv1.GroupVersion.String()
	}
	return nil
}

// ValidateCreate requires a class name and kind, and warns when the class does not exist yet:
// admins may bind a class before defining it.
func (w *Webhook) ValidateCreate(ctx context.Context, b *vmopv1.VirtualMachineClassBinding) (admission.Warnings, error) {
	if errs := validateClassRef(b.ClassRef); len(errs) > 0 {
		return nil, apierrors.NewInvalid(gk, b.Name, errs)
	}
	found, err := confirm.Exists(ctx, w.Readers, client.ObjectKey{Name: b.ClassRef.Name}, &vmopv1.VirtualMachineClass{})
	switch {
	case err == nil && !found:
		return admission.Warnings{fmt.Sprintf("VirtualMachineClass %q does not exist yet; the binding takes effect once it is created", b.ClassRef.Name)}, nil
	case err != nil:
		return nil, enforcement.Unavailable(fmt.Sprintf("read VirtualMachineClass %q", b.ClassRef.Name), err)
	}
	return nil, nil
}

// ValidateUpdate keeps classRef fixed: VMs were admitted against it, so a binding that changed
// class would silently revoke one class and grant another. Delete and re-create it instead.
func (w *Webhook) ValidateUpdate(_ context.Context, old, b *vmopv1.VirtualMachineClassBinding) (admission.Warnings, error) {
	errs := validateClassRef(b.ClassRef)
	if old.ClassRef.Name != b.ClassRef.Name {
		errs = append(errs, field.Forbidden(classRefPath.Child("name"), "cannot change; delete this binding and create one for the other class"))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(gk, b.Name, errs)
	}
	return nil, nil
}

// ValidateDelete admits every delete; revocation never touches existing VMs.
func (w *Webhook) ValidateDelete(context.Context, *vmopv1.VirtualMachineClassBinding) (admission.Warnings, error) {
	return nil, nil
}

func validateClassRef(ref vmopv1.ClassReference) field.ErrorList {
	var errs field.ErrorList
	if ref.Name == "" {
		errs = append(errs, field.Required(classRefPath.Child("name"), "name the VirtualMachineClass to bind"))
	}
	if ref.Kind != vmopv1.VirtualMachineClassKind {
		errs = append(errs, field.NotSupported(classRefPath.Child("kind"), ref.Kind, []string{vmopv1.VirtualMachineClassKind}))
	}
	if ref.APIVersion != vmopv1.GroupVersion.String() {
		errs = append(errs, field.NotSupported(classRefPath.Child("apiVersion"), ref.APIVersion, []string{vmopv1.GroupVersion.String()}))
	}
	return errs
}
