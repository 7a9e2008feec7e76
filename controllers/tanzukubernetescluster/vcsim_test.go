package tanzukubernetescluster_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	tkcctrl "github.com/vm-service/vm-service/controllers/tanzukubernetescluster"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/vcenter"
)

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
		Expect(sim.SeedLibrary(ctx, library, image)).To(Succeed())
		inspect, err = vcenter.Connect(ctx, sim.URL())
		Expect(err).NotTo(HaveOccurred())

		u := sim.URL()
		password, _ := u.User.Password()
		username := u.User.Username()
		u.User = nil
		stopManager()
		var stop func()
		_, stop, err = env.StartManager(manager.Options{Enforcement: enforcement.Warn, VCenter: &manager.VCenterOptions{
			Config: vsphere.Config{
				URL: u.String(), Username: username, Password: password, Insecure: true,
				Cluster: vcsim.ClusterName, ContentLibrary: library,
			},
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
		for _, n := range names {
			vm, err := inspect.VMNamed(ctx, n)
			Expect(err).NotTo(HaveOccurred())
			Expect(vm.PowerState).To(Equal("poweredOn"))
			Expect(vm.IP).NotTo(BeEmpty())
		}

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
	})
})
