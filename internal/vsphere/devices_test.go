package vsphere_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/vcenter"
)

// The backings gpuClass's devices get.
var (
	t4VGPU = &types.VirtualPCIPassthroughVmiopBackingInfo{Vgpu: "grid_t4-4q"}
	t4DPIO = &types.VirtualPCIPassthroughDynamicBackingInfo{
		AllowedDevice: []types.VirtualPCIPassthroughAllowedDevice{{VendorId: 0x10de, DeviceId: 0x1eb8}},
		CustomLabel:   "t4",
	}
)

// passthroughBackings are the backings of the VM's PCI passthrough devices.
func passthroughBackings(vm *mo.VirtualMachine) []types.BaseVirtualDeviceBackingInfo {
	return vcenter.PassthroughBackings(vm.Config.Hardware.Device)
}

var _ = Describe("The govmomi provider with a class that has devices", func() {
	var e *env
	BeforeEach(func(ctx SpecContext) { e = newEnv(ctx) })

	It("gives the VM exactly the class's vGPU and DirectPath I/O device, and reserves all of its memory", func(ctx SpecContext) {
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae201"
		_, err := e.provider().EnsureVM(logged(ctx), vmSpec("gpu-0", uuid, gpuClass("best-effort-gpu", false), vmopv1.VirtualMachinePoweredOn))
		Expect(err).NotTo(HaveOccurred())

		vm := e.vmByInstanceUUID(ctx, uuid)
		Expect(passthroughBackings(vm)).To(ConsistOf(t4VGPU, t4DPIO))
		Expect(vm.Config.Hardware.MemoryMB).To(BeEquivalentTo(16384))
		Expect(vm.Config.MemoryAllocation.Reservation).To(HaveValue(BeEquivalentTo(16384)))
		Expect(vm.Config.MemoryReservationLockedToMax).To(HaveValue(BeTrue()))
		Expect(vm.Config.CpuAllocation.Reservation).To(HaveValue(BeZero()), "a best-effort class reserves no CPU, devices or not")
		Expect(vm.Runtime.PowerState).To(Equal(types.VirtualMachinePowerStatePoweredOn))
	})

	It("finishes an interrupted creation without adding a device the VM already has", func(ctx SpecContext) {
		// The namespace's pool and folder, for the interrupted deploy to go in.
		p := e.provider()
		_, err := p.EnsureVM(logged(ctx), vmSpec("other", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae2ff", objects.BestEffortClass("c", 1, "1Gi"), vmopv1.VirtualMachinePoweredOff))
		Expect(err).NotTo(HaveOccurred())
		const uuid = "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae202"
		deployRaw(ctx, e, vsphere.DeployName(uuid))
		raw := e.vmsNamed(ctx, vsphere.DeployName(uuid))
		Expect(raw).To(HaveLen(1))
		// An earlier attempt got one of the class's two vGPUs onto the VM, then stopped.
		Expect(raw[0].AddDevice(ctx, &types.VirtualPCIPassthrough{VirtualDevice: types.VirtualDevice{Key: -1, Backing: t4VGPU}})).To(Succeed())

		class := gpuClass("two-vgpus", false)
		class.Spec.Hardware.Devices.VGPUDevices = append(class.Spec.Hardware.Devices.VGPUDevices, vmopv1.VGPUDevice{ProfileName: "grid_t4-4q"})
		spec := vmSpec("gpu-1", uuid, class, vmopv1.VirtualMachinePoweredOn)
		_, err = e.provider().EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		vm := e.vmByInstanceUUID(ctx, uuid)
		Expect(vm.Self).To(Equal(raw[0].Reference()))
		Expect(passthroughBackings(vm)).To(ConsistOf(t4VGPU, t4VGPU, t4DPIO), "the second vGPU and the DirectPath I/O device were missing")
		Expect(vm.Config.MemoryReservationLockedToMax).To(HaveValue(BeTrue()))

		By("and nothing more when called again")
		_, err = p.EnsureVM(logged(ctx), spec)
		Expect(err).NotTo(HaveOccurred())
		Expect(passthroughBackings(e.vmByInstanceUUID(ctx, uuid))).To(HaveLen(3))
	})

	It("adds no device to a VM of a class without any, and reserves as the class says", func(ctx SpecContext) {
		for _, c := range []struct {
			uuid       string
			class      *vmopv1.VirtualMachineClass
			reservedMB int
		}{
			{"6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae203", objects.BestEffortClass("best-effort-small", 2, "4Gi"), 0},
			{"6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae204", objects.GuaranteedClass("guaranteed-small", 2, "4Gi"), 4096},
		} {
			_, err := e.provider().EnsureVM(logged(ctx), vmSpec(c.class.Name, c.uuid, c.class, vmopv1.VirtualMachinePoweredOn))
			Expect(err).NotTo(HaveOccurred())
			vm := e.vmByInstanceUUID(ctx, c.uuid)
			Expect(passthroughBackings(vm)).To(BeEmpty(), c.class.Name)
			Expect(vm.Config.MemoryAllocation.Reservation).To(HaveValue(BeEquivalentTo(c.reservedMB)), c.class.Name)
			Expect(vm.Config.MemoryReservationLockedToMax).To(Or(BeNil(), HaveValue(BeFalse())), c.class.Name)
		}
	})
})
