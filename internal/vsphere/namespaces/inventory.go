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
}

// namespaceAPI is the part of govmomi's namespace.Manager a read uses.
type namespaceAPI interface {
	ListNamespaces(ctx context.Context) ([]namespace.NamespacesInstanceSummary, error)
	GetNamespace(ctx context.Context, name string) (namespace.NamespacesInstanceInfo, error)
	ListVmClasses(ctx context.Context) ([]namespace.VirtualMachineClassInfo, error)
}

// readInventory lists namespaces, their assigned classes and the class definitions. Any failure
// fails the whole read: a partial inventory must never be mistaken for removals.
func readInventory(ctx context.Context, api namespaceAPI) (*Inventory, error) {
	summaries, err := api.ListNamespaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("list vCenter namespaces: %w", err)
	}
	inv := &Inventory{
		Namespaces: make(map[string][]string, len(summaries)),
		Classes:    map[string]namespace.VirtualMachineClassInfo{},
	}
	for _, summary := range summaries {
		info, err := api.GetNamespace(ctx, summary.Namespace)
		if err != nil {
			return nil, fmt.Errorf("get vCenter namespace %s: %w", summary.Namespace, err)
		}
		inv.Namespaces[summary.Namespace] = sortedUnique(info.VmServiceSpec.VmClasses)
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
