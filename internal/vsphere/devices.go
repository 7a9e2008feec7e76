package vsphere

import (
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// DirectPathIODevice is a host PCI device passed through to the VM by dynamic DirectPath I/O: at
// power on, vSphere picks a free host device with these ids (and label).
type DirectPathIODevice struct {
	// VendorID and DeviceID are the device's PCI ids.
	VendorID, DeviceID int32
	// CustomLabel, when set, restricts the choice to host devices an administrator gave that label.
	CustomLabel string
}

// passthrough is what one PCI passthrough device stands for: a vGPU profile, or a DirectPath I/O
// device's ids and label. Two devices with the same passthrough are interchangeable.
type passthrough struct {
	vgpu string
	dpio DirectPathIODevice
}

// passthroughOf reads a device's passthrough; false for any other device, and for a DirectPath
// I/O backing that allows other than exactly one device, which this product never makes.
func passthroughOf(d types.BaseVirtualDevice) (passthrough, bool) {
	if _, ok := d.(*types.VirtualPCIPassthrough); !ok {
		return passthrough{}, false
	}
	switch b := d.GetVirtualDevice().Backing.(type) {
	case *types.VirtualPCIPassthroughVmiopBackingInfo:
		return passthrough{vgpu: b.Vgpu}, true
	case *types.VirtualPCIPassthroughDynamicBackingInfo:
		if len(b.AllowedDevice) != 1 {
			return passthrough{}, false
		}
		a := b.AllowedDevice[0]
		return passthrough{dpio: DirectPathIODevice{VendorID: a.VendorId, DeviceID: a.DeviceId, CustomLabel: b.CustomLabel}}, true
	}
	return passthrough{}, false
}

// backing is the device backing that makes a passthrough device stand for p.
func (p passthrough) backing() types.BaseVirtualDeviceBackingInfo {
	if p.vgpu != "" {
		return &types.VirtualPCIPassthroughVmiopBackingInfo{Vgpu: p.vgpu}
	}
	return &types.VirtualPCIPassthroughDynamicBackingInfo{
		AllowedDevice: []types.VirtualPCIPassthroughAllowedDevice{{VendorId: p.dpio.VendorID, DeviceId: p.dpio.DeviceID}},
		CustomLabel:   p.dpio.CustomLabel,
	}
}

// passthroughAdds are the device changes that add the vGPUs and DirectPath I/O devices s asks for
// and devices lacks. They are counted, not just named: a class with two vGPUs of one profile gets
// two, and a creation resumed after its devices were added gets no more.
func passthroughAdds(s Sizing, devices object.VirtualDeviceList) []types.BaseVirtualDeviceConfigSpec {
	have := map[passthrough]int{}
	for _, d := range devices {
		if p, ok := passthroughOf(d); ok {
			have[p]++
		}
	}
	want := make([]passthrough, 0, len(s.VGPUProfiles)+len(s.DirectPathIO))
	for _, profile := range s.VGPUProfiles {
		want = append(want, passthrough{vgpu: profile})
	}
	for _, d := range s.DirectPathIO {
		want = append(want, passthrough{dpio: d})
	}
	var changes []types.BaseVirtualDeviceConfigSpec
	for _, p := range want {
		if have[p] > 0 {
			have[p]--
			continue
		}
		changes = append(changes, &types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd,
			// A negative key is a placeholder vSphere replaces; each add needs its own.
			Device: &types.VirtualPCIPassthrough{VirtualDevice: types.VirtualDevice{Key: int32(-200 - len(changes)), Backing: p.backing()}},
		})
	}
	return changes
}
