package vcsim

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/vapi/namespace"
)

// FullReservation is the reservation, in percent, that makes a vCenter VM class guaranteed.
//
// In the vSphere 7 namespace-management API, cpu_reservation and memory_reservation of a VM class
// are percentages of the class's CPU and memory (memory must be 100 for classes with vGPUs or
// passthrough devices). The stock guaranteed-* classes reserve everything; best-effort-* classes
// leave both fields unset. govmomi's simulator stores both fields on create and returns them from
// ListVmClasses and GetVmClass, so the vCenter sync recognises a guaranteed class by a non-zero
// reservation, exactly as it does against a real vCenter.
const FullReservation = 100

// StockClass is one of the 16 VM classes a fresh vCenter with Workload Management defines.
type StockClass struct {
	// Name is the class id in vCenter and the VirtualMachineClass name in Kubernetes.
	Name string
	// CPUs is the number of virtual CPUs.
	CPUs int64
	// MemoryMiB is the memory in MiB (vCenter's memory_mb).
	MemoryMiB int64
	// Guaranteed classes reserve all of their CPU and memory.
	Guaranteed bool
}

// stockSize is one row of the stock size table; each size exists as guaranteed and best-effort.
type stockSize struct {
	suffix    string
	cpus      int64
	memoryGiB int64
}

var stockSizes = []stockSize{
	{"xsmall", 2, 2},
	{"small", 2, 4},
	{"medium", 2, 8},
	{"large", 4, 16},
	{"xlarge", 4, 32},
	{"2xlarge", 8, 64},
	{"4xlarge", 16, 128},
	{"8xlarge", 32, 128},
}

// StockClasses returns the 16 stock classes of design.md: every size as guaranteed-<size> and
// best-effort-<size>. Each call returns a fresh slice, so callers may change it.
func StockClasses() []StockClass {
	classes := make([]StockClass, 0, 2*len(stockSizes))
	for _, guaranteed := range []bool{true, false} {
		prefix := "best-effort-"
		if guaranteed {
			prefix = "guaranteed-"
		}
		for _, size := range stockSizes {
			classes = append(classes, StockClass{
				Name:       prefix + size.suffix,
				CPUs:       size.cpus,
				MemoryMiB:  size.memoryGiB * 1024,
				Guaranteed: guaranteed,
			})
		}
	}
	return classes
}

// StockClassNames returns the names of the 16 stock classes, in StockClasses order.
func StockClassNames() []string {
	classes := StockClasses()
	names := make([]string, len(classes))
	for i, c := range classes {
		names[i] = c.Name
	}
	return names
}

// CreateSpec is the namespace-management API request that defines the class in vCenter.
func (c StockClass) CreateSpec() namespace.VirtualMachineClassCreateSpec {
	spec := namespace.VirtualMachineClassCreateSpec{Id: c.Name, CpuCount: c.CPUs, MemoryMb: c.MemoryMiB}
	if c.Guaranteed {
		spec.CpuReservation = FullReservation
		spec.MemoryReservation = FullReservation
	}
	return spec
}

// DefineStockClasses defines the 16 stock classes in the simulator's namespace-management API,
// assigned to no namespace, as on a fresh supervisor (walkthrough step 1). Defining them again
// overwrites them with the stock sizes.
//
// The simulator keeps namespaces and VM classes in package-level state shared by every
// Simulator in the process, so classes defined here are visible to later simulators too.
func (s *Simulator) DefineStockClasses(ctx context.Context) error {
	rc, err := s.RestClient(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Logout(ctx) }()
	m := namespace.NewManager(rc)
	for _, c := range StockClasses() {
		if err := m.CreateVmClass(ctx, c.CreateSpec()); err != nil {
			return fmt.Errorf("define VM class %s in vcsim: %w", c.Name, err)
		}
	}
	return nil
}
