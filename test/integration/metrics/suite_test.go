package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/testenv"
)

// The metrics suite scrapes the manager's /metrics endpoint as Prometheus would, with a service
// account token, while the manager admits, refuses and deploys VMs into the vCenter simulator.
func TestMetrics(t *testing.T) {
	// Generous: a deploy in vcsim on a busy two-core machine can take a while.
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RegisterFailHandler(Fail)
	RunSpecs(t, "Metrics suite")
}

const library = "vm-service-images"

var (
	ctx     = context.Background()
	env     *testenv.Env
	sim     *vcsim.Simulator
	metrics *scraper
)

var _ = BeforeSuite(func() {
	env = testenv.ForSuite(testenv.WithWebhooks())
	var err error
	sim, err = vcsim.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { sim.Stop() })
	Expect(sim.SeedLibrary(ctx, library, vcsim.ImageSpec{Name: image, OSType: "ubuntu64Guest", CPUs: 1, MemoryMiB: 256})).To(Succeed())

	vc := &manager.VCenterOptions{
		Config:            sim.VSphereConfig(library),
		ImageSyncInterval: 500 * time.Millisecond,
		SyncInterval:      500 * time.Millisecond,
	}

	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort())
	env.ManagerForSuite(manager.Options{MetricsAddr: addr, Enforcement: enforcement.Deny, VCenter: vc})
	metrics = newScraper("https://"+addr+"/metrics", env.NewNamespaceWithoutStorage("scraper"))
})
