package admission_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("VirtualMachineClassBinding admission", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("defaults classRef's kind and apiVersion and warns when the class does not exist yet", func() {
		b := objects.Binding(ns, "future", "future-class")
		_, stderr, err := env.KubectlApply(ctx, fmt.Sprintf(`
apiVersion: vmoperator.vmware.com/v1alpha1
kind: VirtualMachineClassBinding
metadata: {name: future, namespace: %s}
classRef: {name: future-class}
`, ns))
		Expect(err).NotTo(HaveOccurred())
		Expect(oneLine(stderr)).To(ContainSubstring(`Warning: VirtualMachineClass "future-class" does not exist yet`))
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		Expect(b.ClassRef.Kind).To(Equal("VirtualMachineClass"))
		Expect(b.ClassRef.APIVersion).To(Equal("vmoperator.vmware.com/v1alpha1"))
	})

	It("refuses a change of classRef.name", func() {
		bind(ns, "guaranteed-small")
		var err error
		// Retried on conflict: the binding controller writes status meanwhile.
		Eventually(func() bool {
			b := &vmopv1.VirtualMachineClassBinding{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "guaranteed-small"}, b)).To(Succeed())
			b.ClassRef.Name = "guaranteed-8xlarge"
			err = admin.Update(ctx, b)
			return apierrors.IsConflict(err)
		}).Should(BeFalse())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("classRef.name"))
	})
})

var _ = Describe("VirtualMachineClass admission", func() {
	It("lists every hardware and policy problem at once", func() {
		c := objects.GuaranteedClass("greedy", 2, "4Gi")
		c.Spec.Policies.Resources.Requests.Cpu = resource.MustParse("3")
		c.Spec.Policies.Resources.Requests.Memory = resource.MustParse("8Gi")
		c.Spec.Policies.Resources.Limits.Memory = resource.MustParse("1Gi")
		c.Spec.Hardware.Memory = resource.MustParse("0")
		err := admin.Create(ctx, c)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf(
			"spec.hardware.memory",
			"spec.policies.resources.requests.cpu",
			"spec.policies.resources.requests.memory",
			"spec.policies.resources.limits.memory",
		))
	})

	It("refuses a memory limit below the memory of a class with devices, whose VMs reserve all of it", func() {
		c := objects.BestEffortClass("capped-gpu", 4, "16Gi")
		c.Spec.Hardware.Devices.VGPUDevices = []vmopv1.VGPUDevice{{ProfileName: "grid_t4-4q"}}
		c.Spec.Policies.Resources.Limits.Memory = resource.MustParse("8Gi")
		err := admin.Create(ctx, c)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("spec.policies.resources.limits.memory"))
		Expect(err.Error()).To(ContainSubstring(`must not be less than spec.hardware.memory (16Gi) in a class with devices`))

		By("accepting a limit of all of its memory")
		c.Spec.Policies.Resources.Limits.Memory = resource.MustParse("16Gi")
		created(admin, c)
		DeferCleanup(admin.Delete, ctx, c)
	})

	It("refuses to delete a class while VMs use it, naming them, and allows it once they are gone", func() {
		class := "in-use-" + newNamespace()
		ns := newNamespace()
		bind(ns, class)
		for i := range 7 {
			created(admin, objects.VM(ns, fmt.Sprintf("vm-%d", i), class, "ubuntu"))
		}
		// At once: the guard reads the apiserver, so VMs created a moment ago count.
		Expect(admin.Delete(ctx, objects.BestEffortClass(class, 1, "1Gi"))).To(MatchError(And(
			ContainSubstring("7 VirtualMachine(s) use it"),
			ContainSubstring(ns+"/vm-"),
			ContainSubstring("and 2 more"),
		)))

		Expect(admin.DeleteAllOf(ctx, &vmopv1.VirtualMachine{}, client.InNamespace(ns))).To(Succeed())
		Expect(admin.Delete(ctx, objects.BestEffortClass(class, 1, "1Gi"))).To(Succeed())
	})

	It("refuses to delete a class a cluster names, even for a pool with no machine now", func() {
		ns := newNamespace()
		cp, workers := "cp-"+ns, "workers-"+ns
		bind(ns, cp, workers)
		tkc := objects.Cluster(ns, "idle-workers", cp, workers)
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 0
		created(admin, tkc)

		err := admin.Delete(ctx, objects.BestEffortClass(workers, 1, "1Gi"))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("1 TanzuKubernetesCluster(s) name it: %s/idle-workers", ns))
		Expect(err.Error()).NotTo(ContainSubstring("VirtualMachine(s) use it"))

		Expect(admin.Delete(ctx, tkc)).To(Succeed())
		Eventually(func() error { return admin.Delete(ctx, objects.BestEffortClass(workers, 1, "1Gi")) }).
			Should(Succeed(), "once the cluster is gone (its finalizer lets go after its VMs)")
	})
})
