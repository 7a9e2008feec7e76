package vsphere_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = DescribeTable("Turning a class into vSphere sizing",
	func(class *vmopv1.VirtualMachineClass, want vsphere.Sizing) {
		Expect(vsphere.SizingFromClass(class.Spec)).To(Equal(want))
	},
	Entry("a guaranteed class reserves all of its hardware", objects.GuaranteedClass("guaranteed-small", 2, "4Gi"),
		vsphere.Sizing{CPUs: 2, MemoryMiB: 4096, CPURequestMilli: 2000, MemoryRequestMiB: 4096}),
	Entry("a best-effort class reserves nothing", objects.BestEffortClass("best-effort-8xlarge", 32, "128Gi"),
		vsphere.Sizing{CPUs: 32, MemoryMiB: 131072}),
	Entry("memory in decimal units rounds up to whole MiB", objects.BestEffortClass("odd", 1, "1G"),
		vsphere.Sizing{CPUs: 1, MemoryMiB: 954}),
	Entry("fractional CPU requests and limits are kept in millicores", func() *vmopv1.VirtualMachineClass {
		c := objects.BestEffortClass("burst", 4, "8Gi")
		c.Spec.Policies.Resources.Requests.Cpu = resource.MustParse("1500m")
		c.Spec.Policies.Resources.Limits.Cpu = resource.MustParse("3")
		c.Spec.Policies.Resources.Limits.Memory = resource.MustParse("6Gi")
		return c
	}(), vsphere.Sizing{CPUs: 4, MemoryMiB: 8192, CPURequestMilli: 1500, CPULimitMilli: 3000, MemoryLimitMiB: 6144}),
	Entry("a class with devices carries them and reserves all of its memory, even best-effort", gpuClass("best-effort-gpu", false),
		vsphere.Sizing{CPUs: 4, MemoryMiB: 16384, MemoryRequestMiB: 16384,
			VGPUProfiles: []string{"grid_t4-4q"},
			DirectPathIO: []vsphere.DirectPathIODevice{{VendorID: 0x10de, DeviceID: 0x1eb8, CustomLabel: "t4"}}}),
	Entry("a guaranteed class with devices keeps its CPU request", gpuClass("guaranteed-gpu", true),
		vsphere.Sizing{CPUs: 4, MemoryMiB: 16384, CPURequestMilli: 4000, MemoryRequestMiB: 16384,
			VGPUProfiles: []string{"grid_t4-4q"},
			DirectPathIO: []vsphere.DirectPathIODevice{{VendorID: 0x10de, DeviceID: 0x1eb8, CustomLabel: "t4"}}}),
)

// gpuClass is a 4 CPU, 16Gi class with one vGPU and one DirectPath I/O device.
func gpuClass(name string, guaranteed bool) *vmopv1.VirtualMachineClass {
	c := objects.BestEffortClass(name, 4, "16Gi")
	if guaranteed {
		c = objects.GuaranteedClass(name, 4, "16Gi")
	}
	c.Spec.Hardware.Devices = vmopv1.VirtualDevices{
		VGPUDevices:                []vmopv1.VGPUDevice{{ProfileName: "grid_t4-4q"}},
		DynamicDirectPathIODevices: []vmopv1.DynamicDirectPathIODevice{{VendorID: 0x10de, DeviceID: 0x1eb8, CustomLabel: "t4"}},
	}
	return c
}
