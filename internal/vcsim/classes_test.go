package vcsim_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vapi/namespace"

	"github.com/vm-service/vm-service/internal/vcsim"
)

var _ = Describe("The stock VM classes", func() {
	It("are the 16 classes of the design, each size as guaranteed and best-effort", func() {
		classes := vcsim.StockClasses()
		Expect(classes).To(HaveLen(16))
		byName := map[string]vcsim.StockClass{}
		for _, c := range classes {
			byName[c.Name] = c
		}
		Expect(byName).To(HaveLen(16))
		for _, size := range []struct {
			name        string
			cpus, memGi int64
		}{
			{"xsmall", 2, 2}, {"small", 2, 4}, {"medium", 2, 8}, {"large", 4, 16},
			{"xlarge", 4, 32}, {"2xlarge", 8, 64}, {"4xlarge", 16, 128}, {"8xlarge", 32, 128},
		} {
			Expect(byName).To(HaveKeyWithValue("guaranteed-"+size.name,
				vcsim.StockClass{Name: "guaranteed-" + size.name, CPUs: size.cpus, MemoryMiB: size.memGi * 1024, Guaranteed: true}))
			Expect(byName).To(HaveKeyWithValue("best-effort-"+size.name,
				vcsim.StockClass{Name: "best-effort-" + size.name, CPUs: size.cpus, MemoryMiB: size.memGi * 1024}))
		}
		Expect(vcsim.StockClassNames()).To(HaveLen(16))
	})

	It("are defined in the simulator with reservations that round-trip, assigned to no namespace", func(ctx SpecContext) {
		sim, err := vcsim.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
		Expect(sim.DefineStockClasses(ctx)).To(Succeed())

		rc, err := sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		m := namespace.NewManager(rc)
		DeferCleanup(func(ctx SpecContext) {
			for _, name := range vcsim.StockClassNames() {
				Expect(m.DeleteVmClass(ctx, name)).To(Succeed())
			}
		})

		for _, stock := range vcsim.StockClasses() {
			got, err := m.GetVmClass(ctx, stock.Name)
			Expect(err).NotTo(HaveOccurred())
			Expect(got.CpuCount).To(Equal(stock.CPUs), stock.Name)
			Expect(got.MemoryMb).To(Equal(stock.MemoryMiB), stock.Name)
			Expect(got.Namespaces).To(BeEmpty(), stock.Name)
			if stock.Guaranteed {
				Expect(got.CpuReservation).To(Equal(int64(vcsim.FullReservation)), stock.Name)
				Expect(got.MemoryReservation).To(Equal(int64(vcsim.FullReservation)), stock.Name)
			} else {
				Expect(got.CpuReservation).To(BeZero(), stock.Name)
				Expect(got.MemoryReservation).To(BeZero(), stock.Name)
			}
		}
		namespaces, err := m.ListNamespaces(ctx)
		Expect(err).NotTo(HaveOccurred())
		for _, ns := range namespaces {
			info, err := m.GetNamespace(ctx, ns.Namespace)
			Expect(err).NotTo(HaveOccurred())
			Expect(info.VmServiceSpec.VmClasses).NotTo(ContainElement(BeElementOf(vcsim.StockClassNames())))
		}
	})
})
