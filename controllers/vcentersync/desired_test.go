package vcentersync

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vapi/namespace"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
)

// These specs cover the pure mapping from a vCenter inventory to Kubernetes objects; the
// envtest specs in syncer_test.go cover the writes.
var _ = Describe("Mapping vCenter to Kubernetes", func() {
	DescribeTable("a vCenter VM class becomes a VirtualMachineClass",
		func(info namespace.VirtualMachineClassInfo, memory, cpuRequest, memoryRequest string) {
			c := classFor(info)
			Expect(c.Name).To(Equal(info.Id))
			Expect(isManaged(c)).To(BeTrue())
			Expect(c.Spec.Hardware.Cpus).To(Equal(info.CpuCount))
			Expect(c.Spec.Hardware.Memory.String()).To(Equal(memory))
			requests := c.Spec.Policies.Resources.Requests
			Expect(requests.Cpu.String()).To(Equal(cpuRequest))
			Expect(requests.Memory.String()).To(Equal(memoryRequest))
		},
		Entry("guaranteed: full reservations request all of the hardware",
			namespace.VirtualMachineClassInfo{Id: "guaranteed-medium", CpuCount: 2, MemoryMb: 8192, CpuReservation: 100, MemoryReservation: 100},
			"8Gi", "2", "8Gi"),
		Entry("best-effort: no reservation, no requests",
			namespace.VirtualMachineClassInfo{Id: "best-effort-8xlarge", CpuCount: 32, MemoryMb: 131072},
			"128Gi", "0", "0"),
		Entry("a CPU reservation alone makes the class guaranteed",
			namespace.VirtualMachineClassInfo{Id: "cpu-only", CpuCount: 4, MemoryMb: 1536, CpuReservation: 50},
			"1536Mi", "4", "1536Mi"),
		Entry("a memory reservation alone makes the class guaranteed",
			namespace.VirtualMachineClassInfo{Id: "mem-only", CpuCount: 1, MemoryMb: 2048, MemoryReservation: 100},
			"2Gi", "1", "2Gi"),
	)

	It("mirrors vCenter devices", func() {
		c := classFor(namespace.VirtualMachineClassInfo{Id: "gpu", CpuCount: 1, MemoryMb: 1024, Devices: namespace.VirtualDevices{
			VgpuDevices:         []namespace.VgpuDevice{{ProfileName: "grid_p100-8q"}},
			DirectPathIoDevices: []namespace.DirectPathIoDevice{{VendorId: 0x10de, DeviceId: 0x1eb8, CustomLabel: "t4"}},
		}})
		Expect(c.Spec.Hardware.Devices.VGPUDevices).To(ConsistOf(HaveField("ProfileName", "grid_p100-8q")))
		Expect(c.Spec.Hardware.Devices.DynamicDirectPathIODevices).To(ConsistOf(HaveField("CustomLabel", "t4")))
	})

	It("skips a class whose devices the class schema would refuse, with its bindings, and says why", func() {
		gpu := func(id string, devices namespace.VirtualDevices) namespace.VirtualMachineClassInfo {
			return namespace.VirtualMachineClassInfo{Id: id, CpuCount: 1, MemoryMb: 1024, Devices: devices}
		}
		want := desiredFrom(&namespaces.Inventory{
			Namespaces: map[string][]string{"ml": {"t4", "no-profile", "vendor-0", "device-too-big"}},
			Classes: map[string]namespace.VirtualMachineClassInfo{
				"t4": gpu("t4", namespace.VirtualDevices{
					VgpuDevices:         []namespace.VgpuDevice{{ProfileName: "grid_t4-4q"}},
					DirectPathIoDevices: []namespace.DirectPathIoDevice{{VendorId: 1, DeviceId: 0xFFFF}},
				}),
				"no-profile":     gpu("no-profile", namespace.VirtualDevices{VgpuDevices: []namespace.VgpuDevice{{}}}),
				"vendor-0":       gpu("vendor-0", namespace.VirtualDevices{DirectPathIoDevices: []namespace.DirectPathIoDevice{{VendorId: 0, DeviceId: 0x1eb8}}}),
				"device-too-big": gpu("device-too-big", namespace.VirtualDevices{DirectPathIoDevices: []namespace.DirectPathIoDevice{{VendorId: 0x10de, DeviceId: 0x10000}}}),
			},
		})
		Expect(want.classes).To(HaveLen(1))
		Expect(want.classes).To(HaveKey("t4"))
		Expect(want.bindings).To(HaveLen(1))
		Expect(want.skipped).To(ConsistOf(
			And(ContainSubstring(`class "no-profile"`), ContainSubstring("no profile name")),
			And(ContainSubstring(`class "vendor-0"`), ContainSubstring("vendor id 0")),
			And(ContainSubstring(`class "device-too-big"`), ContainSubstring("device id 65536")),
		))
	})

	It("mirrors namespaces, classes assigned somewhere and one binding per assignment", func() {
		want := desiredFrom(&namespaces.Inventory{
			Namespaces: map[string][]string{
				"new-namespace": {"guaranteed-large", "best-effort-small"},
				"cormac-new-ns": {"guaranteed-large"},
				"empty":         nil,
				"Not_A_Name":    {"best-effort-small"},
				"orphans":       {"undefined-class"},
			},
			Classes: map[string]namespace.VirtualMachineClassInfo{
				"guaranteed-large":  {Id: "guaranteed-large", CpuCount: 4, MemoryMb: 16384, CpuReservation: 100, MemoryReservation: 100},
				"best-effort-small": {Id: "best-effort-small", CpuCount: 2, MemoryMb: 4096},
				"never-assigned":    {Id: "never-assigned", CpuCount: 1, MemoryMb: 1024},
			},
		})
		Expect(want.namespaces).To(Equal([]string{"cormac-new-ns", "empty", "new-namespace", "orphans"}))
		Expect(want.classes).To(HaveLen(2))
		Expect(want.classes).To(HaveKey("guaranteed-large"))
		Expect(want.classes).To(HaveKey("best-effort-small"))
		Expect(want.bindings).To(HaveLen(3))
		b := want.bindings[types.NamespacedName{Namespace: "cormac-new-ns", Name: "guaranteed-large"}]
		Expect(b).NotTo(BeNil())
		Expect(b.ClassRef.Name).To(Equal("guaranteed-large"))
		Expect(b.ClassRef.Kind).To(Equal("VirtualMachineClass"))
		Expect(b.ClassRef.APIVersion).To(Equal("vmoperator.vmware.com/v1alpha1"))
		Expect(isManaged(b)).To(BeTrue())
		Expect(want.skipped).To(ConsistOf(ContainSubstring("Not_A_Name"), ContainSubstring("undefined-class")))
	})
})
