package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/pbm"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// policyDatastore picks, among the supervisor cluster's datastores that storage policy
// policyID accepts (vCenter's placement solver decides), the one with the most free space.
func (p *GovmomiProvider) policyDatastore(ctx context.Context, inv *inventory, policyID string) (types.ManagedObjectReference, error) {
	var none types.ManagedObjectReference
	cc, err := inv.cluster(ctx, p.cfg.Cluster)
	if err != nil {
		return none, err
	}
	var cluster mo.ClusterComputeResource
	if err := cc.Properties(ctx, cc.Reference(), []string{"datastore"}, &cluster); err != nil {
		return none, fmt.Errorf("list datastores of cluster %q: %w", p.cfg.Cluster, err)
	}
	hubs := make([]pbmtypes.PbmPlacementHub, len(cluster.Datastore))
	for i, ds := range cluster.Datastore {
		hubs[i] = pbmtypes.PbmPlacementHub{HubType: ds.Type, HubId: ds.Value}
	}
	c, err := inv.c.policies(ctx)
	if err != nil {
		return none, err
	}
	result, err := c.CheckRequirements(ctx, hubs, nil, []pbmtypes.BasePbmPlacementRequirement{
		&pbmtypes.PbmPlacementCapabilityProfileRequirement{ProfileId: pbmtypes.PbmProfileId{UniqueId: policyID}},
	})
	if err != nil {
		return none, fmt.Errorf("place on storage policy %s: %w", policyID, err)
	}
	var refs []types.ManagedObjectReference
	for _, hub := range result.CompatibleDatastores() {
		refs = append(refs, types.ManagedObjectReference{Type: hub.HubType, Value: hub.HubId})
	}
	if len(refs) == 0 {
		return none, fmt.Errorf("no datastore of cluster %q is compatible with storage policy %s", p.cfg.Cluster, policyID)
	}
	var stores []mo.Datastore
	if err := property.DefaultCollector(inv.c.vim).Retrieve(ctx, refs, []string{"summary.freeSpace"}, &stores); err != nil {
		return none, fmt.Errorf("read free space of datastores: %w", err)
	}
	best := stores[0]
	for _, ds := range stores[1:] {
		if ds.Summary.FreeSpace > best.Summary.FreeSpace {
			best = ds
		}
	}
	return best.Reference(), nil
}

// policies returns the storage policy service's client, made on first use: making it reads the
// service's content, one more request for every VM placed on a policy.
func (c *clients) policies(ctx context.Context) (*pbm.Client, error) {
	if pc := c.pbm.Load(); pc != nil {
		return pc, nil
	}
	pc, err := pbm.NewClient(ctx, c.vim)
	if err != nil {
		return nil, fmt.Errorf("connect to the storage policy service: %w", err)
	}
	c.pbm.Store(pc) // concurrent first calls may each make one; any of them will do
	return pc, nil
}

// policyProfile is how a config spec names a storage policy; nil without one.
func policyProfile(policyID string) []types.BaseVirtualMachineProfileSpec {
	if policyID == "" {
		return nil
	}
	return []types.BaseVirtualMachineProfileSpec{&types.VirtualMachineDefinedProfileSpec{ProfileId: policyID}}
}
