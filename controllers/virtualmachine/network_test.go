package virtualmachine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/vcenter"
)

var _ = Describe("Networks", func() {
	var ns, class string
	BeforeEach(func() { ns, class = boundNamespace() })

	It("replaces the image's NIC with one per interface, each with its card, network and pool's address", func() {
		vm := objects.VM(ns, "two-nics", class, ubuntu.Name)
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{
			{},
			{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0", EthernetCardType: "e1000e"},
		}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		got := poweredOn(vm)

		nics := inVSphere(vm).NICs
		Expect(nics).To(HaveLen(2))
		Expect(nics[0]).To(And(HaveField("Type", "vmxnet3"), HaveField("Network", "VM Network")))
		Expect(nics[1]).To(And(HaveField("Type", "e1000e"), HaveField("Network", "DC0_DVPG0")))

		status := got.Status.NetworkInterfaces
		Expect(status).To(HaveLen(2))
		Expect(status[0].IpAddresses).To(ConsistOf(HavePrefix("127.0.128.")))
		Expect(status[1].IpAddresses).To(ConsistOf(HavePrefix("127.0.144.")), "the port group's own pool")
		Expect(got.Status.VmIp).To(Equal(status[0].IpAddresses[0]))
		for i := range nics {
			Expect(status[i].MacAddress).To(Equal(nics[i].MAC))
			Expect(status[i].Connected).To(BeTrue())
		}
	})

	It("waits with a condition naming a network vCenter does not have", func() {
		vm := objects.VM(ns, "nowhere", class, ubuntu.Name)
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{NetworkType: "vsphere-distributed", NetworkName: "no-such-pg"}}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		Eventually(func() *vmopv1.Condition {
			return conditions.Get(get(vm).Status.Conditions, vmopv1.VirtualMachineProvisionedCondition)
		}).Should(And(HaveField("Reason", vmopv1.NetworkNotFoundReason), HaveField("Message", ContainSubstring(`"no-such-pg"`))))
		Expect(vmsNamed("nowhere")()).To(BeZero(), "nothing half-made in vSphere")
	})

	It("follows edits of a running VM's NICs in place, moving their addresses between pools", func() {
		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"},
			Data: map[string]string{"ssh-public-keys": "ssh-ed25519 AAAAC3Nza dev@example"}})).To(Succeed())
		vm := objects.VM(ns, "edited", class, ubuntu.Name)
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{}}
		vm.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "keys", Transport: vmopv1.VirtualMachineMetadataCloudInitTransport}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		first := poweredOn(vm).Status.NetworkInterfaces[0].IpAddresses[0]
		made := inVSphere(vm)
		Expect(made.NICs).To(HaveLen(1))
		mac := made.NICs[0].MAC
		// sameVM checks the VM was reconfigured, never re-created, and returns its NICs.
		sameVM := func(g Gomega) []vcenter.NIC {
			now, err := inVSphereNow(vm)()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(now.MoID).To(Equal(made.MoID))
			g.Expect(now.InstanceUUID).To(Equal(made.InstanceUUID))
			return now.NICs
		}

		By("moving the NIC to the distributed port group")
		edit(vm, vmopv1.VirtualMachineNetworkInterface{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0"})
		Eventually(func(g Gomega) {
			g.Expect(sameVM(g)).To(ConsistOf(And(HaveField("Network", "DC0_DVPG0"), HaveField("MAC", mac), HaveField("Key", made.NICs[0].Key))),
				"its backing edited, the same device with the same MAC")
			g.Expect(get(vm).Status.NetworkInterfaces).To(ConsistOf(And(
				HaveField("IpAddresses", ConsistOf(HavePrefix("127.0.144."))), HaveField("MacAddress", mac))))
		}).Should(Succeed())
		Expect(handedOutAgain(ns, class, first)).To(Succeed(), "the old network's address is free again")

		By("adding a second NIC")
		edit(vm, vmopv1.VirtualMachineNetworkInterface{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0"}, vmopv1.VirtualMachineNetworkInterface{})
		Eventually(func(g Gomega) {
			g.Expect(sameVM(g)).To(HaveExactElements(
				And(HaveField("Network", "DC0_DVPG0"), HaveField("MAC", mac)), HaveField("Network", "VM Network")))
			g.Expect(get(vm).Status.NetworkInterfaces).To(HaveExactElements(
				HaveField("IpAddresses", ConsistOf(HavePrefix("127.0.144."))), HaveField("IpAddresses", ConsistOf(HavePrefix("127.0.128.")))))
		}).Should(Succeed())
		status := get(vm).Status.NetworkInterfaces
		Expect(guestNetwork(vm)).To(Equal(map[string][]string{
			strings.ToLower(status[0].MacAddress): {status[0].IpAddresses[0] + "/24"},
			strings.ToLower(status[1].MacAddress): {status[1].IpAddresses[0] + "/24"},
		}), "cloud-init's network follows the NICs")
		second := status[1].IpAddresses[0]

		By("moving the first NIC back while the second stays where it is")
		edit(vm, vmopv1.VirtualMachineNetworkInterface{}, vmopv1.VirtualMachineNetworkInterface{})
		Eventually(func(g Gomega) {
			g.Expect(sameVM(g)).To(HaveExactElements(
				And(HaveField("Network", "VM Network"), HaveField("MAC", mac)), HaveField("MAC", status[1].MacAddress)))
			g.Expect(get(vm).Status.NetworkInterfaces).To(HaveExactElements(
				HaveField("IpAddresses", ConsistOf(And(HavePrefix("127.0.128."), Not(Equal(second))))), HaveField("IpAddresses", ConsistOf(second))))
		}).Should(Succeed())

		By("removing the second NIC")
		edit(vm, vmopv1.VirtualMachineNetworkInterface{})
		Eventually(func(g Gomega) {
			g.Expect(sameVM(g)).To(ConsistOf(HaveField("MAC", mac)))
			g.Expect(get(vm).Status.NetworkInterfaces).To(HaveLen(1))
		}).Should(Succeed())
		Expect(handedOutAgain(ns, class, second)).To(Succeed(), "the removed NIC's address is free again")

		By("changing the card type")
		edit(vm, vmopv1.VirtualMachineNetworkInterface{EthernetCardType: "e1000e"})
		// A device's type cannot be edited, so this is a new device (the simulator gives it the
		// freed key and, from its unit, the same MAC).
		Eventually(func(g Gomega) {
			g.Expect(sameVM(g)).To(ConsistOf(And(HaveField("Type", "e1000e"), HaveField("Network", "VM Network"))))
		}).Should(Succeed())
		replaced := sameVM(Default)

		By("moving the NIC to a network vCenter does not have")
		edit(vm, vmopv1.VirtualMachineNetworkInterface{NetworkType: "vsphere-distributed", NetworkName: "no-such-pg", EthernetCardType: "e1000e"})
		Eventually(func() vmopv1.Condition { return condition(vm, vmopv1.VirtualMachineProvisionedCondition) }).Should(And(
			HaveField("Reason", vmopv1.NetworkNotFoundReason), HaveField("Message", ContainSubstring(`"no-such-pg"`))))
		Expect(sameVM(Default)).To(Equal(replaced), "the VM keeps its NICs")

		By("fixing the network")
		edit(vm, vmopv1.VirtualMachineNetworkInterface{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0", EthernetCardType: "e1000e"})
		Eventually(func(g Gomega) {
			g.Expect(sameVM(g)).To(ConsistOf(And(HaveField("Network", "DC0_DVPG0"), HaveField("Key", replaced[0].Key))))
			g.Expect(condition(vm, vmopv1.VirtualMachineProvisionedCondition).Status).To(Equal(corev1.ConditionTrue))
			g.Expect(get(vm).Status.NetworkInterfaces).To(ConsistOf(HaveField("IpAddresses", ConsistOf(HavePrefix("127.0.144.")))))
		}).Should(Succeed())
	})

	It("hands out no address twice when the manager restarts between recording a NIC edit and the reconfigure", func() {
		portGroup := vmopv1.VirtualMachineNetworkInterface{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0"}
		reached := make(chan struct{}, 1)
		startManagerWith(func(p vsphere.Provider) vsphere.Provider {
			return &freezeOnNetwork{Provider: p, name: "moved", network: portGroup.NetworkName, reached: reached}
		})
		vm := objects.VM(ns, "moved", class, ubuntu.Name)
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{}}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		poweredOn(vm)
		edit(vm, portGroup)
		Eventually(reached).Should(Receive())

		stopManager() // the frozen reconcile never reconfigures the VM
		stopManager = func() {}
		recorded := get(vm).Status.NetworkInterfaces
		Expect(recorded).To(ConsistOf(HaveField("IpAddresses", ConsistOf(HavePrefix("127.0.144.")))), "the new address was recorded first")
		Expect(inVSphere(vm).NICs).To(ConsistOf(HaveField("Network", "VM Network")))

		startManager()
		neighbour := objects.VM(ns, "neighbour", class, ubuntu.Name)
		neighbour.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{portGroup}
		Expect(k8s.Create(ctx, neighbour)).To(Succeed())
		Expect(poweredOn(neighbour).Status.NetworkInterfaces[0].IpAddresses).NotTo(ContainElement(recorded[0].IpAddresses[0]))
		Eventually(inVSphereNow(vm)).Should(HaveField("NICs", ConsistOf(HaveField("Network", "DC0_DVPG0"))))
		Expect(get(vm).Status.NetworkInterfaces[0].IpAddresses).To(Equal(recorded[0].IpAddresses), "the restarted manager kept the recorded address")
	})

	It("hands out no address twice across a manager restart, with 20 VMs on the pool", func() {
		var vms []*vmopv1.VirtualMachine
		create := func(from, to int) {
			for i := from; i < to; i++ {
				vm := objects.VM(ns, fmt.Sprintf("pool-%d", i), class, ubuntu.Name)
				Expect(k8s.Create(ctx, vm)).To(Succeed())
				vms = append(vms, vm)
			}
		}
		create(0, 10)
		for _, vm := range vms {
			poweredOn(vm)
		}
		startManager() // a new manager knows only what the VMs' status records
		create(10, 20)
		seen := map[string]string{}
		for _, vm := range vms {
			ip := poweredOn(vm).Status.VmIp
			Expect(seen).NotTo(HaveKey(ip), "%s has %s's address", vm.Name, seen[ip])
			seen[ip] = vm.Name
			Expect(inVSphere(vm)).To(HaveField("IP", ip))
		}
		Expect(seen).To(HaveLen(20))
	})
})

// edit sets the VM's network interfaces.
func edit(vm *vmopv1.VirtualMachine, nics ...vmopv1.VirtualMachineNetworkInterface) {
	GinkgoHelper()
	Eventually(func() error {
		got := get(vm)
		got.Spec.NetworkInterfaces = nics
		return k8s.Update(ctx, got)
	}).Should(Succeed())
}

// handedOutAgain creates VMs on the default network until one gets addr. The pool hands out its
// lowest free address, so a VM getting a higher one first means addr was not free.
func handedOutAgain(ns, class, addr string) error {
	GinkgoHelper()
	want := netip.MustParseAddr(addr)
	for i := range 20 {
		vm := objects.VM(ns, fmt.Sprintf("reuse-%s-%d", strings.ReplaceAll(addr, ".", "-"), i), class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		var got []vmopv1.NetworkInterfaceStatus
		Eventually(func() []vmopv1.NetworkInterfaceStatus {
			got = get(vm).Status.NetworkInterfaces
			return got
		}).ShouldNot(BeEmpty(), "the address is recorded before the deploy")
		switch a := netip.MustParseAddr(got[0].IpAddresses[0]); {
		case a == want:
			return nil
		case a.Compare(want) > 0:
			return fmt.Errorf("%s got %s before %s was handed out again", vm.Name, a, addr)
		}
	}
	return fmt.Errorf("%s not handed out again to 20 new VMs", addr)
}

// guestNetwork is the VM's cloud-init network as its guest data gives it: addresses by MAC.
func guestNetwork(vm *vmopv1.VirtualMachine) map[string][]string {
	GinkgoHelper()
	var meta cloudInitMetadata
	Expect(json.Unmarshal([]byte(decoded(inVSphere(vm).ExtraConfig["guestinfo.metadata"])), &meta)).To(Succeed())
	out := map[string][]string{}
	for _, e := range meta.Network.Ethernets {
		out[e.Match["macaddress"]] = e.Addresses
	}
	return out
}

// freezeOnNetwork hangs, until the manager stops, the first call that would put the named VM's
// first NIC on network, as a manager killed before that reconfigure would. Other calls pass.
type freezeOnNetwork struct {
	vsphere.Provider
	name, network string
	reached       chan struct{}
	once          sync.Once
}

func (f *freezeOnNetwork) EnsureVM(ctx context.Context, spec vsphere.VMSpec) (vsphere.VMState, error) {
	if spec.Name != f.name || len(spec.NICs) == 0 || spec.NICs[0].Network != f.network {
		return f.Provider.EnsureVM(ctx, spec)
	}
	f.once.Do(func() { f.reached <- struct{}{} })
	<-ctx.Done()
	return vsphere.VMState{}, ctx.Err()
}
