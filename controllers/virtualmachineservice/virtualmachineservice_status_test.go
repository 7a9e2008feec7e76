package virtualmachineservice

import (
	"errors"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

func TestComputeStatus(t *testing.T) {
	lb := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.0.0.9"}}
	lbUp := lb.DeepCopy()
	lbUp.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "127.0.160.2"}}
	for _, tc := range []struct {
		name                    string
		in                      statusInput
		serviceReason, epReason string
	}{
		{"a name taken", statusInput{Type: "ClusterIP", NameTaken: "controlled by Deployment x", EndpointsObserved: true}, vmopv1.ServiceNameTakenReason, vmopv1.NoReadyVirtualMachinesReason},
		{"a refused Service", statusInput{Type: "ClusterIP", ServiceErr: errors.New("invalid"), EndpointsObserved: true, Ready: 1}, vmopv1.ServiceRefusedReason, ""},
		{"a load balancer pending", statusInput{Type: "LoadBalancer", Service: lb, EndpointsObserved: true, Ready: 2}, vmopv1.LoadBalancerPendingReason, ""},
		{"a load balancer up", statusInput{Type: "LoadBalancer", Service: lbUp, EndpointsObserved: true, Ready: 2}, "", ""},
		{"loopback VMs left out", statusInput{Type: "LoadBalancer", Service: lbUp, EndpointsObserved: true, NotAllowed: []string{"a (127.0.0.2)"}}, "", vmopv1.EndpointAddressNotAllowedReason},
		{"an ExternalName", statusInput{Type: "ExternalName", Service: &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName}}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := computeStatus(tc.in)
			if got.serviceReady.Reason != tc.serviceReason {
				t.Errorf("ServiceReady reason %q, want %q", got.serviceReady.Reason, tc.serviceReason)
			}
			if got.endpointsReady == nil || got.endpointsReady.Reason != tc.epReason {
				t.Errorf("EndpointsReady %+v, want reason %q", got.endpointsReady, tc.epReason)
			}
		})
	}
}

func TestDesiredSlicesSplitByFamilyAndSize(t *testing.T) {
	svc := &vmopv1.VirtualMachineService{Spec: vmopv1.VirtualMachineServiceSpec{Type: "ClusterIP",
		Ports: []vmopv1.VirtualMachineServicePort{{Name: "http", Port: 80}}}}
	svc.Name = "web"
	var ready []endpoint
	for i := range 150 {
		ready = append(ready, endpoint{vm: "v", addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})})
	}
	ready = append(ready, endpoint{vm: "six", addr: netip.MustParseAddr("2001:db8::1")})
	got := desiredSlices(svc, ready)
	if len(got) != 3 || got[0].Name != "web-ipv4-0" || len(got[0].Endpoints) != 100 || len(got[1].Endpoints) != 50 || got[2].Name != "web-ipv6-0" {
		t.Fatalf("slices %d: want web-ipv4-0 (100), web-ipv4-1 (50), web-ipv6-0 (1)", len(got))
	}
	if p := got[0].Ports[0]; *p.Port != 80 || *p.Protocol != corev1.ProtocolTCP {
		t.Errorf("port %+v: want 80/TCP (targetPort 0 is the port)", p)
	}
	if empty := desiredSlices(svc, nil); len(empty) != 1 || len(empty[0].Endpoints) != 0 {
		t.Errorf("no ready VM: want one empty slice, got %d", len(empty))
	}
}
