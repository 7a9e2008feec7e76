package virtualmachineservice_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

var _ = Describe("The developer persona", func() {
	It("manages VirtualMachineServices in its namespace but cannot write a Service's status", func() {
		ns := env.NewNamespace("vmservice-dev")
		// The standard edit role as a cluster aggregates it; envtest runs no aggregation.
		dev := env.NewDeveloper(ns, "system:aggregate-to-edit", "system:aggregate-to-view", "vm-service-edit")
		svc := lbService(ns, "dev")
		Expect(dev.Client.Create(ctx, svc)).To(Succeed())
		Expect(dev.Client.List(ctx, &vmopv1.VirtualMachineServiceList{}, client.InNamespace(ns))).To(Succeed())
		// The controller writes the object too (finalizer, status): an update retries on conflict.
		testenv.Update(dev.Client, svc, func(s *vmopv1.VirtualMachineService) { s.Spec.Ports[0].TargetPort = 8443 })

		By("being refused the status of the Service that backs it")
		service := &corev1.Service{}
		Eventually(func() error { return dev.Client.Get(ctx, client.ObjectKeyFromObject(svc), service) }).Should(Succeed())
		before := service.DeepCopy()
		service.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}}
		Expect(apierrors.IsForbidden(dev.Client.Status().Patch(ctx, service, client.MergeFrom(before)))).To(BeTrue())
		Expect(apierrors.IsForbidden(dev.Client.Status().Update(ctx, svc))).To(BeTrue(), "nor that of the VirtualMachineService")

		Expect(dev.Client.Delete(ctx, svc)).To(Succeed())
		other := env.NewNamespace("vmservice-other")
		Expect(apierrors.IsForbidden(dev.Client.Create(ctx, objects.VMService(other, "web", "web")))).To(BeTrue())
	})
})
