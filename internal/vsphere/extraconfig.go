package vsphere

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vm-service/vm-service/internal/guestdata"
)

// managedKeysKey lists, comma-separated, the ExtraConfig keys the product set from guest data, so
// a key dropped from the data is removed from the VM and keys set by others are left alone.
const managedKeysKey = guestdata.ManagedKeysKey

// syncExtraConfig makes the VM's guest data keys what spec asks for, in one reconfigure, and
// only when something differs. Values are never logged: guest data may come from a Secret.
func syncExtraConfig(ctx context.Context, c *clients, vm *object.VirtualMachine, want map[string]string) error {
	var m mo.VirtualMachine
	if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, vm.Reference(), []string{"config.extraConfig"}, &m); err != nil {
		return fmt.Errorf("read ExtraConfig of VM %s: %w", vm.Reference().Value, err)
	}
	have := map[string]string{}
	if m.Config != nil {
		for _, o := range m.Config.ExtraConfig {
			if v := o.GetOptionValue(); v != nil {
				have[v.Key], _ = v.Value.(string)
			}
		}
	}
	changes := extraConfigChanges(have, want)
	if len(changes) == 0 {
		return nil
	}
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: changes})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("set guest data of VM %s: %w", vm.Reference().Value, err)
	}
	log.FromContext(ctx).Info("applied guest data", "vm", vm.Reference().Value, "keys", len(want), "changed", len(changes))
	return nil
}

// extraConfigChanges is what turns have into want: changed and new keys, and an empty value (which
// removes the key) for each key set before from guest data and no longer wanted.
func extraConfigChanges(have, want map[string]string) []types.BaseOptionValue {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	target := map[string]string{}
	for _, k := range keys {
		target[k] = want[k]
	}
	for _, k := range strings.Split(have[managedKeysKey], ",") {
		if _, ok := target[k]; !ok && k != "" {
			target[k] = ""
		}
	}
	target[managedKeysKey] = strings.Join(keys, ",")
	if len(keys) == 0 {
		target[managedKeysKey] = ""
	}
	var changes []types.BaseOptionValue
	names := make([]string, 0, len(target))
	for k := range target {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := target[k]; have[k] != v {
			changes = append(changes, &types.OptionValue{Key: k, Value: v})
		}
	}
	return changes
}
