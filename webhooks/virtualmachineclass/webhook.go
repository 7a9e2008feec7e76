// Package virtualmachineclass admits VirtualMachineClasses: sane hardware and reservations, and no
// deletion while a VirtualMachine uses the class or a TanzuKubernetesCluster names it.
package virtualmachineclass

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

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/index"
)

// +kubebuilder:webhook:path=/validate-vmoperator-vmware-com-v1alpha1-virtualmachineclass,mutating=false,failurePolicy=fail,sideEffects=None,groups=vmoperator.vmware.com,resources=virtualmachineclasses,verbs=create;update;delete,versions=v1alpha1,name=vvirtualmachineclass.vmoperator.vmware.com,admissionReviewVersions=v1

// Validator checks classes on create, update and delete.
type Validator struct {
	// Readers are the manager's cache and the apiserver. The delete guard reads the apiserver:
	// deletes are rare, and a VM created a moment ago must count even before the cache has it.
	Readers confirm.Readers
}

var (
	_ admission.Validator[*vmopv1.VirtualMachineClass] = &Validator{}

	gk = vmopv1.GroupVersion.WithKind(vmopv1.VirtualMachineClassKind).GroupKind()
)

// SetupWithManager registers the webhook with the manager's webhook server.
func (v *Validator) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &vmopv1.VirtualMachineClass{}).WithValidator(v).Complete()
}

// ValidateCreate checks the hardware and policies.
func (v *Validator) ValidateCreate(_ context.Context, c *vmopv1.VirtualMachineClass) (admission.Warnings, error) {
	return nil, invalid(c)
}

// ValidateUpdate checks the hardware and policies. Running VMs keep the class they were made
// with; their status says when the class has changed since.
func (v *Validator) ValidateUpdate(_ context.Context, _, c *vmopv1.VirtualMachineClass) (admission.Warnings, error) {
	return nil, invalid(c)
}

// ValidateDelete refuses while any VirtualMachine uses the class, or any TanzuKubernetesCluster
// names it (even one whose pool has no machine now: it would make some when it scales out),
// naming some of each.
func (v *Validator) ValidateDelete(ctx context.Context, c *vmopv1.VirtualMachineClass) (admission.Warnings, error) {
	vms, clusters, err := v.users(ctx, c.Name)
	if err != nil {
		return nil, enforcement.Unavailable(fmt.Sprintf("list the users of VirtualMachineClass %q", c.Name), err)
	}
	var users []string
	if len(vms) > 0 {
		users = append(users, fmt.Sprintf("%d VirtualMachine(s) use it: %s", len(vms), enforcement.NameUsers(vms)))
	}
	if len(clusters) > 0 {
		users = append(users, fmt.Sprintf("%d TanzuKubernetesCluster(s) name it: %s", len(clusters), enforcement.NameUsers(clusters)))
	}
	if len(users) == 0 {
		return nil, nil
	}
	return nil, apierrors.NewForbidden(vmopv1.GroupVersion.WithResource("virtualmachineclasses").GroupResource(), c.Name,
		fmt.Errorf("%s; delete them or move them to another class first", strings.Join(users, "; ")))
}

// users are the VMs and clusters (namespace/name) of the class. They are read from the apiserver:
// deletes are rare, and one made a moment ago must count. spec.className and the clusters' pool
// classes are selectable fields of their CRDs, so the apiserver filters.
func (v *Validator) users(ctx context.Context, class string) (vms, clusters []string, err error) {
	live, reader := v.Readers.Live != nil, v.Readers.Fresh()
	vmList := &vmopv1.VirtualMachineList{}
	if err := reader.List(ctx, vmList, client.MatchingFields{index.VirtualMachineClassName: class}); err != nil {
		return nil, nil, err
	}
	for _, vm := range vmList.Items {
		vms = append(vms, vm.Namespace+"/"+vm.Name)
	}
	fields := []string{index.ClusterControlPlaneClass, index.ClusterWorkersClass}
	if !live {
		fields = []string{index.ClusterClassNames} // the cache's index covers both pools
	}
	seen := map[string]bool{}
	for _, f := range fields {
		list := &runv1.TanzuKubernetesClusterList{}
		if err := reader.List(ctx, list, client.MatchingFields{f: class}); err != nil {
			return nil, nil, err
		}
		for _, tkc := range list.Items {
			if name := tkc.Namespace + "/" + tkc.Name; !seen[name] {
				seen[name] = true
				clusters = append(clusters, name)
			}
		}
	}
	return vms, clusters, nil
}

var hardwarePath, resourcesPath = field.NewPath("spec", "hardware"), field.NewPath("spec", "policies", "resources")

// invalid returns every problem with the class's spec at once, or nil.
func invalid(c *vmopv1.VirtualMachineClass) error {
	var errs field.ErrorList
	hw, res := c.Spec.Hardware, c.Spec.Policies.Resources
	if hw.Cpus < 1 {
		errs = append(errs, field.Invalid(hardwarePath.Child("cpus"), hw.Cpus, "must be at least 1"))
	}
	if hw.Memory.Sign() <= 0 {
		errs = append(errs, field.Invalid(hardwarePath.Child("memory"), hw.Memory.String(), "must be more than 0"))
	}
	cpus := *resource.NewQuantity(hw.Cpus, resource.DecimalSI)
	for _, q := range []struct {
		name              string
		request, limit    resource.Quantity
		hardware          resource.Quantity
		hardwareFieldName string
	}{
		{"cpu", res.Requests.Cpu, res.Limits.Cpu, cpus, "cpus"},
		{"memory", res.Requests.Memory, res.Limits.Memory, hw.Memory, "memory"},
	} {
		reqPath, limPath := resourcesPath.Child("requests", q.name), resourcesPath.Child("limits", q.name)
		if q.request.Sign() < 0 {
			errs = append(errs, field.Invalid(reqPath, q.request.String(), "must not be negative"))
		}
		if q.limit.Sign() < 0 {
			errs = append(errs, field.Invalid(limPath, q.limit.String(), "must not be negative"))
		}
		if q.request.Cmp(q.hardware) > 0 {
			errs = append(errs, field.Invalid(reqPath, q.request.String(),
				fmt.Sprintf("must not be more than spec.hardware.%s (%s)", q.hardwareFieldName, q.hardware.String())))
		}
		if !q.limit.IsZero() && q.limit.Cmp(q.request) < 0 {
			errs = append(errs, field.Invalid(limPath, q.limit.String(), fmt.Sprintf("must not be less than the request (%s)", q.request.String())))
		}
	}
	if d := hw.Devices; (len(d.VGPUDevices) > 0 || len(d.DynamicDirectPathIODevices) > 0) &&
		!res.Limits.Memory.IsZero() && res.Limits.Memory.Cmp(hw.Memory) < 0 {
		errs = append(errs, field.Invalid(resourcesPath.Child("limits", "memory"), res.Limits.Memory.String(),
			fmt.Sprintf("must not be less than spec.hardware.memory (%s) in a class with devices: a VM with vGPUs or passthrough devices has all of its memory reserved", hw.Memory.String())))
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(gk, c.Name, errs)
}
