package vcsim_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vm-service/vm-service/internal/vcsim"
)

var _ = Describe("Seeding a content library", func() {
	var sim *vcsim.Simulator
	BeforeEach(func() {
		var err error
		sim, err = vcsim.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
	})

	It("creates the library once and one OVF item per image, and the items deploy", func(ctx SpecContext) {
		photon := vcsim.ImageSpec{Name: "photon-4", OSType: "vmwarePhoton64Guest", CPUs: 1, MemoryMiB: 512,
			Properties: []vcsim.Property{{Key: "hostname", Default: "photon"}, {Key: "build", Default: "42", Fixed: true}}}
		Expect(sim.SeedLibrary(ctx, "images", photon, vcsim.ImageSpec{Name: "ubuntu-20"})).To(Succeed())
		// Seeding again, as a restarted supervisor does, changes nothing.
		Expect(sim.SeedLibrary(ctx, "images", photon)).To(Succeed())

		rc, err := sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		m := library.NewManager(rc)
		libs, err := m.FindLibrary(ctx, library.Find{Name: "images"})
		Expect(err).NotTo(HaveOccurred())
		Expect(libs).To(HaveLen(1))
		items, err := m.GetLibraryItems(ctx, libs[0])
		Expect(err).NotTo(HaveOccurred())
		Expect(items).To(ConsistOf(
			HaveField("Name", "photon-4"),
			HaveField("Name", "ubuntu-20"),
		))
		Expect(items).To(HaveEach(HaveField("Type", library.ItemTypeOVF)))

		c, err := sim.Client(ctx)
		Expect(err).NotTo(HaveOccurred())
		finder := find.NewFinder(c.Client, true)
		dc, err := finder.DefaultDatacenter(ctx)
		Expect(err).NotTo(HaveOccurred())
		finder.SetDatacenter(dc)
		pool, err := finder.ResourcePool(ctx, vcsim.ClusterName+"/Resources")
		Expect(err).NotTo(HaveOccurred())

		var photonID string
		for _, it := range items {
			if it.Name == "photon-4" {
				photonID = it.ID
			}
		}
		ref, err := vcenter.NewManager(rc).DeployLibraryItem(ctx, photonID, vcenter.Deploy{
			DeploymentSpec: vcenter.DeploymentSpec{Name: "seeded", AcceptAllEULA: true},
			Target:         vcenter.Target{ResourcePoolID: pool.Reference().Value},
		})
		Expect(err).NotTo(HaveOccurred())
		var vm mo.VirtualMachine
		Expect(object.NewVirtualMachine(c.Client, *ref).Properties(ctx, *ref, []string{"config"}, &vm)).To(Succeed())
		Expect(vm.Config.GuestId).To(Equal("vmwarePhoton64Guest"))
		Expect(vm.Config.Hardware.NumCPU).To(BeEquivalentTo(1))
		Expect(vm.Config.Hardware.MemoryMB).To(BeEquivalentTo(512))
		Expect(vm.Config.VAppConfig).NotTo(BeNil(), "the deploy carries the OVF's vApp properties, as a real vCenter does")
		Expect(vm.Config.VAppConfig.GetVmConfigInfo().Property).To(ConsistOf(
			And(HaveField("Id", "hostname"), HaveField("DefaultValue", "photon"), HaveField("UserConfigurable", HaveValue(BeTrue()))),
			And(HaveField("Id", "build"), HaveField("DefaultValue", "42"), HaveField("UserConfigurable", HaveValue(BeFalse()))),
		))
	})
})
