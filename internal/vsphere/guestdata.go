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

// syncGuestData makes the VM's guest data ExtraConfig keys and vApp property values what want asks
// for, in one reconfigure, and only when something differs from m. It returns, sorted, the vApp
// keys the VM declares no user-configurable property for, which are not applied. Values are
// never logged: guest data may come from a Secret.
func syncGuestData(ctx context.Context, vm *object.VirtualMachine, m *mo.VirtualMachine, want GuestData) ([]string, error) {
	var config types.VirtualMachineConfigSpec
	if want.ExtraConfig != nil {
		config.ExtraConfig = extraConfigChanges(extraConfigOf(m), want.ExtraConfig)
	}
	var edits []types.VAppPropertySpec
	var undeclared []string
	if want.VAppProperties != nil {
		edits, undeclared = vAppPropertyEdits(vAppPropertiesOf(m), want.VAppProperties)
	}
	if len(edits) > 0 {
		config.VAppConfig = &types.VmConfigSpec{Property: edits}
	}
	if len(config.ExtraConfig) == 0 && len(edits) == 0 {
		return undeclared, nil
	}
	if err := reconfigure(ctx, vm, config); err != nil {
		return nil, fmt.Errorf("set guest data of VM %s (%d ExtraConfig keys, %d vApp properties): %w",
			vm.Reference().Value, len(config.ExtraConfig), len(edits), err)
	}
	log.FromContext(ctx).Info("applied guest data", "vm", vm.Reference().Value,
		"keys", len(want.ExtraConfig), "changed", len(config.ExtraConfig), "changedProperties", len(edits))
	return undeclared, nil
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
