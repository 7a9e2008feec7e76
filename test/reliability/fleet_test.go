package reliability_test

import (
	"fmt"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
	"github.com/vm-service/vm-service/test/vcenter"
)

const (
	library = "vm-service-images"
	// class is the one VM class every VM and cluster node uses; it reserves nothing, so
	// hundreds of VMs fit on the simulator's hosts.
	class = "best-effort-xsmall"
	// ipPool is the default network's address pool: loopback, far more addresses than VMs.
	ipPool = "127.0.128.0/20"
)

// appImage is what the VMs run; nodeImage is the node image clusters resolve their release from.
var (
	appImage  = vcsim.ImageSpec{Name: "ubuntu-20-1633387172196", OSType: "ubuntu64Guest", CPUs: 1, MemoryMiB: 512}
	nodeImage = vcsim.ImageSpec{
		Name: "photon-3-k8s-v1.21.2---vmware.1-tkg.1.ee25d55", OSType: "vmwarePhoton64Guest",
		Product: "Tanzu Kubernetes Grid", Vendor: "VMware", Version: "v1.21.2",
		FullVersion: "v1.21.2+vmware.1-tkg.1.ee25d55", CPUs: 1, MemoryMiB: 512,
	}
)

// fleet is one measurement's world: its own control plane, its own seeded simulator, an
// independent vSphere session to check the outcome with, and the namespaces it fills.
type fleet struct {
	env        *testenv.Env
	sim        *vcsim.Simulator
	inspect    *vcenter.Inspector
	namespaces []string
}

// newFleet starts a control plane (webhooks registered, served by whichever manager runs) and a
// simulator whose library holds both images. Both stop when the calling container ends.
func newFleet() *fleet {
	GinkgoHelper()
	f := &fleet{env: testenv.ForSuite(testenv.WithWebhooks())}
	var err error
	f.sim, err = vcsim.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(f.sim.Stop)
	Expect(f.sim.SeedLibrary(ctx, library, appImage, nodeImage)).To(Succeed())
	f.inspect, err = vcenter.Connect(ctx, f.sim.URL())
	Expect(err).NotTo(HaveOccurred())
	return f
}

// vcenterConfig is how the manager reaches the simulator, at host:port (the simulator's own
// address, or a proxy in front of it).
func (f *fleet) vcenterConfig(hostPort string) vsphere.Config {
	u := f.sim.URL()
	password, _ := u.User.Password()
	username := u.User.Username()
	u.User, u.Host = nil, hostPort
	return vsphere.Config{
		URL: u.String(), Username: username, Password: password, Insecure: true,
		Cluster: vcsim.ClusterName, ContentLibrary: library,
	}
}

// addNamespaces creates the class, once, and n namespaces with the class bound in each. Admission
// needs a running manager; a create refused while its webhook server starts is retried.
func (f *fleet) addNamespaces(n int) []string {
	GinkgoHelper()
	createAdmitted(f.env.Client, objects.BestEffortClass(class, 2, "2Gi"))
	var added []string
	for range n {
		ns := f.env.NewNamespace("fleet")
		createAdmitted(f.env.Client, objects.Binding(ns, class, class))
		added = append(added, ns)
	}
	f.namespaces = append(f.namespaces, added...)
	return added
}

// createVMs creates perNamespace VMs named vm-<i> in each namespace.
func (f *fleet) createVMs(namespaces []string, perNamespace int) []*vmopv1.VirtualMachine {
	GinkgoHelper()
	var made []*vmopv1.VirtualMachine
	for _, ns := range namespaces {
		for i := range perNamespace {
			vm := objects.VM(ns, fmt.Sprintf("vm-%d", i), class, appImage.Name)
			createAdmitted(f.env.Client, vm)
			made = append(made, vm)
		}
	}
	return made
}

// waitForRelease waits until the image sync has published the node image's release, which
// admission resolves a cluster's version against.
func (f *fleet) waitForRelease() {
	GinkgoHelper()
	Eventually(func() error {
		return f.env.Client.Get(ctx, client.ObjectKey{Name: runv1.ReleaseName(nodeImage.FullVersion)}, &runv1.TanzuKubernetesRelease{})
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// createCluster creates a small cluster (one control plane node, one worker) in ns.
func (f *fleet) createCluster(ns, name string) *runv1.TanzuKubernetesCluster {
	GinkgoHelper()
	tkc := objects.Cluster(ns, name, class, class)
	tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 1
	tkc.Spec.Distribution.Version = nodeImage.Version
	createAdmitted(f.env.Client, tkc)
	return tkc
}

// createAdmitted creates obj, retrying while the webhooks cannot be called (a manager starting);
// an object that exists already counts as created.
func createAdmitted(c client.Client, obj client.Object) {
	GinkgoHelper()
	Eventually(func() error {
		if err := c.Create(ctx, obj); !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// virtualMachines lists every VirtualMachine of the control plane.
func (f *fleet) virtualMachines() []vmopv1.VirtualMachine {
	GinkgoHelper()
	vms := &vmopv1.VirtualMachineList{}
	Expect(f.env.Client.List(ctx, vms)).To(Succeed())
	return vms.Items
}

// clusters lists every TanzuKubernetesCluster of the control plane.
func (f *fleet) clusters() []runv1.TanzuKubernetesCluster {
	GinkgoHelper()
	tkcs := &runv1.TanzuKubernetesClusterList{}
	Expect(f.env.Client.List(ctx, tkcs)).To(Succeed())
	return tkcs.Items
}

// notRunning says which VirtualMachines are not yet powered on with an address, at most a few.
func (f *fleet) notRunning() error {
	var waiting []string
	for _, vm := range f.virtualMachines() {
		if vm.Status.PowerState != vmopv1.VirtualMachinePoweredOn || vm.Status.VmIp == "" {
			waiting = append(waiting, vm.Namespace+"/"+vm.Name)
		}
	}
	if len(waiting) > 0 {
		return fmt.Errorf("%d VirtualMachines not powered on with an address, such as %s", len(waiting), strings.Join(waiting[:min(3, len(waiting))], ", "))
	}
	return nil
}

// unprovisioned counts the VirtualMachines that do not yet know their vSphere VM.
func (f *fleet) unprovisioned() int {
	GinkgoHelper()
	n := 0
	for _, vm := range f.virtualMachines() {
		if vm.Status.UniqueID == "" {
			n++
		}
	}
	return n
}

// clustersNotRunning says which clusters are not in the running phase.
func (f *fleet) clustersNotRunning() error {
	var waiting []string
	for _, tkc := range f.clusters() {
		if tkc.Status.Phase != runv1.PhaseRunning {
			waiting = append(waiting, fmt.Sprintf("%s/%s (%s)", tkc.Namespace, tkc.Name, tkc.Status.Phase))
		}
	}
	if len(waiting) > 0 {
		return fmt.Errorf("clusters not running: %s", strings.Join(waiting, ", "))
	}
	return nil
}

// tally compares the VirtualMachines with the vSphere VMs in the namespaces' folders, matched by
// instance UUID (each VirtualMachine's UID).
type tally struct {
	Objects, VSphereVMs int
	// Duplicates are instance UUIDs held by more than one vSphere VM; Orphans vSphere VMs whose
	// instance UUID is no VirtualMachine's; Missing VirtualMachines without a vSphere VM.
	Duplicates, Orphans, Missing int
	// NotPoweredOn counts vSphere VMs in any other power state.
	NotPoweredOn int
	// DuplicateAddresses counts addresses that more than one VirtualMachine reports in status.
	DuplicateAddresses int
}

func (t tally) String() string {
	return fmt.Sprintf("%d vSphere VMs for %d VirtualMachines, %d duplicates, %d orphans, %d missing, %d not poweredOn, %d duplicate addresses",
		t.VSphereVMs, t.Objects, t.Duplicates, t.Orphans, t.Missing, t.NotPoweredOn, t.DuplicateAddresses)
}

// tally is taken through the independent vSphere session.
func (f *fleet) tally() tally {
	GinkgoHelper()
	objs := f.virtualMachines()
	placed, err := f.inspect.VMsInFolders(ctx, f.namespaces...)
	Expect(err).NotTo(HaveOccurred())
	t := tally{Objects: len(objs), VSphereVMs: len(placed)}
	known := map[string]bool{}
	for _, vm := range objs {
		known[string(vm.UID)] = true
	}
	held := map[string]int{}
	for _, p := range placed {
		held[p.InstanceUUID]++
		if !known[p.InstanceUUID] {
			t.Orphans++
		}
		if p.PowerState != "poweredOn" {
			t.NotPoweredOn++
		}
	}
	for uuid, n := range held {
		if n > 1 && known[uuid] {
			t.Duplicates += n - 1
		}
	}
	for uuid := range known {
		if held[uuid] == 0 {
			t.Missing++
		}
	}
	t.DuplicateAddresses = len(sharedAddresses(objs))
	return t
}

// sharedAddresses are the addresses more than one VirtualMachine reports, sorted.
func sharedAddresses(vms []vmopv1.VirtualMachine) []string {
	holders := map[string]map[string]bool{}
	for _, vm := range vms {
		addrs := []string{vm.Status.VmIp}
		for _, nic := range vm.Status.NetworkInterfaces {
			addrs = append(addrs, nic.IpAddresses...)
		}
		for _, a := range addrs {
			if a == "" {
				continue
			}
			if holders[a] == nil {
				holders[a] = map[string]bool{}
			}
			holders[a][vm.Namespace+"/"+vm.Name] = true
		}
	}
	var shared []string
	for a, h := range holders {
		if len(h) > 1 {
			shared = append(shared, a)
		}
	}
	sort.Strings(shared)
	return shared
}
