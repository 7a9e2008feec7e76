package metrics_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

// image is the content library item the suite's VMs deploy from.
const image = "ubuntu-20-1633387172196"

const (
	decisions   = "vmservice_admission_decisions_total"
	latency     = "vmservice_admission_duration_seconds"
	blocked     = "vmservice_blocked_objects"
	calls       = "vmservice_vcenter_calls_total"
	callLatency = "vmservice_vcenter_call_duration_seconds"
	syncLag     = "vmservice_vcenter_sync_lag_seconds"
)

var vmCreate = map[string]string{"kind": "VirtualMachine", "operation": "CREATE"}

// with is labels plus more.
func with(labels map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

var _ = Describe("The metrics operators read", func() {
	var ns string

	BeforeEach(func() {
		ns = env.NewNamespace("metrics")
	})

	// boundClass makes a class and binds it in ns.
	boundClass := func(name string) {
		GinkgoHelper()
		Expect(env.Client.Create(ctx, objects.BestEffortClass(name, 1, "256Mi"))).To(Succeed())
		DeferCleanup(func() { _ = env.Client.Delete(ctx, objects.BestEffortClass(name, 1, "256Mi")) })
		Expect(env.Client.Create(ctx, objects.Binding(ns, name, name))).To(Succeed())
	}

	It("count a VM refused at admission by kind, operation, verdict and the refused field, and time it", func() {
		refused := with(vmCreate, "verdict", "denied", "reason", "spec.className")
		before, timed := now(decisions, refused), now(latency, vmCreate)

		err := env.Client.Create(ctx, objects.VM(ns, "refused", "not-bound-here", image))
		Expect(err).To(MatchError(ContainSubstring("not-bound-here")))

		Eventually(series(decisions, refused)).Should(Equal(before + 1))
		Eventually(series(latency, vmCreate)).Should(BeNumerically(">", timed))
	})

	It("count an admitted VM, and a deploy as vCenter calls that succeeded, timed", func() {
		boundClass("metrics-small")
		admitted := with(vmCreate, "verdict", "allowed", "reason", "")
		ensured := map[string]string{"operation": "EnsureVM", "outcome": "success"}
		before, calledBefore, timedBefore := now(decisions, admitted), now(calls, ensured), now(callLatency, map[string]string{"operation": "EnsureVM"})

		vm := objects.VM(ns, "deployed", "metrics-small", image)
		Expect(env.Client.Create(ctx, vm)).To(Succeed())
		Eventually(series(decisions, admitted)).Should(BeNumerically(">", before))
		Eventually(func(g Gomega) string {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(vm), vm)).To(Succeed())
			return vm.Status.UniqueID
		}).ShouldNot(BeEmpty())

		Eventually(series(calls, ensured)).Should(BeNumerically(">", calledBefore))
		Eventually(series(callLatency, map[string]string{"operation": "EnsureVM"})).Should(BeNumerically(">", timedBefore))
	})

	It("gauge VMs blocked by reason, from the cache, and drop them once unblocked", func() {
		boundClass("metrics-blocked")
		noImage := map[string]string{"kind": "VirtualMachine", "reason": vmopv1.VirtualMachineImageNotFoundReason}
		before := now(blocked, noImage)

		vm := objects.VM(ns, "waiting", "metrics-blocked", "no-such-image")
		Expect(env.Client.Create(ctx, vm)).To(Succeed())
		Eventually(series(blocked, noImage)).Should(Equal(before + 1))

		Expect(env.Client.Delete(ctx, vm)).To(Succeed())
		Eventually(series(blocked, noImage)).Should(Equal(before))
	})

	It("report how long ago the vCenter mirror last synced", func() {
		Eventually(func() (bool, error) {
			_, ok, err := metrics.value(syncLag, nil)
			return ok, err
		}).Should(BeTrue())
		// The mirror syncs every half second; a minute covers a busy machine.
		Eventually(series(syncLag, nil)).Should(BeNumerically("<", 60))
		// The lag counts from the mirror's start until its first sync succeeds, which may be later.
		Eventually(series("vmservice_vcenter_sync_last_success_timestamp_seconds", nil)).Should(BeNumerically(">", 0))
	})
})
