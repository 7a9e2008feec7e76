package virtualmachine_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
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
