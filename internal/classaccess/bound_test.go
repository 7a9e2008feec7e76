package classaccess_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/test/fakeclient"
	"github.com/vm-service/vm-service/test/memcache"
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
		s.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/small", Obj: objects.Binding("ns", "small", "best-effort-small")})
		Expect(bound(s, "ns")).To(BeEmpty())
		Expect(bound(s, "other")).To(Equal([]string{"best-effort-xlarge"}))
	})

	It("keeps a class bound until its last binding in the namespace is gone", func() {
		s := classaccess.NewBoundSet()
		first, second := objects.Binding("ns", "a", "guaranteed-large"), objects.Binding("ns", "b", "guaranteed-large")
		s.OnAdd(first, false)
		s.OnAdd(second, false)
		s.OnUpdate(first, first.DeepCopy()) // a resync changes nothing
		Expect(bound(s, "ns")).To(Equal([]string{"guaranteed-large"}))
		s.OnDelete(first)
		Expect(bound(s, "ns")).To(Equal([]string{"guaranteed-large"}))
		s.OnDelete(second)
		Expect(bound(s, "ns")).To(BeEmpty())
	})

	It("answers the access check, usable or refused, without listing bindings", func() {
		s := classaccess.NewBoundSet()
		world := []client.Object{
			objects.BestEffortClass("best-effort-small", 2, "4Gi"),
			objects.GuaranteedClass("guaranteed-large", 4, "16Gi"),
			objects.Binding("ns", "small", "best-effort-small"),
		}
		for _, obj := range world[2:] {
			s.OnAdd(obj, true)
		}
		lists := 0
		c := interceptor.NewClient(fakeclient.New(world...), interceptor.Funcs{
			List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				lists++
				return c.List(ctx, list, opts...)
			},
		})
		d, err := classaccess.Check(context.Background(), confirm.Readers{Cache: classaccess.WithBound(c, s)}, "ns", "guaranteed-large")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Verdict).To(Equal(classaccess.NotBound))
		Expect(d.Bound).To(Equal([]string{"best-effort-small"}))
		d, err = classaccess.Check(context.Background(), confirm.Readers{Cache: classaccess.WithBound(c, s)}, "ns", "best-effort-small")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Verdict).To(Equal(classaccess.Usable))
		Expect(lists).To(BeZero())
	})

	It("hands out the cache's own class, not a copy, from a reader of the cache", func() {
		ctx := context.Background()
		c, s := tracked([]client.Object{
			objects.BestEffortClass("best-effort-small", 2, "4Gi"), objects.Binding("ns", "small", "best-effort-small"),
		})

		d, err := classaccess.Check(ctx, confirm.Readers{Cache: classaccess.ReaderWithBound(c, s)}, "ns", "best-effort-small")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Verdict).To(Equal(classaccess.Usable))
		cached, err := index.Cached(ctx, c, &vmopv1.VirtualMachineClass{}, "best-effort-small")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Found).To(BeIdenticalTo(cached))

		d, err = classaccess.Check(ctx, confirm.Readers{Cache: classaccess.ReaderWithBound(c, s)}, "ns", "nope")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Verdict).To(Equal(classaccess.ClassNotFound))
		Expect(d.Bound).To(Equal([]string{"best-effort-small"}))
	})

	It("tells its watchers of each class bound or unbound, after taking the change in", func() {
		s := classaccess.NewBoundSet()
		var seen []string
		src := s.Source(func(_ context.Context, namespace, class string) []reconcile.Request {
			classes, _ := s.Classes(namespace)
			seen = append(seen, fmt.Sprintf("%s/%s bound=%t", namespace, class, slices.Contains(classes, class)))
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: namespace, Name: class}}}
		})
		queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
		DeferCleanup(queue.ShutDown)
		Expect(src.Start(context.Background(), queue)).To(Succeed())

		first, second := objects.Binding("ns", "a", "guaranteed-large"), objects.Binding("ns", "b", "guaranteed-large")
		s.OnAdd(first, false)
		s.OnAdd(second, false)
		s.OnUpdate(first, first.DeepCopy())
		s.OnDelete(first)
		Expect(seen).To(Equal([]string{"ns/guaranteed-large bound=true"}), "a second binding of a bound class changes nothing")

		repointed := second.DeepCopy()
		repointed.ClassRef.Name = "best-effort-small"
		s.OnUpdate(second, repointed)
		Expect(seen[1:]).To(ConsistOf("ns/guaranteed-large bound=false", "ns/best-effort-small bound=true"))
		Expect(queue.Len()).To(Equal(2), "the class that stopped being bound and the one that became bound")
	})

	It("stays current with a real informer cache as bindings come and go", func() {
		events := watch.NewFakeWithChanSize(16, false)
		_, s := tracked([]client.Object{objects.Binding("ns", "large", "guaranteed-large")},
			memcache.Following(&vmopv1.VirtualMachineClassBinding{}, events))
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

// tracked starts a cache fed from memory with a bound-class set on it, and waits until the set
// has seen every binding; both stop when the spec ends.
func tracked(objs []client.Object, opts ...memcache.Option) (cache.Cache, *classaccess.BoundSet) {
	GinkgoHelper()
	c, err := memcache.New(objs, opts...)
	Expect(err).NotTo(HaveOccurred())
	s, err := classaccess.TrackBound(context.Background(), c)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	DeferCleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	Eventually(s.Synced).Should(BeTrue())
	return c, s
}
