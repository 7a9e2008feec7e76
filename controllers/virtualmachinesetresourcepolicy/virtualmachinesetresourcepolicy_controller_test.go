package virtualmachinesetresourcepolicy_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/vcenter"
)

// policy is a policy whose pool and folder are named after it.
func policy(ns, name string, groups ...string) *vmopv1.VirtualMachineSetResourcePolicy {
	p := &vmopv1.VirtualMachineSetResourcePolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: vmopv1.VirtualMachineSetResourcePolicySpec{
			ResourcePool: vmopv1.ResourcePoolSpec{Name: name + "-pool"},
			Folder:       vmopv1.FolderSpec{Name: name + "-folder"},
		},
	}
	for _, g := range groups {
		p.Spec.ClusterModules = append(p.Spec.ClusterModules, vmopv1.ClusterModuleSpec{GroupName: g})
	}
	return p
}

// readyPolicy waits for the policy to be Ready and returns it.
func readyPolicy(p *vmopv1.VirtualMachineSetResourcePolicy) *vmopv1.VirtualMachineSetResourcePolicy {
	GinkgoHelper()
	got := &vmopv1.VirtualMachineSetResourcePolicy{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		g.Expect(conditions.IsTrue(got.Status.Conditions, vmopv1.ReadyCondition)).To(BeTrue(), "conditions: %+v", got.Status.Conditions)
	}).Should(Succeed())
	return got
}

// inventoryChild is the child named name of the object at path (such as the namespace's pool);
// nil when there is none, or when the parent does not exist.
func inventoryChild(path, name string) *types.ManagedObjectReference {
	GinkgoHelper()
	ref, err := object.NewSearchIndex(admin.Client).FindByInventoryPath(ctx, path+"/"+name)
	Expect(err).NotTo(HaveOccurred())
	if ref == nil {
		return nil
	}
	r := ref.Reference()
	return &r
}

func namespacePoolPath(ns string) string {
	return "/DC0/host/" + vcsim.ClusterName + "/Resources/" + ns
}
func namespaceFolderPath(ns string) string { return "/DC0/vm/" + ns }

// moduleIDs are the ids of every cluster module vCenter has.
func moduleIDs() []string {
	GinkgoHelper()
	list, err := modules.ListModules(ctx)
	Expect(err).NotTo(HaveOccurred())
	var ids []string
	for _, m := range list {
		ids = append(ids, m.Module)
	}
	return ids
}

// slowestHostMHz is the slowest core clock of the supervisor cluster.
func slowestHostMHz() int64 {
	GinkgoHelper()
	inspect, err := vcenter.Connect(ctx, sim.URL())
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = inspect.Logout(ctx) }()
	mhz, err := inspect.SlowestHostMHz(ctx, vcsim.ClusterName)
	Expect(err).NotTo(HaveOccurred())
	return mhz
}

// deployableVM is a VM of a class bound in ns, from the suite's image, naming policy.
func deployableVM(ns, name, policy string) *vmopv1.VirtualMachine {
	GinkgoHelper()
	class := "best-effort-" + ns
	if err := k8s.Create(ctx, objects.BestEffortClass(class, 1, "512Mi")); !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	if err := k8s.Create(ctx, objects.Binding(ns, class, class)); !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	Eventually(func() error { return k8s.Get(ctx, client.ObjectKey{Name: image.Name}, &vmopv1.VirtualMachineImage{}) }).Should(Succeed())
	vm := objects.VM(ns, name, class, image.Name)
	vm.Spec.ResourcePolicyName = policy
	return vm
}

var _ = Describe("VirtualMachineSetResourcePolicy controller", func() {
	var ns string
	BeforeEach(func() { ns = env.NewNamespace("policy") })

	It("makes the child pool with the exact reservations and limits, the child folder and one module per group, and removes them on delete", func() {
		p := policy(ns, "tkc-a", "control-plane-group", "workers-group")
		p.Spec.ResourcePool.Reservations = vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("1500m"), Memory: resource.MustParse("1Gi")}
		p.Spec.ResourcePool.Limits = vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("4"), Memory: resource.MustParse("4Gi")}
		Expect(k8s.Create(ctx, p)).To(Succeed())
		got := readyPolicy(p)
		Expect(got.Finalizers).To(ContainElement(vmopv1.VirtualMachineSetResourcePolicyFinalizer))

		By("recording a module id per group, each a module vCenter has")
		Expect(got.Status.ClusterModules).To(HaveLen(2))
		cp, workers := got.ModuleUUID("control-plane-group"), got.ModuleUUID("workers-group")
		Expect(cp).NotTo(BeEmpty())
		Expect(workers).NotTo(BeEmpty())
		Expect(moduleIDs()).To(ContainElements(cp, workers))

		By("making the pool under the namespace's pool with the reservations and limits in MHz and MiB")
		poolRef := inventoryChild(namespacePoolPath(ns), "tkc-a-pool")
		Expect(poolRef).NotTo(BeNil())
		var pool mo.ResourcePool
		Expect(object.NewResourcePool(admin.Client, *poolRef).Properties(ctx, *poolRef, []string{"config"}, &pool)).To(Succeed())
		mhz := slowestHostMHz()
		Expect(pool.Config.CpuAllocation.Reservation).To(HaveValue(Equal((1500*mhz + 999) / 1000)))
		Expect(pool.Config.CpuAllocation.Limit).To(HaveValue(Equal(4 * mhz)))
		Expect(pool.Config.MemoryAllocation.Reservation).To(HaveValue(BeEquivalentTo(1024)))
		Expect(pool.Config.MemoryAllocation.Limit).To(HaveValue(BeEquivalentTo(4096)))

		By("making the folder under the namespace's folder")
		Expect(inventoryChild(namespaceFolderPath(ns), "tkc-a-folder")).NotTo(BeNil())

		By("removing the modules, pool and folder when the policy is deleted")
		Expect(k8s.Delete(ctx, got)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(p), &vmopv1.VirtualMachineSetResourcePolicy{}))
		}).Should(BeTrue())
		Expect(moduleIDs()).NotTo(ContainElements(cp))
		Expect(moduleIDs()).NotTo(ContainElements(workers))
		Expect(inventoryChild(namespacePoolPath(ns), "tkc-a-pool")).To(BeNil())
		Expect(inventoryChild(namespaceFolderPath(ns), "tkc-a-folder")).To(BeNil())
	})

	It("keeps a VM naming a missing policy waiting, then deploys it by itself into the policy's pool and folder and its module", func() {
		vm := deployableVM(ns, "cp-0", "tkc-b")
		vm.Annotations = map[string]string{vmopv1.ClusterModuleGroupAnnotation: "control-plane-group"}
		Expect(k8s.Create(ctx, vm)).To(Succeed())

		By("waiting with a condition that names the policy")
		Eventually(func(g Gomega) {
			got := &vmopv1.VirtualMachine{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(vm), got)).To(Succeed())
			c := conditions.Get(got.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(corev1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(vmopv1.VirtualMachineSetResourcePolicyNotFoundReason))
			g.Expect(c.Message).To(ContainSubstring(`"tkc-b"`))
			g.Expect(got.Status.UniqueID).To(BeEmpty())
		}).Should(Succeed())
		Expect(inventoryChild(namespaceFolderPath(ns), "cp-0")).To(BeNil())

		By("deploying it once the policy appears")
		Expect(k8s.Create(ctx, policy(ns, "tkc-b", "control-plane-group", "workers-group"))).To(Succeed())
		got := &vmopv1.VirtualMachine{}
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(vm), got)).To(Succeed())
			g.Expect(got.Status.UniqueID).NotTo(BeEmpty())
			g.Expect(conditions.IsTrue(got.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)).To(BeTrue())
		}).Should(Succeed())

		By("placing it in the policy's pool and folder in vSphere")
		vmRef := types.ManagedObjectReference{Type: "VirtualMachine", Value: got.Status.UniqueID}
		var m mo.VirtualMachine
		Expect(object.NewVirtualMachine(admin.Client, vmRef).Properties(ctx, vmRef, []string{"resourcePool", "parent"}, &m)).To(Succeed())
		Expect(*m.ResourcePool).To(Equal(*inventoryChild(namespacePoolPath(ns), "tkc-b-pool")))
		Expect(*m.Parent).To(Equal(*inventoryChild(namespaceFolderPath(ns), "tkc-b-folder")))

		By("adding it to its group's module, and to no other")
		p := readyPolicy(policy(ns, "tkc-b"))
		Eventually(func() ([]types.ManagedObjectReference, error) {
			return modules.ListModuleMembers(ctx, p.ModuleUUID("control-plane-group"))
		}).Should(ConsistOf(vmRef))
		Expect(modules.ListModuleMembers(ctx, p.ModuleUUID("workers-group"))).To(BeEmpty())

		By("refusing to delete the policy while the VM names it, naming the VM")
		err := k8s.Delete(ctx, p)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("cp-0"))

		By("deleting the policy, its pool and folder once the VM is gone")
		Expect(k8s.Delete(ctx, got)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(vm), got)) }).Should(BeTrue())
		Expect(k8s.Delete(ctx, p)).To(Succeed())
		// Pool and folder go in separate vCenter calls: wait for each.
		Eventually(func() *types.ManagedObjectReference { return inventoryChild(namespacePoolPath(ns), "tkc-b-pool") }).Should(BeNil())
		Eventually(func() *types.ManagedObjectReference { return inventoryChild(namespaceFolderPath(ns), "tkc-b-folder") }).Should(BeNil())
	})

	It("keeps a VM whose group its policy lacks waiting, and deploys it when the group is added", func() {
		Expect(k8s.Create(ctx, policy(ns, "tkc-c", "workers-group"))).To(Succeed())
		vm := deployableVM(ns, "cp-1", "tkc-c")
		vm.Annotations = map[string]string{vmopv1.ClusterModuleGroupAnnotation: "control-plane-group"}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		got := &vmopv1.VirtualMachine{}
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(vm), got)).To(Succeed())
			c := conditions.Get(got.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(vmopv1.VirtualMachineSetResourcePolicyNotReadyReason))
			g.Expect(c.Message).To(ContainSubstring(`group "control-plane-group"`))
		}).Should(Succeed())

		p := readyPolicy(policy(ns, "tkc-c"))
		p.Spec.ClusterModules = append(p.Spec.ClusterModules, vmopv1.ClusterModuleSpec{GroupName: "control-plane-group"})
		Expect(k8s.Update(ctx, p)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(vm), got)).To(Succeed())
			g.Expect(got.Status.UniqueID).NotTo(BeEmpty())
		}).Should(Succeed())
		p = readyPolicy(p)
		Eventually(func() ([]types.ManagedObjectReference, error) {
			return modules.ListModuleMembers(ctx, p.ModuleUUID("control-plane-group"))
		}).Should(ConsistOf(types.ManagedObjectReference{Type: "VirtualMachine", Value: got.Status.UniqueID}))
	})

	It("names a policy's clash with another policy's pool and folder", func() {
		Expect(k8s.Create(ctx, policy(ns, "first"))).To(Succeed())
		second := policy(ns, "second")
		second.Spec.ResourcePool.Name, second.Spec.Folder.Name = "first-pool", "first-folder"
		err := k8s.Create(ctx, second)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.resourcepool.name"))
		Expect(err.Error()).To(ContainSubstring("spec.folder.name"))
		Expect(err.Error()).To(ContainSubstring(`VirtualMachineSetResourcePolicy "first" already names it`))
	})
})
