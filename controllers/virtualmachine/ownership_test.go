package virtualmachine_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/vcenter"
)

var _ = Describe("A vSphere VM the controller did not make", func() {
	It("is never adopted, changed or destroyed by a VirtualMachine that takes its name", func() {
		ns, class := boundNamespace()
		foreign := leftInFolder(ns, "left-behind")

		vm := objects.VM(ns, "left-behind", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		Eventually(func() vmopv1.Condition { return condition(vm, vmopv1.VirtualMachineProvisionedCondition) }).Should(And(
			HaveField("Reason", vmopv1.VirtualMachineNameTakenReason),
			HaveField("Severity", vmopv1.ConditionSeverityError),
			HaveField("Message", And(ContainSubstring(foreign.MoID), ContainSubstring("rename or remove that VM in vCenter"))),
		))
		Consistently(inVSphereNow(vm), "2s").Should(Equal(foreign), "the VM is left as it was, and no second one is made")
		Expect(get(vm).Status.UniqueID).To(BeEmpty())
		Eventually(func() []string { return eventsFor(vm) }).Should(ContainElement(HavePrefix("VirtualMachineNameTaken: ")))

		By("and deleting the VirtualMachine leaves it too")
		Expect(k8s.Delete(ctx, vm)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(vm), vm)) }).Should(BeTrue())
		Expect(inVSphere(vm)).To(Equal(foreign))
	})
})

// leftInFolder makes a powered-off VM named name in the namespace's vSphere folder with an
// instance UUID no VirtualMachine has, as an administrator, or a VirtualMachine deleted without
// its finalizer, leaves behind.
func leftInFolder(ns, name string) vcenter.VM {
	GinkgoHelper()
	p, err := vsphere.New(simConfig())
	Expect(err).NotTo(HaveOccurred())
	_, err = p.EnsureVM(ctx, vsphere.VMSpec{
		VMRef:      vsphere.VMRef{Namespace: ns, Name: name, InstanceUUID: "0d1e5c2a-7b3f-4e59-8c11-5a0f3b7e9d42"},
		Image:      ubuntu.Name,
		Sizing:     vsphere.Sizing{CPUs: 3, MemoryMiB: 3072},
		PowerState: vmopv1.VirtualMachinePoweredOff,
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(p.Logout(ctx)).To(Succeed())
	got, err := inspect.VMNamed(ctx, name)
	Expect(err).NotTo(HaveOccurred())
	return got
}
