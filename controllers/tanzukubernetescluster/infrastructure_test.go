package tanzukubernetescluster_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("A cluster's resource policy and control plane service", func() {
	It("are made with the cluster, hold its machines, give it its API endpoint, and go after its VMs", func() {
		ns := newNamespace()
		bind(ns, "guaranteed-medium", "best-effort-medium")
		tkc := objects.Cluster(ns, "infra", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 2
		createCluster(tkc)
		Eventually(vmNames(ns)).Should(HaveLen(3))
		owner := cluster(ns, "infra")

		policy := &vmopv1.VirtualMachineSetResourcePolicy{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: runv1.ResourcePolicyName("infra")}, policy)).To(Succeed())
		Expect(metav1.IsControlledBy(policy, owner)).To(BeTrue())
		Expect(policy.Spec.ResourcePool.Name).To(Equal("infra"))
		Expect(policy.Spec.Folder.Name).To(Equal("infra"))
		Expect(policy.Spec.ClusterModules).To(ConsistOf(
			vmopv1.ClusterModuleSpec{GroupName: "control-plane"}, vmopv1.ClusterModuleSpec{GroupName: "workers"}))

		svc := &vmopv1.VirtualMachineService{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "infra-control-plane"}, svc)).To(Succeed())
		Expect(metav1.IsControlledBy(svc, owner)).To(BeTrue())
		Expect(svc.Spec.Type).To(Equal(vmopv1.VirtualMachineServiceTypeLoadBalancer))
		Expect(svc.Spec.Ports).To(Equal([]vmopv1.VirtualMachineServicePort{{Name: "apiserver", Protocol: "TCP", Port: 6443, TargetPort: 6443}}))
		Expect(svc.Spec.Selector).To(Equal(map[string]string{runv1.ClusterNameLabel: "infra", runv1.PoolLabel: "control-plane"}))

		By("making every machine in the policy, in its pool's module group")
		vms := &vmopv1.VirtualMachineList{}
		Expect(admin.List(ctx, vms, client.InNamespace(ns))).To(Succeed())
		for _, vm := range vms.Items {
			Expect(vm.Spec.ResourcePolicyName).To(Equal("infra"), vm.Name)
			Expect(vm.Annotations).To(HaveKeyWithValue(vmopv1.ClusterModuleGroupAnnotation, vm.Labels[runv1.PoolLabel]), vm.Name)
		}

		By("reporting the address the load balancer gives the control plane's Service as the API endpoint")
		core := &corev1.Service{}
		Eventually(func() error {
			return admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "infra-control-plane"}, core)
		}).Should(Succeed())
		base := core.DeepCopy()
		core.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.40"}}
		Expect(admin.Status().Patch(ctx, core, client.MergeFrom(base))).To(Succeed())
		Eventually(func() []runv1.APIEndpoint { return cluster(ns, "infra").Status.APIEndpoints }).
			Should(Equal([]runv1.APIEndpoint{{Host: "192.0.2.40", Port: 6443}}))

		By("deleting the policy and service once the VMs are gone, and only then the cluster")
		Expect(admin.Delete(ctx, owner)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(owner), owner)) }).Should(BeTrue())
		Expect(vmNames(ns)()).To(BeEmpty())
		Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(policy), policy))).To(BeTrue())
		Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(svc), svc))).To(BeTrue())
	})

	It("never adopts a resource policy of the cluster's name that someone else made", func() {
		ns := newNamespace()
		bind(ns, "guaranteed-medium", "best-effort-medium")
		mine := &vmopv1.VirtualMachineSetResourcePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"}}
		mine.Spec.ResourcePool.Name, mine.Spec.Folder.Name = "my-pool", "my-folder"
		Expect(admin.Create(ctx, mine)).To(Succeed())
		tkc := objects.Cluster(ns, "taken", "guaranteed-medium", "best-effort-medium")
		createCluster(tkc)
		Consistently(vmNames(ns)).Should(BeEmpty(), "no machine is made outside the cluster's own policy")
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(mine), mine)).To(Succeed())
		Expect(mine.OwnerReferences).To(BeEmpty())
		Expect(mine.Spec.ResourcePool.Name).To(Equal("my-pool"))
	})
})
