package virtualmachine_test

import (
	"context"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("VirtualMachine controller under failure", Ordered, func() {
	var ns, class string
	BeforeAll(func() {
		ns = newNamespace()
		class = uniqueClass("best-effort-xsmall", false, 2, "2Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Name: ubuntu.Name}, &vmopv1.VirtualMachineImage{})
		}).Should(Succeed())
	})

	It("never makes a second vSphere VM when the manager stops between the deploy and writing status", func() {
		deployed := make(chan vsphere.VMState, 1)
		startManagerWith(func(p vsphere.Provider) vsphere.Provider {
			return &freezeAfterDeploy{Provider: p, name: "restarted", deployed: deployed}
		})
		vm := objects.VM(ns, "restarted", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		var state vsphere.VMState
		Eventually(deployed).Should(Receive(&state))

		stopManager() // the frozen reconcile never writes what vSphere made
		stopManager = func() {}
		Expect(get(vm).Status.UniqueID).To(BeEmpty())
		recorded := get(vm).Status.NetworkInterfaces
		Expect(recorded).To(HaveLen(1), "the address was recorded in status before the deploy")
		Expect(recorded[0].IpAddresses).To(HaveLen(1))
		Expect(vmsNamed(vm.Name)()).To(Equal(1))

		startManager()
		Expect(poweredOn(vm).Status.UniqueID).To(Equal(state.MoID))
		Expect(vmsNamed(vm.Name)()).To(Equal(1))
		Expect(get(vm).Status.VmIp).To(Equal(recorded[0].IpAddresses[0]), "the restarted manager kept the recorded address")
	})

	It("reports an unreachable vCenter, deletes nothing, and recovers by itself when it returns", func() {
		running := objects.VM(ns, "running", class, ubuntu.Name)
		Expect(k8s.Create(ctx, running)).To(Succeed())
		poweredOn(running)

		addr := simAddr
		sim.Stop()
		vm := objects.VM(ns, "during-outage", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		Eventually(func() *vmopv1.Condition {
			return conditions.Get(get(vm).Status.Conditions, vmopv1.VirtualMachineProvisionedCondition)
		}).Should(And(Not(BeNil()), HaveField("Reason", vmopv1.VCenterUnreachableReason)))
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ubuntu.Name}, &vmopv1.VirtualMachineImage{})).To(Succeed(),
			"the image sync deletes nothing while the library cannot be read")
		Expect(get(running).Status.UniqueID).NotTo(BeEmpty())

		startSimulator(addr) // vCenter returns (a fresh inventory at the same address)
		poweredOn(vm)
		Expect(vmsNamed(vm.Name)()).To(Equal(1))
		Expect(conditions.IsTrue(get(vm).Status.Conditions, vmopv1.VirtualMachineProvisionedCondition)).To(BeTrue())
	})
})

// freezeAfterDeploy deploys the named VM through the real provider, reports what it made, then
// hangs until the manager stops, as a manager killed right after the deploy would. Other VMs
// pass through.
type freezeAfterDeploy struct {
	vsphere.Provider
	name     string
	deployed chan vsphere.VMState
	once     sync.Once
}

func (f *freezeAfterDeploy) EnsureVM(ctx context.Context, spec vsphere.VMSpec) (vsphere.VMState, error) {
	state, err := f.Provider.EnsureVM(ctx, spec)
	if err != nil || spec.Name != f.name {
		return state, err
	}
	f.once.Do(func() { f.deployed <- state })
	<-ctx.Done()
	return vsphere.VMState{}, ctx.Err()
}
