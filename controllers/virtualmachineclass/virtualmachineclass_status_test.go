package virtualmachineclass

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("namespacesOf", func() {
	bindings := func(namespaces ...string) []*vmopv1.VirtualMachineClassBinding {
		var out []*vmopv1.VirtualMachineClassBinding
		for i, ns := range namespaces {
			out = append(out, objects.Binding(ns, string(rune('a'+i)), "small"))
		}
		return out
	}
	DescribeTable("sorts and drops repeats",
		func(in []*vmopv1.VirtualMachineClassBinding, want []string) {
			Expect(namespacesOf(in)).To(Equal(want))
		},
		Entry("none", bindings(), nil),
		Entry("one", bindings("dev"), []string{"dev"}),
		Entry("unsorted", bindings("qa", "dev", "prod"), []string{"dev", "prod", "qa"}),
		Entry("two bindings in one namespace", bindings("qa", "dev", "qa"), []string{"dev", "qa"}),
	)
})

var _ = Describe("boundCondition", func() {
	It("is True when bound somewhere", func() {
		c := boundCondition("small", []string{"dev"})
		Expect(c.Type).To(Equal(vmopv1.BoundCondition))
		Expect(c.Status).To(Equal(corev1.ConditionTrue))
		Expect(c.Reason).To(BeEmpty())
	})
	It("is False with an informational reason when bound nowhere", func() {
		c := boundCondition("small", nil)
		Expect(c.Status).To(Equal(corev1.ConditionFalse))
		Expect(c.Reason).To(Equal(vmopv1.NotBoundReason))
		Expect(c.Severity).To(Equal(vmopv1.ConditionSeverityInfo))
		Expect(c.Message).To(ContainSubstring(`"small"`))
	})
})

var _ = Describe("binding watch", func() {
	r := &Reconciler{}

	It("maps a binding to the class it names, not to its own name", func() {
		Expect(r.bindingToClass(nil, objects.Binding("dev", "my-binding", "small"))).
			To(ConsistOf(reconcile.Request{NamespacedName: client.ObjectKey{Name: "small"}}))
	})

	It("maps a binding without a class to nothing", func() {
		Expect(r.bindingToClass(nil, objects.Binding("dev", "my-binding", ""))).To(BeEmpty())
	})

	It("passes only the updates that change classRef.name", func() {
		before := objects.Binding("dev", "b", "small")
		statusOnly := before.DeepCopy()
		statusOnly.Status.Conditions = vmopv1.Conditions{{Type: "ClassFound", Status: corev1.ConditionTrue}}
		repointed := objects.Binding("dev", "b", "large")

		p := classRefChanged()
		Expect(p.Update(event.UpdateEvent{ObjectOld: before, ObjectNew: statusOnly})).To(BeFalse())
		Expect(p.Update(event.UpdateEvent{ObjectOld: before, ObjectNew: repointed})).To(BeTrue())
		Expect(p.Create(event.CreateEvent{Object: before})).To(BeTrue())
		Expect(p.Delete(event.DeleteEvent{Object: before})).To(BeTrue())
	})
})
