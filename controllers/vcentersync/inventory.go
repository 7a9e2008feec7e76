package vcentersync

import (
	"context"
	"fmt"
	"sort"

	"github.com/vmware/govmomi/vapi/namespace"
)

// inventory is one complete read of vCenter's namespace-management API. It exists only when
// every listing succeeded, which is what allows the sync to delete.
type inventory struct {
	// namespaces maps each vCenter namespace to the ids of the VM classes assigned to it.
	namespaces map[string][]string
	// classes maps each VM class id defined in vCenter to its definition.
	classes map[string]namespace.VirtualMachineClassInfo
}

// namespaceAPI is the part of govmomi's namespace.Manager the sync reads.
type namespaceAPI interface {
	ListNamespaces(ctx context.Context) ([]namespace.NamespacesInstanceSummary, error)
	GetNamespace(ctx context.Context, name string) (namespace.NamespacesInstanceInfo, error)
	ListVmClasses(ctx context.Context) ([]namespace.VirtualMachineClassInfo, error)
}

// readInventory lists namespaces, their assigned classes and the class definitions. Any failure
// fails the whole read: a partial inventory must never be mistaken for removals.
func readInventory(ctx context.Context, api namespaceAPI) (*inventory, error) {
	summaries, err := api.ListNamespaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("list vCenter namespaces: %w", err)
	}
	inv := &inventory{
		namespaces: make(map[string][]string, len(summaries)),
		classes:    map[string]namespace.VirtualMachineClassInfo{},
	}
	for _, summary := range summaries {
		info, err := api.GetNamespace(ctx, summary.Namespace)
		if err != nil {
			return nil, fmt.Errorf("get vCenter namespace %s: %w", summary.Namespace, err)
		}
		inv.namespaces[summary.Namespace] = sortedUnique(info.VmServiceSpec.VmClasses)
	}
	classes, err := api.ListVmClasses(ctx)
	if err != nil {
		return nil, fmt.Errorf("list vCenter VM classes: %w", err)
	}
	for _, c := range classes {
		inv.classes[c.Id] = c
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
