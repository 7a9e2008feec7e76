package vsphere

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vm-service/vm-service/internal/guestdata"
)

// managedKeysKey lists, comma-separated, the ExtraConfig keys the product set from guest data, so
// a key dropped from the data is removed from the VM and keys set by others are left alone.
const managedKeysKey = guestdata.ManagedKeysKey

// syncExtraConfig makes the VM's guest data keys what want asks for, in one reconfigure, and only
// when something differs from have. Values are never logged: guest data may come from a Secret.
func syncExtraConfig(ctx context.Context, vm *object.VirtualMachine, have, want map[string]string) error {
	changes := extraConfigChanges(have, want)
	if len(changes) == 0 {
		return nil
	}
	if err := reconfigure(ctx, vm, types.VirtualMachineConfigSpec{ExtraConfig: changes}); err != nil {
		return fmt.Errorf("set guest data of VM %s: %w", vm.Reference().Value, err)
	}
	log.FromContext(ctx).Info("applied guest data", "vm", vm.Reference().Value, "keys", len(want), "changed", len(changes))
	return nil
}

// extraConfigOf is the VM's ExtraConfig by key.
func extraConfigOf(m *mo.VirtualMachine) map[string]string {
	have := map[string]string{}
	if m.Config != nil {
		for _, o := range m.Config.ExtraConfig {
			if v := o.GetOptionValue(); v != nil {
				have[v.Key], _ = v.Value.(string)
			}
		}
	}
	return have
}

// extraConfigChanges is what turns have into want: changed and new keys, and an empty value (which
// removes the key) for each key set before from guest data and no longer wanted.
func extraConfigChanges(have, want map[string]string) []types.BaseOptionValue {
	target := maps.Clone(want)
	if target == nil {
		target = map[string]string{}
	}
	for _, k := range strings.Split(have[managedKeysKey], ",") {
		if _, ok := want[k]; !ok && k != "" {
			target[k] = ""
		}
	}
	target[managedKeysKey] = strings.Join(slices.Sorted(maps.Keys(want)), ",")
	var changes []types.BaseOptionValue
	for _, k := range slices.Sorted(maps.Keys(target)) {
		if v := target[k]; have[k] != v {
			changes = append(changes, &types.OptionValue{Key: k, Value: v})
		}
	}
	return changes
}
