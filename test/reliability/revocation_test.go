package reliability_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/test/vcenter"
)

// R4: every binding is revoked under running VMs and clusters. Revocation blocks what is new;
// what runs must keep running untouched, and every object must say it lost its binding.
var _ = Describe("Bindings revoked under running VMs and clusters", Ordered, Label("reliability"), func() {
	const (
		namespaces   = 10
		perNamespace = 10
		clusters     = 3
		// settle is how long vSphere is watched after every VM shows the warning, for a late change.
		settle = 5 * time.Second
	)
	var f *fleet

	BeforeAll(func() {
		f = newFleet()
		f.env.ManagerForSuite(manager.Options{Enforcement: enforcement.Warn, VCenter: &manager.VCenterOptions{
			Config:            f.vcenterConfig(f.sim.URL().Host),
			ImageSyncInterval: 500 * time.Millisecond,
			IPPool:            ipPool,
		}})
	})

	It("powers off, deletes and reconfigures nothing, and every object shows the warning", func() {
		nss := f.addNamespaces(namespaces)
		f.createVMs(nss, perNamespace)
		f.waitForRelease()
		for i := range clusters {
			f.createCluster(nss[i], fmt.Sprintf("cluster-%d", i))
		}
		Eventually(func() error {
			if err := f.notRunning(); err != nil {
				return err
			}
			return f.clustersNotRunning()
		}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Succeed())
		before := f.placed()

		By("revoking every binding")
		revoked := time.Now()
		bindings := &vmopv1.VirtualMachineClassBindingList{}
		Expect(f.env.Client.List(ctx, bindings)).To(Succeed())
		for i := range bindings.Items {
			Expect(f.env.Client.Delete(ctx, &bindings.Items[i])).To(Succeed())
		}
		Eventually(f.withoutWarning).WithTimeout(time.Minute).Should(BeEmpty())
		warned := time.Since(revoked)
		Eventually(f.clustersShowingRevocation).WithTimeout(time.Minute).Should(Equal(clusters))
		clustersWarned := time.Since(revoked)
		time.Sleep(settle)
		after := f.placed()

		off, gone, reconfigured := compareVSphere(before, after)
		vms := f.virtualMachines()
		deleting := deletionsHeld(vms)
		reportFigure("R4 revocation under load: %d bindings revoked under %d running VMs (%d standalone, %d cluster nodes) and %d clusters: "+
			"%d VMs powered off, %d deleted, %d reconfigured in vSphere (config.changeVersion), %d VirtualMachines deleting; "+
			"%d/%d VirtualMachines show the Warning within %.1f s; %d/%d clusters show it (MachinePrereqsReady) within %.1f s",
			len(bindings.Items), len(before), namespaces*perNamespace, len(before)-namespaces*perNamespace, clusters,
			off, gone, reconfigured, deleting, len(vms)-len(f.withoutWarning()), len(vms), warned.Seconds(), f.clustersShowingRevocation(), clusters, clustersWarned.Seconds())
		Expect([]int{off, gone, reconfigured, deleting}).To(Equal([]int{0, 0, 0, 0}))
		Expect(len(before)).To(Equal(namespaces*perNamespace + 2*clusters))
		Expect(f.clustersNotRunning()).To(Succeed(), "revocation stops no cluster")
	})
})

// placed reads the VMs in the namespaces' folders, by managed object id.
func (f *fleet) placed() map[string]vcenter.Placed {
	GinkgoHelper()
	vms, err := f.inspect.VMsInFolders(ctx, f.namespaces...)
	Expect(err).NotTo(HaveOccurred())
	byID := map[string]vcenter.Placed{}
	for _, vm := range vms {
		byID[vm.MoID] = vm
	}
	return byID
}

// compareVSphere counts the VMs of before that are now powered off, gone, or reconfigured.
func compareVSphere(before, after map[string]vcenter.Placed) (off, gone, reconfigured int) {
	for id, was := range before {
		now, ok := after[id]
		switch {
		case !ok:
			gone++
		case now.PowerState != "poweredOn":
			off++
		case now.ChangeVersion != was.ChangeVersion:
			reconfigured++
		}
	}
	return off, gone, reconfigured
}

// withoutWarning names the VirtualMachines whose VirtualMachinePrereqReady is not yet False with
// severity Warning and the missing binding as its reason.
func (f *fleet) withoutWarning() []string {
	var missing []string
	for _, vm := range f.virtualMachines() {
		c := conditions.Get(vm.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)
		if c == nil || c.Status != corev1.ConditionFalse || c.Severity != vmopv1.ConditionSeverityWarning ||
			c.Reason != vmopv1.VirtualMachineClassBindingNotFoundReason {
			missing = append(missing, vm.Namespace+"/"+vm.Name)
		}
	}
	return missing
}

// clustersShowingRevocation counts the clusters whose MachinePrereqsReady warns of the missing
// binding.
func (f *fleet) clustersShowingRevocation() int {
	n := 0
	for _, tkc := range f.clusters() {
		c := conditions.Get(tkc.Status.Conditions, runv1.MachinePrereqsReadyCondition)
		if c != nil && c.Severity == vmopv1.ConditionSeverityWarning && strings.HasPrefix(c.Reason, vmopv1.VirtualMachineClassBindingNotFoundReason+" @ ") {
			n++
		}
	}
	return n
}
