package virtualmachine

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/ippool"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("Addresses of edited NICs", func() {
	var r *Reconciler
	BeforeEach(func() {
		networks, err := ippool.ParseNetworks("127.0.128.0/24,DC0_DVPG0=127.0.144.0/24")
		Expect(err).NotTo(HaveOccurred())
		r = &Reconciler{Networks: networks, seeded: true} // nothing recorded elsewhere to reserve
	})
	portGroup := vmopv1.VirtualMachineNetworkInterface{NetworkType: NetworkTypeDistributed, NetworkName: "DC0_DVPG0"}

	DescribeTable("lists a NIC's own address from its network's pool, and no other pool's",
		func(network string, recorded, want []string) {
			Expect(r.nicAddresses("uid/0", network, recorded)).To(Equal(want))
		},
		Entry("a new NIC on the default network", ippool.DefaultNetwork, nil, []string{"127.0.128.2"}),
		Entry("a NIC moved to the port group", "DC0_DVPG0", []string{"127.0.128.2"}, []string{"127.0.144.2"}),
		Entry("a NIC moved to a network without a pool", "dhcp-pg", []string{"127.0.128.2", "fe80::1"}, []string(nil)),
		Entry("a NIC on a network without a pool, with what the guest reports", "dhcp-pg", []string{"10.1.2.3"}, []string{"10.1.2.3"}),
	)

	It("keeps a NIC's recorded address and what the guest reports with it", func() {
		r.Networks[ippool.DefaultNetwork].Reserve("uid/0", "127.0.128.7")
		Expect(r.nicAddresses("uid/0", ippool.DefaultNetwork, []string{"fe80::1", "127.0.128.7"})).To(Equal([]string{"fe80::1", "127.0.128.7"}))
	})

	It("frees the addresses a NIC moved or removed held only once told to, after status is written", func() {
		vm := objects.VM("ns", "vm", "c", "i")
		vm.UID = "uid"
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{}, portGroup}
		_, err := r.allocateAddresses(context.Background(), vm)
		Expect(err).NotTo(HaveOccurred())
		Expect(vm.Status.NetworkInterfaces).To(HaveExactElements(
			HaveField("IpAddresses", []string{"127.0.128.2"}), HaveField("IpAddresses", []string{"127.0.144.2"})))

		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{portGroup}
		release, err := r.allocateAddresses(context.Background(), vm)
		Expect(err).NotTo(HaveOccurred())
		Expect(vm.Status.NetworkInterfaces).To(HaveExactElements(HaveField("IpAddresses", []string{"127.0.144.3"})),
			"the removed NIC still holds its address until status is written")
		Expect(r.Networks[ippool.DefaultNetwork].Allocate("neighbour/0")).To(Equal("127.0.128.3"))

		release()
		Expect(r.Networks[ippool.DefaultNetwork].Allocate("next/0")).To(Equal("127.0.128.2"), "the moved NIC's old address")
		Expect(r.Networks["DC0_DVPG0"].Allocate("next/1")).To(Equal("127.0.144.2"), "the removed NIC's address")

		again, err := r.allocateAddresses(context.Background(), vm)
		Expect(err).NotTo(HaveOccurred())
		Expect(again).To(BeNil(), "nothing changed, nothing to write")
	})
})
