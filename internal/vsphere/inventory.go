package vsphere

import (
	"context"
	"fmt"
	"slices"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// inventory is where one call works: the datacenter, kept with the call's clients so nothing
// stale survives a re-login.
type inventory struct {
	c      *clients
	finder *find.Finder
	dc     *object.Datacenter
}

func newInventory(ctx context.Context, c *clients, datacenter string) (*inventory, error) {
	dc, err := c.datacenter(ctx, datacenter)
	if err != nil {
		return nil, err
	}
	finder := find.NewFinder(c.vim, false)
	finder.SetDatacenter(dc)
	return &inventory{c: c, finder: finder, dc: dc}, nil
}

// datacenter returns the named datacenter (the only one when name is empty), looked up on first
// use. EnsureVM runs every few seconds for each VM waiting for an IP, and looking the datacenter
// up each time would add two requests to the four such a call needs. A failed lookup is not
// kept: the next call tries again and reports the same error.
func (c *clients) datacenter(ctx context.Context, name string) (*object.Datacenter, error) {
	if dc := c.dc.Load(); dc != nil {
		return dc, nil
	}
	dc, err := find.NewFinder(c.vim, false).DatacenterOrDefault(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("find datacenter %q: %w", name, err)
	}
	// Concurrent first calls may each look it up; they find the same datacenter.
	c.dc.Store(dc)
	return dc, nil
}

// supervisorCluster is the supervisor cluster and its root resource pool.
type supervisorCluster struct {
	name string
	cc   *object.ClusterComputeResource
	root *object.ResourcePool
}

// supervisor returns the supervisor cluster named name and its root pool, looked up once per
// session as the datacenter is: every create needs both, and finding them takes a few requests.
func (inv *inventory) supervisor(ctx context.Context, name string) (*supervisorCluster, error) {
	if s := inv.c.supervisor.Load(); s != nil && s.name == name {
		return s, nil
	}
	cc, err := inv.finder.ClusterComputeResource(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("find supervisor cluster %q: %w", name, err)
	}
	root, err := cc.ResourcePool(ctx)
	if err != nil {
		return nil, fmt.Errorf("find root resource pool of cluster %q: %w", name, err)
	}
	s := &supervisorCluster{name: name, cc: cc, root: root}
	inv.c.supervisor.Store(s)
	return s, nil
}

// cluster returns the supervisor cluster named name.
func (inv *inventory) cluster(ctx context.Context, name string) (*object.ClusterComputeResource, error) {
	s, err := inv.supervisor(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.cc, nil
}

// vmFolder returns the datacenter's VM folder, looked up once per session.
func (inv *inventory) vmFolder(ctx context.Context) (*object.Folder, error) {
	if f := inv.c.vmFolder.Load(); f != nil {
		return f, nil
	}
	folders, err := inv.dc.Folders(ctx)
	if err != nil {
		return nil, fmt.Errorf("find VM folder: %w", err)
	}
	inv.c.vmFolder.Store(folders.VmFolder)
	return folders.VmFolder, nil
}

// vmByInstanceUUID finds a VM by the instance UUID VM Service gave it; nil when there is none.
func (inv *inventory) vmByInstanceUUID(ctx context.Context, uuid string) (*object.VirtualMachine, error) {
	instance := true
	ref, err := object.NewSearchIndex(inv.c.vim).FindByUuid(ctx, inv.dc, uuid, true, &instance)
	if err != nil {
		return nil, fmt.Errorf("find VM by instance UUID %s: %w", uuid, err)
	}
	if ref == nil {
		return nil, nil
	}
	return object.NewVirtualMachine(inv.c.vim, ref.Reference()), nil
}

// interruptedCreation is the VM in folder that a creation for instanceUUID deployed and did not
// finish; nil when there is none.
func (inv *inventory) interruptedCreation(ctx context.Context, folder *object.Folder, instanceUUID string) (*object.VirtualMachine, error) {
	found, err := inv.folderVMs(ctx, folder, DeployName(instanceUUID))
	ref, ok := found[DeployName(instanceUUID)]
	if err != nil || !ok {
		return nil, err
	}
	return object.NewVirtualMachine(inv.c.vim, ref), nil
}

// folderVMs returns the VMs directly in folder with one of names, by name. Names are read
// through the property collector, not SearchIndex.FindChild: the simulator's FindChild panics on
// a VM a concurrent deploy has registered but not yet named, and then never releases its lock.
func (inv *inventory) folderVMs(ctx context.Context, folder *object.Folder, names ...string) (map[string]types.ManagedObjectReference, error) {
	pc := property.DefaultCollector(inv.c.vim)
	var f mo.Folder
	if err := pc.RetrieveOne(ctx, folder.Reference(), []string{"childEntity"}, &f); err != nil {
		return nil, fmt.Errorf("list folder %s: %w", folder.Reference().Value, err)
	}
	var refs []types.ManagedObjectReference
	for _, ref := range f.ChildEntity {
		if ref.Type == "VirtualMachine" {
			refs = append(refs, ref)
		}
	}
	found := map[string]types.ManagedObjectReference{}
	if len(refs) == 0 {
		return found, nil
	}
	var vms []mo.VirtualMachine
	if err := pc.Retrieve(ctx, refs, []string{"name"}, &vms); err != nil {
		return nil, fmt.Errorf("read VM names in folder %s: %w", folder.Reference().Value, err)
	}
	for _, vm := range vms {
		if slices.Contains(names, vm.Name) {
			found[vm.Name] = vm.Reference()
		}
	}
	return found, nil
}

// child returns the direct child of parent named name if it is of kind (a managed object type
// such as "Folder"); nil when there is none.
func (inv *inventory) child(ctx context.Context, parent object.Reference, name, kind string) (*types.ManagedObjectReference, error) {
	ref, err := object.NewSearchIndex(inv.c.vim).FindChild(ctx, parent, name)
	if err != nil {
		return nil, fmt.Errorf("find %s %q: %w", kind, name, err)
	}
	if ref == nil || ref.Reference().Type != kind {
		return nil, nil
	}
	r := ref.Reference()
	return &r, nil
}

// namespacePool returns the namespace's resource pool under the supervisor cluster's root pool,
// creating it with default (unreserved, unlimited) settings the first time when create is set;
// nil when it does not exist and create is not set.
func (inv *inventory) namespacePool(ctx context.Context, cluster, namespace string, create bool) (*object.ResourcePool, error) {
	s, err := inv.supervisor(ctx, cluster)
	if err != nil {
		return nil, err
	}
	root := s.root
	ref, err := inv.child(ctx, root, namespace, "ResourcePool")
	if err != nil || ref != nil || !create {
		return poolOrNil(inv, ref), err
	}
	pool, err := root.Create(ctx, namespace, types.DefaultResourceConfigSpec())
	if fault.Is(err, &types.DuplicateName{}) {
		// Another reconcile of the same namespace made it first.
		ref, err = inv.child(ctx, root, namespace, "ResourcePool")
		return poolOrNil(inv, ref), err
	}
	if err != nil {
		return nil, fmt.Errorf("create resource pool for namespace %s: %w", namespace, err)
	}
	log.FromContext(ctx).Info("created namespace resource pool", "pool", pool.Reference().Value)
	return pool, nil
}

func poolOrNil(inv *inventory, ref *types.ManagedObjectReference) *object.ResourcePool {
	if ref == nil {
		return nil
	}
	return object.NewResourcePool(inv.c.vim, *ref)
}

// namespaceFolder returns the namespace's folder under the datacenter's VM folder, creating it
// the first time when create is set; nil when it does not exist and create is not set.
func (inv *inventory) namespaceFolder(ctx context.Context, namespace string, create bool) (*object.Folder, error) {
	vmFolder, err := inv.vmFolder(ctx)
	if err != nil {
		return nil, err
	}
	if create {
		return inv.ensureFolder(ctx, vmFolder, namespace)
	}
	ref, err := inv.child(ctx, vmFolder, namespace, "Folder")
	return folderOrNil(inv, ref), err
}

func folderOrNil(inv *inventory, ref *types.ManagedObjectReference) *object.Folder {
	if ref == nil {
		return nil
	}
	return object.NewFolder(inv.c.vim, *ref)
}

// minHostCPUMHz is the slowest core clock among the cluster's hosts. CPU reservations are sized
// with it so the reservation a class promises can be met on whichever host DRS picks, and is
// known before the VM is placed.
func (inv *inventory) minHostCPUMHz(ctx context.Context, cluster string) (int32, error) {
	cc, err := inv.cluster(ctx, cluster)
	if err != nil {
		return 0, err
	}
	hosts, err := cc.Hosts(ctx)
	if err != nil {
		return 0, fmt.Errorf("list hosts of cluster %q: %w", cluster, err)
	}
	refs := make([]types.ManagedObjectReference, 0, len(hosts))
	for _, h := range hosts {
		refs = append(refs, h.Reference())
	}
	var props []mo.HostSystem
	if len(refs) > 0 {
		if err := property.DefaultCollector(inv.c.vim).Retrieve(ctx, refs, []string{"summary.hardware"}, &props); err != nil {
			return 0, fmt.Errorf("read CPU speed of hosts in cluster %q: %w", cluster, err)
		}
	}
	var slowest int32
	for _, h := range props {
		if hw := h.Summary.Hardware; hw != nil && hw.CpuMhz > 0 && (slowest == 0 || hw.CpuMhz < slowest) {
			slowest = hw.CpuMhz
		}
	}
	if slowest == 0 {
		return 0, fmt.Errorf("cluster %q has no host reporting its CPU speed", cluster)
	}
	return slowest, nil
}
