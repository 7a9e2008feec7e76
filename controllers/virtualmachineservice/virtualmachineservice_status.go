package virtualmachineservice

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// statusInput is what a reconcile observed, in plain values for a table test.
type statusInput struct {
	Type vmopv1.VirtualMachineServiceType
	// Service is the core Service as written; nil when it is not there.
	Service    *corev1.Service
	ServiceErr error
	NameTaken  string
	// EndpointsObserved says Matched and Ready were counted this pass.
	EndpointsObserved bool
	Matched, Ready    int
	// NotAllowed are the ready VMs left out for an address the apiserver refuses in a slice.
	NotAllowed []string
}

func statusInputOf(s *scope) statusInput {
	return statusInput{
		Type: s.svc.Spec.Type, Service: s.service, ServiceErr: s.serviceErr, NameTaken: s.nameTaken,
		EndpointsObserved: s.endpointsObserved, Matched: s.matched, Ready: len(s.ready), NotAllowed: s.notAllowed,
	}
}

// serviceStatus is the status computed from one pass; a nil field leaves what is there.
type serviceStatus struct {
	serviceReady   vmopv1.Condition
	endpointsReady *vmopv1.Condition
	// loadBalancer and clusterIP are copied from the Service when it was observed.
	loadBalancer *vmopv1.LoadBalancerStatus
	clusterIP    *string
}

// computeStatus works out the conditions and the copied Service fields.
func computeStatus(in statusInput) serviceStatus {
	var out serviceStatus
	switch {
	case in.NameTaken != "":
		out.serviceReady = conditions.False(vmopv1.ServiceReadyCondition, vmopv1.ServiceNameTakenReason, vmopv1.ConditionSeverityError,
			"a Service of this name exists, %s; delete it or give the VirtualMachineService another name", in.NameTaken)
	case in.ServiceErr != nil:
		out.serviceReady = conditions.False(vmopv1.ServiceReadyCondition, vmopv1.ServiceRefusedReason, vmopv1.ConditionSeverityError,
			"%v; change the spec so the apiserver accepts the Service", in.ServiceErr)
	case in.Service == nil:
		out.serviceReady = conditions.Unknown(vmopv1.ServiceReadyCondition, vmopv1.ServiceNotObservedReason, "the Service could not be read or written; retrying")
	case in.Type == vmopv1.VirtualMachineServiceTypeLoadBalancer && len(in.Service.Status.LoadBalancer.Ingress) == 0:
		out.serviceReady = conditions.False(vmopv1.ServiceReadyCondition, vmopv1.LoadBalancerPendingReason, vmopv1.ConditionSeverityInfo,
			"waiting for the load balancer to give Service %s an address", in.Service.Name)
	default:
		out.serviceReady = conditions.True(vmopv1.ServiceReadyCondition)
	}
	if in.Service != nil {
		lb := loadBalancerOf(in.Service)
		ip := in.Service.Spec.ClusterIP
		if in.Service.Spec.Type == corev1.ServiceTypeExternalName {
			ip = ""
		}
		out.loadBalancer, out.clusterIP = &lb, &ip
	}
	switch {
	case in.Type == vmopv1.VirtualMachineServiceTypeExternalName:
		out.endpointsReady = ptrTo(conditions.True(vmopv1.EndpointsReadyCondition))
	case !in.EndpointsObserved:
	case len(in.NotAllowed) > 0:
		out.endpointsReady = ptrTo(conditions.False(vmopv1.EndpointsReadyCondition, vmopv1.EndpointAddressNotAllowedReason, vmopv1.ConditionSeverityWarning,
			"%d VirtualMachine(s) receive traffic; left out: %s, whose address is loopback, link-local or unspecified, which an EndpointSlice cannot hold; give the VMs routable addresses",
			in.Ready, strings.Join(in.NotAllowed, ", ")))
	case in.Ready > 0:
		out.endpointsReady = ptrTo(conditions.True(vmopv1.EndpointsReadyCondition))
	default:
		out.endpointsReady = ptrTo(conditions.False(vmopv1.EndpointsReadyCondition, vmopv1.NoReadyVirtualMachinesReason, vmopv1.ConditionSeverityWarning,
			"%d VirtualMachine(s) match the selector; none is powered on with an address and Ready", in.Matched))
	}
	return out
}

// applyStatus writes st into the service's status.
func applyStatus(svc *vmopv1.VirtualMachineService, st serviceStatus) {
	conditions.Set(&svc.Status.Conditions, st.serviceReady)
	if st.endpointsReady != nil {
		conditions.Set(&svc.Status.Conditions, *st.endpointsReady)
	} else if conditions.Get(svc.Status.Conditions, vmopv1.EndpointsReadyCondition) == nil {
		conditions.Set(&svc.Status.Conditions, conditions.Unknown(vmopv1.EndpointsReadyCondition, vmopv1.EndpointsNotObservedReason, "the selected VirtualMachines could not be read yet"))
	}
	if st.loadBalancer != nil {
		svc.Status.LoadBalancer = *st.loadBalancer
	}
	if st.clusterIP != nil {
		svc.Status.ClusterIP = *st.clusterIP
	}
}

// loadBalancerOf copies the Service's load balancer status into the API's shape.
func loadBalancerOf(service *corev1.Service) vmopv1.LoadBalancerStatus {
	var lb vmopv1.LoadBalancerStatus
	for _, in := range service.Status.LoadBalancer.Ingress {
		lb.Ingress = append(lb.Ingress, vmopv1.LoadBalancerIngress{IP: in.IP, Hostname: in.Hostname})
	}
	return lb
}

func ptrTo(c vmopv1.Condition) *vmopv1.Condition { return &c }
