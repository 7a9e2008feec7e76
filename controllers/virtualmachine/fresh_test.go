package virtualmachine_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
)

// The controller reads the same lagging cache as the webhooks: a VM created right after its class
// and binding must never show them missing, not even for a moment.
var _ = Describe("VMs created right after their class and binding", func() {
	const rounds = 20

	It(fmt.Sprintf("deploy without ever reporting the class or binding missing, %d in a row", rounds), func() {
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Name: ubuntu.Name}, &vmopv1.VirtualMachineImage{})
		}).Should(Succeed(), "the image sync mirrors the content library")
		ns := newNamespace()
		stop := env.Observe(&vmopv1.VirtualMachineList{}, ns, prereqFailure)
		var vms []*vmopv1.VirtualMachine
		for i := range rounds {
			class := fmt.Sprintf("%s-fresh-%d", ns, i)
			Expect(k8s.Create(ctx, objects.BestEffortClass(class, 1, "1Gi"))).To(Succeed())
			Expect(k8s.Create(ctx, objects.Binding(ns, class, class))).To(Succeed())
			vm := objects.VM(ns, fmt.Sprintf("vm-%d", i), class, ubuntu.Name)
			// With its finalizer already on (a VM restored from a backup), the first reconcile
			// goes straight to the checks, while the cache may not have the class or binding.
			vm.Finalizers = []string{vmopv1.VirtualMachineFinalizer}
			Expect(k8s.Create(ctx, vm)).To(Succeed())
			vms = append(vms, vm)
		}
		for _, vm := range vms {
			poweredOn(vm)
		}
		Expect(stop()).To(BeEmpty(), "no VM ever reported its class, binding or image missing")
		events := &corev1.EventList{}
		Expect(k8s.List(ctx, events, client.InNamespace(ns), client.MatchingFields{"type": corev1.EventTypeWarning})).To(Succeed())
		Expect(events.Items).To(BeEmpty(), "no Warning event was recorded")
	})
})

// prereqFailure says what is wrong with a VM whose prerequisites are reported missing.
func prereqFailure(obj client.Object) string {
	vm := obj.(*vmopv1.VirtualMachine)
	if c := conditions.Get(vm.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition); c != nil && c.Status == corev1.ConditionFalse {
		return fmt.Sprintf("%s %s: %s", c.Type, c.Reason, c.Message)
	}
	return ""
}
