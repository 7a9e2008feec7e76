package vsphere

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
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

// syncNICs gives the VM exactly the NICs asked for, in one reconfigure, and says whether it changed
// any; a VM that already has them (a creation interrupted after this step) is left as it is.
func syncNICs(ctx context.Context, vm *object.VirtualMachine, devices object.VirtualDeviceList, nics []NIC, backings []types.BaseVirtualDeviceBackingInfo) (bool, error) {
	changes, err := nicChanges(EthernetCards(devices), nics, backings)
	if err != nil {
		return false, fmt.Errorf("NICs of VM %s: %w", vm.Reference().Value, err)
	}
	if len(changes) == 0 {
		return false, nil
	}
	if err := reconfigure(ctx, vm, types.VirtualMachineConfigSpec{DeviceChange: changes}); err != nil {
		return false, fmt.Errorf("set NICs of VM %s: %w", vm.Reference().Value, err)
	}
	log.FromContext(ctx).Info("set VM NICs", "vm", vm.Reference().Value, "nics", len(nics), "deviceChanges", len(changes))
	return true, nil
}

// nicChanges are the device changes that turn the cards into nics, in order. A card of the asked
// type stays, its backing edited in place when its network changed (same device, so the same
// MAC); from the first card of another type on, cards are replaced, so they keep the order asked
// for; surplus cards are removed and missing ones added. None when the cards already match. It
// edits the backings of current's cards.
func nicChanges(current object.VirtualDeviceList, nics []NIC, backings []types.BaseVirtualDeviceBackingInfo) ([]types.BaseVirtualDeviceConfigSpec, error) {
	kept := 0
	for kept < min(len(current), len(nics)) && CardType(current[kept]) == cardType(nics[kept]) {
		kept++
	}
	var changes []types.BaseVirtualDeviceConfigSpec
	for i, d := range current[:kept] {
		if card := d.GetVirtualDevice(); !sameBacking(card.Backing, backings[i]) {
			card.Backing = backings[i]
			changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: d})
		}
	}
	for _, d := range current[kept:] {
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: d})
	}
	for i := kept; i < len(nics); i++ {
		card, err := object.EthernetCardTypes().CreateEthernetCard(cardType(nics[i]), backings[i])
		if err != nil {
			return nil, fmt.Errorf("NIC %d: %w", i, err)
		}
		card.GetVirtualDevice().Key = int32(-100 - i)
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: card})
	}
	return changes, nil
}

// EthernetCards are the VM's network cards in the order a VirtualMachine lists its NICs: by unit
// number on the PCI bus, the order the guest sees them in, which an edit keeps (the simulator
// moves an edited device to the end of its device list). Cards are only ever removed from the
// end, so a new card takes a unit after the ones kept.
func EthernetCards(devices object.VirtualDeviceList) object.VirtualDeviceList {
	cards := devices.SelectByType((*types.VirtualEthernetCard)(nil))
	unit := func(d types.BaseVirtualDevice) int32 {
		if u := d.GetVirtualDevice().UnitNumber; u != nil {
			return *u
		}
		return math.MaxInt32
	}
	slices.SortStableFunc(cards, func(a, b types.BaseVirtualDevice) int {
		return cmp.Or(cmp.Compare(unit(a), unit(b)), cmp.Compare(a.GetVirtualDevice().Key, b.GetVirtualDevice().Key))
	})
	return cards
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

// nicStates are the VM's cards in order, with the addresses the guest reports by MAC.
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
	for _, d := range EthernetCards(m.Config.Hardware.Device) {
		card := d.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		s := NICState{MACAddress: card.MacAddress, IPs: byMAC[strings.ToLower(card.MacAddress)]}
		if c := card.Connectable; c != nil {
			s.Connected = c.Connected
		}
		out = append(out, s)
	}
	return out
}
