package admission_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

// A user who makes a class and a binding and a moment later a VM must not be refused because the
// webhook's cache has not seen them yet: a refusal is confirmed with the apiserver first.
var _ = Describe("Objects created right after their class and binding", func() {
	const rounds = 50

	It(fmt.Sprintf("admits a VM and a cluster each time, %d times in a row, and no cluster reports the class missing", rounds), func() {
		ns := newNamespace()
		stop := env.Observe(&runv1.TanzuKubernetesClusterList{}, ns, classAccessFailure)
		var refusals []string
		for i := range rounds {
			class := fmt.Sprintf("%s-fresh-%d", ns, i)
			Expect(admin.Create(ctx, objects.BestEffortClass(class, 2, "4Gi"))).To(Succeed())
			Expect(admin.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
			if err := admin.Create(ctx, objects.VM(ns, fmt.Sprintf("vm-%d", i), class, "ubuntu")); err != nil {
				refusals = append(refusals, err.Error())
			}
			tkc := objects.Cluster(ns, fmt.Sprintf("tkc-%d", i), class, class)
			tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 0
			if err := admin.Create(ctx, tkc); err != nil {
				refusals = append(refusals, err.Error())
			}
		}
		Expect(refusals).To(BeEmpty())

		By("waiting until the cluster controller has reconciled every cluster and made its machine")
		Eventually(func(g Gomega) {
			clusters := &runv1.TanzuKubernetesClusterList{}
			g.Expect(admin.List(ctx, clusters, client.InNamespace(ns))).To(Succeed())
			g.Expect(clusters.Items).To(HaveLen(rounds))
			for _, c := range clusters.Items {
				g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation), "cluster %s reconciled", c.Name)
			}
			vms := &vmopv1.VirtualMachineList{}
			g.Expect(admin.List(ctx, vms, client.InNamespace(ns))).To(Succeed())
			g.Expect(vms.Items).To(HaveLen(2*rounds), "one VM per round and one machine per cluster")
		}).Should(Succeed())
		Expect(stop()).To(BeEmpty(), "no cluster ever reported a class or binding as missing")
	})
})

// classAccessFailure says what is wrong with a cluster that reports a class or binding missing.
func classAccessFailure(obj client.Object) string {
	tkc := obj.(*runv1.TanzuKubernetesCluster)
	if tkc.Status.Phase == runv1.PhaseFailed {
		return "phase failed"
	}
	for _, c := range tkc.Status.Conditions {
		if strings.HasPrefix(c.Reason, vmopv1.VirtualMachineClassNotFoundReason) ||
			strings.HasPrefix(c.Reason, vmopv1.VirtualMachineClassBindingNotFoundReason) {
			return fmt.Sprintf("%s %s: %s", c.Type, c.Reason, c.Message)
		}
	}
	return ""
}
