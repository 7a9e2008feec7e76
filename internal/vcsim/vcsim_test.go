package vcsim_test

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vapi/namespace"

	"github.com/vm-service/vm-service/internal/vcsim"
)

func TestVcsim(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "vcsim suite")
}

var _ = Describe("The in-process vCenter simulator", func() {
	var (
		ctx = context.Background()
		sim *vcsim.Simulator
	)
	BeforeEach(func() {
		var err error
		sim, err = vcsim.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
	})

	It("serves a VPX inventory with the supervisor cluster", func() {
		c, err := sim.Client(ctx)
		Expect(err).NotTo(HaveOccurred())
		finder := find.NewFinder(c.Client, true)
		dc, err := finder.DefaultDatacenter(ctx)
		Expect(err).NotTo(HaveOccurred())
		finder.SetDatacenter(dc)
		cluster, err := finder.ClusterComputeResource(ctx, vcsim.ClusterName)
		Expect(err).NotTo(HaveOccurred())
		Expect(cluster.Name()).To(Equal(vcsim.ClusterName))
	})

	It("serves the namespace-management REST API", func() {
		rc, err := sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		m := namespace.NewManager(rc)
		Expect(m.CreateVmClass(ctx, namespace.VirtualMachineClassCreateSpec{Id: "best-effort-xsmall", CpuCount: 2, MemoryMb: 2048})).To(Succeed())
		classes, err := m.ListVmClasses(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(classes).To(ContainElement(HaveField("Id", "best-effort-xsmall")))
	})
})
