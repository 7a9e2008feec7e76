package reliability_test

import (
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/test/testenv"
)

// Two replicas with leader election, as config/manager deploys them: the leader is SIGKILLed while
// VMs provision (no lease release), and the other replica takes the controllers over. Not labelled
// reliability: `make test` runs it.
var _ = Describe("Two managers with leader election", Ordered, func() {
	const (
		perNamespace = 10
		// leaseDuration is controller-runtime's default; the standby may take the lease once it
		// has not been renewed for that long.
		leaseDuration = 15 * time.Second
	)
	var (
		f      *fleet
		binary string
	)

	BeforeAll(func() {
		var err error
		binary, err = gexec.Build("github.com/vm-service/vm-service/cmd/manager")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
		f = newFleet()
	})

	It("hands the controllers to the standby within the lease duration when the leader is SIGKILLed, with no duplicate vSphere VM", func() {
		elect := []string{"--leader-elect", "--leader-election-namespace=default"}
		// The first replica, the leader, serves its webhooks where the apiserver does not call:
		// killing it leaves admission to the standby, as the webhook Service would.
		leader := &managerProcess{f: f, binary: binary, extra: append(elect, "--webhook-port="+strconv.Itoa(testenv.FreePort()))}
		standby := &managerProcess{f: f, binary: binary, extra: elect}
		DeferCleanup(standby.kill)
		DeferCleanup(leader.kill)
		leader.start()
		Eventually(holder(f)).WithTimeout(time.Minute).ShouldNot(BeEmpty())
		first := holder(f)()
		standby.start()

		f.addNamespaces(2)
		f.createVMs(f.namespaces, perNamespace)
		Eventually(f.unprovisioned).WithTimeout(time.Minute).Should(BeNumerically("<", 2*perNamespace), "provisioning under way")
		pending := f.unprovisioned()
		leader.kill()
		killed := time.Now()
		Eventually(holder(f)).WithTimeout(2 * leaseDuration).WithPolling(100 * time.Millisecond).ShouldNot(Equal(first))
		takeover := time.Since(killed)
		Eventually(f.notRunning).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
		converged := time.Since(killed)
		t := f.tally()
		reportFigure("Failover: leader SIGKILLed with %d of %d VirtualMachines not yet provisioned; the standby held the lease %.1f s later (lease %s) and every VM ran %.1f s after the kill: %s",
			pending, 2*perNamespace, takeover.Seconds(), leaseDuration, converged.Seconds(), t)
		Expect(takeover).To(BeNumerically("<", leaseDuration+15*time.Second), "within the lease duration plus a few seconds (more on a busy machine)")
		Expect(t).To(Equal(tally{Objects: 2 * perNamespace, VSphereVMs: 2 * perNamespace}))
	})
})

// holder reads who holds the manager's leader lease; "" before anyone does.
func holder(f *fleet) func() string {
	return func() string {
		lease := &coordinationv1.Lease{}
		key := client.ObjectKey{Namespace: "default", Name: "vm-service-manager.vmoperator.vmware.com"}
		if err := f.env.Client.Get(ctx, key, lease); err != nil || lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}
}
