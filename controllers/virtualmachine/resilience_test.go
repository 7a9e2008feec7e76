package virtualmachine_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/controllers/virtualmachine"
	"github.com/vm-service/vm-service/internal/conditions"
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

	It("never makes a second vSphere VM when the manager restarts after losing what it wrote", func() {
		vm := objects.VM(ns, "restarted", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		first := poweredOn(vm).Status.UniqueID

		stopManager()
		stopManager = func() {}
		lost := get(vm)
		lost.Status = vmopv1.VirtualMachineStatus{} // as if the manager died before writing status
		Expect(k8s.Status().Update(ctx, lost)).To(Succeed())
		startManager()

		Eventually(func() string { return get(vm).Status.UniqueID }).Should(Equal(first))
		Expect(vmsNamed(vm.Name)()).To(Equal(1))
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
			return conditions.Get(get(vm).Status.Conditions, virtualmachine.VirtualMachineProvisionedCondition)
		}).Should(And(Not(BeNil()), HaveField("Reason", virtualmachine.VirtualMachineVCenterUnreachableReason)))
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ubuntu.Name}, &vmopv1.VirtualMachineImage{})).To(Succeed(),
			"the image sync deletes nothing while the library cannot be read")
		Expect(get(running).Status.UniqueID).NotTo(BeEmpty())

		startSimulator(addr) // vCenter returns (a fresh inventory at the same address)
		poweredOn(vm)
		Expect(vmsNamed(vm.Name)()).To(Equal(1))
		Expect(conditions.IsTrue(get(vm).Status.Conditions, virtualmachine.VirtualMachineProvisionedCondition)).To(BeTrue())
	})
})
