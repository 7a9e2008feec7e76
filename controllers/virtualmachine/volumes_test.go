package virtualmachine_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/vcenter"
)

// volume is a vSphere volume named name of the given size, under the capacity key upstream uses.
func volume(name, size string) vmopv1.VirtualMachineVolume {
	return vmopv1.VirtualMachineVolume{Name: name, VsphereVolume: &vmopv1.VsphereVolumeSource{
		Capacity: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse(size)}}}
}

// volumeDisks are the VM's disks made for volumes, as vSphere has them.
func volumeDisks(vm *vmopv1.VirtualMachine) func() ([]vcenter.Disk, error) {
	return func() ([]vcenter.Disk, error) {
		v, err := inspect.VMNamed(ctx, vm.Name)
		return v.Disks, err
	}
}

var _ = Describe("Volumes", func() {
	It("adds a disk per vSphere volume, grows it and removes it as the spec changes, without re-creating the VM", func() {
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Name: ubuntu.Name}, &vmopv1.VirtualMachineImage{})
		}).Should(Succeed(), "the image sync mirrors the content library")
		ns := newNamespace()
		class := uniqueClass("best-effort-xsmall", false, 1, "1Gi")
		Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
		vm := objects.VM(ns, "disks", class, ubuntu.Name)
		vm.Spec.Volumes = []vmopv1.VirtualMachineVolume{volume("data", "1Gi")}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		moID := poweredOn(vm).Status.UniqueID
		Expect(volumeDisks(vm)()).To(ConsistOf(And(HaveField("File", HaveSuffix("/vmservice-data.vmdk")), HaveField("CapacityMiB", BeEquivalentTo(1024)))))
		Eventually(func() []vmopv1.VirtualMachineVolumeStatus { return get(vm).Status.Volumes }).Should(ConsistOf(
			And(HaveField("Name", "data"), HaveField("Attached", true), HaveField("DiskUuid", Not(BeEmpty())))))

		By("growing data and adding logs")
		update(vm.DeepCopy(), func(v *vmopv1.VirtualMachine) {
			v.Spec.Volumes = []vmopv1.VirtualMachineVolume{volume("data", "2Gi"), {Name: "logs", VsphereVolume: &vmopv1.VsphereVolumeSource{
				Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("512Mi")}}}}
		})
		Eventually(volumeDisks(vm)).Should(ConsistOf(
			And(HaveField("File", HaveSuffix("/vmservice-data.vmdk")), HaveField("CapacityMiB", BeEquivalentTo(2048))),
			And(HaveField("File", HaveSuffix("/vmservice-logs.vmdk")), HaveField("CapacityMiB", BeEquivalentTo(512)))))

		By("removing data")
		update(vm.DeepCopy(), func(v *vmopv1.VirtualMachine) { v.Spec.Volumes = v.Spec.Volumes[1:] })
		Eventually(volumeDisks(vm)).Should(ConsistOf(HaveField("File", HaveSuffix("/vmservice-logs.vmdk"))))
		Eventually(func() []vmopv1.VirtualMachineVolumeStatus { return get(vm).Status.Volumes }).Should(ConsistOf(HaveField("Name", "logs")))
		Expect(inVSphere(vm).MoID).To(Equal(moID), "changed in place")
	})
})
