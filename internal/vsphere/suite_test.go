package vsphere_test

import (
	"context"
	"net"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/vcenter"
)

func TestVSphere(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "vSphere provider suite")
}

const libraryName = "vm-images"

// photon is the image the specs deploy.
var photon = vcsim.ImageSpec{
	Name:        "photon-3-k8s-v1.20.2",
	OSType:      "vmwarePhoton64Guest",
	Product:     "Tanzu Kubernetes Grid",
	Vendor:      "VMware",
	Version:     "v1.20.2",
	FullVersion: "v1.20.2+vmware.1-tkg.2.3e10706",
	CPUs:        1,
	MemoryMiB:   512,
	Properties: []vcsim.Property{
		{Key: "hostname", Default: "photon"},
		{Key: "user-data"},
		{Key: "build", Default: "42", Fixed: true},
	},
}

// env is one spec's simulator, seeded library, provider and an admin client that checks the
// vSphere side independently of the provider.
type env struct {
	sim    *vcsim.Simulator
	cfg    vsphere.Config
	admin  *govmomi.Client
	finder *find.Finder
}

func newEnv(ctx context.Context) *env {
	GinkgoHelper()
	sim, err := vcsim.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(sim.Stop)
	Expect(sim.SeedLibrary(ctx, libraryName, photon)).To(Succeed())

	u := sim.URL()
	password, _ := u.User.Password()
	cfg := vsphere.Config{
		Username:       u.User.Username(),
		Password:       password,
		Insecure:       true,
		Cluster:        vcsim.ClusterName,
		ContentLibrary: libraryName,
	}
	u.User = nil
	cfg.URL = u.String()

	admin, err := sim.Client(ctx)
	Expect(err).NotTo(HaveOccurred())
	finder := find.NewFinder(admin.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	Expect(err).NotTo(HaveOccurred())
	finder.SetDatacenter(dc)
	return &env{sim: sim, cfg: cfg, admin: admin, finder: finder}
}

// provider is a new Provider, as a freshly started manager would have.
func (e *env) provider() *vsphere.GovmomiProvider {
	GinkgoHelper()
	p, err := vsphere.New(e.cfg)
	Expect(err).NotTo(HaveOccurred())
	return p
}

// vmByInstanceUUID reads a VM through the admin client; nil when there is none.
func (e *env) vmByInstanceUUID(ctx context.Context, uuid string) *mo.VirtualMachine {
	GinkgoHelper()
	dc, err := e.finder.DefaultDatacenter(ctx)
	Expect(err).NotTo(HaveOccurred())
	instance := true
	ref, err := object.NewSearchIndex(e.admin.Client).FindByUuid(ctx, dc, uuid, true, &instance)
	Expect(err).NotTo(HaveOccurred())
	if ref == nil {
		return nil
	}
	return e.vmByMoID(ctx, ref.Reference())
}

// vmByMoID reads a VM through the admin client.
func (e *env) vmByMoID(ctx context.Context, ref types.ManagedObjectReference) *mo.VirtualMachine {
	GinkgoHelper()
	var vm mo.VirtualMachine
	Expect(object.NewCommon(e.admin.Client, ref).Properties(ctx, ref, nil, &vm)).To(Succeed())
	return &vm
}

// vmsNamed lists every VM in the inventory with that name.
func (e *env) vmsNamed(ctx context.Context, name string) []*object.VirtualMachine {
	GinkgoHelper()
	v, err := view.NewManager(e.admin.Client).CreateContainerView(ctx, e.admin.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = v.Destroy(ctx) }()
	refs, err := v.Find(ctx, []string{"VirtualMachine"}, property.Match{"name": name})
	Expect(err).NotTo(HaveOccurred())
	var vms []*object.VirtualMachine
	for _, ref := range refs {
		vms = append(vms, object.NewVirtualMachine(e.admin.Client, ref))
	}
	return vms
}

// name reads an object's name through the admin client.
func (e *env) name(ctx context.Context, ref types.ManagedObjectReference) string {
	GinkgoHelper()
	n, err := object.NewCommon(e.admin.Client, ref).ObjectName(ctx)
	Expect(err).NotTo(HaveOccurred())
	return n
}

// slowestHostMHz is the slowest core clock of the supervisor cluster, read independently.
func (e *env) slowestHostMHz(ctx context.Context) int64 {
	GinkgoHelper()
	inspect, err := vcenter.Connect(ctx, e.sim.URL())
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = inspect.Logout(ctx) }()
	mhz, err := inspect.SlowestHostMHz(ctx, e.cfg.Cluster)
	Expect(err).NotTo(HaveOccurred())
	return mhz
}

// closedPort is a loopback port nothing listens on.
func closedPort() string {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	Expect(l.Close()).To(Succeed())
	return addr
}

func logged(ctx context.Context) context.Context {
	return log.IntoContext(ctx, GinkgoLogr)
}
