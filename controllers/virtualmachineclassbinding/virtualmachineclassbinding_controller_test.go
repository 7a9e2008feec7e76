package virtualmachineclassbinding_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("VirtualMachineClassBinding status", func() {
	var ns, className string

	BeforeEach(func() {
		ns = newNamespace()
		className = ns + "-small"
	})

	// classFound reads the ClassFound condition of the binding ns/name from the API server.
	classFound := func(namespace, name string) func() vmopv1.Condition {
		return func() vmopv1.Condition {
			b := &vmopv1.VirtualMachineClassBinding{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, b)).To(Succeed())
			if c := conditions.Get(b.Status.Conditions, vmopv1.ClassFoundCondition); c != nil {
				return *c
			}
			return vmopv1.Condition{}
		}
	}
	beTrue := HaveField("Status", corev1.ConditionTrue)
	notFound := func(class string) types.GomegaMatcher {
		return And(
			HaveField("Status", corev1.ConditionFalse),
			HaveField("Reason", vmopv1.VirtualMachineClassNotFoundReason),
			HaveField("Severity", vmopv1.ConditionSeverityWarning),
			HaveField("Message", And(ContainSubstring(`"`+class+`"`), ContainSubstring("takes effect once it is created"))),
		)
	}

	It("reports a binding made before its class, then finds the class once it is created", func() {
		Expect(k8s.Create(ctx, objects.Binding(ns, className, className))).To(Succeed())
		Eventually(classFound(ns, className)).Should(notFound(className))

		Expect(k8s.Create(ctx, objects.BestEffortClass(className, 2, "4Gi"))).To(Succeed())
		Eventually(classFound(ns, className)).Should(beTrue)
	})

	It("reports the class missing once it is deleted", func() {
		class := objects.BestEffortClass(className, 2, "4Gi")
		Expect(k8s.Create(ctx, class)).To(Succeed())
		Expect(k8s.Create(ctx, objects.Binding(ns, className, className))).To(Succeed())
		Eventually(classFound(ns, className)).Should(beTrue)

		Expect(k8s.Delete(ctx, class)).To(Succeed())
		Eventually(classFound(ns, className)).Should(notFound(className))
	})

	It("wakes every binding naming the class, in every namespace, whatever their names", func() {
		other := newNamespace()
		Expect(k8s.Create(ctx, objects.Binding(ns, className, className))).To(Succeed())
		Expect(k8s.Create(ctx, objects.Binding(other, "team-small", className))).To(Succeed())
		// Named like the class but naming another one, which never appears.
		Expect(k8s.Create(ctx, objects.Binding(other, className, ns+"-missing"))).To(Succeed())
		Eventually(classFound(ns, className)).Should(notFound(className))
		Eventually(classFound(other, "team-small")).Should(notFound(className))
		Eventually(classFound(other, className)).Should(notFound(ns + "-missing"))

		Expect(k8s.Create(ctx, objects.BestEffortClass(className, 2, "4Gi"))).To(Succeed())
		Eventually(classFound(ns, className)).Should(beTrue)
		Eventually(classFound(other, "team-small")).Should(beTrue)
		Consistently(classFound(other, className), time.Second).Should(notFound(ns + "-missing"))
	})

	It("writes nothing once settled", func() {
		Expect(k8s.Create(ctx, objects.BestEffortClass(className, 2, "4Gi"))).To(Succeed())
		Expect(k8s.Create(ctx, objects.Binding(ns, className, className))).To(Succeed())
		Eventually(classFound(ns, className)).Should(beTrue)

		b := &vmopv1.VirtualMachineClassBinding{}
		key := client.ObjectKey{Namespace: ns, Name: className}
		Expect(k8s.Get(ctx, key, b)).To(Succeed())
		settled := b.ResourceVersion
		Consistently(func() string {
			Expect(k8s.Get(ctx, key, b)).To(Succeed())
			return b.ResourceVersion
		}, 2*time.Second, 200*time.Millisecond).Should(Equal(settled))
	})
})
