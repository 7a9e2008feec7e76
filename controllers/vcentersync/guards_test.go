package vcentersync_test

import (
	"strings"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/controllers/vcentersync"
	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
	"github.com/vm-service/vm-service/test/objects"
)

const (
	classKeptLog     = "keeping VirtualMachineClass assigned nowhere in vCenter while VirtualMachines use it"
	namespaceKeptLog = "not deleting mirrored Namespace"
)

// capturedLogger logs at V(1) into a buffer the spec can read.
func capturedLogger() (logr.Logger, *lockedBuffer) {
	logs := &lockedBuffer{}
	return funcr.New(func(prefix, args string) { logs.writeLine(prefix + " " + args) }, funcr.Options{Verbosity: 1}), logs
}

// create makes obj for the spec and deletes it when the spec ends, if the spec has not.
func create(obj client.Object) {
	GinkgoHelper()
	Expect(k8s.Create(ctx, obj)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, obj))).To(Succeed()) })
}

func isTerminating(name string) bool {
	ns, err := getNamespace(name)
	Expect(err).NotTo(HaveOccurred())
	return ns.DeletionTimestamp != nil
}

// warningsOn returns the messages of the Warning events recorded on Namespace name.
func warningsOn(name string) []string {
	var events corev1.EventList
	Expect(k8s.List(ctx, &events)).To(Succeed())
	var out []string
	for _, e := range events.Items {
		if e.Type == corev1.EventTypeWarning && e.Reason == vcentersync.ReasonNamespaceInUse &&
			e.InvolvedObject.Kind == "Namespace" && e.InvolvedObject.Name == name {
			out = append(out, e.Message)
		}
	}
	return out
}

var _ = Describe("The vCenter sync, when deleting would destroy workloads", func() {
	It("keeps a class assigned nowhere while a VirtualMachine uses it, without failing the sync, and deletes it once unused", func() {
		vc := startVCenter()
		nsName := uniqueName("class-in-use")
		vc.createNamespace(nsName, "best-effort-small", "guaranteed-small")
		logger, logs := capturedLogger()
		syncer := runSyncer(namespaces.StaticConnection(vc.connection()), logger)
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"best-effort-small", "guaranteed-small"}))
		vm := objects.VM(nsName, "web-0", "best-effort-small", "photon")
		create(vm)
		failures := syncer.Status().Failures

		vc.assign(nsName, "guaranteed-small") // best-effort-small is now assigned nowhere
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"guaranteed-small"}))
		waitForSyncs(syncer, 3)
		Expect(keys(classes())).To(Equal([]string{"best-effort-small", "guaranteed-small"}), "web-0 still uses best-effort-small")
		Expect(syncer.Status().LastError).NotTo(HaveOccurred())
		Expect(syncer.Status().Failures).To(Equal(failures), "a class in use is an expected state, not a failed sync")
		Expect(strings.Count(logs.String(), classKeptLog)).To(Equal(1), "logged once, not at every interval")
		Expect(logs.String()).To(ContainSubstring(`"class"="best-effort-small" "virtualMachines"=1`))

		Expect(k8s.Delete(ctx, vm)).To(Succeed())
		Eventually(func() []string { return keys(classes()) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"guaranteed-small"}))
		Expect(syncer.Status().Failures).To(Equal(failures))
	})

	It("treats a refused class delete as expected, not as a failed sync", func() {
		vc := startVCenter()
		nsName := uniqueName("class-refused")
		vc.createNamespace(nsName, "best-effort-small")
		syncer := runSyncer(namespaces.StaticConnection(vc.connection()))
		Eventually(func() []string { return keys(bindings(nsName)) }).WithTimeout(waitTimeout).
			Should(Equal([]string{"best-effort-small"}))
		failures := syncer.Status().Failures

		// The class webhook refuses because of a VirtualMachine the Syncer's cache has not seen yet.
		var refused atomic.Int64
		syncer.interceptDeletes(func(obj client.Object) error {
			if _, ok := obj.(*vmopv1.VirtualMachineClass); !ok {
				return nil
			}
			refused.Add(1)
			return apierrors.NewForbidden(schema.GroupResource{Group: vmopv1.GroupVersion.Group, Resource: "virtualmachineclasses"},
				obj.GetName(), apierrors.NewBadRequest("1 VirtualMachine(s) use it"))
		})
		vc.assign(nsName)
		Eventually(refused.Load).WithTimeout(waitTimeout).Should(BeNumerically(">=", 1))
		waitForSyncs(syncer, 2)
		Expect(syncer.Status().LastError).NotTo(HaveOccurred())
		Expect(syncer.Status().Failures).To(Equal(failures))
		Expect(keys(classes())).To(Equal([]string{"best-effort-small"}))

		syncer.interceptDeletes(nil)
		Eventually(classes).WithTimeout(waitTimeout).Should(BeEmpty())
	})

	It("keeps mirrored Namespaces that hold workloads when vCenter answers with no namespaces, and deletes them once empty", func() {
		vc := startVCenter()
		withVM, withCluster, empty := uniqueName("holds-vm"), uniqueName("holds-tkc"), uniqueName("empty")
		for _, ns := range []string{withVM, withCluster, empty} {
			vc.createNamespace(ns, "best-effort-small")
		}
		logger, logs := capturedLogger()
		syncer := runSyncer(namespaces.StaticConnection(vc.connection()), logger)
		Eventually(func() []string { return keys(bindings(empty)) }).WithTimeout(waitTimeout).Should(HaveLen(1))
		vm := objects.VM(withVM, "web-0", "best-effort-small", "photon")
		create(vm)
		cluster := objects.Cluster(withCluster, "tkc-1", "best-effort-small", "best-effort-small")
		create(cluster)

		// What vCenter says to a wrong URL or a user without the privilege: a successful, empty list.
		for _, ns := range []string{withVM, withCluster, empty} {
			vc.deleteNamespace(ns)
		}
		Eventually(isTerminating).WithArguments(empty).WithTimeout(waitTimeout).Should(BeTrue())
		waitForSyncs(syncer, 3)
		Expect(isTerminating(withVM)).To(BeFalse(), "deleting it would destroy web-0 in vSphere")
		Expect(isTerminating(withCluster)).To(BeFalse(), "deleting it would destroy tkc-1's VMs in vSphere")
		Expect(syncer.Status().LastError).NotTo(HaveOccurred())

		By("saying why, once, in the log and as a Warning event on each Namespace")
		Expect(strings.Count(logs.String(), namespaceKeptLog)).To(Equal(2))
		Expect(logs.String()).To(ContainSubstring(`"namespace"="` + withVM + `" "virtualMachines"=1 "tanzuKubernetesClusters"=0`))
		Expect(logs.String()).To(ContainSubstring(`"namespace"="` + withCluster + `" "virtualMachines"=0 "tanzuKubernetesClusters"=1`))
		Eventually(warningsOn).WithArguments(withVM).WithTimeout(waitTimeout).
			Should(ConsistOf(ContainSubstring("holds 1 VirtualMachine(s) and 0 TanzuKubernetesCluster(s)")))
		Eventually(warningsOn).WithArguments(withCluster).WithTimeout(waitTimeout).
			Should(ConsistOf(ContainSubstring("holds 0 VirtualMachine(s) and 1 TanzuKubernetesCluster(s)")))

		By("deleting each once its workloads are gone")
		Expect(k8s.Delete(ctx, vm)).To(Succeed())
		Eventually(isTerminating).WithArguments(withVM).WithTimeout(waitTimeout).Should(BeTrue())
		Expect(isTerminating(withCluster)).To(BeFalse())
		Expect(k8s.Delete(ctx, cluster)).To(Succeed())
		Eventually(isTerminating).WithArguments(withCluster).WithTimeout(waitTimeout).Should(BeTrue())
	})
})
