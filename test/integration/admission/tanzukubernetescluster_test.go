package admission_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

var _ = Describe("TanzuKubernetesCluster admission", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace()
		ensureClasses("guaranteed-medium", "best-effort-medium")
		bind(ns, "guaranteed-large") // walkthrough step 4: one class bound in cormac-new-ns
	})

	It("refuses the walkthrough's cluster, naming both unbound classes at once, and admits it once both are bound", func() {
		tkc := objects.Cluster(ns, "tkg-cluster-1-20-2", "guaranteed-medium", "best-effort-medium")
		var err error
		Eventually(func() []string {
			err = admin.Create(ctx, tkc.DeepCopy())
			return causes(err)
		}).Should(ConsistOf("spec.topology.controlPlane.class", "spec.topology.workers.class"))
		Expect(err.Error()).To(And(
			ContainSubstring(`spec.topology.controlPlane.class: Invalid value: "guaranteed-medium": VirtualMachineClass "guaranteed-medium" is not bound in namespace "%s" (bound here: guaranteed-large)`, ns),
			ContainSubstring(`spec.topology.workers.class: Invalid value: "best-effort-medium": VirtualMachineClass "best-effort-medium" is not bound in namespace "%s" (bound here: guaranteed-large)`, ns),
		))

		bind(ns, "guaranteed-medium", "best-effort-medium")
		created(admin, tkc)
	})

	It("prints the denial through kubectl apply of the walkthrough manifest", func() {
		manifest := filepath.Join(testenv.RepoRoot(), "config", "samples", "run_v1alpha1_tanzukubernetescluster.yaml")
		_, err := os.Stat(manifest)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() string {
			_, stderr, _ := env.Kubectl(ctx, "apply", "-n", ns, "-f", manifest)
			return oneLine(stderr)
		}).Should(And(
			ContainSubstring(`"tkg-cluster-1-20-2" is invalid`),
			ContainSubstring(`VirtualMachineClass "guaranteed-medium" is not bound in namespace "%s"`, ns),
			ContainSubstring(`VirtualMachineClass "best-effort-medium" is not bound in namespace "%s"`, ns),
		))
	})

	It("refuses a cluster name its control plane service could not carry", func() {
		bind(ns, "guaranteed-medium", "best-effort-medium")
		long := objects.Cluster(ns, "c234567890123456789012345678901234567890123456789x", "guaranteed-medium", "best-effort-medium")
		err := admin.Create(ctx, long)
		Expect(causes(err)).To(ConsistOf("metadata.name"))
		Expect(err.Error()).To(ContainSubstring("49"))
		Expect(admin.Create(ctx, objects.Cluster(ns, "1-starts-with-a-digit", "guaranteed-medium", "best-effort-medium"))).NotTo(Succeed())
		created(admin, objects.Cluster(ns, "c23456789012345678901234567890123456789012345678x", "guaranteed-medium", "best-effort-medium"))
	})

	It("refuses node volumes, which nothing in this release mounts, and only when set or changed", func() {
		bind(ns, "guaranteed-medium", "best-effort-medium")
		tkc := objects.Cluster(ns, "with-volumes", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.Workers.Volumes = []runv1.Volume{{Name: "containerd", MountPath: "/var/lib/containerd",
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")}}}
		err := admin.Create(ctx, tkc)
		Expect(causes(err)).To(ConsistOf("spec.topology.workers.volumes"))
		Expect(err.Error()).To(ContainSubstring("not supported in this release"))
	})

	It("lists every pool problem at once", func() {
		bind(ns, "guaranteed-medium", "best-effort-medium")
		tkc := objects.Cluster(ns, "bad-pools", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count = 2
		tkc.Spec.Topology.Workers.Class = "no-such-class"
		var err error
		Eventually(func() []string {
			err = admin.Create(ctx, tkc)
			return causes(err)
		}).Should(ConsistOf("spec.topology.controlPlane.count", "spec.topology.workers.class"))
		Expect(err.Error()).To(ContainSubstring("must be 1 or 3"))
	})

	It("admits an update that leaves the classes alone even after a binding was revoked", func() {
		bind(ns, "guaranteed-medium", "best-effort-medium")
		tkc := objects.Cluster(ns, "scaled", "guaranteed-medium", "best-effort-medium")
		created(admin, tkc)
		Expect(admin.Delete(ctx, objects.Binding(ns, "best-effort-medium", "best-effort-medium"))).To(Succeed())

		// The cluster controller writes the cluster too, so updates retry on conflicts.
		Expect(changeCluster(ns, "scaled", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.Workers.Count = 2 })).To(Succeed())

		toRevoked := func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.ControlPlane.Class = "best-effort-medium" }
		// A dry run waits, with no effect, for the webhook's cache to see the binding gone.
		Eventually(func() error { return changeCluster(ns, "scaled", toRevoked, client.DryRunAll) }).Should(HaveOccurred())
		Expect(changeCluster(ns, "scaled", toRevoked)).To(MatchError(ContainSubstring(`"best-effort-medium" is not bound`)))
	})

	It("refuses scaling out a pool whose class lost its binding, naming the class, the namespace and the bound classes", func() {
		bind(ns, "guaranteed-medium", "best-effort-medium")
		tkc := objects.Cluster(ns, "scale-out", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count = 1
		created(admin, tkc)
		Expect(admin.Delete(ctx, objects.Binding(ns, "best-effort-medium", "best-effort-medium"))).To(Succeed())

		By("growing both pools: only the workers' class is refused, since only its binding is gone")
		grow := func(c *runv1.TanzuKubernetesCluster) {
			c.Spec.Topology.ControlPlane.Count, c.Spec.Topology.Workers.Count = 3, 6
		}
		// A dry run waits, with no effect, for the webhook's cache to see the binding gone.
		Eventually(func() error { return changeCluster(ns, "scale-out", grow, client.DryRunAll) }).Should(HaveOccurred())
		err := changeCluster(ns, "scale-out", grow)
		Expect(causes(err)).To(ConsistOf("spec.topology.workers.class"))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring(`spec.topology.workers.class: Invalid value: "best-effort-medium": VirtualMachineClass "best-effort-medium" is not bound in namespace "%s" (bound here: guaranteed-large, guaranteed-medium)`, ns))
		Expect(admin.Get(ctx, objectKey(ns, "scale-out"), tkc)).To(Succeed())
		Expect(tkc.Spec.Topology.Workers.Count).To(BeEquivalentTo(5), "the refused scale-out left the cluster as it was")

		By("growing only the control plane, whose class is still bound, and then shrinking the workers")
		Expect(changeCluster(ns, "scale-out", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.ControlPlane.Count = 3 })).To(Succeed())
		Expect(changeCluster(ns, "scale-out", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.Workers.Count = 4 })).To(Succeed())
	})

	It("refuses a cluster without a storage class even when the schema is bypassed by an empty string", func() {
		tkc := objects.Cluster(ns, "no-storage", "guaranteed-large", "guaranteed-large")
		tkc.Spec.Topology.Workers.StorageClass = ""
		err := admin.Create(ctx, tkc)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.topology.workers.storageClass"))
	})
})

// changeCluster applies change to the latest version of the cluster and updates it, retrying
// only on conflicts with the controller's writes, and returns the admission answer.
func changeCluster(ns, name string, change func(*runv1.TanzuKubernetesCluster), opts ...client.UpdateOption) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		tkc := &runv1.TanzuKubernetesCluster{}
		if err := admin.Get(ctx, objectKey(ns, name), tkc); err != nil {
			return err
		}
		change(tkc)
		return admin.Update(ctx, tkc, opts...)
	})
}
