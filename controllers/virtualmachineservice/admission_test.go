package virtualmachineservice_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("Admission of VirtualMachineServices", func() {
	var ns string
	BeforeEach(func() { ns = env.NewNamespace("vmservice-admission") })

	DescribeTable("refuses, naming the field",
		func(change func(*vmopv1.VirtualMachineService), want ...string) {
			svc := objects.VMService(ns, "web", "web")
			change(svc)
			err := k8s.Create(ctx, svc)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		Entry("port 0", func(s *vmopv1.VirtualMachineService) { s.Spec.Ports[0].Port = 0 }, "spec.ports[0].port", "between 1 and 65535"),
		Entry("a port above 65535", func(s *vmopv1.VirtualMachineService) { s.Spec.Ports[0].Port = 65536 }, "spec.ports[0].port"),
		Entry("a target port above 65535", func(s *vmopv1.VirtualMachineService) { s.Spec.Ports[0].TargetPort = 70000 }, "spec.ports[0].targetPort"),
		Entry("duplicate port names", func(s *vmopv1.VirtualMachineService) {
			s.Spec.Ports = append(s.Spec.Ports, vmopv1.VirtualMachineServicePort{Name: "http", Protocol: "TCP", Port: 8080})
		}, "spec.ports[1].name: Duplicate value"),
		Entry("an unnamed port among several", func(s *vmopv1.VirtualMachineService) {
			s.Spec.Ports = append(s.Spec.Ports, vmopv1.VirtualMachineServicePort{Protocol: "TCP", Port: 8080})
		}, "spec.ports[1].name: Required value"),
		Entry("an unknown protocol", func(s *vmopv1.VirtualMachineService) { s.Spec.Ports[0].Protocol = "HTTP" }, "spec.ports[0].protocol", `"TCP"`),
		Entry("an empty selector on ClusterIP", func(s *vmopv1.VirtualMachineService) { s.Spec.Selector = nil }, "spec.selector: Required value"),
		Entry("an empty selector on LoadBalancer", func(s *vmopv1.VirtualMachineService) {
			s.Spec.Type, s.Spec.Selector = vmopv1.VirtualMachineServiceTypeLoadBalancer, nil
		}, "spec.selector: Required value"),
		Entry("an ExternalName without a name", func(s *vmopv1.VirtualMachineService) {
			s.Spec.Type, s.Spec.Selector = vmopv1.VirtualMachineServiceTypeExternalName, nil
		}, "spec.externalName: Required value"),
		Entry("an ExternalName with a selector", func(s *vmopv1.VirtualMachineService) {
			s.Spec.Type, s.Spec.ExternalName = vmopv1.VirtualMachineServiceTypeExternalName, "db.example.com"
		}, "spec.selector: Forbidden"),
		Entry("loadBalancerIP, which this release does not act on", func(s *vmopv1.VirtualMachineService) {
			s.Spec.Type, s.Spec.LoadBalancerIP = vmopv1.VirtualMachineServiceTypeLoadBalancer, "127.0.160.9"
		}, "spec.loadBalancerIP: Forbidden: not supported in this release"),
		Entry("loadBalancerSourceRanges, which this release does not act on", func(s *vmopv1.VirtualMachineService) {
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		}, "spec.loadBalancerSourceRanges: Forbidden: not supported in this release"),
		Entry("a malformed cluster IP", func(s *vmopv1.VirtualMachineService) { s.Spec.ClusterIP = "ten" }, "spec.clusterIp"),
		Entry("a name no Service may have", func(s *vmopv1.VirtualMachineService) { s.Name = "1web" }, "metadata.name"),
		Entry("every problem at once", func(s *vmopv1.VirtualMachineService) {
			s.Spec.Selector = nil
			s.Spec.Ports[0].Port = 0
			s.Spec.Ports[0].Protocol = "ICMP"
		}, "spec.selector", "spec.ports[0].port", "spec.ports[0].protocol"),
	)

	It("keeps a cluster IP once set", func() {
		svc := objects.VMService(ns, "fixed", "fixed")
		svc.Spec.ClusterIP = "None"
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		// The controller writes the object too: a conflict is asked again, the refusal is not.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
				return err
			}
			svc.Spec.ClusterIP = ""
			return k8s.Update(ctx, svc)
		})
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.clusterIp: Forbidden"))
	})
})
