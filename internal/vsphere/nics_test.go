package vsphere

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

var _ = Describe("Turning a VM's network cards into the NICs asked for", func() {
	vmNetwork := func() types.BaseVirtualDeviceBackingInfo {
		return &types.VirtualEthernetCardNetworkBackingInfo{VirtualDeviceDeviceBackingInfo: types.VirtualDeviceDeviceBackingInfo{DeviceName: "VM Network"}}
	}
	portGroup := func() types.BaseVirtualDeviceBackingInfo {
		return &types.VirtualEthernetCardDistributedVirtualPortBackingInfo{Port: types.DistributedVirtualSwitchPortConnection{PortgroupKey: "dvportgroup-1"}}
	}
	// card is a network card with a device key and, from it, a PCI unit, as vSphere reports it.
	card := func(kind string, key int32, backing types.BaseVirtualDeviceBackingInfo) types.BaseVirtualDevice {
		GinkgoHelper()
		c, err := object.EthernetCardTypes().CreateEthernetCard(kind, backing)
		Expect(err).NotTo(HaveOccurred())
		c.GetVirtualDevice().Key, c.GetVirtualDevice().UnitNumber = key, types.NewInt32(key-4000+7)
		return c
	}
	// describe shows a change as "operation card-type key network".
	describe := func(changes []types.BaseVirtualDeviceConfigSpec) []string {
		var out []string
		for _, ch := range changes {
			spec := ch.GetVirtualDeviceConfigSpec()
			d := spec.Device.GetVirtualDevice()
			network := "VM Network"
			if _, ok := d.Backing.(*types.VirtualEthernetCardDistributedVirtualPortBackingInfo); ok {
				network = "port group"
			}
			out = append(out, fmt.Sprintf("%s %s %d %s", spec.Operation, CardType(spec.Device), d.Key, network))
		}
		return out
	}
	type nic struct {
		card      string
		portGroup bool
	}

	DescribeTable("edits a card in place when only its network changed, and replaces from the first card of another type on",
		func(current []types.BaseVirtualDevice, want []nic, changes ...string) {
			var nics []NIC
			var backings []types.BaseVirtualDeviceBackingInfo
			for _, n := range want {
				nics = append(nics, NIC{CardType: n.card})
				if n.portGroup {
					backings = append(backings, portGroup())
				} else {
					backings = append(backings, vmNetwork())
				}
			}
			got, err := nicChanges(EthernetCards(current), nics, backings)
			Expect(err).NotTo(HaveOccurred())
			Expect(describe(got)).To(HaveExactElements(changes))
		},
		Entry("cards that match: nothing", []types.BaseVirtualDevice{card("vmxnet3", 4000, vmNetwork())}, []nic{{}}),
		Entry("a card moved to a port group: its backing, same device", []types.BaseVirtualDevice{card("vmxnet3", 4000, vmNetwork())},
			[]nic{{portGroup: true}}, "edit vmxnet3 4000 port group"),
		Entry("a card of another type: replaced", []types.BaseVirtualDevice{card("vmxnet3", 4000, vmNetwork())},
			[]nic{{card: "e1000e"}}, "remove vmxnet3 4000 VM Network", "add e1000e -100 VM Network"),
		Entry("the first of two cards of another type: both replaced, in order",
			[]types.BaseVirtualDevice{card("vmxnet3", 4000, vmNetwork()), card("vmxnet3", 4001, portGroup())},
			[]nic{{card: "e1000"}, {portGroup: true}},
			"remove vmxnet3 4000 VM Network", "remove vmxnet3 4001 port group", "add e1000 -100 VM Network", "add vmxnet3 -101 port group"),
		Entry("a NIC added", []types.BaseVirtualDevice{card("vmxnet3", 4000, vmNetwork())},
			[]nic{{}, {card: "e1000e", portGroup: true}}, "add e1000e -101 port group"),
		Entry("a NIC removed", []types.BaseVirtualDevice{card("vmxnet3", 4000, vmNetwork()), card("e1000e", 4001, portGroup())},
			[]nic{{}}, "remove e1000e 4001 port group"),
		Entry("cards listed out of unit order, as the simulator lists an edited card: by unit",
			[]types.BaseVirtualDevice{card("e1000e", 4001, portGroup()), card("vmxnet3", 4000, vmNetwork())},
			[]nic{{}, {card: "e1000e"}}, "edit e1000e 4001 VM Network"),
	)
})
