package tanzukubernetescluster_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// The suite runs the product's manager, webhooks included, against a real kube-apiserver, in Warn
// mode unless a spec says otherwise: in Deny mode the walkthrough's cluster would be refused at
// admission, and the failure path of step 5 is what these specs replay. No VM controller runs
// (it needs vCenter), so specs make VMs ready by writing their status as it would.
func TestTanzuKubernetesCluster(t *testing.T) {
	// Generous: a shared two-core machine running suites in parallel can be slow to converge.
	SetDefaultEventuallyTimeout(20 * time.Second)
	RegisterFailHandler(Fail)
	RunSpecs(t, "TanzuKubernetesCluster suite")
}

var (
	ctx         = context.Background()
	env         *testenv.Env
	admin       client.Client
	stopManager func()
)

// The releases of the local supervisor: v1.20.2 resolves to the middle one, which may upgrade to
// v1.21.6 (the next minor) and not go back to v1.19.7.
var releases = []*runv1.TanzuKubernetesRelease{
	objects.Release("v1.19.7+vmware.1-tkg.1.fc82c41", "v1.19.7", "ob-17654937-photon-3-k8s-v1.19.7---vmware.1-tkg.1.fc82c41"),
	objects.Release("v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", "ob-17805141-photon-3-k8s-v1.20.2---vmware.1-tkg.2.3e10706"),
	objects.Release("v1.21.6+vmware.1-tkg.1.b3d708a", "v1.21.6", "ob-18880455-photon-3-k8s-v1.21.6---vmware.1-tkg.1.b3d708a"),
}

var _ = BeforeSuite(func() {
	env = testenv.ForSuite(testenv.WithWebhooks())
	admin = env.Client
	startManager(enforcement.Warn)
	DeferCleanup(func() {
		if stopManager != nil {
			stopManager()
		}
	})
	for _, c := range []*vmopv1.VirtualMachineClass{
		objects.GuaranteedClass("guaranteed-medium", 2, "8Gi"),
		objects.GuaranteedClass("guaranteed-large", 4, "16Gi"),
		objects.BestEffortClass("best-effort-medium", 2, "8Gi"),
	} {
		Expect(admin.Create(ctx, c)).To(Succeed())
	}
	for _, r := range releases {
		Expect(admin.Create(ctx, r.DeepCopy())).To(Succeed())
	}
})

// startManager (re)starts the manager with its webhooks in the given enforcement mode.
func startManager(mode enforcement.Mode) {
	if stopManager != nil {
		stopManager()
	}
	var err error
	_, stopManager, err = env.StartManager(manager.Options{Enforcement: mode})
	Expect(err).NotTo(HaveOccurred())
}

// newNamespace makes a fresh namespace for one spec.
func newNamespace() string { return env.NewNamespace("tkc") }

// bind binds each class in ns under the class's own name, as vCenter's sync does.
func bind(ns string, classes ...string) {
	for _, c := range classes {
		Expect(admin.Create(ctx, objects.Binding(ns, c, c))).To(Succeed())
	}
}

// unbind revokes the bindings bind made.
func unbind(ns string, classes ...string) {
	for _, c := range classes {
		Expect(admin.Delete(ctx, objects.Binding(ns, c, c))).To(Succeed())
	}
}

// createCluster creates tkc, which the webhooks admit at once even if their cache lags the bindings.
func createCluster(tkc *runv1.TanzuKubernetesCluster) {
	Expect(admin.Create(ctx, tkc)).To(Succeed())
}

// cluster reads the cluster back.
func cluster(ns, name string) *runv1.TanzuKubernetesCluster {
	tkc := &runv1.TanzuKubernetesCluster{}
	Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, tkc)).To(Succeed())
	return tkc
}

// phase polls a cluster's phase.
func phase(ns, name string) func() runv1.TanzuKubernetesClusterPhase {
	return func() runv1.TanzuKubernetesClusterPhase {
		tkc := &runv1.TanzuKubernetesCluster{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, tkc); err != nil {
			return ""
		}
		return tkc.Status.Phase
	}
}

// vmNames lists the names of the VMs in ns.
func vmNames(ns string) func() []string {
	return func() []string {
		vms := &vmopv1.VirtualMachineList{}
		Expect(admin.List(ctx, vms, client.InNamespace(ns))).To(Succeed())
		var names []string
		for _, vm := range vms.Items {
			names = append(names, vm.Name)
		}
		return names
	}
}

// markReady does what the VM controller does once a VM runs in vSphere: power state on and an
// IP address. It returns how many VMs of ns it found.
func markReady(ns string) int {
	vms := &vmopv1.VirtualMachineList{}
	Expect(admin.List(ctx, vms, client.InNamespace(ns))).To(Succeed())
	for i := range vms.Items {
		vm := &vms.Items[i]
		if vm.Status.VmIp != "" {
			continue
		}
		base := vm.DeepCopy()
		vm.Status.PowerState = vmopv1.VirtualMachinePoweredOn
		vm.Status.VmIp = fmt.Sprintf("192.168.128.%d", i+1)
		err := admin.Status().Patch(ctx, vm, client.MergeFrom(base))
		if !apierrors.IsNotFound(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
	return len(vms.Items)
}

// runningWithReadyVMs makes every VM of ns ready until the cluster runs with want VMs.
func runningWithReadyVMs(ns, name string, want int) {
	Eventually(func() runv1.TanzuKubernetesClusterPhase {
		if markReady(ns) != want {
			return ""
		}
		return phase(ns, name)()
	}).WithTimeout(20 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(runv1.PhaseRunning))
}

// metav1IsControlledBy says whether owner is obj's controller.
func metav1IsControlledBy(obj, owner client.Object) bool { return metav1.IsControlledBy(obj, owner) }

// regexpQuote quotes s for a regular expression.
func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

// updateCluster applies change to the latest version of the cluster, retrying on conflicts with
// the controller's writes, and returns the cluster as admitted.
func updateCluster(ns, name string, change func(*runv1.TanzuKubernetesCluster)) *runv1.TanzuKubernetesCluster {
	var tkc *runv1.TanzuKubernetesCluster
	Eventually(func() error {
		tkc = cluster(ns, name)
		change(tkc)
		return admin.Update(ctx, tkc)
	}).Should(Succeed())
	return tkc
}
