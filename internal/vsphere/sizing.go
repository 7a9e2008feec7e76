package vsphere

import (
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/apimachinery/pkg/api/resource"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// Sizing is a class turned into vSphere units. Zero requests mean nothing is reserved (a
// best-effort class); zero limits mean unlimited.
type Sizing struct {
	// CPUs is the number of virtual CPUs.
	CPUs int32
	// MemoryMiB is the memory size in MiB (what vSphere calls MB).
	MemoryMiB int64
	// CPURequestMilli is the CPU reservation in millicores; vSphere reserves it in MHz, see
	// cpuMHz.
	CPURequestMilli int64
	// MemoryRequestMiB is the memory reservation in MiB.
	MemoryRequestMiB int64
	// CPULimitMilli and MemoryLimitMiB cap the VM; zero means unlimited.
	CPULimitMilli  int64
	MemoryLimitMiB int64
	// VGPUProfiles are the profiles of the VM's vGPUs, one device each, such as grid_p100-8q.
	VGPUProfiles []string
	// DirectPathIO are the VM's dynamic DirectPath I/O devices, one device each.
	DirectPathIO []DirectPathIODevice
}

// hasDevices says whether the VM gets PCI passthrough devices, which need all of its memory
// reserved.
func (s Sizing) hasDevices() bool { return len(s.VGPUProfiles) > 0 || len(s.DirectPathIO) > 0 }

// SizingFromClass converts a class spec. Memory is rounded up to whole MiB so a reservation is
// never smaller than the class asked for. A class with devices reserves all of its memory,
// whatever it requests: vSphere powers on a VM with PCI passthrough devices only then.
func SizingFromClass(spec vmopv1.VirtualMachineClassSpec) Sizing {
	r := spec.Policies.Resources
	s := Sizing{
		CPUs:             int32(spec.Hardware.Cpus),
		MemoryMiB:        mebibytes(spec.Hardware.Memory),
		CPURequestMilli:  r.Requests.Cpu.MilliValue(),
		MemoryRequestMiB: mebibytes(r.Requests.Memory),
		CPULimitMilli:    r.Limits.Cpu.MilliValue(),
		MemoryLimitMiB:   mebibytes(r.Limits.Memory),
	}
	devices := spec.Hardware.Devices
	for _, d := range devices.VGPUDevices {
		s.VGPUProfiles = append(s.VGPUProfiles, d.ProfileName)
	}
	for _, d := range devices.DynamicDirectPathIODevices {
		s.DirectPathIO = append(s.DirectPathIO, DirectPathIODevice{
			VendorID: int32(d.VendorID), DeviceID: int32(d.DeviceID), CustomLabel: d.CustomLabel,
		})
	}
	if s.hasDevices() {
		s.MemoryRequestMiB = s.MemoryMiB
	}
	return s
}

const mib = 1 << 20

func mebibytes(q resource.Quantity) int64 {
	b := q.Value()
	return (b + mib - 1) / mib
}

// cpuMHz turns millicores into MHz on hosts whose cores run at hostMHz: a request of two cores
// on 2294 MHz hosts reserves 4588 MHz. It rounds up, for the same reason as memory.
func cpuMHz(milli int64, hostMHz int32) int64 {
	return (milli*int64(hostMHz) + 999) / 1000
}

// allocation is the vSphere reservation and limit for a request and limit, both in vSphere
// units. The reservation is always set, to 0 when nothing is requested, so a VM's reservation
// is what its class says and not whatever the image carried.
func allocation(reservation, limit int64) *types.ResourceAllocationInfo {
	if limit <= 0 {
		limit = -1
	}
	return &types.ResourceAllocationInfo{Reservation: &reservation, Limit: &limit}
}
