package admission_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("Enforcement", Ordered, func() {
	It("in Warn mode admits the walkthrough's cluster with a warning naming both classes", func() {
		startManager(enforcement.Warn)
		DeferCleanup(startManager, enforcement.Deny)
		ns := newNamespace()
		ensureClasses("guaranteed-medium", "best-effort-medium")
		bind(ns, "guaranteed-large")

		_, stderr, err := env.KubectlApply(ctx, fmt.Sprintf(`
apiVersion: run.tanzu.vmware.com/v1alpha1
kind: TanzuKubernetesCluster
metadata: {name: tkg-cluster-1-20-2, namespace: %s}
spec:
  topology:
    controlPlane: {count: 3, class: guaranteed-medium, storageClass: vsan-default-storage-policy}
    workers: {count: 5, class: best-effort-medium, storageClass: vsan-default-storage-policy}
  distribution: {version: v1.20.2}
`, ns))
		Expect(err).NotTo(HaveOccurred())
		Expect(oneLine(stderr)).To(And(
			ContainSubstring(`Warning: spec.topology.controlPlane.class: Invalid value: "guaranteed-medium": VirtualMachineClass "guaranteed-medium" is not bound in namespace "%s"`, ns),
			ContainSubstring(`Warning: spec.topology.workers.class: Invalid value: "best-effort-medium"`),
		))

		By("still refusing what is invalid whatever the mode")
		bad := objects.Cluster(ns, "two-cp", "guaranteed-medium", "best-effort-medium")
		bad.Spec.Topology.ControlPlane.Count = 2
		Expect(apierrors.IsInvalid(admin.Create(ctx, bad))).To(BeTrue())
	})

	It("fails closed when the webhook cannot be reached", func() {
		ns := newNamespace()
		bind(ns, "best-effort-xsmall")
		created(admin, objects.VM(ns, "before", "best-effort-xsmall", "ubuntu"))

		stopManager()
		stopManager = func() {}
		DeferCleanup(startManager, enforcement.Deny)
		err := admin.Create(ctx, objects.VM(ns, "while-down", "best-effort-xsmall", "ubuntu"))
		Expect(err).To(MatchError(ContainSubstring("failed calling webhook")))
		Expect(apierrors.IsNotFound(admin.Get(ctx, objectKey(ns, "while-down"), objects.VM(ns, "", "", "")))).To(BeTrue())
	})
})
