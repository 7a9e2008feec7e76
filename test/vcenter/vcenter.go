// Package vcenter inspects a vCenter (the simulator) from the outside, with an admin session of
// its own, so specs assert on what vSphere holds rather than on the product's own status.
package vcenter

import (
	"context"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vapi/cluster"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vm-service/vm-service/internal/vsphere"
)

// Inspector reads a vCenter's inventory.
type Inspector struct {
	client *govmomi.Client
	// user logs the REST client in, for the APIs SOAP lacks (cluster modules).
	user *url.Userinfo
}

// Connect logs in to the vCenter at u (credentials in its user info).
func Connect(ctx context.Context, u *url.URL) (*Inspector, error) {
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return nil, fmt.Errorf("log in to %s: %w", u.Host, err)
	}
	return &Inspector{client: c, user: u.User}, nil
}

// VM is what specs check about a vSphere VM.
type VM struct {
	MoID, Name, PowerState, IP, InstanceUUID string
	NumCPU                                   int32
	MemoryMB                                 int32
	CPUReservationMHz, MemoryReservationMB   int64
	// MemoryReservationLocked is config.memoryReservationLockedToMax: all memory stays reserved.
	MemoryReservationLocked bool
	// Passthrough are the backings of the VM's PCI passthrough devices (vGPUs, DirectPath I/O).
	Passthrough []types.BaseVirtualDeviceBackingInfo
	// ResourcePool and Folder are the names of the VM's pool and folder.
	ResourcePool, Folder string
	// ExtraConfig is the VM's config.extraConfig, by key.
	ExtraConfig map[string]string
	// Properties are the values of the VM's vApp properties (config.vAppConfig), by id; a
	// property without a value is "".
	Properties map[string]string
	// ProductVersion is the version in the vApp product section the VM was deployed with (its
	// image's OVF ProductSection), which tells which image a VM came from.
	ProductVersion string
	// Disks are the VM's virtual disks, in device order.
	Disks []Disk
	// NICs are the VM's network cards, in the order a VirtualMachine lists its NICs.
	NICs []NIC
}

// NIC is what specs check about a network card.
type NIC struct {
	// Type is the card model, such as vmxnet3; Network the name of the network or distributed
	// port group it is on.
	Type, Network, MAC string
	// Key is the device key, which a card keeps until it is replaced.
	Key int32
}

// Disk is what specs check about a virtual disk.
type Disk struct {
	// File is the disk's datastore path, such as "[LocalDS_0] web/data.vmdk".
	File        string
	CapacityMiB int64
}

// VMsNamed returns every VM with that name, wherever it is.
func (i *Inspector) VMsNamed(ctx context.Context, name string) ([]VM, error) {
	// A VM found by name may be destroyed before its properties are read (a scale down in
	// progress): look again, a bounded number of times.
	for attempt := 1; ; attempt++ {
		vms, err := i.vmsNamed(ctx, name)
		if err == nil || attempt == 5 || !fault.Is(err, &types.ManagedObjectNotFound{}) {
			return vms, err
		}
	}
}

func (i *Inspector) vmsNamed(ctx context.Context, name string) ([]VM, error) {
	m := view.NewManager(i.client.Client)
	v, err := m.CreateContainerView(ctx, i.client.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = v.Destroy(ctx) }()
	refs, err := v.Find(ctx, []string{"VirtualMachine"}, property.Match{"name": name})
	if err != nil {
		return nil, fmt.Errorf("find VMs named %s: %w", name, err)
	}
	var vms []mo.VirtualMachine
	if len(refs) > 0 {
		props := []string{"name", "config", "runtime", "guest", "resourcePool", "parent"}
		if err := property.DefaultCollector(i.client.Client).Retrieve(ctx, refs, props, &vms); err != nil {
			return nil, fmt.Errorf("read VMs named %s: %w", name, err)
		}
	}
	out := make([]VM, 0, len(vms))
	for _, vm := range vms {
		got := VM{MoID: vm.Self.Value, Name: vm.Name, PowerState: string(vm.Runtime.PowerState)}
		if vm.Guest != nil {
			got.IP = vm.Guest.IpAddress
		}
		if c := vm.Config; c != nil {
			got.InstanceUUID, got.NumCPU, got.MemoryMB = c.InstanceUuid, c.Hardware.NumCPU, c.Hardware.MemoryMB
			if c.CpuAllocation != nil && c.CpuAllocation.Reservation != nil {
				got.CPUReservationMHz = *c.CpuAllocation.Reservation
			}
			if c.MemoryAllocation != nil && c.MemoryAllocation.Reservation != nil {
				got.MemoryReservationMB = *c.MemoryAllocation.Reservation
			}
			got.MemoryReservationLocked = c.MemoryReservationLockedToMax != nil && *c.MemoryReservationLockedToMax
			got.Passthrough = PassthroughBackings(c.Hardware.Device)
			for _, d := range object.VirtualDeviceList(c.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
				disk := d.(*types.VirtualDisk)
				if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
					got.Disks = append(got.Disks, Disk{File: b.GetVirtualDeviceFileBackingInfo().FileName, CapacityMiB: disk.CapacityInKB / 1024})
				}
			}
			for _, d := range vsphere.EthernetCards(c.Hardware.Device) {
				nic := NIC{Type: vsphere.CardType(d), MAC: d.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress, Key: d.GetVirtualDevice().Key}
				switch b := d.GetVirtualDevice().Backing.(type) {
				case *types.VirtualEthernetCardNetworkBackingInfo:
					nic.Network = b.DeviceName
				case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
					pg := types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: b.Port.PortgroupKey}
					nic.Network, _ = object.NewCommon(i.client.Client, pg).ObjectName(ctx)
				}
				got.NICs = append(got.NICs, nic)
			}
			got.ExtraConfig = map[string]string{}
			for _, o := range c.ExtraConfig {
				if v := o.GetOptionValue(); v != nil {
					got.ExtraConfig[v.Key], _ = v.Value.(string)
				}
			}
			got.Properties = map[string]string{}
			if c.VAppConfig != nil {
				for _, prop := range c.VAppConfig.GetVmConfigInfo().Property {
					got.Properties[prop.Id] = prop.Value
				}
				if products := c.VAppConfig.GetVmConfigInfo().Product; len(products) > 0 {
					got.ProductVersion = products[0].Version
				}
			}
		}
		if vm.ResourcePool != nil {
			got.ResourcePool, _ = object.NewCommon(i.client.Client, *vm.ResourcePool).ObjectName(ctx)
		}
		if vm.Parent != nil {
			got.Folder, _ = object.NewCommon(i.client.Client, *vm.Parent).ObjectName(ctx)
		}
		out = append(out, got)
	}
	return out, nil
}

// PassthroughBackings are the backings of the PCI passthrough devices among devices, in order.
func PassthroughBackings(devices []types.BaseVirtualDevice) []types.BaseVirtualDeviceBackingInfo {
	var out []types.BaseVirtualDeviceBackingInfo
	for _, d := range devices {
		if p, ok := d.(*types.VirtualPCIPassthrough); ok {
			out = append(out, p.Backing)
		}
	}
	return out
}

// SlowestHostMHz is the slowest core clock among the hosts of the cluster named cluster: the
// clock the product sizes CPU reservations by.
func (i *Inspector) SlowestHostMHz(ctx context.Context, cluster string) (int64, error) {
	finder := find.NewFinder(i.client.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return 0, err
	}
	finder.SetDatacenter(dc)
	cc, err := finder.ClusterComputeResource(ctx, cluster)
	if err != nil {
		return 0, err
	}
	hosts, err := cc.Hosts(ctx)
	if err != nil {
		return 0, err
	}
	var slowest int64
	for _, h := range hosts {
		var m mo.HostSystem
		if err := h.Properties(ctx, h.Reference(), []string{"summary.hardware"}, &m); err != nil {
			return 0, err
		}
		if mhz := int64(m.Summary.Hardware.CpuMhz); slowest == 0 || mhz < slowest {
			slowest = mhz
		}
	}
	if slowest == 0 {
		return 0, fmt.Errorf("no host of cluster %s reports its clock", cluster)
	}
	return slowest, nil
}

// VMNamed returns the only VM with that name, or an error when there is none or more than one.
func (i *Inspector) VMNamed(ctx context.Context, name string) (VM, error) {
	vms, err := i.VMsNamed(ctx, name)
	if err != nil {
		return VM{}, err
	}
	if len(vms) != 1 {
		return VM{}, fmt.Errorf("want exactly one VM named %s, found %d", name, len(vms))
	}
	return vms[0], nil
}

// Destroy powers the VM with that managed object id off and removes it, as an administrator
// would in the vSphere Client.
func (i *Inspector) Destroy(ctx context.Context, moID string) error {
	vm := object.NewVirtualMachine(i.client.Client, types.ManagedObjectReference{Type: "VirtualMachine", Value: moID})
	if task, err := vm.PowerOff(ctx); err == nil {
		_ = task.Wait(ctx) // a VM that is off already refuses; Destroy says what matters
	}
	task, err := vm.Destroy(ctx)
	if err != nil {
		return fmt.Errorf("destroy VM %s: %w", moID, err)
	}
	return task.Wait(ctx)
}

// Placed is what a fleet check needs to know about a VM: where it is, who it is, how it runs,
// and whether it was reconfigured (config.changeVersion changes on every reconfigure).
type Placed struct {
	MoID, Name, Folder, InstanceUUID, PowerState, IP, ChangeVersion string
}

// VMsInFolders returns every VM in a folder with one of the given names, such as the
// namespaces' folders, or in a folder below one (a cluster's), read in two property collector
// calls; Folder is the named folder.
func (i *Inspector) VMsInFolders(ctx context.Context, folders ...string) ([]Placed, error) {
	m := view.NewManager(i.client.Client)
	v, err := m.CreateContainerView(ctx, i.client.ServiceContent.RootFolder, []string{"VirtualMachine", "Folder"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = v.Destroy(ctx) }()
	var fs []mo.Folder
	if err := v.Retrieve(ctx, []string{"Folder"}, []string{"name", "parent"}, &fs); err != nil {
		return nil, fmt.Errorf("read folders: %w", err)
	}
	wanted := map[string]bool{}
	for _, name := range folders {
		wanted[name] = true
	}
	byRef := map[types.ManagedObjectReference]mo.Folder{}
	for _, f := range fs {
		byRef[f.Self] = f
	}
	// named is the wanted folder at or above ref; "" when there is none.
	named := func(ref *types.ManagedObjectReference) string {
		for ref != nil {
			f, ok := byRef[*ref]
			if !ok {
				return ""
			}
			if wanted[f.Name] {
				return f.Name
			}
			ref = f.Parent
		}
		return ""
	}
	var vms []mo.VirtualMachine
	props := []string{"name", "parent", "config.instanceUuid", "config.changeVersion", "runtime.powerState", "guest.ipAddress"}
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, props, &vms); err != nil {
		return nil, fmt.Errorf("read VMs: %w", err)
	}
	var out []Placed
	for _, vm := range vms {
		folder := named(vm.Parent)
		if folder == "" {
			continue
		}
		p := Placed{MoID: vm.Self.Value, Name: vm.Name, Folder: folder, PowerState: string(vm.Runtime.PowerState)}
		if vm.Config != nil {
			p.InstanceUUID, p.ChangeVersion = vm.Config.InstanceUuid, vm.Config.ChangeVersion
		}
		if vm.Guest != nil {
			p.IP = vm.Guest.IpAddress
		}
		out = append(out, p)
	}
	return out, nil
}

// Logout ends the inspector's session.
func (i *Inspector) Logout(ctx context.Context) error { return i.client.Logout(ctx) }

// ModuleMembers returns the managed object ids of the VMs in the vSphere cluster module id.
func (i *Inspector) ModuleMembers(ctx context.Context, id string) ([]string, error) {
	rc := rest.NewClient(i.client.Client)
	if err := rc.Login(ctx, i.user); err != nil {
		return nil, fmt.Errorf("log in to the REST API: %w", err)
	}
	defer func() { _ = rc.Logout(ctx) }()
	refs, err := cluster.NewManager(rc).ListModuleMembers(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("list members of cluster module %s: %w", id, err)
	}
	ids := make([]string, len(refs))
	for n, ref := range refs {
		ids[n] = ref.Value
	}
	return ids, nil
}
