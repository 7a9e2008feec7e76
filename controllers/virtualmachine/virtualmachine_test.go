package virtualmachine_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vim25/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
	"github.com/vm-service/vm-service/test/vcenter"
)

// update applies change to obj as it is now and writes it, again when a controller wrote it
// meanwhile (the VM controller writes status all the time).
func update[T client.Object](obj T, change func(T)) {
	GinkgoHelper()
	testenv.Update(k8s, obj, change)
}

// get reads the VM as it is now.
func get(vm *vmopv1.VirtualMachine) *vmopv1.VirtualMachine {
	GinkgoHelper()
	out := &vmopv1.VirtualMachine{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(vm), out)).To(Succeed())
	return out
}

// condition returns the VM's condition of type t as it is now, or an empty one.
func condition(vm *vmopv1.VirtualMachine, t vmopv1.ConditionType) vmopv1.Condition {
	if c := conditions.Get(get(vm).Status.Conditions, t); c != nil {
		return *c
	}
	return vmopv1.Condition{}
}

// prereq, metadataReady and ready return the VM's conditions of those types.
func prereq(vm *vmopv1.VirtualMachine) vmopv1.Condition {
	return condition(vm, vmopv1.VirtualMachinePrereqReadyCondition)
}

func metadataReady(vm *vmopv1.VirtualMachine) vmopv1.Condition {
	return condition(vm, vmopv1.VirtualMachineMetadataReadyCondition)
}

func ready(vm *vmopv1.VirtualMachine) vmopv1.Condition { return condition(vm, vmopv1.ReadyCondition) }

// poweredOn waits until the VM reports poweredOn with an address.
func poweredOn(vm *vmopv1.VirtualMachine) *vmopv1.VirtualMachine {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		s := get(vm).Status
		g.Expect(s.PowerState).To(Equal(vmopv1.VirtualMachinePoweredOn))
		g.Expect(s.VmIp).NotTo(BeEmpty())
	}).Should(Succeed())
	return get(vm)
}

// inVSphere returns the one vSphere VM made for vm.
func inVSphere(vm *vmopv1.VirtualMachine) vcenter.VM {
	GinkgoHelper()
	got, err := inspect.VMNamed(ctx, vm.Name)
	Expect(err).NotTo(HaveOccurred())
	return got
}

// inVSphereNow is inVSphere for Eventually and Consistently, which retry on its error.
func inVSphereNow(vm *vmopv1.VirtualMachine) func() (vcenter.VM, error) {
	return func() (vcenter.VM, error) { return inspect.VMNamed(ctx, vm.Name) }
}

func vmsNamed(name string) func() int {
	return func() int {
		vms, err := inspect.VMsNamed(ctx, name)
		Expect(err).NotTo(HaveOccurred())
		return len(vms)
	}
}

func eventsFor(vm *vmopv1.VirtualMachine) []string {
	list := &corev1.EventList{}
	Expect(k8s.List(ctx, list, client.InNamespace(vm.Namespace))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == vm.Name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

// boundNamespace makes a namespace with a fresh best-effort class bound in it, once the image
// sync has mirrored the content library, and returns both.
func boundNamespace() (ns, class string) {
	GinkgoHelper()
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Name: ubuntu.Name}, &vmopv1.VirtualMachineImage{})
	}).Should(Succeed(), "the image sync mirrors the content library")
	ns = newNamespace()
	class = uniqueClass("best-effort-xsmall", false, 1, "1Gi")
	Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
	return ns, class
}

// uniqueClass creates a class with a name no other spec uses, so class edits stay local.
func uniqueClass(prefix string, guaranteed bool, cpus int64, memory string) string {
	name := fmt.Sprintf("%s-%s", prefix, strings.TrimPrefix(newNamespace(), "vm-"))
	c := objects.BestEffortClass(name, cpus, memory)
	if guaranteed {
		c = objects.GuaranteedClass(name, cpus, memory)
	}
	Expect(k8s.Create(ctx, c)).To(Succeed())
	return name
}

var _ = Describe("VirtualMachine controller", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace()
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Name: ubuntu.Name}, &vmopv1.VirtualMachineImage{})
		}).Should(Succeed(), "the image sync mirrors the content library")
	})

	It("deploys a guaranteed VM applied with kubectl, sized and reserved by its class, in the namespace's pool and folder", func() {
		class := uniqueClass("guaranteed-medium", true, 2, "8Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		vm := objects.VM(ns, "web", class, ubuntu.Name)
		_, _, err := env.KubectlApply(ctx, fmt.Sprintf(`
apiVersion: vmoperator.vmware.com/v1alpha1
kind: VirtualMachine
metadata: {name: web, namespace: %s}
spec: {className: %s, imageName: %s, powerState: poweredOn, storageClass: vsan-default-storage-policy}
`, ns, class, ubuntu.Name))
		Expect(err).NotTo(HaveOccurred())

		got := poweredOn(vm)
		Expect(got.Finalizers).To(ContainElement(vmopv1.VirtualMachineFinalizer))
		Expect(got.Status.Phase).To(Equal(vmopv1.Created))
		Expect(got.Status.UniqueID).To(HavePrefix("vm-"))
		Expect(got.Status.InstanceUUID).To(Equal(string(got.UID)))
		Expect(got.Status.BiosUUID).NotTo(BeEmpty())
		Expect(got.Status.Host).NotTo(BeEmpty())
		Expect(got.Status.VmIp).To(HavePrefix("127.0.128."))
		Expect(got.Status.Class.Name).To(Equal(class))
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(conditions.IsTrue(got.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)).To(BeTrue())

		v := inVSphere(vm)
		Expect(v.MoID).To(Equal(got.Status.UniqueID))
		Expect(v.NumCPU).To(BeEquivalentTo(2))
		Expect(v.MemoryMB).To(BeEquivalentTo(8192))
		Expect(v.MemoryReservationMB).To(BeEquivalentTo(8192))
		Expect(v.CPUReservationMHz).To(BeNumerically(">", 0))
		Expect(v.PowerState).To(Equal("poweredOn"))
		Expect(v.IP).To(Equal(got.Status.VmIp))
		Expect(v.ResourcePool).To(Equal(ns))
		Expect(v.Folder).To(Equal(ns))
		Consistently(func() []string { return eventsFor(vm) }, "1s").ShouldNot(ContainElement(HavePrefix("PhaseChanged")),
			"the way to Created is in status, not in events: each would be another apiserver write")
	})

	It("reserves nothing for a best-effort class and follows the power state", func() {
		class := uniqueClass("best-effort-small", false, 2, "4Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, "small", class))).To(Succeed())
		vm := objects.VM(ns, "batch", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		poweredOn(vm)
		v := inVSphere(vm)
		Expect([]int64{v.CPUReservationMHz, v.MemoryReservationMB}).To(Equal([]int64{0, 0}))
		Expect(v.MemoryMB).To(BeEquivalentTo(4096))

		update(vm.DeepCopy(), func(v *vmopv1.VirtualMachine) { v.Spec.PowerState = vmopv1.VirtualMachinePoweredOff })
		Eventually(inVSphereNow(vm)).Should(HaveField("PowerState", "poweredOff"))
		Eventually(func() vmopv1.VirtualMachinePowerState { return get(vm).Status.PowerState }).Should(Equal(vmopv1.VirtualMachinePoweredOff))
	})

	It("gives a VM of a class with devices its vGPU and DirectPath I/O device, with all of its memory reserved", func() {
		name := fmt.Sprintf("best-effort-gpu-%s", strings.TrimPrefix(newNamespace(), "vm-"))
		class := objects.BestEffortClass(name, 2, "4Gi")
		class.Spec.Hardware.Devices = vmopv1.VirtualDevices{
			VGPUDevices:                []vmopv1.VGPUDevice{{ProfileName: "grid_t4-4q"}},
			DynamicDirectPathIODevices: []vmopv1.DynamicDirectPathIODevice{{VendorID: 0x10de, DeviceID: 0x1eb8, CustomLabel: "t4"}},
		}
		Expect(k8s.Create(ctx, class)).To(Succeed())
		Expect(k8s.Create(ctx, objects.Binding(ns, name, name))).To(Succeed())
		vm := objects.VM(ns, "gpu", name, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())

		Expect(poweredOn(vm).Status.Class.Spec.Hardware.Devices).To(Equal(class.Spec.Hardware.Devices))
		v := inVSphere(vm)
		Expect(v.Passthrough).To(ConsistOf(
			&types.VirtualPCIPassthroughVmiopBackingInfo{Vgpu: "grid_t4-4q"},
			&types.VirtualPCIPassthroughDynamicBackingInfo{
				AllowedDevice: []types.VirtualPCIPassthroughAllowedDevice{{VendorId: 0x10de, DeviceId: 0x1eb8}}, CustomLabel: "t4"},
		))
		Expect(v.MemoryReservationMB).To(BeEquivalentTo(4096), "a best-effort class with devices still reserves all of its memory")
		Expect(v.MemoryReservationLocked).To(BeTrue())
		Expect(v.CPUReservationMHz).To(BeZero())
	})

	It("blocks a VM whose class is not bound here (admitted in Warn mode), and creates it by itself once the binding appears", func() {
		class := uniqueClass("guaranteed-large", true, 4, "16Gi")
		vm := objects.VM(ns, "waiting", class, ubuntu.Name)
		_, stderr, err := env.KubectlApply(ctx, fmt.Sprintf(`
apiVersion: vmoperator.vmware.com/v1alpha1
kind: VirtualMachine
metadata: {name: waiting, namespace: %s}
spec: {className: %s, imageName: %s, powerState: poweredOn}
`, ns, class, ubuntu.Name))
		Expect(err).NotTo(HaveOccurred())
		Expect(stderr).To(ContainSubstring("Warning: spec.className"))

		Eventually(func() string { return prereq(vm).Reason }).Should(Equal(vmopv1.VirtualMachineClassBindingNotFoundReason))
		c := prereq(vm)
		Expect(c.Severity).To(Equal(vmopv1.ConditionSeverityError))
		Expect(c.Message).To(ContainSubstring(`VirtualMachineClass %q is not bound in namespace %q`, class, ns))
		Consistently(vmsNamed(vm.Name), "2s").Should(BeZero(), "nothing is made in vSphere while blocked")
		Expect(eventsFor(vm)).To(ContainElement(HavePrefix("VirtualMachineClassBindingNotFound: ")))

		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		Eventually(inVSphereNow(vm), "10s").Should(HaveField("NumCPU", BeEquivalentTo(4)))
		poweredOn(vm)
	})

	It("says when the class does not exist", func() {
		vm := objects.VM(ns, "classless", "no-such-class", ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		Eventually(func() string { return prereq(vm).Reason }).Should(Equal(vmopv1.VirtualMachineClassNotFoundReason))
		Expect(prereq(vm).Message).To(ContainSubstring(`VirtualMachineClass "no-such-class" does not exist`))
	})

	It("waits for a missing image and deploys once the content library has it", func() {
		class := uniqueClass("best-effort-xsmall", false, 2, "2Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		image := "centos-" + ns
		vm := objects.VM(ns, "imageless", class, image)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		Eventually(func() string { return prereq(vm).Reason }).Should(Equal(vmopv1.VirtualMachineImageNotFoundReason))
		Expect(prereq(vm).Message).To(ContainSubstring(image))

		Expect(sim.SeedLibrary(ctx, library, ubuntu, vcsimImage(image))).To(Succeed())
		poweredOn(vm)
	})

	It("never touches a running VM when its binding is revoked, and warns", func() {
		class := uniqueClass("guaranteed-small", true, 2, "4Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		vm := objects.VM(ns, "survivor", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		poweredOn(vm)
		before := inVSphere(vm)

		Expect(k8s.Delete(ctx, objects.Binding(ns, class, class))).To(Succeed())
		Eventually(func() vmopv1.Condition { return prereq(vm) }).Should(And(
			HaveField("Reason", vmopv1.VirtualMachineClassBindingNotFoundReason),
			HaveField("Severity", vmopv1.ConditionSeverityWarning),
			HaveField("Message", ContainSubstring("the existing VM keeps running unchanged")),
		))
		Consistently(inVSphereNow(vm), "2s").Should(And(
			HaveField("MoID", before.MoID), HaveField("PowerState", "poweredOn"), HaveField("NumCPU", before.NumCPU)))
		got := get(vm)
		Expect(got.Status.Phase).To(Equal(vmopv1.Created))
		Expect(conditions.IsTrue(got.Status.Conditions, vmopv1.VirtualMachineProvisionedCondition)).To(BeTrue())

		By("still following the power state: revocation blocks new VMs, not the management of this one")
		update(got, func(v *vmopv1.VirtualMachine) { v.Spec.PowerState = vmopv1.VirtualMachinePoweredOff })
		Eventually(inVSphereNow(vm)).Should(HaveField("PowerState", "poweredOff"))
		Eventually(func() vmopv1.VirtualMachinePowerState { return get(vm).Status.PowerState }).Should(Equal(vmopv1.VirtualMachinePoweredOff))
		Expect(get(vm).Status.Phase).To(Equal(vmopv1.Created))
	})

	It("makes no new vSphere VM of a revoked class, not even for one removed in vSphere, and makes it once the binding returns", func() {
		class := uniqueClass("best-effort-small", false, 2, "2Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		vm := objects.VM(ns, "replaced", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		first := poweredOn(vm).Status.UniqueID
		Expect(k8s.Delete(ctx, objects.Binding(ns, class, class))).To(Succeed())
		Eventually(func() vmopv1.ConditionSeverity { return prereq(vm).Severity }).Should(Equal(vmopv1.ConditionSeverityWarning))

		Expect(inspect.Destroy(ctx, first)).To(Succeed())
		update(vm.DeepCopy(), func(v *vmopv1.VirtualMachine) { v.Annotations = map[string]string{"example.com/poke": "1"} })
		Eventually(func() vmopv1.Condition { return prereq(vm) }).Should(And(
			HaveField("Reason", vmopv1.VirtualMachineClassBindingNotFoundReason),
			HaveField("Severity", vmopv1.ConditionSeverityError),
		), "nothing runs any more: the revocation is an error now")
		Consistently(vmsNamed(vm.Name), "2s").Should(BeZero(), "nothing is made in vSphere while the class may not be used")
		got := get(vm)
		Expect(got.Status.UniqueID).To(BeEmpty())
		Expect(got.Status.Phase).To(Equal(vmopv1.Creating))
		Expect(condition(vm, vmopv1.VirtualMachineProvisionedCondition).Reason).To(Equal(vmopv1.WaitingForPrereqsReason))

		By("making it again once the binding returns")
		Eventually(func() error { return k8s.Create(ctx, objects.Binding(ns, class, class)) }).Should(Succeed())
		Eventually(func() string { return get(vm).Status.UniqueID }).Should(And(Not(BeEmpty()), Not(Equal(first))))
		poweredOn(vm)
		Expect(inVSphere(vm).NumCPU).To(BeEquivalentTo(2))
	})

	It("keeps a running VM's size when its class is edited, and says the class changed", func() {
		class := uniqueClass("best-effort-medium", false, 2, "8Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		vm := objects.VM(ns, "steady", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		poweredOn(vm)

		update(&vmopv1.VirtualMachineClass{ObjectMeta: metav1.ObjectMeta{Name: class}}, func(c *vmopv1.VirtualMachineClass) {
			c.Spec.Hardware.Cpus, c.Spec.Hardware.Memory = 8, resource.MustParse("32Gi")
		})

		Eventually(func() *vmopv1.Condition {
			return conditions.Get(get(vm).Status.Conditions, vmopv1.VirtualMachineClassInSyncCondition)
		}).Should(And(Not(BeNil()), HaveField("Reason", vmopv1.VirtualMachineClassChangedReason)))
		v := inVSphere(vm)
		Expect([]int32{v.NumCPU, v.MemoryMB}).To(Equal([]int32{2, 8192}))
		Expect(get(vm).Status.Class.Spec.Hardware.Cpus).To(BeEquivalentTo(2))
	})

	It("removes the vSphere VM before the object goes, and nothing is left", func() {
		class := uniqueClass("best-effort-large", false, 4, "16Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		vm := objects.VM(ns, "doomed", class, ubuntu.Name)
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		poweredOn(vm)

		Expect(k8s.Delete(ctx, vm)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(vm), vm)) }).Should(BeTrue())
		Expect(vmsNamed(vm.Name)()).To(BeZero())
	})
})
