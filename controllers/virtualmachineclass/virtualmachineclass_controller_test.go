package virtualmachineclass_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("VirtualMachineClass status", func() {
	var nsA, nsB, className string

	// namespaces reads the class's status.namespaces from the API server.
	namespaces := func() []string {
		class := &vmopv1.VirtualMachineClass{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: className}, class)).To(Succeed())
		return class.Status.Namespaces
	}
	// bound reads the class's Bound condition.
	bound := func() vmopv1.Condition {
		class := &vmopv1.VirtualMachineClass{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: className}, class)).To(Succeed())
		if c := conditions.Get(class.Status.Conditions, vmopv1.BoundCondition); c != nil {
			return *c
		}
		return vmopv1.Condition{}
	}

	BeforeEach(func() {
		nsA, nsB = newNamespace(), newNamespace()
		if nsB < nsA { // specs below rely on nsA sorting first
			nsA, nsB = nsB, nsA
		}
		className = nsA + "-small"
		Expect(k8s.Create(ctx, objects.BestEffortClass(className, 2, "4Gi"))).To(Succeed())
		// Let the class settle unbound first, so what the specs see next comes from binding
		// events and not from the class's own first reconciles.
		Eventually(bound).Should(HaveField("Reason", vmopv1.NotBoundReason))
	})

	It("is not bound until a binding names it", func() {
		Eventually(bound).Should(And(
			HaveField("Status", corev1.ConditionFalse),
			HaveField("Reason", vmopv1.NotBoundReason),
			HaveField("Severity", vmopv1.ConditionSeverityInfo),
			HaveField("Message", ContainSubstring(className)),
		))
		Expect(namespaces()).To(BeEmpty())
	})

	It("lists both namespaces, sorted, when bound in two", func() {
		// Created in reverse order, so a sorted list is the controller's doing.
		Expect(k8s.Create(ctx, objects.Binding(nsB, className, className))).To(Succeed())
		Expect(k8s.Create(ctx, objects.Binding(nsA, className, className))).To(Succeed())

		Eventually(namespaces).Should(Equal([]string{nsA, nsB}))
		Expect(bound()).To(HaveField("Status", corev1.ConditionTrue))
	})

	It("lists a namespace once however many bindings there name the class", func() {
		Expect(k8s.Create(ctx, objects.Binding(nsA, className, className))).To(Succeed())
		Expect(k8s.Create(ctx, objects.Binding(nsA, "second", className))).To(Succeed())

		Eventually(namespaces).Should(Equal([]string{nsA}))
	})

	It("removes a namespace when its binding is deleted", func() {
		inA, inB := objects.Binding(nsA, className, className), objects.Binding(nsB, className, className)
		Expect(k8s.Create(ctx, inA)).To(Succeed())
		Expect(k8s.Create(ctx, inB)).To(Succeed())
		Eventually(namespaces).Should(Equal([]string{nsA, nsB}))

		Expect(k8s.Delete(ctx, inA)).To(Succeed())
		Eventually(namespaces).Should(Equal([]string{nsB}))

		By("reporting the class unbound once the last binding is gone")
		Expect(k8s.Delete(ctx, inB)).To(Succeed())
		Eventually(namespaces).Should(BeEmpty())
		Expect(bound()).To(HaveField("Reason", vmopv1.NotBoundReason))
	})

	It("counts a binding by its classRef, not by its name", func() {
		other := nsA + "-large"
		Expect(k8s.Create(ctx, objects.BestEffortClass(other, 4, "16Gi"))).To(Succeed())
		// Named unlike its class: counts for className.
		Expect(k8s.Create(ctx, objects.Binding(nsA, "developers-may-use-small", className))).To(Succeed())
		// Named like className but binding the other class: counts for the other class only.
		Expect(k8s.Create(ctx, objects.Binding(nsB, className, other))).To(Succeed())

		Eventually(namespaces).Should(Equal([]string{nsA}))
		Eventually(func() []string {
			class := &vmopv1.VirtualMachineClass{}
			Expect(k8s.Get(ctx, client.ObjectKey{Name: other}, class)).To(Succeed())
			return class.Status.Namespaces
		}).Should(Equal([]string{nsB}))
		Consistently(namespaces, time.Second).Should(Equal([]string{nsA}))
	})

	It("lists bindings created before the class", func() {
		later := nsA + "-medium"
		Expect(k8s.Create(ctx, objects.Binding(nsA, later, later))).To(Succeed())
		Expect(k8s.Create(ctx, objects.BestEffortClass(later, 2, "8Gi"))).To(Succeed())

		Eventually(func() []string {
			class := &vmopv1.VirtualMachineClass{}
			Expect(k8s.Get(ctx, client.ObjectKey{Name: later}, class)).To(Succeed())
			return class.Status.Namespaces
		}).Should(Equal([]string{nsA}))
	})

	It("writes nothing once settled", func() {
		Expect(k8s.Create(ctx, objects.Binding(nsA, className, className))).To(Succeed())
		Eventually(namespaces).Should(Equal([]string{nsA}))

		class := &vmopv1.VirtualMachineClass{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: className}, class)).To(Succeed())
		settled := class.ResourceVersion
		Consistently(func() string {
			Expect(k8s.Get(ctx, client.ObjectKey{Name: className}, class)).To(Succeed())
			return class.ResourceVersion
		}, 2*time.Second, 200*time.Millisecond).Should(Equal(settled))
	})
})
