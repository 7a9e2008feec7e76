package tanzukubernetescluster_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	tkcctrl "github.com/vm-service/vm-service/controllers/tanzukubernetescluster"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/vcenter"
)

// inspectVC reads the simulator of the spec running, for helpers.
var inspectVC *vcenter.Inspector

// The end-to-end spec runs the real VirtualMachine controller and image sync against the vCenter
// simulator: the release comes from a content library image, and nodes are ready when vSphere
// says they are powered on with an IP, not because a spec wrote their status.
var _ = Describe("End to end with the VM controller and vcsim", Ordered, func() {
	const library = "vm-service-images"
	image := vcsim.ImageSpec{
		Name: "photon-3-k8s-v1.21.2---vmware.1-tkg.1.ee25d55", OSType: "vmwarePhoton64Guest",
		Product: "Tanzu Kubernetes Grid", Vendor: "VMware", Version: "v1.21.2",
		FullVersion: "v1.21.2+vmware.1-tkg.1.ee25d55", CPUs: 1, MemoryMiB: 512,
	}
	var inspect *vcenter.Inspector

	BeforeAll(func() {
		sim, err := vcsim.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
		// The suite's releases for v1.20.2 and v1.21.6 boot from these, by name.
		Expect(sim.SeedLibrary(ctx, library, image, nodeImage(image20, "v1.20.2"), nodeImage(image21, "v1.21.6"))).To(Succeed())
		inspect, err = vcenter.Connect(ctx, sim.URL())
		Expect(err).NotTo(HaveOccurred())
		inspectVC = inspect

		stopManager()
		var stop func()
		_, stop, err = env.StartManager(manager.Options{Enforcement: enforcement.Warn, VCenter: &manager.VCenterOptions{
			Config:            sim.VSphereConfig(library),
			ImageSyncInterval: 500 * time.Millisecond,
			IPPool:            "127.0.128.0/24",
		}})
		Expect(err).NotTo(HaveOccurred())
		stopManager = stop
		DeferCleanup(startManager, enforcement.Warn)
	})

	It("fails, recovers once bound, runs with VMs powered on in vSphere, and deletes them there", func() {
		ns := newNamespace()
		bind(ns, "guaranteed-large")
		tkc := objects.Cluster(ns, "e2e", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 2
		tkc.Spec.Distribution.Version = "v1.21.2"
		By("waiting for the image sync to publish the release, then creating the cluster")
		Eventually(func() error {
			return admin.Get(ctx, client.ObjectKey{Name: runv1.ReleaseName(image.FullVersion)}, &runv1.TanzuKubernetesRelease{})
		}).WithTimeout(20 * time.Second).Should(Succeed())
		Expect(admin.Create(ctx, tkc)).To(Succeed())
		Expect(tkc.Spec.Distribution.FullVersion).To(Equal(image.FullVersion))
		Eventually(phase(ns, "e2e")).Should(Equal(runv1.PhaseFailed))

		bound := time.Now()
		bind(ns, "guaranteed-medium", "best-effort-medium")
		Eventually(phase(ns, "e2e")).WithTimeout(60 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(runv1.PhaseRunning))
		took := time.Since(bound)
		By("binding to running with real VMs in vcsim took " + took.String())
		GinkgoWriter.Printf("binding to running (VM controller + vcsim): %v\n", took)

		tkc = cluster(ns, "e2e")
		Expect(tkc.Status.Version).To(Equal("v1.21.2"))
		names := append(tkcctrl.MachineNames("e2e", tkc.UID, tkcctrl.ControlPlanePool, 1),
			tkcctrl.MachineNames("e2e", tkc.UID, tkcctrl.WorkersPool, 2)...)
		By("placing the machines in the cluster's pool, folder and a cluster module per pool")
		policy := &vmopv1.VirtualMachineSetResourcePolicy{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: runv1.ResourcePolicyName("e2e")}, policy)).To(Succeed())
		members := map[string][]string{}
		for _, pool := range []tkcctrl.Pool{tkcctrl.ControlPlanePool, tkcctrl.WorkersPool} {
			id := policy.ModuleUUID(tkcctrl.ModuleGroup(pool))
			Expect(id).NotTo(BeEmpty(), "module of pool %s", pool)
			ids, err := inspect.ModuleMembers(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			members[string(pool)] = ids
		}
		for i, n := range names {
			vm, err := inspect.VMNamed(ctx, n)
			Expect(err).NotTo(HaveOccurred())
			Expect(vm.PowerState).To(Equal("poweredOn"))
			Expect(vm.IP).NotTo(BeEmpty())
			Expect([]string{vm.ResourcePool, vm.Folder}).To(Equal([]string{"e2e", "e2e"}), "VM %s", n)
			pool := string(tkcctrl.WorkersPool)
			if i == 0 {
				pool = string(tkcctrl.ControlPlanePool)
			}
			Expect(members[pool]).To(ContainElement(vm.MoID), "VM %s in the module of pool %s", n, pool)
		}
		Expect(members[string(tkcctrl.ControlPlanePool)]).To(HaveLen(1))
		Expect(members[string(tkcctrl.WorkersPool)]).To(HaveLen(2))

		By("deleting the cluster: every vSphere VM goes before the cluster does")
		Expect(admin.Delete(ctx, tkc)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(tkc), &runv1.TanzuKubernetesCluster{}))
		}).WithTimeout(60 * time.Second).Should(BeTrue())
		for _, n := range names {
			vms, err := inspect.VMsNamed(ctx, n)
			Expect(err).NotTo(HaveOccurred())
			Expect(vms).To(BeEmpty())
		}
		Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(policy), policy))).To(BeTrue(), "the policy, and with it the pool, folder and modules, went before the cluster")
	})

	It("rolls a 3+5 cluster to a new class one machine at a time, then upgrades it, as vSphere shows", func() {
		ns := newNamespace()
		bind(ns, "guaranteed-medium", "best-effort-medium", "guaranteed-large")
		tkc := objects.Cluster(ns, "roll", "guaranteed-medium", "best-effort-medium")
		Eventually(func() error {
			return admin.Get(ctx, client.ObjectKey{Name: image21}, &vmopv1.VirtualMachineImage{})
		}).WithTimeout(20*time.Second).Should(Succeed(), "the image sync publishes the library's images")
		Expect(admin.Create(ctx, tkc)).To(Succeed())
		Eventually(phase(ns, "roll")).WithTimeout(120 * time.Second).Should(Equal(runv1.PhaseRunning))
		old := vsphereVMs(ns)
		Expect(old).To(HaveLen(8))

		By("changing both pools' class: 8 replacements, control plane first")
		obs := observeRollout(ns, map[string]int{"control-plane": 3, "workers": 5}, "")
		start := time.Now()
		changed := updateCluster(ns, "roll", func(c *runv1.TanzuKubernetesCluster) {
			c.Spec.Topology.ControlPlane.Class, c.Spec.Topology.Workers.Class = "guaranteed-large", "guaranteed-large"
		})
		Eventually(func(g Gomega) {
			c := cluster(ns, "roll")
			g.Expect(c.Status.ObservedGeneration).To(Equal(changed.Generation))
			g.Expect(c.Status.Phase).To(Equal(runv1.PhaseRunning))
			g.Expect(conditions.IsTrue(cluster(ns, "roll").Status.Conditions, runv1.MachinesSpecUpToDateCondition)).To(BeTrue())
		}).WithTimeout(600 * time.Second).WithPolling(time.Second).Should(Succeed())
		took := time.Since(start)
		GinkgoWriter.Printf("3+5 class rollout (VM controller + vcsim): %v\n", took)
		By("the 3+5 class rollout took " + took.String())
		Expect(obs.stop()).To(BeEmpty(), "never fewer than count ready, never more than count+1")

		now := vsphereVMs(ns)
		Expect(now).To(HaveLen(8))
		for _, vm := range now {
			Expect(vm.NumCPU).To(BeEquivalentTo(4), vm.Name)
			Expect(vm.MemoryMB).To(BeEquivalentTo(16*1024), vm.Name)
			Expect(vm.PowerState).To(Equal("poweredOn"), vm.Name)
		}
		for uuid := range old {
			Expect(now).NotTo(HaveKey(uuid), "every old vSphere VM is gone")
		}

		By("scaling to 1+2, then upgrading v1.20.2 to v1.21.6")
		updateCluster(ns, "roll", func(c *runv1.TanzuKubernetesCluster) {
			c.Spec.Topology.ControlPlane.Count, c.Spec.Topology.Workers.Count = 1, 2
		})
		Eventually(func() map[string]vcenter.VM { return vsphereVMs(ns) }).WithTimeout(120 * time.Second).Should(HaveLen(3))
		Eventually(phase(ns, "roll")).WithTimeout(60 * time.Second).Should(Equal(runv1.PhaseRunning))
		for _, vm := range vsphereVMs(ns) {
			Expect(vm.ProductVersion).To(Equal("v1.20.2"), vm.Name)
		}
		obs = observeRollout(ns, map[string]int{"control-plane": 1, "workers": 2}, image21)
		start = time.Now()
		changed = updateCluster(ns, "roll", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Distribution.Version = "v1.21.6" })
		Eventually(func(g Gomega) {
			c := cluster(ns, "roll")
			g.Expect(c.Status.ObservedGeneration).To(Equal(changed.Generation))
			g.Expect(c.Status.Phase).To(Equal(runv1.PhaseRunning))
			g.Expect(c.Status.Version).To(Equal("v1.21.6"))
		}).WithTimeout(300 * time.Second).WithPolling(time.Second).Should(Succeed())
		GinkgoWriter.Printf("1+2 upgrade v1.20.2 to v1.21.6 (VM controller + vcsim): %v\n", time.Since(start))
		Expect(obs.stop()).To(BeEmpty())
		upgraded := vsphereVMs(ns)
		Expect(upgraded).To(HaveLen(3))
		for _, vm := range upgraded {
			Expect(vm.ProductVersion).To(Equal("v1.21.6"), vm.Name)
		}
		Expect(cluster(ns, "roll").Labels).To(HaveKeyWithValue(runv1.ReleaseLabel, release21))
	})
})

// nodeImage is a content library image of a node OS for a release, named as the release names it.
func nodeImage(name, version string) vcsim.ImageSpec {
	return vcsim.ImageSpec{
		Name: name, OSType: "vmwarePhoton64Guest", Product: "Tanzu Kubernetes Grid", Vendor: "VMware",
		Version: version, CPUs: 1, MemoryMiB: 512,
	}
}

// vsphereVMs reads, through govmomi, the vSphere VMs of the namespace's VirtualMachines, by
// instance UUID.
func vsphereVMs(ns string) map[string]vcenter.VM {
	out := map[string]vcenter.VM{}
	for _, vm := range clusterVMs(ns) {
		found, err := inspectVC.VMsNamed(ctx, vm.Name)
		Expect(err).NotTo(HaveOccurred())
		for _, f := range found {
			out[f.InstanceUUID] = f
		}
	}
	return out
}
