// Package virtualmachineservice admits VirtualMachineServices: well-formed ports, a selector for
// the types VMs back, a name for ExternalName, a fixed cluster IP, and a refusal for each field
// this release does not act on. Every problem is returned at once, each with its field path.
package virtualmachineservice

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// +kubebuilder:webhook:path=/validate-vmoperator-vmware-com-v1alpha1-virtualmachineservice,mutating=false,failurePolicy=fail,sideEffects=None,groups=vmoperator.vmware.com,resources=virtualmachineservices,verbs=create;update,versions=v1alpha1,name=vvirtualmachineservice.vmoperator.vmware.com,admissionReviewVersions=v1

// Validator checks VirtualMachineServices on create and update.
type Validator struct{}

var (
	_ admission.Validator[*vmopv1.VirtualMachineService] = &Validator{}

	gk        = vmopv1.GroupVersion.WithKind("VirtualMachineService").GroupKind()
	specPath  = field.NewPath("spec")
	protocols = []string{"TCP", "UDP", "SCTP"}
)

// SetupWithManager registers the webhook with the manager's webhook server.
func (v *Validator) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &vmopv1.VirtualMachineService{}).WithValidator(v).Complete()
}

// ValidateCreate checks the whole object.
func (v *Validator) ValidateCreate(_ context.Context, svc *vmopv1.VirtualMachineService) (admission.Warnings, error) {
	errs := validate(svc)
	errs = append(errs, unsupported(nil, svc)...)
	return nil, invalid(svc, errs)
}

// ValidateUpdate checks the object as on create, keeps the cluster IP fixed once set (as a
// Service's is), and refuses unsupported fields only when the update changes them, so objects
// stored before keep accepting other edits.
func (v *Validator) ValidateUpdate(_ context.Context, old, svc *vmopv1.VirtualMachineService) (admission.Warnings, error) {
	errs := validate(svc)
	errs = append(errs, unsupported(old, svc)...)
	if old.Spec.ClusterIP != "" && svc.Spec.ClusterIP != old.Spec.ClusterIP && svc.Spec.Type != vmopv1.VirtualMachineServiceTypeExternalName {
		errs = append(errs, field.Forbidden(specPath.Child("clusterIp"), fmt.Sprintf("cannot change from %q; delete the VirtualMachineService and create it with the new address", old.Spec.ClusterIP)))
	}
	return nil, invalid(svc, errs)
}

// ValidateDelete admits every delete; the Service and endpoints go with the object.
func (v *Validator) ValidateDelete(context.Context, *vmopv1.VirtualMachineService) (admission.Warnings, error) {
	return nil, nil
}

func invalid(svc *vmopv1.VirtualMachineService, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(gk, svc.Name, errs)
}

// validate checks the name, the type-dependent fields and the ports.
func validate(svc *vmopv1.VirtualMachineService) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1035Label(svc.Name) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), svc.Name,
			"the Service that backs it takes this name, which must be a DNS label starting with a letter: "+msg))
	}
	spec := svc.Spec
	switch spec.Type {
	case vmopv1.VirtualMachineServiceTypeClusterIP, vmopv1.VirtualMachineServiceTypeLoadBalancer:
		errs = append(errs, validateBacked(spec)...)
	case vmopv1.VirtualMachineServiceTypeExternalName:
		errs = append(errs, validateExternalName(spec)...)
	default:
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.Type, []vmopv1.VirtualMachineServiceType{
			vmopv1.VirtualMachineServiceTypeClusterIP, vmopv1.VirtualMachineServiceTypeLoadBalancer, vmopv1.VirtualMachineServiceTypeExternalName}))
	}
	return append(errs, validatePorts(spec.Ports)...)
}

// validateBacked checks a service that VMs back: it needs a selector, ports unless headless, and
// a cluster IP that is empty, None or an address.
func validateBacked(spec vmopv1.VirtualMachineServiceSpec) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Selector) == 0 {
		errs = append(errs, field.Required(specPath.Child("selector"), fmt.Sprintf("a %s service needs the labels of the VirtualMachines that back it", spec.Type)))
	} else {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}
	if spec.ExternalName != "" {
		errs = append(errs, field.Forbidden(specPath.Child("externalName"), "only an ExternalName service has one; remove it or set type ExternalName"))
	}
	ipPath := specPath.Child("clusterIp")
	switch ip := spec.ClusterIP; {
	case ip == "":
	case ip == "None":
		if spec.Type == vmopv1.VirtualMachineServiceTypeLoadBalancer {
			errs = append(errs, field.Invalid(ipPath, ip, "a LoadBalancer service cannot be headless; leave it empty or give an address"))
		}
	default:
		if _, err := netip.ParseAddr(ip); err != nil {
			errs = append(errs, field.Invalid(ipPath, ip, "must be empty (allocated), None (headless) or an IP address of the service range"))
		}
	}
	if len(spec.Ports) == 0 && spec.ClusterIP != "None" {
		errs = append(errs, field.Required(specPath.Child("ports"), "list at least one port (only a headless service, clusterIp None, may have none)"))
	}
	return errs
}

// validateExternalName checks an alias: a DNS name, and none of the fields that select VMs.
func validateExternalName(spec vmopv1.VirtualMachineServiceSpec) field.ErrorList {
	var errs field.ErrorList
	namePath := specPath.Child("externalName")
	if spec.ExternalName == "" {
		errs = append(errs, field.Required(namePath, "an ExternalName service needs the DNS name it is an alias for"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(strings.TrimSuffix(spec.ExternalName, ".")) {
			errs = append(errs, field.Invalid(namePath, spec.ExternalName, msg))
		}
	}
	if len(spec.Selector) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("selector"), "an ExternalName service is a DNS alias and selects no VirtualMachines; remove it"))
	}
	if spec.ClusterIP != "" {
		errs = append(errs, field.Forbidden(specPath.Child("clusterIp"), "an ExternalName service has no cluster IP; remove it"))
	}
	return errs
}

// validatePorts checks each port's numbers, protocol and name, and that names and port/protocol
// pairs are unique.
func validatePorts(ports []vmopv1.VirtualMachineServicePort) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	pairs := map[string]bool{}
	for i, p := range ports {
		path := specPath.Child("ports").Index(i)
		switch {
		case p.Name == "" && len(ports) > 1:
			errs = append(errs, field.Required(path.Child("name"), "name every port when there is more than one"))
		case p.Name != "":
			for _, msg := range validation.IsValidPortName(p.Name) {
				errs = append(errs, field.Invalid(path.Child("name"), p.Name, msg))
			}
			if names[p.Name] {
				errs = append(errs, field.Duplicate(path.Child("name"), p.Name))
			}
			names[p.Name] = true
		}
		if p.Port < 1 || p.Port > 65535 {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port, "must be between 1 and 65535"))
		}
		if p.TargetPort < 0 || p.TargetPort > 65535 {
			errs = append(errs, field.Invalid(path.Child("targetPort"), p.TargetPort, "must be between 1 and 65535, or 0 for the same as port"))
		}
		if p.Protocol != "" && !slices.Contains(protocols, p.Protocol) {
			errs = append(errs, field.NotSupported(path.Child("protocol"), p.Protocol, protocols))
		}
		pair := fmt.Sprintf("%d/%s", p.Port, cmp.Or(p.Protocol, "TCP"))
		if pairs[pair] {
			errs = append(errs, field.Duplicate(path, pair))
		}
		pairs[pair] = true
	}
	return errs
}

// unsupported refuses the fields this release does not act on, when set on create or changed
// on update (old is nil on create).
func unsupported(old, svc *vmopv1.VirtualMachineService) field.ErrorList {
	var errs field.ErrorList
	if svc.Spec.LoadBalancerIP != "" && (old == nil || old.Spec.LoadBalancerIP != svc.Spec.LoadBalancerIP) {
		errs = append(errs, field.Forbidden(specPath.Child("loadBalancerIP"), "not supported in this release: the load balancer picks the address; remove the field"))
	}
	if len(svc.Spec.LoadBalancerSourceRanges) > 0 && (old == nil || !slices.Equal(old.Spec.LoadBalancerSourceRanges, svc.Spec.LoadBalancerSourceRanges)) {
		errs = append(errs, field.Forbidden(specPath.Child("loadBalancerSourceRanges"), "not supported in this release: the load balancer admits every client; remove the field"))
	}
	return errs
}
