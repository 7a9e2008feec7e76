package virtualmachineclassbinding

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/test/fakeclient"
	"github.com/vm-service/vm-service/test/memcache"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("classFoundCondition", func() {
	It("is True when the class exists", func() {
		c := classFoundCondition("small", true)
		Expect(c.Type).To(Equal(vmopv1.ClassFoundCondition))
		Expect(c.Status).To(Equal(corev1.ConditionTrue))
		Expect(c.Reason).To(BeEmpty())
	})
	It("is a Warning naming the class when it does not", func() {
		c := classFoundCondition("small", false)
		Expect(c.Status).To(Equal(corev1.ConditionFalse))
		Expect(c.Reason).To(Equal("VirtualMachineClassNotFound"))
		Expect(c.Severity).To(Equal(vmopv1.ConditionSeverityWarning))
		Expect(c.Message).To(Equal(`VirtualMachineClass "small" does not exist; this binding takes effect once it is created`))
	})
})

var _ = Describe("class watch", func() {
	// reported is a binding whose ClassFound condition says found.
	reported := func(b *vmopv1.VirtualMachineClassBinding, found bool) *vmopv1.VirtualMachineClassBinding {
		conditions.Set(&b.Status.Conditions, classFoundCondition(b.ClassRef.Name, found))
		return b
	}
	start := func(objs ...client.Object) *Reconciler {
		GinkgoHelper()
		c, err := memcache.New(objs)
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		Expect(index.Register(ctx, c)).To(Succeed())
		_, err = c.GetInformer(ctx, &vmopv1.VirtualMachineClass{})
		Expect(err).NotTo(HaveOccurred())
		go func() { _ = c.Start(ctx) }()
		// A read of an informer the cache has not started yet answers from an empty store.
		Expect(c.WaitForCacheSync(ctx)).To(BeTrue())
		return &Reconciler{Client: fakeclient.New(objs...), cache: c}
	}

	It("maps a class to the bindings whose classRef names it, in every namespace", func() {
		r := start(
			objects.Binding("dev", "small", "small"),
			objects.Binding("qa", "everyone-small", "small"),
			objects.Binding("qa", "large", "large"),
			objects.Binding("prod", "small", "large"), // named like the class, binds another
		)
		Expect(r.classToBindings(context.Background(), objects.BestEffortClass("small", 2, "4Gi"))).To(ConsistOf(
			reconcile.Request{NamespacedName: client.ObjectKey{Namespace: "dev", Name: "small"}},
			reconcile.Request{NamespacedName: client.ObjectKey{Namespace: "qa", Name: "everyone-small"}},
		))
	})

	It("maps a class only to the bindings whose report its coming or going makes wrong", func() {
		small := objects.BestEffortClass("small", 2, "4Gi")
		r := start(small,
			reported(objects.Binding("dev", "small", "small"), true),
			reported(objects.Binding("qa", "small", "small"), false),
			reported(objects.Binding("prod", "gone", "gone"), true),
			reported(objects.Binding("prod", "never", "gone"), false),
		)
		Expect(r.classToBindings(context.Background(), small)).To(ConsistOf(
			reconcile.Request{NamespacedName: client.ObjectKey{Namespace: "qa", Name: "small"}}))
		Expect(r.classToBindings(context.Background(), objects.BestEffortClass("gone", 2, "4Gi"))).To(ConsistOf(
			reconcile.Request{NamespacedName: client.ObjectKey{Namespace: "prod", Name: "gone"}}))
	})

	It("queues a binding that appears only when its report is missing or wrong", func() {
		small := objects.BestEffortClass("small", 2, "4Gi")
		r := start(small)
		ctx := context.Background()
		Expect(r.stale(ctx, objects.Binding("dev", "new", "small"))).To(BeTrue(), "never reported on")
		Expect(r.stale(ctx, reported(objects.Binding("dev", "a", "small"), true))).To(BeFalse())
		Expect(r.stale(ctx, reported(objects.Binding("dev", "b", "small"), false))).To(BeTrue(), "the class came meanwhile")
		Expect(r.stale(ctx, reported(objects.Binding("dev", "c", "gone"), true))).To(BeTrue(), "the class went meanwhile")
		Expect(r.stale(ctx, reported(objects.Binding("dev", "d", "gone"), false))).To(BeFalse())
	})

	It("passes creations and deletions, not updates", func() {
		class := objects.BestEffortClass("small", 2, "4Gi")
		p := existenceChanges()
		Expect(p.Create(event.CreateEvent{Object: class})).To(BeTrue())
		Expect(p.Delete(event.DeleteEvent{Object: class})).To(BeTrue())
		Expect(p.Update(event.UpdateEvent{ObjectOld: class, ObjectNew: class.DeepCopy()})).To(BeFalse())
	})
})
