package virtualmachineservice_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// The VirtualMachineService suite runs the whole manager (webhooks, the VirtualMachine controller
// against the vCenter simulator, and the load balancer allocator) against a real kube-apiserver:
// the VMs that back a service are powered, probed and addressed by the real controller, never by
// a spec writing their status. No spec dials an address.
func TestVirtualMachineService(t *testing.T) {
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	RegisterFailHandler(Fail)
	RunSpecs(t, "VirtualMachineService controller suite")
}

const (
	library = "vm-service-images"
	// lbRange is the allocator's VIP range: loopback, like every address here.
	lbRange = "127.0.160.0/24"
	// vmPools give VMs on the default network addresses of TEST-NET-2, a documentation range the
	// apiserver accepts in an EndpointSlice (it refuses loopback): no VM here has a TCP probe,
	// so nothing dials them. VMs on the port group get loopback addresses, as under make run.
	vmPools = "198.51.100.0/24,DC0_DVPG0=127.0.144.0/24"
)

var image = vcsim.ImageSpec{Name: "ubuntu-20-1633387172196", OSType: "ubuntu64Guest", CPUs: 1, MemoryMiB: 256}

var (
	ctx         = context.Background()
	env         *testenv.Env
	k8s         client.Client
	sim         *vcsim.Simulator
	stopManager func()
)

var _ = BeforeSuite(func() {
	ctrl.SetLogger(GinkgoLogr)
	env = testenv.ForSuite(testenv.WithWebhooks())
	k8s = env.Client
	env.InstallPersonas()
	var err error
	sim, err = vcsim.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(sim.Stop)
	Expect(sim.SeedLibrary(ctx, library, image)).To(Succeed())
	startManager()
	DeferCleanup(func() { stopManager() })
})

// startManager (re)starts the product's manager against the simulator, with the allocator.
func startManager() {
	if stopManager != nil {
		stopManager()
	}
	var err error
	_, stopManager, err = env.StartManager(manager.Options{
		Enforcement:       enforcement.Warn,
		LoadBalancerRange: lbRange,
		VCenter: &manager.VCenterOptions{
			Config:            sim.VSphereConfig(library),
			ImageSyncInterval: 500 * time.Millisecond,
			IPPool:            vmPools,
		},
	})
	Expect(err).NotTo(HaveOccurred())
}

// boundNamespace makes a namespace with a class bound in it, once the image sync has mirrored
// the content library, and returns both.
func boundNamespace() (ns, class string) {
	GinkgoHelper()
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Name: image.Name}, &vmopv1.VirtualMachineImage{})
	}).Should(Succeed(), "the image sync mirrors the content library")
	ns = env.NewNamespace("vmservice")
	class = fmt.Sprintf("best-effort-xsmall-%s", strings.TrimPrefix(ns, "vmservice-"))
	Expect(k8s.Create(ctx, objects.BestEffortClass(class, 1, "1Gi"))).To(Succeed())
	Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
	return ns, class
}
