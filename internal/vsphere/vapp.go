package vsphere

import (
	"maps"
	"slices"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// A deploy fills the VM's config.vAppConfig from the ProductSection of the image's OVF (vCenter
// does, and so does the simulator), so the VM's own vApp config is what says which properties
// exist: the image's descriptor need not be read again, and it stays right if the item changes.

// vAppPropertiesOf is the VM's vApp properties; none without a vApp config.
func vAppPropertiesOf(m *mo.VirtualMachine) []types.VAppPropertyInfo {
	if m.Config == nil || m.Config.VAppConfig == nil {
		return nil
	}
	if info := m.Config.VAppConfig.GetVmConfigInfo(); info != nil {
		return info.Property
	}
	return nil
}

// vAppPropertyEdits is what turns the values of the VM's user-configurable properties into want,
// matched by property id: an edit for each value that differs, where a property want does not
// list gets no value (the guest then sees its OVF default). It also returns, sorted, the keys of
// want that no user-configurable property has as its id.
func vAppPropertyEdits(have []types.VAppPropertyInfo, want map[string]string) ([]types.VAppPropertySpec, []string) {
	var edits []types.VAppPropertySpec
	declared := map[string]bool{}
	for _, p := range have {
		if p.UserConfigurable == nil || !*p.UserConfigurable {
			continue
		}
		declared[p.Id] = true
		if v := want[p.Id]; p.Value != v {
			// The whole property goes back with its new value: vCenter keys the edit by Key, and
			// the simulator replaces the property with what it is sent.
			p.Value = v
			edits = append(edits, types.VAppPropertySpec{
				ArrayUpdateSpec: types.ArrayUpdateSpec{Operation: types.ArrayUpdateOperationEdit},
				Info:            &p,
			})
		}
	}
	var undeclared []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !declared[k] {
			undeclared = append(undeclared, k)
		}
	}
	return edits, undeclared
}
