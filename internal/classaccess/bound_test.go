package classaccess_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/test/fakeclient"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("BoundSet", func() {
	bound := func(s *classaccess.BoundSet, ns string) []string {
		names, ok := s.Classes(ns)
		Expect(ok).To(BeTrue())
		return names
	}

	It("follows bindings as they are created, repointed and deleted", func() {
		s := classaccess.NewBoundSet()
		Expect(bound(s, "ns")).To(BeEmpty())

		large := objects.Binding("ns", "large", "guaranteed-large")
		s.OnAdd(large, true)
		s.OnAdd(objects.Binding("ns", "small", "best-effort-small"), true)
		s.OnAdd(objects.Binding("other", "small", "best-effort-xlarge"), true)
		Expect(bound(s, "ns")).To(Equal([]string{"best-effort-small", "guaranteed-large"}))
		Expect(bound(s, "other")).To(Equal([]string{"best-effort-xlarge"}))

		By("a binding pointed at another class no longer counts for the old one")
		renamed := objects.Binding("ns", "large", "guaranteed-medium")
		s.OnUpdate(large, renamed)
		Expect(bound(s, "ns")).To(Equal([]string{"best-effort-small", "guaranteed-medium"}))

		By("a binding being deleted stops counting at once")
		leaving := renamed.DeepCopy()
		now := metav1.Now()
		leaving.DeletionTimestamp = &now
		s.OnUpdate(renamed, leaving)
		Expect(bound(s, "ns")).To(Equal([]string{"best-effort-small"}))
		s.OnDelete(leaving)
		Expect(bound(s, "ns")).To(Equal([]string{"best-effort-small"}))

		By("a delete the informer reports as a tombstone is taken back too")
		s.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/small", Obj: nil})
		Expect(bound(s, "ns")).To(BeEmpty())
		Expect(bound(s, "other")).To(Equal([]string{"best-effort-xlarge"}))
	})

	It("keeps a class bound until its last binding in the namespace is gone", func() {
		s := classaccess.NewBoundSet()
		first, second := objects.Binding("ns", "a", "guaranteed-large"), objects.Binding("ns", "b", "guaranteed-large")
		s.OnAdd(first, false)
		s.OnAdd(second, false)
		s.OnAdd(first, false) // a replayed add counts once
		Expect(bound(s, "ns")).To(Equal([]string{"guaranteed-large"}))
		s.OnDelete(first)
		Expect(bound(s, "ns")).To(Equal([]string{"guaranteed-large"}))
		s.OnDelete(second)
		Expect(bound(s, "ns")).To(BeEmpty())
	})

	It("gives the refusal its bound classes without listing bindings", func() {
		s := classaccess.NewBoundSet()
		world := []client.Object{
			objects.BestEffortClass("best-effort-small", 2, "4Gi"),
			objects.GuaranteedClass("guaranteed-large", 4, "16Gi"),
			objects.Binding("ns", "small", "best-effort-small"),
		}
		for _, obj := range world[2:] {
			s.OnAdd(obj, true)
		}
		unfiltered := 0
		c := interceptor.NewClient(fakeclient.New(world...), interceptor.Funcs{
			List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				if len((&client.ListOptions{}).ApplyOptions(opts).FieldSelector.String()) == 0 {
					unfiltered++
				}
				return c.List(ctx, list, opts...)
			},
		})
		d, err := classaccess.Check(context.Background(), confirm.Readers{Cache: classaccess.WithBound(c, s)}, "ns", "guaranteed-large")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Verdict).To(Equal(classaccess.NotBound))
		Expect(d.Bound).To(Equal([]string{"best-effort-small"}))
		Expect(unfiltered).To(BeZero(), "only the indexed lookup of the class's bindings")
	})

	It("stays current with a real informer cache as bindings come and go", func() {
		events := watch.NewFakeWithChanSize(16, false)
		c := fedCache(events, objects.Binding("ns", "large", "guaranteed-large"))
		s, err := classaccess.TrackBound(context.Background(), c)
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		go func() { _ = c.Start(ctx) }()
		Expect(c.WaitForCacheSync(ctx)).To(BeTrue())
		classes := func() []string {
			names, ok := s.Classes("ns")
			if !ok {
				return []string{"(not synced)"}
			}
			return names
		}
		Eventually(classes).Should(Equal([]string{"guaranteed-large"}))

		small := objects.Binding("ns", "small", "best-effort-small")
		small.ResourceVersion = "2"
		events.Add(small)
		Eventually(classes).Should(Equal([]string{"best-effort-small", "guaranteed-large"}))

		repointed := small.DeepCopy()
		repointed.ResourceVersion, repointed.ClassRef.Name = "3", "best-effort-medium"
		events.Modify(repointed)
		Eventually(classes).Should(Equal([]string{"best-effort-medium", "guaranteed-large"}))

		gone := objects.Binding("ns", "large", "guaranteed-large")
		gone.ResourceVersion = "4"
		events.Delete(gone)
		Eventually(classes).WithTimeout(10 * time.Second).Should(Equal([]string{"best-effort-medium"}))
	})
})

// fedCache is a real informer cache whose binding informer lists initial and then follows events;
// every other kind is empty.
func fedCache(events watch.Interface, initial ...*vmopv1.VirtualMachineClassBinding) cache.Cache {
	GinkgoHelper()
	list := &vmopv1.VirtualMachineClassBindingList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for _, b := range initial {
		list.Items = append(list.Items, *b)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(vmopv1.GroupVersion.WithKind("VirtualMachineClassBinding"), meta.RESTScopeNamespace)
	c, err := cache.New(&rest.Config{Host: "https://127.0.0.1:1"}, cache.Options{
		Scheme: scheme.New(),
		Mapper: mapper,
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, ix toolscache.Indexers) toolscache.SharedIndexInformer {
			return toolscache.NewSharedIndexInformer(eventListWatch{list: list, events: events}, obj, resync, ix)
		},
	})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// eventListWatch lists a fixed set of objects, then hands out one watch fed by the spec.
type eventListWatch struct {
	list   runtime.Object
	events watch.Interface
}

func (m eventListWatch) List(metav1.ListOptions) (runtime.Object, error) {
	return m.list.DeepCopyObject(), nil
}

func (m eventListWatch) Watch(metav1.ListOptions) (watch.Interface, error) { return m.events, nil }

// IsWatchListSemanticsUnSupported makes the reflector list first.
func (eventListWatch) IsWatchListSemanticsUnSupported() bool { return true }
