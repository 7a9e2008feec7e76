package virtualmachineservice_test

import (
	"net/netip"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

// externalIP returns a poller of the service's first load balancer address ("" for none).
func externalIP(svc *vmopv1.VirtualMachineService) func() string {
	return func() string {
		if in := fresh(svc).Status.LoadBalancer.Ingress; len(in) > 0 {
			return in[0].IP
		}
		return ""
	}
}

// lbService is a LoadBalancer VirtualMachineService.
func lbService(ns, name string) *vmopv1.VirtualMachineService {
	svc := objects.VMService(ns, name, name)
	svc.Spec.Type = vmopv1.VirtualMachineServiceTypeLoadBalancer
	return svc
}

// allocated waits for svc's load balancer address and checks the Service records it.
func allocated(svc *vmopv1.VirtualMachineService) string {
	GinkgoHelper()
	Eventually(externalIP(svc)).ShouldNot(BeEmpty())
	ip := externalIP(svc)()
	Expect(netip.MustParsePrefix(lbRange).Contains(netip.MustParseAddr(ip))).To(BeTrue(), "%s is in %s", ip, lbRange)
	service := &corev1.Service{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(svc), service)).To(Succeed())
	Expect(service.Annotations).To(HaveKeyWithValue(vmopv1.LoadBalancerIPAnnotation, ip))
	Expect(service.Status.LoadBalancer.Ingress).To(ConsistOf(HaveField("IP", ip)))
	return ip
}

var _ = Describe("The local load balancer", Ordered, func() {
	var ns string
	BeforeAll(func() { ns, _ = boundNamespace() })

	It("gives each LoadBalancer service its own address, shown in the VirtualMachineService's status", func() {
		front, back := lbService(ns, "front"), lbService(ns, "back")
		Expect(k8s.Create(ctx, front)).To(Succeed())
		Expect(k8s.Create(ctx, back)).To(Succeed())
		Expect(allocated(front)).NotTo(Equal(allocated(back)))
		Expect(condition(front, vmopv1.ServiceReadyCondition).Status).To(Equal(corev1.ConditionTrue))
	})

	It("frees the address of a service that stops being a LoadBalancer, or whose Service is deleted", func() {
		front := lbService(ns, "front")
		freed := externalIP(front)()
		update(front, func(s *vmopv1.VirtualMachineService) { s.Spec.Type = vmopv1.VirtualMachineServiceTypeClusterIP })
		Eventually(externalIP(front)).Should(BeEmpty())
		service := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(front), service)).To(Succeed())
		Expect(service.Annotations).NotTo(HaveKey(vmopv1.LoadBalancerIPAnnotation))
		third := lbService(ns, "third")
		Expect(k8s.Create(ctx, third)).To(Succeed())
		Expect(allocated(third)).To(Equal(freed), "the lowest free address is handed out")

		By("deleting a LoadBalancer Service outright (the garbage collector's part when its owner goes)")
		plain := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 443}}}}
		plain.Namespace, plain.Name = ns, "plain"
		Expect(k8s.Create(ctx, plain)).To(Succeed())
		Eventually(func() map[string]string { return fresh(plain).Annotations }).Should(HaveKey(vmopv1.LoadBalancerIPAnnotation))
		plainIP := plain.Annotations[vmopv1.LoadBalancerIPAnnotation]
		Expect(k8s.Delete(ctx, plain)).To(Succeed())
		fourth := lbService(ns, "fourth")
		Expect(k8s.Create(ctx, fourth)).To(Succeed())
		Expect(allocated(fourth)).To(Equal(plainIP))
	})

	It("hands out no address twice after a restart, and keeps those it gave", func() {
		held := map[string]string{}
		for _, name := range []string{"back", "third", "fourth"} {
			held[name] = externalIP(lbService(ns, name))()
		}
		startManager()
		fifth := lbService(ns, "fifth")
		Expect(k8s.Create(ctx, fifth)).To(Succeed())
		Expect(held).NotTo(ContainElement(allocated(fifth)))
		for name, ip := range held {
			Expect(allocated(lbService(ns, name))).To(Equal(ip), name)
		}
	})
})
