package vsphere

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// ErrNetworkNotFound means a NIC names a network vCenter does not have (or not of the asked kind).
var ErrNetworkNotFound = errors.New("network not found")

// NIC is one network interface a VirtualMachine asks for.
type NIC struct {
	// Network is the vSphere network's name; empty is the provider's default network.
	Network string
	// Distributed says the network must be a distributed port group.
	Distributed bool
	// CardType is the virtual NIC model, such as vmxnet3 (the default).
	CardType string
	// IP is the NIC's static address through guest customization; nil leaves it to DHCP.
	IP *StaticIP
}

// NICState is a NIC as vSphere has it.
type NICState struct {
	MACAddress string
	Connected  bool
	// IPs are the addresses the guest reports on it.
	IPs []string
}

// networkBackings finds every NIC's network before anything is made, so a missing one blocks
// the deploy instead of leaving a half-made VM.
func (p *GovmomiProvider) networkBackings(ctx context.Context, inv *inventory, nics []NIC) ([]types.BaseVirtualDeviceBackingInfo, error) {
	backings := make([]types.BaseVirtualDeviceBackingInfo, len(nics))
	for i, n := range nics {
		var err error
		if backings[i], err = p.networkBacking(ctx, inv, n); err != nil {
			return nil, err
		}
	}
	return backings, nil
}

// replaceNICs gives the VM exactly the NICs asked for, replacing the image's, in one reconfigure;
// a VM that already has them (a creation interrupted after this step) is left as it is.
func replaceNICs(ctx context.Context, vm *object.VirtualMachine, nics []NIC, backings []types.BaseVirtualDeviceBackingInfo) error {
	devices, err := vm.Device(ctx)
	if err != nil {
		return fmt.Errorf("read devices of VM %s: %w", vm.Reference().Value, err)
	}
	current := devices.SelectByType((*types.VirtualEthernetCard)(nil))
	var changes []types.BaseVirtualDeviceConfigSpec
	if nicsMatch(current, nics, backings) {
		return nil
	}
	for _, d := range current {
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: d})
	}
	for i, n := range nics {
		card, err := object.EthernetCardTypes().CreateEthernetCard(cardType(n), backings[i])
		if err != nil {
			return fmt.Errorf("NIC %d of VM %s: %w", i, vm.Reference().Value, err)
		}
		card.GetVirtualDevice().Key = int32(-100 - i)
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: card})
	}
	if err := reconfigure(ctx, vm, types.VirtualMachineConfigSpec{DeviceChange: changes}); err != nil {
		return fmt.Errorf("set NICs of VM %s: %w", vm.Reference().Value, err)
	}
	log.FromContext(ctx).Info("set VM NICs", "vm", vm.Reference().Value, "nics", len(nics))
	return nil
}

// CardType is a network card's model as NIC.CardType names it, such as vmxnet3 or e1000e.
func CardType(d types.BaseVirtualDevice) string {
	return strings.ToLower(strings.TrimPrefix(reflect.TypeOf(d).Elem().Name(), "Virtual"))
}

func cardType(n NIC) string {
	if n.CardType == "" {
		return "vmxnet3"
	}
	return n.CardType
}

// networkBacking finds the NIC's network and how a card attaches to it.
func (p *GovmomiProvider) networkBacking(ctx context.Context, inv *inventory, n NIC) (types.BaseVirtualDeviceBackingInfo, error) {
	name := n.Network
	if name == "" {
		name = p.cfg.network()
	}
	net, err := inv.finder.Network(ctx, name)
	var notFound *find.NotFoundError
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("%w: %q", ErrNetworkNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("find network %q: %w", name, err)
	}
	if _, dvpg := net.(*object.DistributedVirtualPortgroup); n.Distributed && !dvpg {
		return nil, fmt.Errorf("%w: %q is not a distributed port group", ErrNetworkNotFound, name)
	}
	backing, err := net.EthernetCardBackingInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("attach to network %q: %w", name, err)
	}
	return backing, nil
}

// nicsMatch says whether the VM's cards are the asked ones, in order.
func nicsMatch(current object.VirtualDeviceList, nics []NIC, backings []types.BaseVirtualDeviceBackingInfo) bool {
	if len(current) != len(nics) {
		return false
	}
	for i, d := range current {
		if CardType(d) != cardType(nics[i]) {
			return false
		}
		if !sameBacking(d.GetVirtualDevice().Backing, backings[i]) {
			return false
		}
	}
	return true
}

func sameBacking(a, b types.BaseVirtualDeviceBackingInfo) bool {
	switch x := a.(type) {
	case *types.VirtualEthernetCardNetworkBackingInfo:
		y, ok := b.(*types.VirtualEthernetCardNetworkBackingInfo)
		return ok && x.DeviceName == y.DeviceName
	case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
		y, ok := b.(*types.VirtualEthernetCardDistributedVirtualPortBackingInfo)
		return ok && x.Port.PortgroupKey == y.Port.PortgroupKey
	}
	return false
}

// nicStates are the VM's cards in device order, with the addresses the guest reports by MAC.
func nicStates(m *mo.VirtualMachine) []NICState {
	if m.Config == nil {
		return nil
	}
	byMAC := map[string][]string{}
	if m.Guest != nil {
		for _, n := range m.Guest.Net {
			byMAC[strings.ToLower(n.MacAddress)] = n.IpAddress
		}
	}
	var out []NICState
	for _, d := range object.VirtualDeviceList(m.Config.Hardware.Device).SelectByType((*types.VirtualEthernetCard)(nil)) {
		card := d.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		s := NICState{MACAddress: card.MacAddress, IPs: byMAC[strings.ToLower(card.MacAddress)]}
		if c := card.Connectable; c != nil {
			s.Connected = c.Connected
		}
		out = append(out, s)
	}
	return out
}
