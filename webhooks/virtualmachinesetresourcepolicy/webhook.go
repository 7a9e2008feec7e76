// Package virtualmachinesetresourcepolicy admits VirtualMachineSetResourcePolicies: named pool
// and folder that no other policy of the namespace uses, sane reservations and limits, distinct
// cluster module groups, and no deletion while a VirtualMachine names the policy.
package virtualmachinesetresourcepolicy

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/index"
)

// +kubebuilder:webhook:path=/validate-vmoperator-vmware-com-v1alpha1-virtualmachinesetresourcepolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=vmoperator.vmware.com,resources=virtualmachinesetresourcepolicies,verbs=create;update;delete,versions=v1alpha1,name=vvirtualmachinesetresourcepolicy.vmoperator.vmware.com,admissionReviewVersions=v1

// Validator checks policies on create, update and delete.
type Validator struct {
	// Readers are the manager's cache and the apiserver. The delete guard and the name clash
	// check read the apiserver: both are rare, and what was made a moment ago must count.
	Readers confirm.Readers
}

var (
	_ admission.Validator[*vmopv1.VirtualMachineSetResourcePolicy] = &Validator{}

	gk = vmopv1.GroupVersion.WithKind("VirtualMachineSetResourcePolicy").GroupKind()

	specPath                     = field.NewPath("spec")
	poolPath, folderPath         = specPath.Child("resourcepool"), specPath.Child("folder")
	modulesPath                  = specPath.Child("clustermodules")
	poolNamePath                 = poolPath.Child("name")
	folderNamePath               = folderPath.Child("name")
	reservationsPath, limitsPath = poolPath.Child("reservations"), poolPath.Child("limits")
)

// SetupWithManager registers the webhook with the manager's webhook server.
func (v *Validator) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &vmopv1.VirtualMachineSetResourcePolicy{}).WithValidator(v).Complete()
}

// ValidateCreate checks the spec and that no other policy of the namespace names the same pool
// or folder: the two would share it, and deleting one would remove the other's.
func (v *Validator) ValidateCreate(ctx context.Context, p *vmopv1.VirtualMachineSetResourcePolicy) (admission.Warnings, error) {
	errs := specErrors(p)
	clashes, err := v.clashes(ctx, p)
	if err != nil {
		return nil, err
	}
	return nil, invalid(p, append(errs, clashes...))
}

// ValidateUpdate checks the spec like a new one; the pool and folder names are fixed, since the
// VMs made in them stay where they are.
func (v *Validator) ValidateUpdate(_ context.Context, old, p *vmopv1.VirtualMachineSetResourcePolicy) (admission.Warnings, error) {
	errs := specErrors(p)
	if old.Spec.ResourcePool.Name != p.Spec.ResourcePool.Name {
		errs = append(errs, field.Forbidden(poolNamePath, "cannot change: the policy's VMs stay in the pool they were made in; create a new policy instead"))
	}
	if old.Spec.Folder.Name != p.Spec.Folder.Name {
		errs = append(errs, field.Forbidden(folderNamePath, "cannot change: the policy's VMs stay in the folder they were made in; create a new policy instead"))
	}
	return nil, invalid(p, errs)
}

// ValidateDelete refuses while any VirtualMachine of the namespace names the policy, naming some.
func (v *Validator) ValidateDelete(ctx context.Context, p *vmopv1.VirtualMachineSetResourcePolicy) (admission.Warnings, error) {
	vms := &vmopv1.VirtualMachineList{}
	// spec.resourcePolicyName is a selectable field of the VM CRD, so the apiserver filters.
	if err := v.Readers.Fresh().List(ctx, vms, client.InNamespace(p.Namespace),
		client.MatchingFields{index.VirtualMachineResourcePolicyName: p.Name}); err != nil {
		return nil, enforcement.Unavailable(fmt.Sprintf("list the VirtualMachines of VirtualMachineSetResourcePolicy %s/%s", p.Namespace, p.Name), err)
	}
	if len(vms.Items) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(vms.Items))
	for _, vm := range vms.Items {
		names = append(names, vm.Name)
	}
	return nil, apierrors.NewForbidden(vmopv1.GroupVersion.WithResource("virtualmachinesetresourcepolicies").GroupResource(), p.Name,
		fmt.Errorf("%d VirtualMachine(s) use it: %s; delete them first", len(names), enforcement.NameUsers(names)))
}

// clashes are the pool and folder names another policy of the namespace already uses.
func (v *Validator) clashes(ctx context.Context, p *vmopv1.VirtualMachineSetResourcePolicy) (field.ErrorList, error) {
	list := &vmopv1.VirtualMachineSetResourcePolicyList{}
	if err := v.Readers.Fresh().List(ctx, list, client.InNamespace(p.Namespace)); err != nil {
		return nil, enforcement.Unavailable(fmt.Sprintf("list the VirtualMachineSetResourcePolicies of namespace %s", p.Namespace), err)
	}
	var errs field.ErrorList
	for _, other := range list.Items {
		if other.Name == p.Name {
			continue
		}
		if n := p.Spec.ResourcePool.Name; n != "" && n == other.Spec.ResourcePool.Name {
			errs = append(errs, field.Invalid(poolNamePath, n, fmt.Sprintf("VirtualMachineSetResourcePolicy %q already names it; choose another name", other.Name)))
		}
		if n := p.Spec.Folder.Name; n != "" && n == other.Spec.Folder.Name {
			errs = append(errs, field.Invalid(folderNamePath, n, fmt.Sprintf("VirtualMachineSetResourcePolicy %q already names it; choose another name", other.Name)))
		}
	}
	return errs, nil
}

func invalid(p *vmopv1.VirtualMachineSetResourcePolicy, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(gk, p.Name, errs)
}

// specErrors returns every problem with the policy's spec.
func specErrors(p *vmopv1.VirtualMachineSetResourcePolicy) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, nameErrors(poolNamePath, p.Spec.ResourcePool.Name, "resource pool")...)
	errs = append(errs, nameErrors(folderNamePath, p.Spec.Folder.Name, "folder")...)
	rp := p.Spec.ResourcePool
	for _, q := range []struct {
		name               string
		reservation, limit resource.Quantity
	}{
		{"cpu", rp.Reservations.Cpu, rp.Limits.Cpu},
		{"memory", rp.Reservations.Memory, rp.Limits.Memory},
	} {
		resPath, limPath := reservationsPath.Child(q.name), limitsPath.Child(q.name)
		if q.reservation.Sign() < 0 {
			errs = append(errs, field.Invalid(resPath, q.reservation.String(), "must not be negative"))
		}
		if q.limit.Sign() < 0 {
			errs = append(errs, field.Invalid(limPath, q.limit.String(), "must not be negative; leave it unset for no limit"))
		}
		if q.limit.Sign() > 0 && q.reservation.Cmp(q.limit) > 0 {
			errs = append(errs, field.Invalid(resPath, q.reservation.String(),
				fmt.Sprintf("must not exceed the limit %s (%s)", limPath, q.limit.String())))
		}
	}
	seen := map[string]bool{}
	for i, m := range p.Spec.ClusterModules {
		path := modulesPath.Index(i).Child("groupname")
		switch {
		case m.GroupName == "":
			errs = append(errs, field.Required(path, "name the group; a VM joins its module with the annotation "+vmopv1.ClusterModuleGroupAnnotation))
		case seen[m.GroupName]:
			errs = append(errs, field.Duplicate(path, m.GroupName))
		}
		seen[m.GroupName] = true
	}
	return errs
}

// nameErrors checks a vSphere inventory name: required, and no path separators.
func nameErrors(path *field.Path, name, what string) field.ErrorList {
	switch {
	case name == "":
		return field.ErrorList{field.Required(path, fmt.Sprintf("name the child %s the policy's VMs go in", what))}
	case strings.ContainsAny(name, `/\%`):
		return field.ErrorList{field.Invalid(path, name, `must not contain "/", "\" or "%"`)}
	}
	return nil
}
