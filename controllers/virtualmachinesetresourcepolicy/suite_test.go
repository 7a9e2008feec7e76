package virtualmachinesetresourcepolicy_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vapi/cluster"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/testenv"
)

// The resource policy suite runs the whole manager, webhooks included, against a real
// kube-apiserver and the vCenter simulator, and checks what vSphere ends up holding through an
// admin session of its own.
func TestVirtualMachineSetResourcePolicy(t *testing.T) {
	// Generous: a shared two-core machine running suites in parallel can be slow to converge.
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RegisterFailHandler(Fail)
	RunSpecs(t, "VirtualMachineSetResourcePolicy controller suite")
}

const library = "policy-images"

var image = vcsim.ImageSpec{Name: "photon-policy", OSType: "vmwarePhoton64Guest", CPUs: 1, MemoryMiB: 256}

var (
	ctx     = context.Background()
	env     *testenv.Env
	k8s     client.Client
	sim     *vcsim.Simulator
	admin   *govmomi.Client
	finder  *find.Finder
	modules *cluster.Manager
)

var _ = BeforeSuite(func() {
	env = testenv.ForSuite(testenv.WithWebhooks())
	k8s = env.Client
	var err error
	sim, err = vcsim.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(sim.Stop)
	Expect(sim.SeedLibrary(ctx, library, image)).To(Succeed())

	admin, err = sim.Client(ctx)
	Expect(err).NotTo(HaveOccurred())
	finder = find.NewFinder(admin.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	Expect(err).NotTo(HaveOccurred())
	finder.SetDatacenter(dc)
	rc, err := sim.RestClient(ctx)
	Expect(err).NotTo(HaveOccurred())
	modules = cluster.NewManager(rc)

	env.ManagerForSuite(manager.Options{VCenter: &manager.VCenterOptions{
		Config:            sim.VSphereConfig(library),
		ImageSyncInterval: 500 * time.Millisecond,
		IPPool:            "127.0.129.0/24",
	}})
})
