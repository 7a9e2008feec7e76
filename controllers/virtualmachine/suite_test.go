package virtualmachine_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/testenv"
	"github.com/vm-service/vm-service/test/vcenter"
)

// The VirtualMachine suite runs the whole manager against a real kube-apiserver and the vCenter
// simulator, with admission in Warn mode so unbound classes are admitted: what it checks is the
// controller's own safety net, the state vSphere ends up in, and the status users read.
func TestVirtualMachine(t *testing.T) {
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	RegisterFailHandler(Fail)
	RunSpecs(t, "VirtualMachine controller suite")
}

const library = "vm-service-images"

// ubuntu is the image most specs deploy. Like Ubuntu's cloud images, it declares vApp properties
// for OvfEnv guest data.
var ubuntu = vcsim.ImageSpec{Name: "ubuntu-20-1633387172196", OSType: "ubuntu64Guest", CPUs: 1, MemoryMiB: 512,
	Properties: []vcsim.Property{{Key: "hostname", Default: "ubuntuguest"}, {Key: "user-data"}}}

var (
	ctx         = context.Background()
	env         *testenv.Env
	k8s         client.Client
	sim         *vcsim.Simulator
	simAddr     string
	inspect     *vcenter.Inspector
	stopManager func()
)

var _ = BeforeSuite(func() {
	env = testenv.ForSuite(testenv.WithWebhooks())
	k8s = env.Client
	startSimulator("")
	DeferCleanup(func() { sim.Stop() })
	startManager()
	DeferCleanup(func() { stopManager() })
})

// startSimulator starts a seeded simulator on addr ("" for a free port).
func startSimulator(addr string) {
	var err error
	sim, err = vcsim.StartWith(vcsim.Options{Addr: addr})
	Expect(err).NotTo(HaveOccurred())
	simAddr = sim.URL().Host
	Expect(sim.SeedLibrary(ctx, library, ubuntu)).To(Succeed())
	inspect, err = vcenter.Connect(ctx, sim.URL())
	Expect(err).NotTo(HaveOccurred())
}

// startManager (re)starts the product's manager against the simulator.
func startManager() { startManagerWith(nil) }

// startManagerWith (re)starts the manager with wrap around its vSphere provider (nil: none).
func startManagerWith(wrap func(vsphere.Provider) vsphere.Provider) {
	if stopManager != nil {
		stopManager()
	}
	vc := &manager.VCenterOptions{
		Config:            simConfig(),
		ImageSyncInterval: 500 * time.Millisecond,
		IPPool:            "127.0.128.0/24,DC0_DVPG0=127.0.144.0/24",
	}
	if wrap != nil {
		p, err := vsphere.New(vc.Config)
		Expect(err).NotTo(HaveOccurred())
		vc.Provider = wrap(p)
	}
	var err error
	_, stopManager, err = env.StartManager(manager.Options{Enforcement: enforcement.Warn, VCenter: vc})
	Expect(err).NotTo(HaveOccurred())
}

// simConfig is the vCenter configuration of the simulator as it runs now.
func simConfig() vsphere.Config { return sim.VSphereConfig(library) }

func newNamespace() string { return env.NewNamespace("vm") }

// vcsimImage is a minimal image named name.
func vcsimImage(name string) vcsim.ImageSpec {
	return vcsim.ImageSpec{Name: name, OSType: "centos64Guest", CPUs: 1, MemoryMiB: 256}
}
