package classaccess_test

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/test/fakeclient"
	"github.com/vm-service/vm-service/test/objects"
)

func TestClassAccess(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "class access suite")
}

var _ = Describe("Check", func() {
	ctx := context.Background()
	world := []client.Object{
		objects.GuaranteedClass("guaranteed-large", 4, "16Gi"),
		objects.GuaranteedClass("guaranteed-medium", 2, "8Gi"),
		objects.BestEffortClass("best-effort-medium", 2, "8Gi"),
		objects.Binding("cormac-new-ns", "guaranteed-large", "guaranteed-large"),
		objects.Binding("cormac-new-ns", "medium-for-workers", "best-effort-medium"),
		objects.Binding("new-namespace", "guaranteed-medium", "guaranteed-medium"),
		objects.Binding("cormac-new-ns", "ghost", "deleted-class"),
	}

	DescribeTable("decides by the binding's classRef in the namespace",
		func(ns, class string, want classaccess.Verdict, reason string) {
			d, err := classaccess.Check(ctx, cacheOnly(fakeclient.New(world...)), ns, class)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Verdict).To(Equal(want))
			Expect(d.Reason()).To(Equal(reason))
			Expect(d.Usable()).To(Equal(want == classaccess.Usable))
			if want == classaccess.ClassNotFound {
				Expect(d.Found).To(BeNil())
			} else {
				Expect(d.Found).To(HaveField("Name", class), "the class as read, for callers that size VMs")
			}
		},
		Entry("bound under its own name", "cormac-new-ns", "guaranteed-large", classaccess.Usable, ""),
		Entry("bound under another name", "cormac-new-ns", "best-effort-medium", classaccess.Usable, ""),
		Entry("bound only in another namespace", "cormac-new-ns", "guaranteed-medium", classaccess.NotBound, "VirtualMachineClassBindingNotFound"),
		Entry("a binding named after the class does not count", "new-namespace", "guaranteed-large", classaccess.NotBound, "VirtualMachineClassBindingNotFound"),
		Entry("bound but the class is gone", "cormac-new-ns", "deleted-class", classaccess.ClassNotFound, "VirtualMachineClassNotFound"),
		Entry("no such class anywhere", "cormac-new-ns", "nope", classaccess.ClassNotFound, "VirtualMachineClassNotFound"),
		Entry("a namespace with no bindings", "empty", "guaranteed-large", classaccess.NotBound, "VirtualMachineClassBindingNotFound"),
	)

	It("names the class, the namespace and the bound classes when refusing", func() {
		d, err := classaccess.Check(ctx, cacheOnly(fakeclient.New(world...)), "cormac-new-ns", "guaranteed-medium")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Bound).To(Equal([]string{"best-effort-medium", "deleted-class", "guaranteed-large"}))
		Expect(d.FieldError(field.NewPath("spec", "topology", "controlPlane", "class")).Error()).To(Equal(
			`spec.topology.controlPlane.class: Invalid value: "guaranteed-medium": VirtualMachineClass "guaranteed-medium" is not bound in namespace "cormac-new-ns" (bound here: best-effort-medium, deleted-class, guaranteed-large); use a bound class or ask a platform admin to bind this one`))

		d, err = classaccess.Check(ctx, cacheOnly(fakeclient.New(world...)), "empty", "nope")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Message()).To(Equal(`VirtualMachineClass "nope" does not exist (bound in namespace "empty": none); use one of the bound classes`))
	})

	It("says nothing about a usable class", func() {
		d, err := classaccess.Check(ctx, cacheOnly(fakeclient.New(world...)), "cormac-new-ns", "guaranteed-large")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Message()).To(BeEmpty())
		Expect(d.Bound).To(BeNil())
	})

	It("returns read failures with context instead of deciding", func() {
		broken := interceptor.NewClient(fakeclient.New(world...), interceptor.Funcs{
			List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
				return errors.New("cache not synced")
			},
		})
		_, err := classaccess.Check(ctx, cacheOnly(broken), "cormac-new-ns", "guaranteed-large")
		Expect(err).To(MatchError(ContainSubstring(`list bindings in namespace "cormac-new-ns": cache not synced`)))
	})

	Describe("objects on their way out", func() {
		deleting := func(obj client.Object) client.Object {
			now := metav1.Now()
			obj.SetDeletionTimestamp(&now)
			obj.SetFinalizers([]string{"test.vmoperator.vmware.com/hold"})
			return obj
		}

		It("does not count a binding being deleted", func() {
			c := fakeclient.New(append(world, deleting(objects.Binding("leaving", "guaranteed-large", "guaranteed-large")))...)
			d, err := classaccess.Check(ctx, cacheOnly(c), "leaving", "guaranteed-large")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Verdict).To(Equal(classaccess.NotBound))
			Expect(d.Bound).To(BeEmpty(), "nor lists it as bound")
		})

		It("does not let a class being deleted be used, and says so", func() {
			c := fakeclient.New(deleting(objects.GuaranteedClass("doomed", 2, "4Gi")), objects.Binding("ns", "doomed", "doomed"))
			d, err := classaccess.Check(ctx, cacheOnly(c), "ns", "doomed")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Verdict).To(Equal(classaccess.ClassNotFound))
			Expect(d.Message()).To(HavePrefix(`VirtualMachineClass "doomed" is being deleted`))
		})

		It("refuses an empty namespace without listing every namespace's bindings", func() {
			listed := false
			c := interceptor.NewClient(fakeclient.New(world...), interceptor.Funcs{
				List: func(ctx context.Context, cl client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
					listed = true
					return cl.List(ctx, list, opts...)
				},
			})
			d, err := classaccess.Check(ctx, cacheOnly(c), "", "guaranteed-large")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Usable()).To(BeFalse())
			Expect(listed).To(BeFalse())
		})
	})

	Describe("with a cache a moment behind the apiserver", func() {
		// live holds a class and a binding the cache has not seen yet.
		var cache, live client.Reader
		var liveReads int
		BeforeEach(func() {
			cache = fakeclient.New(world...)
			liveReads = 0
			live = interceptor.NewClient(fakeclient.New(append(world,
				objects.BestEffortClass("best-effort-4xlarge", 16, "128Gi"),
				objects.Binding("cormac-new-ns", "best-effort-4xlarge", "best-effort-4xlarge"),
				objects.Binding("cormac-new-ns", "guaranteed-medium", "guaranteed-medium"))...), interceptor.Funcs{
				Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
					liveReads++
					return c.Get(ctx, key, obj, opts...)
				},
				List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
					liveReads++
					return c.List(ctx, list, opts...)
				},
			})
		})

		It("confirms a class the cache has not seen before refusing it", func() {
			d, err := classaccess.Check(ctx, confirm.Readers{Cache: cache, Live: live}, "cormac-new-ns", "best-effort-4xlarge")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Verdict).To(Equal(classaccess.Usable))
			Expect(d.Found).To(HaveField("Name", "best-effort-4xlarge"))
		})

		It("confirms a binding the cache has not seen before refusing it", func() {
			d, err := classaccess.Check(ctx, confirm.Readers{Cache: cache, Live: live}, "cormac-new-ns", "guaranteed-medium")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Verdict).To(Equal(classaccess.Usable))
		})

		It("admits from the cache alone", func() {
			d, err := classaccess.Check(ctx, confirm.Readers{Cache: cache, Live: live}, "cormac-new-ns", "guaranteed-large")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Usable()).To(BeTrue())
			Expect(liveReads).To(BeZero(), "an admitted check costs no apiserver read")
		})

		It("refuses with what the apiserver says is bound", func() {
			d, err := classaccess.Check(ctx, confirm.Readers{Cache: cache, Live: live}, "new-namespace", "best-effort-4xlarge")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Verdict).To(Equal(classaccess.NotBound))
			Expect(d.Bound).To(Equal([]string{"guaranteed-medium"}))
			Expect(liveReads).To(BeNumerically(">", 0))
		})
	})
})

// cacheOnly reads r as the cache, with nothing to confirm against.
func cacheOnly(r client.Reader) confirm.Readers { return confirm.Readers{Cache: r} }
