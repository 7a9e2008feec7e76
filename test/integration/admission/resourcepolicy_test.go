package admission_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

// resourcePolicy is a well-formed policy whose pool and folder are named after it.
func resourcePolicy(ns, name string) *vmopv1.VirtualMachineSetResourcePolicy {
	return &vmopv1.VirtualMachineSetResourcePolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: vmopv1.VirtualMachineSetResourcePolicySpec{
			ResourcePool:   vmopv1.ResourcePoolSpec{Name: name},
			Folder:         vmopv1.FolderSpec{Name: name},
			ClusterModules: []vmopv1.ClusterModuleSpec{{GroupName: "control-plane-group"}},
		},
	}
}

var _ = Describe("VirtualMachineSetResourcePolicy admission", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("admits a policy whose reservations are within its limits, and one without limits", func() {
		p := resourcePolicy(ns, "within")
		p.Spec.ResourcePool.Reservations = vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("2"), Memory: resource.MustParse("4Gi")}
		p.Spec.ResourcePool.Limits = vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("2"), Memory: resource.MustParse("8Gi")}
		created(admin, p)
		unlimited := resourcePolicy(ns, "unlimited")
		unlimited.Spec.ResourcePool.Reservations.Memory = resource.MustParse("64Gi")
		created(admin, unlimited)
	})

	It("refuses every malformed field at once, naming each", func() {
		p := resourcePolicy(ns, "bad")
		p.Spec.ResourcePool.Name, p.Spec.Folder.Name = "", "a/b"
		p.Spec.ResourcePool.Reservations = vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("3"), Memory: resource.MustParse("4Gi")}
		p.Spec.ResourcePool.Limits = vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("2"), Memory: resource.MustParse("-1Gi")}
		p.Spec.ClusterModules = []vmopv1.ClusterModuleSpec{{GroupName: "g"}, {GroupName: "g"}, {GroupName: ""}}
		err := admin.Create(ctx, p)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf(
			"spec.resourcepool.name", "spec.folder.name",
			"spec.resourcepool.reservations.cpu", "spec.resourcepool.limits.memory",
			"spec.clustermodules[1].groupname", "spec.clustermodules[2].groupname"))
		Expect(oneLine(err.Error())).To(ContainSubstring(`spec.resourcepool.reservations.cpu: Invalid value: "3": must not exceed the limit spec.resourcepool.limits.cpu (2)`))
	})

	DescribeTable("refuses a reservation above its limit, per resource",
		func(reservation, limit vmopv1.VirtualMachineResourceSpec, field string) {
			p := resourcePolicy(ns, "over")
			p.Spec.ResourcePool.Reservations, p.Spec.ResourcePool.Limits = reservation, limit
			err := admin.Create(ctx, p)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			Expect(causes(err)).To(ConsistOf(field))
		},
		Entry("cpu", vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("1500m")}, vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("1")},
			"spec.resourcepool.reservations.cpu"),
		Entry("memory", vmopv1.VirtualMachineResourceSpec{Memory: resource.MustParse("2Gi")}, vmopv1.VirtualMachineResourceSpec{Memory: resource.MustParse("1Gi")},
			"spec.resourcepool.reservations.memory"),
	)

	It("refuses a malformed quantity, naming the field", func() {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "vmoperator.vmware.com/v1alpha1", "kind": "VirtualMachineSetResourcePolicy",
			"metadata": map[string]any{"namespace": ns, "name": "malformed"},
			"spec":     map[string]any{"resourcepool": map[string]any{"name": "p", "limits": map[string]any{"memory": "lots"}}, "folder": map[string]any{"name": "f"}},
		}}
		err := admin.Create(ctx, u)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.resourcepool.limits.memory"))
	})

	It("keeps the pool and folder names fixed, and lets reservations, limits and groups change", func() {
		p := resourcePolicy(ns, "fixed")
		created(admin, p)
		p.Spec.ResourcePool.Limits.Memory = resource.MustParse("8Gi")
		p.Spec.ClusterModules = append(p.Spec.ClusterModules, vmopv1.ClusterModuleSpec{GroupName: "workers"})
		Expect(admin.Update(ctx, p)).To(Succeed())
		p.Spec.ResourcePool.Name, p.Spec.Folder.Name = "moved", "moved"
		err := admin.Update(ctx, p)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("spec.resourcepool.name", "spec.folder.name"))
	})

	It("refuses to delete a policy a VM created a moment ago names, naming the VMs; admits it once they are gone", func() {
		bind(ns, "best-effort-xsmall")
		p := resourcePolicy(ns, "used")
		created(admin, p)
		var vms []*vmopv1.VirtualMachine
		for i := range 7 {
			vm := objects.VM(ns, fmt.Sprintf("member-%d", i), "best-effort-xsmall", "ubuntu")
			vm.Spec.ResourcePolicyName = p.Name
			Expect(admin.Create(ctx, vm)).To(Succeed())
			vms = append(vms, vm)
		}
		other := objects.VM(ns, "unrelated", "best-effort-xsmall", "ubuntu")
		Expect(admin.Create(ctx, other)).To(Succeed())

		err := admin.Delete(ctx, p)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("7 VirtualMachine(s) use it: member-0, member-1, member-2, member-3, member-4 and 2 more; delete them first"))
		Expect(err.Error()).NotTo(ContainSubstring("unrelated"))

		for _, vm := range vms {
			Expect(admin.Delete(ctx, vm)).To(Succeed())
		}
		Eventually(func() error { return admin.Delete(ctx, p) }).Should(Succeed())
	})

	It("refuses a cluster module group on a VM without a resource policy, naming the annotation", func() {
		bind(ns, "best-effort-xsmall")
		vm := objects.VM(ns, "grouped", "best-effort-xsmall", "ubuntu")
		vm.Annotations = map[string]string{vmopv1.ClusterModuleGroupAnnotation: "control-plane-group"}
		err := admin.Create(ctx, vm)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("metadata.annotations[vsphere-cluster-module-group]"))
		vm.Spec.ResourcePolicyName = "any"
		Expect(admin.Create(ctx, vm)).To(Succeed())
	})

	It("lets a namespace editor manage policies in their namespace and nowhere else", func() {
		dev := newEditor(ns)
		p := resourcePolicy(ns, "mine")
		created(dev.Client, p)
		Expect(dev.Client.List(ctx, &vmopv1.VirtualMachineSetResourcePolicyList{}, client.InNamespace(ns))).To(Succeed())
		p.Spec.ResourcePool.Limits.Cpu = resource.MustParse("4")
		Expect(dev.Client.Update(ctx, p)).To(Succeed())
		Expect(dev.Client.Delete(ctx, p)).To(Succeed())

		elsewhere := newNamespace()
		Expect(apierrors.IsForbidden(dev.Client.Create(ctx, resourcePolicy(elsewhere, "theirs")))).To(BeTrue())
		theirs := resourcePolicy(elsewhere, "theirs")
		created(admin, theirs)
		Expect(apierrors.IsForbidden(dev.Client.Delete(ctx, theirs))).To(BeTrue())
	})
})
