package vsphere

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Disk is a virtual disk that one of a VirtualMachine's volumes asks for.
type Disk struct {
	// Name is the volume's name; the disk's file in the VM's directory is named after it.
	Name string
	// CapacityMiB is the disk's size. A disk is grown to it, never shrunk.
	CapacityMiB int64
}

// DiskState is a volume's disk as vSphere has it.
type DiskState struct {
	Name        string
	UUID        string
	CapacityMiB int64
}

// diskFilePrefix starts the file name of every disk made for a volume, so the product knows
// its disks from the image's.
const diskFilePrefix = "vmservice-"

// syncDisks makes the VM's volume disks what want says, in one reconfigure: it adds missing
// disks (and a paravirtual SCSI controller when the VM has none), grows smaller ones and removes
// those no volume names any more. It returns the volume disks as they then are, by name.
// New disks go in the VM's directory, on the datastore its storage policy placed it on, and carry
// that policy.
func syncDisks(ctx context.Context, c *clients, vm *object.VirtualMachine, m *mo.VirtualMachine, want []Disk, policyID string) ([]DiskState, error) {
	devices, dir, err := devicesOf(m)
	if err != nil {
		return nil, err
	}
	have := volumeDisks(devices)
	var changes []types.BaseVirtualDeviceConfigSpec
	var controller types.BaseVirtualController
	wanted := map[string]bool{}
	for _, d := range want {
		wanted[d.Name] = true
		kb := d.CapacityMiB * 1024
		if disk, ok := have[d.Name]; ok {
			if disk.CapacityInKB < kb {
				grown := *disk
				grown.CapacityInKB, grown.CapacityInBytes = kb, kb*1024
				changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: &grown})
			}
			continue
		}
		if controller == nil {
			if controller, changes, devices, err = diskController(devices, changes); err != nil {
				return nil, err
			}
		}
		disk := devices.CreateDisk(controller, types.ManagedObjectReference{}, fmt.Sprintf("%s/%s%s.vmdk", dir, diskFilePrefix, d.Name))
		disk.CapacityInKB = kb
		devices = append(devices, disk)
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd,
			FileOperation: types.VirtualDeviceConfigSpecFileOperationCreate, Device: disk, Profile: policyProfile(policyID)})
	}
	for name, disk := range have {
		if !wanted[name] {
			changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove,
				FileOperation: types.VirtualDeviceConfigSpecFileOperationDestroy, Device: disk})
		}
	}
	if len(changes) > 0 {
		if err := reconfigure(ctx, vm, types.VirtualMachineConfigSpec{DeviceChange: changes}); err != nil {
			return nil, fmt.Errorf("change disks of VM %s: %w", vm.Reference().Value, err)
		}
		log.FromContext(ctx).Info("changed volume disks", "vm", vm.Reference().Value, "changes", len(changes))
		// Read again: vCenter assigns the new disks' UUIDs.
		var after mo.VirtualMachine
		if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, vm.Reference(), []string{"config.hardware.device"}, &after); err != nil {
			return nil, fmt.Errorf("read devices of VM %s: %w", vm.Reference().Value, err)
		}
		if devices, _, err = devicesOf(&after); err != nil {
			return nil, err
		}
		have = volumeDisks(devices)
	}
	states := make([]DiskState, 0, len(have))
	for name, disk := range have {
		s := DiskState{Name: name, CapacityMiB: disk.CapacityInKB / 1024}
		if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
			s.UUID = b.Uuid
		}
		states = append(states, s)
	}
	sort.Slice(states, func(i, j int) bool { return states[i].Name < states[j].Name })
	return states, nil
}

// devicesOf is the VM's devices and the datastore directory its files live in, such as
// "[LocalDS_0] web" (empty when config.files was not read).
func devicesOf(m *mo.VirtualMachine) (object.VirtualDeviceList, string, error) {
	if m.Config == nil {
		return nil, "", fmt.Errorf("VM %s has no configuration", m.Self.Value)
	}
	vmx := m.Config.Files.VmPathName
	dir := vmx[:strings.LastIndex(vmx, "/")+1]
	return object.VirtualDeviceList(m.Config.Hardware.Device), strings.TrimSuffix(dir, "/"), nil
}

// volumeDisks are the VM's disks made for volumes, by volume name.
func volumeDisks(devices object.VirtualDeviceList) map[string]*types.VirtualDisk {
	out := map[string]*types.VirtualDisk{}
	for _, d := range devices.SelectByType((*types.VirtualDisk)(nil)) {
		disk := d.(*types.VirtualDisk)
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		file := b.FileName[strings.LastIndex(b.FileName, "/")+1:]
		if name, ok := strings.CutPrefix(strings.TrimSuffix(file, ".vmdk"), diskFilePrefix); ok {
			out[name] = disk
		}
	}
	return out
}

// diskController is a SCSI controller with a free slot, adding a paravirtual one to changes when
// the VM has none.
func diskController(devices object.VirtualDeviceList, changes []types.BaseVirtualDeviceConfigSpec) (
	types.BaseVirtualController, []types.BaseVirtualDeviceConfigSpec, object.VirtualDeviceList, error) {
	if c, err := devices.FindSCSIController(""); err == nil {
		return c, changes, devices, nil
	}
	dev, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("make a SCSI controller for volume disks: %w", err)
	}
	changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: dev})
	return dev.(types.BaseVirtualController), changes, append(devices, dev), nil
}
