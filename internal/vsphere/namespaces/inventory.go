package namespaces

import (
	"context"
	"fmt"
	"sort"

	"github.com/vmware/govmomi/vapi/namespace"
)

// Inventory is one complete read of vCenter's namespace-management API. It exists only when
// every listing succeeded, which is what allows a caller to treat what is missing as removed.
type Inventory struct {
	// Namespaces maps each vCenter namespace to the ids of the VM classes assigned to it,
	// sorted and without duplicates.
	Namespaces map[string][]string
	// Classes maps each VM class id defined in vCenter to its definition.
	Classes map[string]namespace.VirtualMachineClassInfo
	// Storage maps each vCenter namespace to the storage policies assigned to it, by Kubernetes
	// name.
	Storage map[string][]StoragePolicy
}

// StoragePolicy is a vSphere storage policy assigned to a namespace, as Kubernetes sees it.
type StoragePolicy struct {
	// ID is the policy's PBM profile id (a StorageClass's parameters.storagePolicyID).
	ID string
	// Name is the policy's Kubernetes-compliant name, which its StorageClass carries.
	Name string
	// LimitMiB caps what the namespace may request of it; 0 is no limit.
	LimitMiB int64
}

// namespaceAPI is the part of govmomi's namespace.Manager a read uses.
type namespaceAPI interface {
	ListNamespaces(ctx context.Context) ([]namespace.NamespacesInstanceSummary, error)
	GetNamespace(ctx context.Context, name string) (namespace.NamespacesInstanceInfo, error)
	ListVmClasses(ctx context.Context) ([]namespace.VirtualMachineClassInfo, error)
}

// policyAPI names storage policies by id.
type policyAPI interface {
	// KubernetesNames maps each policy id to its Kubernetes-compliant name; ids vCenter does not
	// know are left out.
	KubernetesNames(ctx context.Context, ids []string) (map[string]string, error)
}

// readInventory lists namespaces, their assigned classes and the class definitions. Any failure
// fails the whole read: a partial inventory must never be mistaken for removals.
func readInventory(ctx context.Context, api namespaceAPI, policies policyAPI) (*Inventory, error) {
	summaries, err := api.ListNamespaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("list vCenter namespaces: %w", err)
	}
	inv := &Inventory{
		Namespaces: make(map[string][]string, len(summaries)),
		Classes:    map[string]namespace.VirtualMachineClassInfo{},
		Storage:    map[string][]StoragePolicy{},
	}
	specs := map[string][]namespace.StorageSpec{}
	var ids []string
	for _, summary := range summaries {
		info, err := api.GetNamespace(ctx, summary.Namespace)
		if err != nil {
			return nil, fmt.Errorf("get vCenter namespace %s: %w", summary.Namespace, err)
		}
		inv.Namespaces[summary.Namespace] = sortedUnique(info.VmServiceSpec.VmClasses)
		specs[summary.Namespace] = info.StorageSpecs
		for _, s := range info.StorageSpecs {
			ids = append(ids, s.Policy)
		}
	}
	if len(ids) > 0 {
		names, err := policies.KubernetesNames(ctx, sortedUnique(ids))
		if err != nil {
			return nil, fmt.Errorf("name vCenter storage policies: %w", err)
		}
		for ns, list := range specs {
			for _, s := range list {
				if name, ok := names[s.Policy]; ok {
					inv.Storage[ns] = append(inv.Storage[ns], StoragePolicy{ID: s.Policy, Name: name, LimitMiB: s.Limit})
				}
			}
		}
	}
	classes, err := api.ListVmClasses(ctx)
	if err != nil {
		return nil, fmt.Errorf("list vCenter VM classes: %w", err)
	}
	for _, c := range classes {
		inv.Classes[c.Id] = c
	}
	return inv, nil
}

func sortedUnique(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
