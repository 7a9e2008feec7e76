package vsphere

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vapi/cluster"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// EnsureVM makes the VM exist, sized and placed as spec says, and drives it to spec's power
// state.
//
// Creation is idempotent in two steps. The VM is found by its instance UUID, which is set last,
// together with the VirtualMachine's name, as the mark that creation finished. A VM in the
// namespace's folder named DeployName is a creation interrupted by a restart: it is finished,
// never duplicated. A VM with the VirtualMachine's name but not its instance UUID was made by
// someone else: EnsureVM returns ErrNameTaken and never touches it.
func (p *GovmomiProvider) EnsureVM(ctx context.Context, spec VMSpec) (VMState, error) {
	if err := spec.validate(); err != nil {
		return VMState{}, err
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues(
		"namespace", spec.Namespace, "name", spec.Name, "instanceUUID", spec.InstanceUUID))

	var state VMState
	err := p.session.do(ctx, opEnsureVM, func(ctx context.Context, c *clients) error {
		var err error
		state, err = p.ensureVM(ctx, c, spec)
		return err
	})
	if err != nil {
		return VMState{}, fmt.Errorf("ensure VM %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	return state, nil
}

func (s VMSpec) validate() error {
	var errs []error
	if s.Namespace == "" || s.Name == "" || s.InstanceUUID == "" {
		errs = append(errs, errors.New("namespace, name and instance UUID are required"))
	}
	if s.Image == "" {
		errs = append(errs, errors.New("image is required"))
	}
	if s.Sizing.CPUs < 1 || s.Sizing.MemoryMiB < 1 {
		errs = append(errs, fmt.Errorf("sizing needs at least 1 CPU and 1 MiB of memory, got %d CPUs and %d MiB", s.Sizing.CPUs, s.Sizing.MemoryMiB))
	}
	switch s.PowerState {
	case vmopv1.VirtualMachinePoweredOn, vmopv1.VirtualMachinePoweredOff:
	default:
		errs = append(errs, fmt.Errorf("unknown power state %q", s.PowerState))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid VM spec for %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}

func (p *GovmomiProvider) ensureVM(ctx context.Context, c *clients, spec VMSpec) (VMState, error) {
	inv, err := newInventory(ctx, c, p.cfg.Datacenter)
	if err != nil {
		return VMState{}, err
	}
	vm, err := inv.vmByInstanceUUID(ctx, spec.InstanceUUID)
	if err != nil {
		return VMState{}, err
	}
	// m is the VM's configuration, read once for NICs, guest data and disks (again only after a
	// NIC change, for the new cards' MACs).
	var m *mo.VirtualMachine
	switch {
	case vm == nil && spec.MustExist:
		return VMState{}, fmt.Errorf("%w: no VM has instance UUID %s", ErrVMNotFound, spec.InstanceUUID)
	case vm == nil:
		if vm, err = p.createVM(ctx, inv, spec); err != nil {
			return VMState{}, err
		}
	case spec.NICs != nil:
		if m, err = p.followNICs(ctx, inv, vm, spec.NICs); err != nil {
			return VMState{}, err
		}
	}
	var disks []DiskState
	var undeclared []string
	if spec.GuestData != nil || spec.Disks != nil {
		if m == nil {
			if m, err = readConfig(ctx, c, vm); err != nil {
				return VMState{}, err
			}
		}
		if spec.GuestData != nil {
			want, err := spec.GuestData(nicStates(m))
			if err != nil {
				return VMState{}, fmt.Errorf("guest data of VM %s: %w", vm.Reference().Value, err)
			}
			if undeclared, err = syncGuestData(ctx, vm, m, want); err != nil {
				return VMState{}, err
			}
		}
		if spec.Disks != nil {
			if disks, err = syncDisks(ctx, c, vm, m, spec.Disks, spec.StoragePolicyID); err != nil {
				return VMState{}, err
			}
		}
	}
	if spec.ClusterModule != "" {
		if err := joinModule(ctx, c, vm, spec.ClusterModule); err != nil {
			return VMState{}, err
		}
	}
	if err := setPower(ctx, vm, spec.PowerState); err != nil {
		return VMState{}, err
	}
	state, err := readState(ctx, c, vm)
	state.Disks, state.UndeclaredProperties = disks, undeclared
	return state, err
}

// createVM deploys the VM (or picks up an interrupted deployment), customizes and sizes it.
func (p *GovmomiProvider) createVM(ctx context.Context, inv *inventory, spec VMSpec) (*object.VirtualMachine, error) {
	logger := log.FromContext(ctx)
	pool, folder, err := p.vmPlacement(ctx, inv, spec.VMRef)
	if err != nil {
		return nil, err
	}

	var backings []types.BaseVirtualDeviceBackingInfo
	if spec.NICs != nil {
		if backings, err = p.networkBackings(ctx, inv, spec.NICs); err != nil {
			return nil, err
		}
	}

	// One listing of the folder says both whether someone else's VM has the name (our own would
	// have been found by its instance UUID, and one found here is never adopted) and whether a
	// creation of ours stopped midway.
	found, err := inv.folderVMs(ctx, folder, spec.Name, DeployName(spec.InstanceUUID))
	if err != nil {
		return nil, err
	}
	if ref, taken := found[spec.Name]; taken {
		return nil, fmt.Errorf("%w: VM %s in the namespace's folder is named %q and was not made for this VirtualMachine", ErrNameTaken, ref.Value, spec.Name)
	}
	var vm *object.VirtualMachine
	if ref, ok := found[DeployName(spec.InstanceUUID)]; ok {
		vm = object.NewVirtualMachine(inv.c.vim, ref)
		logger.Info("finishing interrupted VM creation", "vm", ref.Value)
	} else {
		if vm, err = p.deploy(ctx, inv, spec, pool, folder); err != nil {
			return nil, err
		}
		logger.Info("deployed VM from content library", "vm", vm.Reference().Value, "image", spec.Image)
	}

	if spec.NICs != nil {
		devices, err := vm.Device(ctx)
		if err != nil {
			return nil, fmt.Errorf("read devices of VM %s: %w", vm.Reference().Value, err)
		}
		if _, err := syncNICs(ctx, vm, devices, spec.NICs, backings); err != nil {
			return nil, err
		}
	}
	if adapters := customizedAdapters(spec); len(adapters) > 0 {
		if err := customize(ctx, vm, spec.Name, adapters); err != nil {
			return nil, err
		}
	}
	if err := p.configure(ctx, inv, vm, spec); err != nil {
		return nil, err
	}
	return vm, nil
}

// deploy deploys the image's library item into the namespace's pool and folder.
func (p *GovmomiProvider) deploy(ctx context.Context, inv *inventory, spec VMSpec, pool *object.ResourcePool, folder *object.Folder) (*object.VirtualMachine, error) {
	itemID, err := p.libraryItemID(ctx, inv.c, spec.Image)
	if err != nil {
		return nil, err
	}
	d := vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{
			// Deploy can't set an instance UUID on every vCenter: a name only we use marks the VM until configure.
			Name:          DeployName(spec.InstanceUUID),
			AcceptAllEULA: true,
		},
		Target: vcenter.Target{
			ResourcePoolID: pool.Reference().Value,
			FolderID:       folder.Reference().Value,
		},
	}
	switch {
	case spec.StoragePolicyID != "":
		ds, err := p.policyDatastore(ctx, inv, spec.StoragePolicyID)
		if err != nil {
			return nil, err
		}
		d.DefaultDatastoreID, d.StorageProfileID = ds.Value, spec.StoragePolicyID
	case p.cfg.Datastore != "":
		ds, err := inv.finder.Datastore(ctx, p.cfg.Datastore)
		if err != nil {
			return nil, fmt.Errorf("find datastore %q: %w", p.cfg.Datastore, err)
		}
		d.DefaultDatastoreID = ds.Reference().Value
	}
	ref, err := vcenter.NewManager(inv.c.rest).DeployLibraryItem(ctx, itemID, d)
	if isNotFound(err) { // the item kept for the image is gone: look it up again, once
		p.forgetItem(spec.Image)
		if itemID, err = p.libraryItemID(ctx, inv.c, spec.Image); err != nil {
			return nil, err
		}
		ref, err = vcenter.NewManager(inv.c.rest).DeployLibraryItem(ctx, itemID, d)
	}
	if err != nil {
		return nil, fmt.Errorf("deploy image %q: %w", spec.Image, err)
	}
	return object.NewVirtualMachine(inv.c.vim, *ref), nil
}

// DeployName is the name a VM has from its deploy until its creation finishes: only the
// VirtualMachine with that instance UUID deploys under it, so a VM of that name in the namespace's
// folder is that VirtualMachine's unfinished creation, and one with the VirtualMachine's own name is
// never mistaken for it.
func DeployName(instanceUUID string) string { return instanceUUID }

// configure applies the class (sizing, reservations and PCI passthrough devices) and, last, the
// instance UUID and name that mark creation as finished, in one reconfigure.
func (p *GovmomiProvider) configure(ctx context.Context, inv *inventory, vm *object.VirtualMachine, spec VMSpec) error {
	s := spec.Sizing
	var cpuReservation, cpuLimit int64
	if s.CPURequestMilli > 0 || s.CPULimitMilli > 0 {
		mhz, err := inv.minHostCPUMHz(ctx, p.cfg.Cluster)
		if err != nil {
			return err
		}
		cpuReservation, cpuLimit = cpuMHz(s.CPURequestMilli, mhz), cpuMHz(s.CPULimitMilli, mhz)
	}
	config := types.VirtualMachineConfigSpec{
		Name:             spec.Name,
		InstanceUuid:     spec.InstanceUUID,
		NumCPUs:          s.CPUs,
		MemoryMB:         s.MemoryMiB,
		CpuAllocation:    allocation(cpuReservation, cpuLimit),
		MemoryAllocation: allocation(s.MemoryRequestMiB, s.MemoryLimitMiB),
	}
	if s.hasDevices() {
		// A resumed creation may find the devices an earlier configure added: add only the rest.
		devices, err := vm.Device(ctx)
		if err != nil {
			return fmt.Errorf("read devices of VM %s: %w", vm.Reference().Value, err)
		}
		config.DeviceChange = passthroughAdds(s, devices)
		// vSphere powers on a VM with passthrough devices only while all its memory is reserved.
		config.MemoryReservationLockedToMax = types.NewBool(true)
	}
	err := reconfigure(ctx, vm, config)
	if fault.Is(err, &types.DuplicateName{}) {
		return fmt.Errorf("%w: a VM named %q appeared in the namespace's folder while VM %s was made", ErrNameTaken, spec.Name, vm.Reference().Value)
	}
	if err != nil {
		return fmt.Errorf("size and name VM %s (%d CPUs, %d MiB, reserve %d MHz and %d MiB, add %d PCI passthrough device(s)): %w",
			vm.Reference().Value, s.CPUs, s.MemoryMiB, cpuReservation, s.MemoryRequestMiB, len(config.DeviceChange), err)
	}
	log.FromContext(ctx).Info("sized VM", "vm", vm.Reference().Value, "cpus", s.CPUs, "memoryMiB", s.MemoryMiB,
		"cpuReservationMHz", cpuReservation, "memoryReservationMiB", s.MemoryRequestMiB, "addedPassthroughDevices", len(config.DeviceChange))
	return nil
}

// configProperties are what ensureVM reads of an existing VM before it syncs NICs, guest data and
// disks.
var configProperties = []string{"config.hardware.device", "config.files.vmPathName", "config.extraConfig", "config.vAppConfig", "guest.net"}

func readConfig(ctx context.Context, c *clients, vm *object.VirtualMachine) (*mo.VirtualMachine, error) {
	var m mo.VirtualMachine
	if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, vm.Reference(), configProperties, &m); err != nil {
		return nil, fmt.Errorf("read configuration of VM %s: %w", vm.Reference().Value, err)
	}
	return &m, nil
}

// followNICs makes an existing VM's NICs match nics and returns its configuration as it is then.
// Every network is found first, so a missing one leaves the VM as it was.
func (p *GovmomiProvider) followNICs(ctx context.Context, inv *inventory, vm *object.VirtualMachine, nics []NIC) (*mo.VirtualMachine, error) {
	backings, err := p.networkBackings(ctx, inv, nics)
	if err != nil {
		return nil, err
	}
	m, err := readConfig(ctx, inv.c, vm)
	if err != nil {
		return nil, err
	}
	if m.Config == nil {
		return nil, fmt.Errorf("VM %s has no configuration", vm.Reference().Value)
	}
	changed, err := syncNICs(ctx, vm, m.Config.Hardware.Device, nics, backings)
	switch {
	case err != nil:
		return nil, err
	case changed:
		return readConfig(ctx, inv.c, vm)
	}
	return m, nil
}

// reconfigure applies config to the VM and waits for vCenter to finish.
func reconfigure(ctx context.Context, vm *object.VirtualMachine, config types.VirtualMachineConfigSpec) error {
	task, err := vm.Reconfigure(ctx, config)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// customizedAdapters are the NIC settings guest customization applies, one per NIC in device
// order; none when no NIC has a static address.
func customizedAdapters(spec VMSpec) []types.CustomizationAdapterMapping {
	var out []types.CustomizationAdapterMapping
	static := false
	for _, ip := range spec.StaticIPs() {
		if ip == nil {
			out = append(out, types.CustomizationAdapterMapping{Adapter: types.CustomizationIPSettings{Ip: &types.CustomizationDhcpIpGenerator{}}})
			continue
		}
		static = true
		adapter := types.CustomizationIPSettings{
			Ip:            &types.CustomizationFixedIp{IpAddress: ip.Address},
			SubnetMask:    ip.Netmask,
			DnsServerList: ip.DNSServers,
		}
		if ip.Gateway != "" {
			adapter.Gateway = []string{ip.Gateway}
		}
		out = append(out, types.CustomizationAdapterMapping{Adapter: adapter})
	}
	if !static {
		return nil
	}
	return out
}

// dnsServers are the first static NIC's name servers, which the guest uses globally.
func dnsServers(adapters []types.CustomizationAdapterMapping) []string {
	for _, a := range adapters {
		if len(a.Adapter.DnsServerList) > 0 {
			return a.Adapter.DnsServerList
		}
	}
	return nil
}

// customize gives the NICs their addresses through guest customization, which runs at the next
// power on. It must happen while the VM is still off, before its first boot.
func customize(ctx context.Context, vm *object.VirtualMachine, name string, adapters []types.CustomizationAdapterMapping) error {
	cs := types.CustomizationSpec{
		Identity: &types.CustomizationLinuxPrep{
			HostName: &types.CustomizationFixedName{Name: HostName(name)},
			Domain:   "local",
		},
		GlobalIPSettings: types.CustomizationGlobalIPSettings{DnsServerList: dnsServers(adapters)},
		NicSettingMap:    adapters,
	}
	task, err := vm.Customize(ctx, cs)
	if err == nil {
		err = task.Wait(ctx)
	}
	if fault.Is(err, &types.CustomizationPending{}) {
		// An interrupted creation already customized it; the pending spec applies at power on.
		return nil
	}
	if err != nil {
		return fmt.Errorf("customize VM %s with %d NIC setting(s): %w", vm.Reference().Value, len(adapters), err)
	}
	return nil
}

// HostName turns a VirtualMachine name (a DNS subdomain) into the host name label the guest gets.
func HostName(name string) string {
	label, _, _ := strings.Cut(name, ".")
	if len(label) > 63 {
		label = strings.TrimRight(label[:63], "-")
	}
	return label
}

// setPower drives the VM to the desired power state. Powering off is a hard power off, as
// vm-operator v1alpha1 did. A suspended VM counts as off.
func setPower(ctx context.Context, vm *object.VirtualMachine, desired vmopv1.VirtualMachinePowerState) error {
	current, err := vm.PowerState(ctx)
	if err != nil {
		return fmt.Errorf("read power state of VM %s: %w", vm.Reference().Value, err)
	}
	var task *object.Task
	switch {
	case desired == vmopv1.VirtualMachinePoweredOn && current != types.VirtualMachinePowerStatePoweredOn:
		task, err = vm.PowerOn(ctx)
	case desired == vmopv1.VirtualMachinePoweredOff && current == types.VirtualMachinePowerStatePoweredOn:
		task, err = vm.PowerOff(ctx)
	default:
		return nil
	}
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !fault.Is(err, &types.InvalidPowerState{}) {
		return fmt.Errorf("power VM %s %s: %w", vm.Reference().Value, strings.TrimPrefix(string(desired), "powered"), err)
	}
	log.FromContext(ctx).Info("changed VM power state", "vm", vm.Reference().Value, "from", current, "to", desired)
	return nil
}

// readState reads what the VirtualMachine's status reports.
func readState(ctx context.Context, c *clients, vm *object.VirtualMachine) (VMState, error) {
	pc := property.DefaultCollector(c.vim)
	var m mo.VirtualMachine
	err := pc.RetrieveOne(ctx, vm.Reference(), []string{"config.uuid", "config.instanceUuid", "runtime.host", "runtime.powerState", "guest.ipAddress",
		"guest.net", "config.hardware.device", "summary.quickStats.guestHeartbeatStatus"}, &m)
	if err != nil {
		return VMState{}, fmt.Errorf("read VM %s: %w", vm.Reference().Value, err)
	}
	state := VMState{
		MoID:       vm.Reference().Value,
		PowerState: vmopv1.VirtualMachinePoweredOff,
	}
	if m.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
		state.PowerState = vmopv1.VirtualMachinePoweredOn
	}
	if m.Config != nil {
		state.BiosUUID, state.InstanceUUID = m.Config.Uuid, m.Config.InstanceUuid
	}
	if m.Guest != nil {
		state.IP = m.Guest.IpAddress
	}
	state.Heartbeat = string(m.Summary.QuickStats.GuestHeartbeatStatus)
	state.NICs = nicStates(&m)
	if m.Runtime.Host != nil {
		var h mo.HostSystem
		if err := pc.RetrieveOne(ctx, *m.Runtime.Host, []string{"name"}, &h); err != nil {
			return VMState{}, fmt.Errorf("read host of VM %s: %w", vm.Reference().Value, err)
		}
		state.Host = h.Name
	}
	return state, nil
}

// DeleteVM powers the VM off and destroys it. It also removes a VM whose creation was
// interrupted before its instance UUID was set, found by DeployName in the namespace's folder; a
// VM that merely has the VirtualMachine's name is never destroyed.
func (p *GovmomiProvider) DeleteVM(ctx context.Context, ref VMRef) error {
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues(
		"namespace", ref.Namespace, "name", ref.Name, "instanceUUID", ref.InstanceUUID))
	err := p.session.do(ctx, opDeleteVM, func(ctx context.Context, c *clients) error {
		return p.deleteVM(ctx, c, ref)
	})
	if err != nil {
		return fmt.Errorf("delete VM %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	return nil
}

func (p *GovmomiProvider) deleteVM(ctx context.Context, c *clients, ref VMRef) error {
	inv, err := newInventory(ctx, c, p.cfg.Datacenter)
	if err != nil {
		return err
	}
	var vm *object.VirtualMachine
	if ref.InstanceUUID != "" {
		if vm, err = inv.vmByInstanceUUID(ctx, ref.InstanceUUID); err != nil {
			return err
		}
	}
	if vm == nil && ref.Namespace != "" && ref.InstanceUUID != "" {
		folder, err := inv.namespaceFolder(ctx, ref.Namespace, false)
		if err != nil {
			return err
		}
		if ref.Placement != nil {
			if _, folder, err = inv.placement(ctx, p.cfg.Cluster, ref.Namespace, *ref.Placement); err != nil {
				return err
			}
		}
		if folder != nil {
			if vm, err = inv.interruptedCreation(ctx, folder, ref.InstanceUUID); err != nil {
				return err
			}
		}
	}
	if vm == nil {
		log.FromContext(ctx).V(1).Info("VM already gone")
		return nil
	}

	if err := setPower(ctx, vm, vmopv1.VirtualMachinePoweredOff); err != nil {
		if isGone(err) {
			return nil
		}
		return err
	}
	task, err := vm.Destroy(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isGone(err) {
		return fmt.Errorf("destroy VM %s: %w", vm.Reference().Value, err)
	}
	log.FromContext(ctx).Info("destroyed VM", "vm", vm.Reference().Value)
	return nil
}

// isGone says whether err means the object was removed meanwhile.
func isGone(err error) bool {
	return fault.Is(err, &types.ManagedObjectNotFound{})
}

// vmPlacement is the pool and folder a new VM goes in: its resource policy's, which must exist
// (ErrPlacementNotFound), or else the namespace's, made the first time.
func (p *GovmomiProvider) vmPlacement(ctx context.Context, inv *inventory, ref VMRef) (*object.ResourcePool, *object.Folder, error) {
	if pl := ref.Placement; pl != nil {
		pool, folder, err := inv.placement(ctx, p.cfg.Cluster, ref.Namespace, *pl)
		switch {
		case err != nil:
			return nil, nil, err
		case pool == nil || folder == nil:
			return nil, nil, fmt.Errorf("%w: resource pool %q or folder %q is missing in namespace %s", ErrPlacementNotFound, pl.Pool, pl.Folder, ref.Namespace)
		}
		return pool, folder, nil
	}
	pool, err := inv.namespacePool(ctx, p.cfg.Cluster, ref.Namespace, true)
	if err != nil {
		return nil, nil, err
	}
	folder, err := inv.namespaceFolder(ctx, ref.Namespace, true)
	if err != nil {
		return nil, nil, err
	}
	return pool, folder, nil
}

// joinModule adds the VM to the cluster module id unless it is a member already.
func joinModule(ctx context.Context, c *clients, vm *object.VirtualMachine, id string) error {
	m := cluster.NewManager(c.rest)
	members, err := m.ListModuleMembers(ctx, id)
	if isNotFound(err) {
		return fmt.Errorf("%w: vCenter has no cluster module %s", ErrClusterModuleNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("list members of cluster module %s: %w", id, err)
	}
	if slices.Contains(members, vm.Reference()) {
		return nil
	}
	added, err := m.AddModuleMembers(ctx, id, vm)
	if err != nil {
		return fmt.Errorf("add VM %s to cluster module %s: %w", vm.Reference().Value, id, err)
	}
	if !added {
		return fmt.Errorf("vCenter did not add VM %s to cluster module %s: the VM must be in the module's cluster", vm.Reference().Value, id)
	}
	log.FromContext(ctx).Info("added VM to cluster module", "vm", vm.Reference().Value, "module", id)
	return nil
}
