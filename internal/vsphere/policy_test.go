package vsphere_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/cluster"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("The govmomi provider's resource policies", func() {
	var (
		e       *env
		p       *vsphere.GovmomiProvider
		modules *cluster.Manager
	)
	BeforeEach(func(ctx SpecContext) {
		e = newEnv(ctx)
		p = e.provider()
		rc, err := e.sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		modules = cluster.NewManager(rc)
	})

	policy := func() vsphere.ResourcePolicySpec {
		return vsphere.ResourcePolicySpec{
			Namespace:            namespace,
			Placement:            vsphere.Placement{Pool: "tkc-1", Folder: "tkc-1-vms"},
			CPUReservationMilli:  1500,
			CPULimitMilli:        4000,
			MemoryReservationMiB: 1024,
			MemoryLimitMiB:       8192,
			ClusterModules:       []vsphere.ClusterModule{{Group: "control-plane-group"}, {Group: "workers-group"}},
		}
	}
	// child reads parent's child named name through the admin client; nil when there is none.
	child := func(ctx context.Context, parent types.ManagedObjectReference, name string) *types.ManagedObjectReference {
		GinkgoHelper()
		ref, err := object.NewSearchIndex(e.admin.Client).FindChild(ctx, parent, name)
		Expect(err).NotTo(HaveOccurred())
		if ref == nil {
			return nil
		}
		r := ref.Reference()
		return &r
	}
	namespacePool := func(ctx context.Context) types.ManagedObjectReference {
		GinkgoHelper()
		pool, err := e.finder.ResourcePool(ctx, "/DC0/host/"+e.cfg.Cluster+"/Resources/"+namespace)
		Expect(err).NotTo(HaveOccurred())
		return pool.Reference()
	}
	namespaceFolder := func(ctx context.Context) types.ManagedObjectReference {
		GinkgoHelper()
		folder, err := e.finder.Folder(ctx, "/DC0/vm/"+namespace)
		Expect(err).NotTo(HaveOccurred())
		return folder.Reference()
	}
	poolConfig := func(ctx context.Context, ref types.ManagedObjectReference) types.ResourceConfigSpec {
		GinkgoHelper()
		var m mo.ResourcePool
		Expect(object.NewResourcePool(e.admin.Client, ref).Properties(ctx, ref, []string{"config"}, &m)).To(Succeed())
		return m.Config
	}
	moduleIDs := func(ctx context.Context) []string {
		GinkgoHelper()
		list, err := modules.ListModules(ctx)
		Expect(err).NotTo(HaveOccurred())
		var ids []string
		for _, m := range list {
			ids = append(ids, m.Module)
		}
		return ids
	}

	It("makes the child pool with its reservations and limits, the child folder and a module per group, idempotently", func(ctx SpecContext) {
		state, err := p.EnsureResourcePolicy(logged(ctx), policy())
		Expect(err).NotTo(HaveOccurred())

		By("placing the pool under the namespace's pool, with the reservations and limits in MHz and MiB")
		poolRef := child(ctx, namespacePool(ctx), "tkc-1")
		Expect(poolRef).NotTo(BeNil())
		Expect(poolRef.Value).To(Equal(state.PoolMoID))
		mhz := e.slowestHostMHz(ctx)
		config := poolConfig(ctx, *poolRef)
		Expect(config.CpuAllocation.Reservation).To(HaveValue(Equal((1500*mhz + 999) / 1000)))
		Expect(config.CpuAllocation.Limit).To(HaveValue(Equal(4 * mhz)))
		Expect(config.MemoryAllocation.Reservation).To(HaveValue(BeEquivalentTo(1024)))
		Expect(config.MemoryAllocation.Limit).To(HaveValue(BeEquivalentTo(8192)))

		By("placing the folder under the namespace's folder")
		folderRef := child(ctx, namespaceFolder(ctx), "tkc-1-vms")
		Expect(folderRef).NotTo(BeNil())
		Expect(folderRef.Value).To(Equal(state.FolderMoID))

		By("making one cluster module per group")
		Expect(state.ClusterModules).To(HaveLen(2))
		Expect(state.ClusterModules[0].Group).To(Equal("control-plane-group"))
		Expect(state.ClusterModules[1].Group).To(Equal("workers-group"))
		Expect(moduleIDs(ctx)).To(ConsistOf(state.ClusterModules[0].ID, state.ClusterModules[1].ID))

		By("changing nothing when asked again with the module ids it returned")
		again := policy()
		again.ClusterModules = state.ClusterModules
		second, err := p.EnsureResourcePolicy(logged(ctx), again)
		Expect(err).NotTo(HaveOccurred())
		Expect(second).To(Equal(state))
		Expect(moduleIDs(ctx)).To(HaveLen(2))

		By("following edited reservations and limits in place; an unset limit is unlimited")
		again.MemoryReservationMiB, again.MemoryLimitMiB, again.CPULimitMilli = 2048, 0, 0
		_, err = p.EnsureResourcePolicy(logged(ctx), again)
		Expect(err).NotTo(HaveOccurred())
		config = poolConfig(ctx, *poolRef)
		Expect(config.MemoryAllocation.Reservation).To(HaveValue(BeEquivalentTo(2048)))
		Expect(config.MemoryAllocation.Limit).To(HaveValue(BeEquivalentTo(-1)))
		Expect(config.CpuAllocation.Limit).To(HaveValue(BeEquivalentTo(-1)))

		By("replacing a module removed in vCenter, and removing the module of a group no longer asked for")
		Expect(modules.DeleteModule(ctx, state.ClusterModules[0].ID)).To(Succeed())
		again.ClusterModules = state.ClusterModules[:1]
		again.RemoveModules = []string{state.ClusterModules[1].ID}
		third, err := p.EnsureResourcePolicy(logged(ctx), again)
		Expect(err).NotTo(HaveOccurred())
		Expect(third.ClusterModules).To(HaveLen(1))
		Expect(third.ClusterModules[0].ID).NotTo(Equal(state.ClusterModules[0].ID))
		Expect(moduleIDs(ctx)).To(ConsistOf(third.ClusterModules[0].ID))
	})

	It("deploys a VM into the policy's pool and folder, adds it to a module, and removes the policy only once the VM is gone", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae201"
		spec := vmSpec("cp-0", uuid, objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOn)
		spec.Placement = &vsphere.Placement{Pool: "tkc-1", Folder: "tkc-1-vms"}

		By("refusing to make the VM before the policy's pool and folder exist")
		_, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).To(MatchError(vsphere.ErrPlacementNotFound))
		Expect(e.vmsNamed(ctx, "cp-0")).To(BeEmpty())

		state, err := p.EnsureResourcePolicy(logged(ctx), policy())
		Expect(err).NotTo(HaveOccurred())
		spec.ClusterModule = state.ClusterModules[0].ID
		_, err = p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())

		vm := e.vmByInstanceUUID(ctx, uuid)
		Expect(vm).NotTo(BeNil())
		Expect(vm.ResourcePool.Value).To(Equal(state.PoolMoID))
		Expect(vm.Parent.Value).To(Equal(state.FolderMoID))
		members, err := modules.ListModuleMembers(ctx, state.ClusterModules[0].ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(members).To(ConsistOf(vm.Self))
		members, err = modules.ListModuleMembers(ctx, state.ClusterModules[1].ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(members).To(BeEmpty())

		By("ensuring it again without adding it twice")
		_, err = p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())

		By("reporting a module vCenter does not have")
		missing := spec
		missing.ClusterModule = "00000000-0000-0000-0000-000000000000"
		_, err = p.EnsureVM(logged(ctx), missing)
		Expect(err).To(MatchError(vsphere.ErrClusterModuleNotFound))

		By("removing nothing while the VM is in the pool and folder")
		withModules := policy()
		withModules.ClusterModules = state.ClusterModules
		Expect(p.DeleteResourcePolicy(logged(ctx), withModules)).To(MatchError(vsphere.ErrResourcePolicyInUse))
		Expect(moduleIDs(ctx)).To(HaveLen(2))
		Expect(child(ctx, namespacePool(ctx), "tkc-1")).NotTo(BeNil())

		By("removing the modules, pool and folder once the VM is deleted, and again without error")
		Expect(p.DeleteVM(logged(ctx), spec.VMRef)).To(Succeed())
		Expect(e.vmByInstanceUUID(ctx, uuid)).To(BeNil())
		Expect(p.DeleteResourcePolicy(logged(ctx), withModules)).To(Succeed())
		Expect(moduleIDs(ctx)).To(BeEmpty())
		Expect(child(ctx, namespacePool(ctx), "tkc-1")).To(BeNil())
		Expect(child(ctx, namespaceFolder(ctx), "tkc-1-vms")).To(BeNil())
		Expect(p.DeleteResourcePolicy(logged(ctx), withModules)).To(Succeed())
	})

	It("removes an interrupted creation from the policy's folder", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae202"
		state, err := p.EnsureResourcePolicy(logged(ctx), policy())
		Expect(err).NotTo(HaveOccurred())
		folder := object.NewFolder(e.admin.Client, types.ManagedObjectReference{Type: "Folder", Value: state.FolderMoID})
		pool := object.NewResourcePool(e.admin.Client, types.ManagedObjectReference{Type: "ResourcePool", Value: state.PoolMoID})
		ds, err := e.finder.DefaultDatastore(ctx)
		Expect(err).NotTo(HaveOccurred())
		task, err := folder.CreateVM(ctx, types.VirtualMachineConfigSpec{
			Name: vsphere.DeployName(uuid), GuestId: "otherGuest",
			Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"},
		}, pool, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(task.Wait(ctx)).To(Succeed())
		Expect(e.vmsNamed(ctx, vsphere.DeployName(uuid))).To(HaveLen(1))

		ref := vsphere.VMRef{Namespace: namespace, Name: "cp-1", InstanceUUID: uuid, Placement: &vsphere.Placement{Pool: "tkc-1", Folder: "tkc-1-vms"}}
		Expect(p.DeleteVM(logged(ctx), ref)).To(Succeed())
		Expect(e.vmsNamed(ctx, vsphere.DeployName(uuid))).To(BeEmpty())
	})
})
