package usable_test

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/usable"
	"github.com/vm-service/vm-service/test/memcache"
	"github.com/vm-service/vm-service/test/objects"
)

func TestUsable(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Usable answers suite")
}

var _ = Describe("A memo of usable answers", func() {
	var (
		events *watch.FakeWatcher
		memo   *usable.Memo
		key    = usable.Key{Kind: usable.Class, Namespace: "ns", Name: "small"}
	)
	BeforeEach(func() {
		events = watch.NewFakeWithChanSize(8, false)
		c, err := memcache.New([]client.Object{objects.BestEffortClass("small", 2, "4Gi")},
			memcache.Following(&vmopv1.VirtualMachineClass{}, events))
		Expect(err).NotTo(HaveOccurred())
		memo, err = usable.Follow(context.Background(), c, &vmopv1.VirtualMachineClass{})
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		go func() { _ = c.Start(ctx) }()
		Expect(c.WaitForCacheSync(ctx)).To(BeTrue())
		Eventually(func() bool { // the initial list's add reaches the memo's handler
			epoch := memo.Epoch()
			memo.Remember(key, epoch)
			return memo.Usable(key)
		}).Should(BeTrue())
	})

	It("keeps an answer only for the question asked", func() {
		Expect(memo.Usable(key)).To(BeTrue())
		Expect(memo.Usable(usable.Key{Kind: usable.Storage, Namespace: "ns", Name: "small"})).To(BeFalse())
		Expect(memo.Usable(usable.Key{Kind: usable.Class, Namespace: "other", Name: "small"})).To(BeFalse())
	})

	It("forgets every answer when a followed informer sees a change", func() {
		changed := objects.BestEffortClass("small", 4, "8Gi")
		changed.ResourceVersion = "2"
		events.Modify(changed)
		Eventually(func() bool { return memo.Usable(key) }).Should(BeFalse())
	})

	It("forgets every answer when told to", func() {
		memo.Forget()
		Expect(memo.Usable(key)).To(BeFalse())
	})

	It("answers from memory without deciding, and decides again after a change", func() {
		asked := 0
		decide := func(ok bool, err error) func() (bool, error) {
			return func() (bool, error) { asked++; return ok, err }
		}
		Expect(memo.Answer(key, decide(true, nil))).To(Succeed())
		Expect(asked).To(BeZero(), "remembered")

		memo.Forget()
		Expect(memo.Answer(key, decide(false, nil))).To(Succeed())
		Expect(memo.Answer(key, decide(false, nil))).To(Succeed())
		Expect(asked).To(Equal(2), "a refusal is never remembered")
		Expect(memo.Answer(key, decide(true, errors.New("cache down")))).To(MatchError("cache down"))
		Expect(memo.Usable(key)).To(BeFalse(), "nor an answer that failed")
		Expect(memo.Answer(key, decide(true, nil))).To(Succeed())
		Expect(memo.Usable(key)).To(BeTrue())
	})

	It("does not keep an answer read before the latest change", func() {
		epoch := memo.Epoch()
		memo.Forget() // a change lands while the answer is decided
		other := usable.Key{Kind: usable.Storage, Namespace: "ns", Name: "fast"}
		memo.Remember(other, epoch)
		Expect(memo.Usable(other)).To(BeFalse())
		memo.Remember(other, memo.Epoch())
		Expect(memo.Usable(other)).To(BeTrue())
	})
})

var _ = It("A nil memo remembers nothing", func() {
	var memo *usable.Memo
	key := usable.Key{Namespace: "ns", Name: "small"}
	memo.Remember(key, memo.Epoch())
	Expect(memo.Usable(key)).To(BeFalse())
})
