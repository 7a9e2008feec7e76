package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vapi/cluster"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

var (
	// ErrPlacementNotFound means the resource pool or folder of a VM's resource policy does not
	// exist (yet): the policy's controller makes them, a VM does not.
	ErrPlacementNotFound = errors.New("resource policy's pool or folder not found")
	// ErrClusterModuleNotFound means the cluster module a VM should join does not exist.
	ErrClusterModuleNotFound = errors.New("cluster module not found")
	// ErrResourcePolicyInUse means VMs are still in the policy's pool or folder, so nothing of it
	// is removed.
	ErrResourcePolicyInUse = errors.New("resource policy's pool or folder still holds VMs")
)

// ResourcePolicySpec is a VirtualMachineSetResourcePolicy in vSphere terms.
type ResourcePolicySpec struct {
	// Namespace is the policy's namespace: its pool and folder are children of the namespace's.
	Namespace string
	// Placement names the child resource pool and folder.
	Placement
	// CPUReservationMilli and CPULimitMilli are in millicores, reserved and capped in MHz at the
	// clock of the supervisor cluster's slowest host (as class requests are); a zero limit is
	// unlimited.
	CPUReservationMilli, CPULimitMilli int64
	// MemoryReservationMiB and MemoryLimitMiB are in MiB; a zero limit is unlimited.
	MemoryReservationMiB, MemoryLimitMiB int64
	// ClusterModules are the groups that must have a module, in order, each with the module id
	// known from before (empty for none yet). A known id vCenter no longer has is replaced.
	ClusterModules []ClusterModule
	// RemoveModules are ids of modules of groups no longer asked for; they are deleted.
	RemoveModules []string
}

// Placement is where a resource policy's VMs go: the names of its child resource pool (under the
// namespace's pool) and child folder (under the namespace's folder).
type Placement struct {
	Pool, Folder string
}

// ClusterModule is the vSphere cluster module of a policy's group.
type ClusterModule struct {
	Group string
	// ID is the module's id in vCenter.
	ID string
}

// ResourcePolicyState is what exists in vSphere for a policy.
type ResourcePolicyState struct {
	// PoolMoID and FolderMoID are the managed object ids of the child pool and folder.
	PoolMoID, FolderMoID string
	// ClusterModules are the modules of the spec's groups, in the same order.
	ClusterModules []ClusterModule
}

// ResourcePolicyFromAPI converts a policy: its quantities into vSphere units (memory rounded up
// to whole MiB), each group with the module id its status records, and the modules of groups no
// longer in the spec to remove.
func ResourcePolicyFromAPI(p *vmopv1.VirtualMachineSetResourcePolicy) ResourcePolicySpec {
	rp := p.Spec.ResourcePool
	spec := ResourcePolicySpec{
		Namespace:            p.Namespace,
		Placement:            PlacementOf(p),
		CPUReservationMilli:  rp.Reservations.Cpu.MilliValue(),
		CPULimitMilli:        rp.Limits.Cpu.MilliValue(),
		MemoryReservationMiB: mebibytes(rp.Reservations.Memory),
		MemoryLimitMiB:       mebibytes(rp.Limits.Memory),
	}
	wanted := map[string]bool{}
	for _, m := range p.Spec.ClusterModules {
		wanted[m.GroupName] = true
		spec.ClusterModules = append(spec.ClusterModules, ClusterModule{Group: m.GroupName, ID: p.ModuleUUID(m.GroupName)})
	}
	for _, m := range p.Status.ClusterModules {
		if !wanted[m.GroupName] && m.ModuleUuid != "" {
			spec.RemoveModules = append(spec.RemoveModules, m.ModuleUuid)
		}
	}
	return spec
}

// PlacementOf is the pool and folder a policy's VMs go in.
func PlacementOf(p *vmopv1.VirtualMachineSetResourcePolicy) Placement {
	return Placement{Pool: p.Spec.ResourcePool.Name, Folder: p.Spec.Folder.Name}
}

func (s ResourcePolicySpec) validate() error {
	var errs []error
	if s.Namespace == "" || s.Pool == "" || s.Folder == "" {
		errs = append(errs, errors.New("namespace, pool and folder names are required"))
	}
	if s.CPULimitMilli > 0 && s.CPUReservationMilli > s.CPULimitMilli {
		errs = append(errs, fmt.Errorf("CPU reservation %dm exceeds the limit %dm", s.CPUReservationMilli, s.CPULimitMilli))
	}
	if s.MemoryLimitMiB > 0 && s.MemoryReservationMiB > s.MemoryLimitMiB {
		errs = append(errs, fmt.Errorf("memory reservation %d MiB exceeds the limit %d MiB", s.MemoryReservationMiB, s.MemoryLimitMiB))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid resource policy for namespace %s: %w", s.Namespace, err)
	}
	return nil
}

// EnsureResourcePolicy makes the policy's child pool (with its reservations and limits, updated
// in place when they change), child folder and one cluster module per group, and deletes the
// modules in RemoveModules. The namespace's own pool and folder are made when missing.
func (p *GovmomiProvider) EnsureResourcePolicy(ctx context.Context, spec ResourcePolicySpec) (ResourcePolicyState, error) {
	if err := spec.validate(); err != nil {
		return ResourcePolicyState{}, err
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("namespace", spec.Namespace, "policyPool", spec.Pool, "policyFolder", spec.Folder))
	var state ResourcePolicyState
	err := p.session.do(ctx, opEnsureResourcePolicy, func(ctx context.Context, c *clients) error {
		var err error
		state, err = p.ensureResourcePolicy(ctx, c, spec)
		return err
	})
	if err != nil {
		return ResourcePolicyState{}, fmt.Errorf("ensure resource policy (pool %q, folder %q) in namespace %s: %w", spec.Pool, spec.Folder, spec.Namespace, err)
	}
	return state, nil
}

func (p *GovmomiProvider) ensureResourcePolicy(ctx context.Context, c *clients, spec ResourcePolicySpec) (ResourcePolicyState, error) {
	inv, err := newInventory(ctx, c, p.cfg.Datacenter)
	if err != nil {
		return ResourcePolicyState{}, err
	}
	config, err := p.poolConfig(ctx, inv, spec)
	if err != nil {
		return ResourcePolicyState{}, err
	}
	nsPool, err := inv.namespacePool(ctx, p.cfg.Cluster, spec.Namespace, true)
	if err != nil {
		return ResourcePolicyState{}, err
	}
	pool, err := inv.ensurePool(ctx, nsPool, spec.Pool, config)
	if err != nil {
		return ResourcePolicyState{}, err
	}
	nsFolder, err := inv.namespaceFolder(ctx, spec.Namespace, true)
	if err != nil {
		return ResourcePolicyState{}, err
	}
	folder, err := inv.ensureFolder(ctx, nsFolder, spec.Folder)
	if err != nil {
		return ResourcePolicyState{}, err
	}
	modules, err := p.ensureModules(ctx, inv, spec)
	if err != nil {
		return ResourcePolicyState{}, err
	}
	return ResourcePolicyState{PoolMoID: pool.Reference().Value, FolderMoID: folder.Reference().Value, ClusterModules: modules}, nil
}

// poolConfig is the child pool's reservations and limits in vSphere units.
func (p *GovmomiProvider) poolConfig(ctx context.Context, inv *inventory, spec ResourcePolicySpec) (types.ResourceConfigSpec, error) {
	var cpuReservation, cpuLimit int64
	if spec.CPUReservationMilli > 0 || spec.CPULimitMilli > 0 {
		mhz, err := inv.minHostCPUMHz(ctx, p.cfg.Cluster)
		if err != nil {
			return types.ResourceConfigSpec{}, err
		}
		cpuReservation, cpuLimit = cpuMHz(spec.CPUReservationMilli, mhz), cpuMHz(spec.CPULimitMilli, mhz)
	}
	config := types.DefaultResourceConfigSpec()
	setAllocation(&config.CpuAllocation, cpuReservation, cpuLimit)
	setAllocation(&config.MemoryAllocation, spec.MemoryReservationMiB, spec.MemoryLimitMiB)
	return config, nil
}

// setAllocation sets a reservation and a limit (-1, unlimited, when not positive).
func setAllocation(a *types.ResourceAllocationInfo, reservation, limit int64) {
	if limit <= 0 {
		limit = -1
	}
	a.Reservation, a.Limit = &reservation, &limit
}

// ensurePool returns parent's child pool name, made with config or brought to its reservations
// and limits.
func (inv *inventory) ensurePool(ctx context.Context, parent *object.ResourcePool, name string, config types.ResourceConfigSpec) (*object.ResourcePool, error) {
	ref, err := inv.child(ctx, parent, name, "ResourcePool")
	if err != nil {
		return nil, err
	}
	if ref == nil {
		pool, err := parent.Create(ctx, name, config)
		if fault.Is(err, &types.DuplicateName{}) {
			// Another reconcile made it first; the next pass checks its settings.
			ref, err = inv.child(ctx, parent, name, "ResourcePool")
			return poolOrNil(inv, ref), err
		}
		if err != nil {
			return nil, fmt.Errorf("create resource pool %q: %w", name, err)
		}
		log.FromContext(ctx).Info("created resource pool", "moID", pool.Reference().Value)
		return pool, nil
	}
	pool := object.NewResourcePool(inv.c.vim, *ref)
	var m mo.ResourcePool
	if err := property.DefaultCollector(inv.c.vim).RetrieveOne(ctx, *ref, []string{"config"}, &m); err != nil {
		return nil, fmt.Errorf("read resource pool %s: %w", ref.Value, err)
	}
	if sameAllocation(m.Config.CpuAllocation, config.CpuAllocation) && sameAllocation(m.Config.MemoryAllocation, config.MemoryAllocation) {
		return pool, nil
	}
	// Only the reservations and limits are ours; shares and expandability stay as they are.
	update := types.ResourceConfigSpec{
		CpuAllocation:    types.ResourceAllocationInfo{Reservation: config.CpuAllocation.Reservation, Limit: config.CpuAllocation.Limit},
		MemoryAllocation: types.ResourceAllocationInfo{Reservation: config.MemoryAllocation.Reservation, Limit: config.MemoryAllocation.Limit},
	}
	if err := pool.UpdateConfig(ctx, "", &update); err != nil {
		return nil, fmt.Errorf("update reservations and limits of resource pool %s: %w", ref.Value, err)
	}
	log.FromContext(ctx).Info("updated resource pool", "moID", ref.Value,
		"cpuReservationMHz", *update.CpuAllocation.Reservation, "cpuLimitMHz", *update.CpuAllocation.Limit,
		"memoryReservationMiB", *update.MemoryAllocation.Reservation, "memoryLimitMiB", *update.MemoryAllocation.Limit)
	return pool, nil
}

func sameAllocation(have, want types.ResourceAllocationInfo) bool {
	eq := func(a, b *int64) bool { return a != nil && b != nil && *a == *b }
	return eq(have.Reservation, want.Reservation) && eq(have.Limit, want.Limit)
}

// ensureFolder returns parent's child folder name, made the first time.
func (inv *inventory) ensureFolder(ctx context.Context, parent *object.Folder, name string) (*object.Folder, error) {
	ref, err := inv.child(ctx, parent, name, "Folder")
	if err != nil || ref != nil {
		return folderOrNil(inv, ref), err
	}
	folder, err := parent.CreateFolder(ctx, name)
	if fault.Is(err, &types.DuplicateName{}) {
		ref, err = inv.child(ctx, parent, name, "Folder")
		return folderOrNil(inv, ref), err
	}
	if err != nil {
		return nil, fmt.Errorf("create folder %q: %w", name, err)
	}
	log.FromContext(ctx).Info("created folder", "moID", folder.Reference().Value)
	return folder, nil
}

// ensureModules makes a module for each group without one (or whose module vCenter no longer
// has) and deletes the modules of groups no longer asked for.
func (p *GovmomiProvider) ensureModules(ctx context.Context, inv *inventory, spec ResourcePolicySpec) ([]ClusterModule, error) {
	if len(spec.ClusterModules) == 0 && len(spec.RemoveModules) == 0 {
		return nil, nil
	}
	m := cluster.NewManager(inv.c.rest)
	for _, id := range spec.RemoveModules {
		if err := deleteModule(ctx, m, id); err != nil {
			return nil, err
		}
	}
	if len(spec.ClusterModules) == 0 {
		return nil, nil
	}
	existing, err := m.ListModules(ctx)
	if err != nil {
		return nil, fmt.Errorf("list cluster modules: %w", err)
	}
	cc, err := inv.cluster(ctx, p.cfg.Cluster)
	if err != nil {
		return nil, err
	}
	out := make([]ClusterModule, 0, len(spec.ClusterModules))
	for _, want := range spec.ClusterModules {
		known := want.ID != "" && slices.ContainsFunc(existing, func(s cluster.ModuleSummary) bool { return s.Module == want.ID })
		if !known {
			id, err := m.CreateModule(ctx, cc)
			if err != nil {
				return nil, fmt.Errorf("create cluster module for group %q: %w", want.Group, err)
			}
			log.FromContext(ctx).Info("created cluster module", "group", want.Group, "module", id, "replaces", want.ID)
			want.ID = id
		}
		out = append(out, want)
	}
	return out, nil
}

func deleteModule(ctx context.Context, m *cluster.Manager, id string) error {
	err := m.DeleteModule(ctx, id)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete cluster module %s: %w", id, err)
	}
	if err == nil {
		log.FromContext(ctx).Info("deleted cluster module", "module", id)
	}
	return nil
}

// isNotFound says whether a REST call failed with 404.
func isNotFound(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if rest.IsStatusError(e, http.StatusNotFound) {
			return true
		}
	}
	return false
}

// DeleteResourcePolicy removes the policy's cluster modules (spec.ClusterModules and
// spec.RemoveModules), child pool and child folder, after making sure neither the pool nor the
// folder holds a VM: then it returns ErrResourcePolicyInUse and removes nothing, since removing
// a folder destroys the VMs in it. What is already gone is not an error.
func (p *GovmomiProvider) DeleteResourcePolicy(ctx context.Context, spec ResourcePolicySpec) error {
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("namespace", spec.Namespace, "policyPool", spec.Pool, "policyFolder", spec.Folder))
	err := p.session.do(ctx, opDeleteResourcePolicy, func(ctx context.Context, c *clients) error {
		return p.deleteResourcePolicy(ctx, c, spec)
	})
	if err != nil {
		return fmt.Errorf("delete resource policy (pool %q, folder %q) in namespace %s: %w", spec.Pool, spec.Folder, spec.Namespace, err)
	}
	return nil
}

func (p *GovmomiProvider) deleteResourcePolicy(ctx context.Context, c *clients, spec ResourcePolicySpec) error {
	inv, err := newInventory(ctx, c, p.cfg.Datacenter)
	if err != nil {
		return err
	}
	pool, folder, err := inv.placement(ctx, p.cfg.Cluster, spec.Namespace, spec.Placement)
	if err != nil {
		return err
	}
	var poolVMs, folderChildren []types.ManagedObjectReference
	pc := property.DefaultCollector(c.vim)
	if pool != nil {
		var m mo.ResourcePool
		if err := pc.RetrieveOne(ctx, pool.Reference(), []string{"vm", "resourcePool"}, &m); err != nil {
			return fmt.Errorf("read resource pool %s: %w", pool.Reference().Value, err)
		}
		poolVMs = append(m.Vm, m.ResourcePool...)
	}
	if folder != nil {
		var m mo.Folder
		if err := pc.RetrieveOne(ctx, folder.Reference(), []string{"childEntity"}, &m); err != nil {
			return fmt.Errorf("read folder %s: %w", folder.Reference().Value, err)
		}
		folderChildren = m.ChildEntity
	}
	if len(poolVMs) > 0 || len(folderChildren) > 0 {
		return fmt.Errorf("%w: %d VM(s) or pool(s) in resource pool %q, %d object(s) in folder %q", ErrResourcePolicyInUse,
			len(poolVMs), spec.Pool, len(folderChildren), spec.Folder)
	}

	m := cluster.NewManager(c.rest)
	for _, cm := range spec.ClusterModules {
		if cm.ID != "" {
			if err := deleteModule(ctx, m, cm.ID); err != nil {
				return err
			}
		}
	}
	for _, id := range spec.RemoveModules {
		if err := deleteModule(ctx, m, id); err != nil {
			return err
		}
	}
	if pool != nil {
		if err := destroy(ctx, pool.Common); err != nil {
			return err
		}
	}
	if folder != nil {
		if err := destroy(ctx, folder.Common); err != nil {
			return err
		}
	}
	return nil
}

// destroy removes a pool or folder; one already gone is not an error.
func destroy(ctx context.Context, obj object.Common) error {
	task, err := obj.Destroy(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isGone(err) {
		return fmt.Errorf("destroy %s %s: %w", obj.Reference().Type, obj.Reference().Value, err)
	}
	log.FromContext(ctx).Info("destroyed", "type", obj.Reference().Type, "moID", obj.Reference().Value)
	return nil
}

// placement finds a policy's child pool and folder without making anything; each is nil when it
// does not exist.
func (inv *inventory) placement(ctx context.Context, cluster, namespace string, pl Placement) (*object.ResourcePool, *object.Folder, error) {
	var pool *object.ResourcePool
	nsPool, err := inv.namespacePool(ctx, cluster, namespace, false)
	if err != nil {
		return nil, nil, err
	}
	if nsPool != nil {
		ref, err := inv.child(ctx, nsPool, pl.Pool, "ResourcePool")
		if err != nil {
			return nil, nil, err
		}
		pool = poolOrNil(inv, ref)
	}
	var folder *object.Folder
	nsFolder, err := inv.namespaceFolder(ctx, namespace, false)
	if err != nil {
		return nil, nil, err
	}
	if nsFolder != nil {
		ref, err := inv.child(ctx, nsFolder, pl.Folder, "Folder")
		if err != nil {
			return nil, nil, err
		}
		folder = folderOrNil(inv, ref)
	}
	return pool, folder, nil
}
