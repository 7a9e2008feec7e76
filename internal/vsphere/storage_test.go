package vsphere_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/pbm"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/vim25/types"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("The govmomi provider, placing a VM by its storage policy", func() {
	It("puts the VM and every disk on a datastore the policy accepts", func(ctx SpecContext) {
		e := newEnv(ctx)
		p := e.provider()
		spec := vmSpec("db-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae0a1", objects.BestEffortClass("best-effort-small", 2, "4Gi"), vmopv1.VirtualMachinePoweredOn)
		spec.StoragePolicyID = vcsim.VSANDefaultPolicyID
		spec.Disks = []vsphere.Disk{{Name: "data", CapacityMiB: 1024}}
		_, err := p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())

		By("asking vCenter's placement solver, independently, which datastores the policy accepts")
		c, err := pbm.NewClient(ctx, e.admin.Client)
		Expect(err).NotTo(HaveOccurred())
		all, err := e.finder.DatastoreList(ctx, "*")
		Expect(err).NotTo(HaveOccurred())
		var hubs []pbmtypes.PbmPlacementHub
		for _, ds := range all {
			hubs = append(hubs, pbmtypes.PbmPlacementHub{HubType: "Datastore", HubId: ds.Reference().Value})
		}
		result, err := c.CheckRequirements(ctx, hubs, nil, []pbmtypes.BasePbmPlacementRequirement{
			&pbmtypes.PbmPlacementCapabilityProfileRequirement{ProfileId: pbmtypes.PbmProfileId{UniqueId: vcsim.VSANDefaultPolicyID}},
		})
		Expect(err).NotTo(HaveOccurred())
		accepted := map[string]string{} // datastore name by moref
		for _, hub := range result.CompatibleDatastores() {
			ref := types.ManagedObjectReference{Type: hub.HubType, Value: hub.HubId}
			accepted[e.name(ctx, ref)] = hub.HubId
		}
		Expect(accepted).NotTo(BeEmpty())

		vm := e.vmByInstanceUUID(ctx, spec.InstanceUUID)
		Expect(vm).NotTo(BeNil())
		Expect(vm.Datastore).NotTo(BeEmpty())
		for _, ds := range vm.Datastore {
			Expect(accepted).To(ContainElement(ds.Value), "the VM's datastore %s", ds.Value)
		}
		disks := object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))
		Expect(disks).NotTo(BeEmpty())
		for _, d := range disks {
			file := d.(*types.VirtualDisk).Backing.(types.BaseVirtualDeviceFileBackingInfo).GetVirtualDeviceFileBackingInfo().FileName
			var path object.DatastorePath
			Expect(path.FromString(file)).To(BeTrue(), file)
			Expect(accepted).To(HaveKey(path.Datastore), "disk %s", file)
		}
	})
})
