package admission_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	tkcctrl "github.com/vm-service/vm-service/controllers/tanzukubernetescluster"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// A developer who could remove the product's finalizers or owner references, or write its
// labels, would leave vSphere VMs behind that nothing sees, or hand a cluster a VM of their own.
var _ = Describe("The product's metadata, to a namespace editor", func() {
	var (
		ns  string
		dev *testenv.User
	)
	BeforeEach(func() {
		ns = newNamespace()
		bind(ns, "best-effort-xsmall")
		dev = newEditor(ns)
	})

	It("refuses removing a VM's finalizer, before or after deleting it, saying to delete the VM instead", func() {
		vm := objects.VM(ns, "held", "best-effort-xsmall", "ubuntu")
		created(dev.Client, vm)
		By("adding the finalizer as the VM controller would (it needs vCenter and does not run here)")
		patched(admin, vm, func() { controllerutil.AddFinalizer(vm, vmopv1.VirtualMachineFinalizer) })

		err := patch(dev.Client, vm, func() { controllerutil.RemoveFinalizer(vm, vmopv1.VirtualMachineFinalizer) })
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("metadata.finalizers"))
		Expect(err.Error()).To(ContainSubstring("delete the VirtualMachine instead; the controller removes its finalizer once the vSphere VM is gone"))

		Expect(dev.Client.Delete(ctx, vm)).To(Succeed())
		Expect(apierrors.IsInvalid(patch(dev.Client, vm, func() { vm.Finalizers = nil }))).To(BeTrue())
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(vm), vm)).To(Succeed(), "the VM waits for its controller")
		patched(admin, vm, func() { vm.Finalizers = nil })
	})

	It("refuses removing a cluster's finalizer or releasing its VMs, and the controller still deletes both", func() {
		tkc := objects.Cluster(ns, "mine", "best-effort-xsmall", "best-effort-xsmall")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 0
		created(dev.Client, tkc)
		Eventually(func() []string { return get(tkc).GetFinalizers() }).Should(ContainElement(runv1.TanzuKubernetesClusterFinalizer))
		vm := &vmopv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns,
			Name: tkcctrl.MachineNames(tkc.Name, tkc.UID, tkcctrl.ControlPlanePool, 1)[0]}}
		Eventually(func() error { return admin.Get(ctx, client.ObjectKeyFromObject(vm), vm) }).Should(Succeed())

		err := patch(dev.Client, tkc, func() { controllerutil.RemoveFinalizer(tkc, runv1.TanzuKubernetesClusterFinalizer) })
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("delete the TanzuKubernetesCluster instead; the controller removes its finalizer once the cluster's VirtualMachines are gone"))

		err = patch(dev.Client, vm, func() {
			vm.OwnerReferences = nil
			delete(vm.Labels, runv1.ClusterNameLabel)
		})
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("metadata.ownerReferences", "metadata.labels[run.tanzu.vmware.com/cluster-name]"))
		Expect(err.Error()).To(ContainSubstring("only the TanzuKubernetesCluster controller sets or removes owner references to a cluster"))

		By("deleting the cluster: the manager deletes its VM and removes its own finalizer")
		Expect(dev.Client.Delete(ctx, tkc)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(tkc), tkc)) }).Should(BeTrue())
		Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(vm), vm))).To(BeTrue())
	})

	It("refuses a VM under a cluster's machine name with an owner reference to the cluster or its labels", func() {
		tkc := objects.Cluster(ns, "target", "best-effort-xsmall", "best-effort-xsmall")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 0
		created(dev.Client, tkc)
		// The first worker's name, free until the cluster scales out.
		name := tkcctrl.MachineNames(tkc.Name, tkc.UID, tkcctrl.WorkersPool, 1)[0]

		lure := objects.VM(ns, name, "best-effort-xsmall", "ubuntu")
		lure.OwnerReferences = []metav1.OwnerReference{{APIVersion: runv1.GroupVersion.String(), Kind: "TanzuKubernetesCluster",
			Name: tkc.Name, UID: tkc.UID, Controller: ptr.To(true)}}
		err := dev.Client.Create(ctx, lure)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("metadata.ownerReferences"))

		lure.OwnerReferences = nil
		lure.Labels = map[string]string{runv1.ClusterNameLabel: tkc.Name, runv1.PoolLabel: "workers"}
		err = dev.Client.Create(ctx, lure)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("metadata.labels[run.tanzu.vmware.com/cluster-name]", "metadata.labels[run.tanzu.vmware.com/pool]"))
		Expect(err.Error()).To(ContainSubstring("are written by VM Service only"))
	})

	It("refuses setting a product annotation, which an admin may", func() {
		vm := objects.VM(ns, "annotated", "best-effort-xsmall", "ubuntu")
		created(dev.Client, vm)
		key := vmopv1.GroupName + "/anything"
		err := patch(dev.Client, vm, func() { vm.Annotations = map[string]string{key: "x", "example.com/mine": "y"} })
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("metadata.annotations[" + key + "]"))
		patched(dev.Client, vm, func() { vm.Annotations = map[string]string{"example.com/mine": "y"} })
		patched(admin, vm, func() { vm.Annotations[key] = "x" })
	})
})

// patch applies change to a fresh copy of obj as a merge patch, which no concurrent status
// write can make conflict, and returns the answer.
func patch(c client.Client, obj client.Object, change func()) error {
	Expect(admin.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	base := obj.DeepCopyObject().(client.Object)
	change()
	return c.Patch(ctx, obj, client.MergeFrom(base))
}

// patched is patch that must be admitted.
func patched(c client.Client, obj client.Object, change func()) {
	Expect(patch(c, obj, change)).To(Succeed())
}

// get reads obj back.
func get(obj client.Object) client.Object {
	Expect(admin.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	return obj
}
