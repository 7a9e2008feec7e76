package tanzukubernetescluster_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

// envtest runs no garbage collector, so the spec does its part, as the user it runs as and with
// the same two writes: the owner references off each dependent, then the orphan finalizer off
// the owner. The ownership webhook is what the garbage collector's writes meet.
var _ = Describe("A cluster deleted with --cascade=orphan", func() {
	It("deletes none of its VMs, which stand alone once the garbage collector orphaned them", func() {
		ns := newNamespace()
		bind(ns, "guaranteed-medium", "best-effort-medium")
		tkc := objects.Cluster(ns, "orphaning", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 1
		createCluster(tkc)
		runningWithReadyVMs(ns, "orphaning", 2)
		machines := vmNames(ns)()

		Expect(admin.Delete(ctx, cluster(ns, "orphaning"), client.PropagationPolicy(metav1.DeletePropagationOrphan))).To(Succeed())
		Eventually(phase(ns, "orphaning")).Should(Equal(runv1.PhaseDeleting))
		Consistently(deletingVMs(ns)).WithTimeout(2 * time.Second).Should(BeEmpty())

		By("orphaning the VMs as the garbage collector")
		gc := garbageCollector()
		for _, name := range machines {
			vm := &vmopv1.VirtualMachine{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, vm)).To(Succeed())
			base := vm.DeepCopy()
			vm.OwnerReferences = nil
			Expect(gc.Patch(ctx, vm, client.MergeFrom(base))).To(Succeed())
		}
		for _, dependent := range []client.Object{
			&vmopv1.VirtualMachineSetResourcePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: runv1.ResourcePolicyName("orphaning")}},
			&vmopv1.VirtualMachineService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: runv1.ControlPlaneServiceName("orphaning")}},
		} {
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(dependent), dependent)).To(Succeed())
			base := dependent.DeepCopyObject().(client.Object)
			dependent.SetOwnerReferences(nil)
			Expect(gc.Patch(ctx, dependent, client.MergeFrom(base))).To(Succeed())
		}
		c := cluster(ns, "orphaning")
		base := c.DeepCopy()
		controllerutil.RemoveFinalizer(c, metav1.FinalizerOrphanDependents)
		Expect(gc.Patch(ctx, c, client.MergeFrom(base))).To(Succeed())

		Eventually(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(tkc), &runv1.TanzuKubernetesCluster{}))
		}).Should(BeTrue())
		Consistently(deletingVMs(ns)).WithTimeout(2 * time.Second).Should(BeEmpty())
		Expect(vmNames(ns)()).To(ConsistOf(machines))
		policy := &vmopv1.VirtualMachineSetResourcePolicy{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: runv1.ResourcePolicyName("orphaning")}, policy)).To(Succeed(), "the orphaned VMs' policy stays with them")
	})
})

// deletingVMs names the VMs of ns that are gone or being deleted.
func deletingVMs(ns string) func() []string {
	return func() []string {
		var list vmopv1.VirtualMachineList
		Expect(admin.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		var out []string
		for _, vm := range list.Items {
			if !vm.DeletionTimestamp.IsZero() {
				out = append(out, vm.Name)
			}
		}
		return out
	}
}

// garbageCollector is a client for the garbage collector's user, allowed what it needs here.
func garbageCollector() client.Client {
	GinkgoHelper()
	const name = "system:serviceaccount:kube-system:generic-garbage-collector"
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "test-garbage-collector-"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{vmopv1.GroupVersion.Group, runv1.GroupVersion.Group},
			Resources: []string{"virtualmachines", "virtualmachinesetresourcepolicies", "virtualmachineservices", "tanzukubernetesclusters"},
			Verbs:     []string{"get", "patch"},
		}},
	}
	Expect(admin.Create(ctx, role)).To(Succeed())
	DeferCleanup(admin.Delete, ctx, role)
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "test-garbage-collector-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
	}
	Expect(admin.Create(ctx, binding)).To(Succeed())
	DeferCleanup(admin.Delete, ctx, binding)
	u, err := env.NewUser(name, "system:serviceaccounts", "system:authenticated")
	Expect(err).NotTo(HaveOccurred())
	return u.Client
}
