package vcsim_test

import (
	"context"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vapi/cluster"

	"github.com/vm-service/vm-service/internal/vcsim"
)

var _ = Describe("The simulator's cluster modules", func() {
	ctx := context.Background()

	It("makes modules concurrently, adds a cluster's VM to one and removes it", func() {
		sim, err := vcsim.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
		c, err := sim.Client(ctx)
		Expect(err).NotTo(HaveOccurred())
		rc, err := sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		finder := find.NewFinder(c.Client, true)
		dc, err := finder.DefaultDatacenter(ctx)
		Expect(err).NotTo(HaveOccurred())
		finder.SetDatacenter(dc)
		cc, err := finder.ClusterComputeResource(ctx, vcsim.ClusterName)
		Expect(err).NotTo(HaveOccurred())
		modules := cluster.NewManager(rc)

		By("making modules from many goroutines at once, as reconciles of several policies do")
		const n = 16
		var wg sync.WaitGroup
		ids := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { ids[i], errs[i] = modules.CreateModule(ctx, cc) })
		}
		wg.Wait()
		for _, err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		listed, err := modules.ListModules(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(listed).To(HaveLen(n))

		By("adding a VM of the cluster")
		vm, err := finder.VirtualMachine(ctx, "DC0_C0_RP0_VM0")
		Expect(err).NotTo(HaveOccurred())
		added, err := modules.AddModuleMembers(ctx, ids[0], vm)
		Expect(err).NotTo(HaveOccurred())
		Expect(added).To(BeTrue())
		members, err := modules.ListModuleMembers(ctx, ids[0])
		Expect(err).NotTo(HaveOccurred())
		Expect(members).To(ConsistOf(vm.Reference()))

		By("deleting the module")
		Expect(modules.DeleteModule(ctx, ids[0])).To(Succeed())
		listed, err = modules.ListModules(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(listed).To(HaveLen(n - 1))
	})
})
