package tanzukubernetescluster_test

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	tkcctrl "github.com/vm-service/vm-service/controllers/tanzukubernetescluster"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

const (
	walkthroughCluster = "tkg-cluster-1-20-2"
	fullVersion        = "v1.20.2+vmware.1-tkg.2.3e10706"
)

// oneLine folds white space so output can be matched whatever kubectl's wrapping.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var _ = Describe("The walkthrough's cluster (steps 5 and 6)", func() {
	It("fails naming the unbound classes, then recovers by itself once they are bound", func() {
		ns := newNamespace()
		bind(ns, "guaranteed-large") // step 4: the one class bound in cormac-new-ns

		By("applying the walkthrough's manifest, admitted with warnings in Warn mode")
		manifest, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "run_v1alpha1_tanzukubernetescluster.yaml"))
		Expect(err).NotTo(HaveOccurred())
		_, stderr, err := env.KubectlApply(ctx, string(manifest), "-n", ns)
		Expect(err).NotTo(HaveOccurred())
		Expect(oneLine(stderr)).To(ContainSubstring(`VirtualMachineClass "guaranteed-medium" is not bound in namespace "%s"`, ns))

		By("resolving v1.20.2 to the full release at admission")
		Expect(cluster(ns, walkthroughCluster).Spec.Distribution.FullVersion).To(Equal(fullVersion))

		Eventually(phase(ns, walkthroughCluster)).Should(Equal(runv1.PhaseFailed))
		Expect(vmNames(ns)()).To(BeEmpty(), "no VM of an unbound class is made")

		By("kubectl get tkc")
		out, _, err := env.Kubectl(ctx, "get", "tanzukubernetescluster", "-n", ns)
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(lines).To(HaveLen(2))
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "CONTROL", "PLANE", "WORKER", "DISTRIBUTION", "AGE", "PHASE", "TKR", "COMPATIBLE", "UPDATES", "AVAILABLE"}))
		row := strings.Fields(lines[1])
		// The walkthrough's library had no newer release; this one has v1.21.6, the next minor.
		Expect(len(row)).To(BeNumerically(">=", 8), "UPDATES AVAILABLE lists the next minor: %q", lines[1])
		Expect(row[:5]).To(Equal([]string{walkthroughCluster, "3", "5", fullVersion, row[4]}))
		Expect(row[5:7]).To(Equal([]string{"failed", "True"}))
		// Other specs of the suite may add releases; v1.21.6 is always there.
		Expect(strings.Join(row[7:], " ")).To(HavePrefix("[v1.21.6+vmware.1-tkg.1.b3d708a"))

		By("kubectl describe tkc")
		cp := tkcctrl.MachineNames(walkthroughCluster, cluster(ns, walkthroughCluster).UID, tkcctrl.ControlPlanePool, 3)
		workers := tkcctrl.MachineNames(walkthroughCluster, cluster(ns, walkthroughCluster).UID, tkcctrl.WorkersPool, 5)
		var describe string
		Eventually(func() string {
			describe, _, _ = env.Kubectl(ctx, "describe", "tanzukubernetescluster", "-n", ns)
			return oneLine(describe)
		}).WithTimeout(10*time.Second).Should(ContainSubstring("PhaseChanged"), "events are sent asynchronously")
		GinkgoWriter.Println(describe)
		Expect(oneLine(describe)).To(And(
			ContainSubstring("Reason: VirtualMachineClassBindingNotFound @ Machine/%s Severity: Error Status: False Type: ControlPlaneReady", cp[0]),
			ContainSubstring(`Machines %s, %s, %s: VirtualMachineClassBindingNotFound: VirtualMachineClass "guaranteed-medium" is not bound in namespace "%s"`, cp[0], cp[1], cp[2], ns),
			ContainSubstring(`Machines %s, %s, %s and 2 more: VirtualMachineClassBindingNotFound: VirtualMachineClass "best-effort-medium" is not bound in namespace "%s"`, workers[0], workers[1], workers[2], ns),
			ContainSubstring("Message: 0/3 Control Plane Node(s) healthy. 0/5 Worker Node(s) healthy Reason: WaitingForNodesHealthy Severity: Info Status: False Type: NodesHealthy"),
			ContainSubstring("Status: True Type: TanzuKubernetesReleaseCompatible"),
			MatchRegexp(`Message: \[v1.21.6\+vmware.1-tkg.1.b3d708a[^]]*\] Status: True Type: UpdatesAvailable`),
			ContainSubstring("run.tanzu.vmware.com/tkr=v1.20.2---vmware.1-tkg.2.3e10706"),
			ContainSubstring("Node Status: %s-", walkthroughCluster),
			ContainSubstring("%s: pending", cp[0]),
			ContainSubstring("%s: pending", workers[4]),
			ContainSubstring("Phase: failed Vm Status:"),
			MatchRegexp(`Normal PhaseChanged .* cluster changes from creating phase to failed phase`),
		))
		Expect(strings.Index(describe, "ControlPlaneReady")).To(BeNumerically("<", strings.Index(describe, "NodesHealthy")))
		Expect(strings.Index(describe, "NodesHealthy")).To(BeNumerically("<", strings.Index(describe, "TanzuKubernetesReleaseCompatible")))

		By("binding the two missing classes (step 6): the cluster recovers with no edit")
		bound := time.Now()
		bind(ns, "guaranteed-medium", "best-effort-medium")
		Eventually(phase(ns, walkthroughCluster)).WithPolling(20 * time.Millisecond).Should(Equal(runv1.PhaseCreating))
		creating := time.Since(bound)
		Eventually(vmNames(ns)).Should(ConsistOf(append(append([]string{}, cp...), workers...)))
		runningWithReadyVMs(ns, walkthroughCluster, 8)
		running := time.Since(bound)
		By("binding to creating took " + creating.String() + ", binding to running " + running.String())
		GinkgoWriter.Printf("binding to creating: %v; binding to running (VM status written by the spec): %v\n", creating, running)

		tkc := cluster(ns, walkthroughCluster)
		Expect(tkc.Status.Version).To(Equal("v1.20.2"))
		Expect(tkc.Status.NodeStatus).To(HaveLen(8))
		Expect(tkc.Status.VMStatus).To(HaveEach(runv1.NodeStateReady))
		Expect(conditions.IsTrue(tkc.Status.Conditions, "Ready")).To(BeTrue())
		vm := &vmopv1.VirtualMachine{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: workers[0]}, vm)).To(Succeed())
		Expect(vm.Spec).To(And(
			HaveField("ClassName", "best-effort-medium"),
			HaveField("ImageName", "ob-17805141-photon-3-k8s-v1.20.2---vmware.1-tkg.2.3e10706"),
			HaveField("PowerState", vmopv1.VirtualMachinePoweredOn),
			HaveField("StorageClass", "vsan-default-storage-policy"),
		))
		Expect(vm.Labels).To(HaveKeyWithValue(runv1.PoolLabel, "workers"))
		Expect(metav1IsControlledBy(vm, tkc)).To(BeTrue())

		out, _, err = env.Kubectl(ctx, "get", "tkc", "-n", ns, "--no-headers")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(out)[5:7]).To(Equal([]string{"running", "True"}))
	})
})

var _ = Describe("Machines", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace()
		bind(ns, "guaranteed-medium", "best-effort-medium")
	})

	It("scales down by deleting the highest-index workers", func() {
		tkc := objects.Cluster(ns, "scaled", "guaranteed-medium", "best-effort-medium")
		createCluster(tkc)
		runningWithReadyVMs(ns, "scaled", 8)

		tkc = updateCluster(ns, "scaled", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.Workers.Count = 2 })
		cp := tkcctrl.MachineNames("scaled", tkc.UID, tkcctrl.ControlPlanePool, 3)
		workers := tkcctrl.MachineNames("scaled", tkc.UID, tkcctrl.WorkersPool, 2)
		Eventually(vmNames(ns)).Should(ConsistOf(append(cp, workers...)))
		// The cluster was running before the scale-down too, and passes through updating: wait for
		// a status that counts only the machines left and is running again, both at once.
		Eventually(func(g Gomega) {
			status := cluster(ns, "scaled").Status
			g.Expect(status.NodeStatus).To(HaveLen(5), "node status lists only the machines left")
			g.Expect(status.Phase).To(Equal(runv1.PhaseRunning))
		}).Should(Succeed())
	})

	It("fails with the VM controller's reason when it holds a VM back, and recovers when it lets go", func() {
		tkc := objects.Cluster(ns, "imageless", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 1
		createCluster(tkc)
		Eventually(vmNames(ns)).Should(HaveLen(2))
		cp := tkcctrl.MachineNames("imageless", cluster(ns, "imageless").UID, tkcctrl.ControlPlanePool, 1)[0]

		vm := &vmopv1.VirtualMachine{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: cp}, vm)).To(Succeed())
		base := vm.DeepCopy()
		conditions.Set(&vm.Status.Conditions, conditions.False("VirtualMachinePrereqReady", "VirtualMachineImageNotFound",
			vmopv1.ConditionSeverityError, "VirtualMachineImage %q not found", vm.Spec.ImageName))
		Expect(admin.Status().Patch(ctx, vm, client.MergeFrom(base))).To(Succeed())

		Eventually(phase(ns, "imageless")).Should(Equal(runv1.PhaseFailed))
		c := conditions.Get(cluster(ns, "imageless").Status.Conditions, "ControlPlaneReady")
		Expect(c.Reason).To(Equal("VirtualMachineImageNotFound @ Machine/" + cp))
		Expect(c.Message).To(ContainSubstring(`Machine %s: VirtualMachineImageNotFound: VirtualMachineImage "%s" not found`, cp, vm.Spec.ImageName))

		runningWithReadyVMs(ns, "imageless", 2)
	})

	It("deletes every VM and waits until they are gone before letting the cluster go", func() {
		tkc := objects.Cluster(ns, "doomed", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 2
		createCluster(tkc)
		runningWithReadyVMs(ns, "doomed", 3)

		By("holding one VM with a finalizer, as the VM controller does while it deletes the vSphere VM")
		held := &vmopv1.VirtualMachine{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: vmNames(ns)()[0]}, held)).To(Succeed())
		base := held.DeepCopy()
		controllerutil.AddFinalizer(held, "test.vmoperator.vmware.com/hold")
		Expect(admin.Patch(ctx, held, client.MergeFrom(base))).To(Succeed())

		Expect(admin.Delete(ctx, cluster(ns, "doomed"))).To(Succeed())
		Eventually(vmNames(ns)).Should(ConsistOf(held.Name))
		Eventually(phase(ns, "doomed")).Should(Equal(runv1.PhaseDeleting))
		Consistently(phase(ns, "doomed")).WithTimeout(time.Second).Should(Equal(runv1.PhaseDeleting))

		base = held.DeepCopy()
		controllerutil.RemoveFinalizer(held, "test.vmoperator.vmware.com/hold")
		Expect(admin.Patch(ctx, held, client.MergeFrom(base))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(tkc), &runv1.TanzuKubernetesCluster{}))
		}).Should(BeTrue())
		Expect(vmNames(ns)()).To(BeEmpty())
	})
})

// The suite runs in Warn mode, where a scale-out after revocation is admitted with a warning and
// the controller is the one that stops it; in Deny mode admission refuses it (see
// test/integration/admission).
var _ = Describe("Revocation", func() {
	It("warns on scale-out after a binding is revoked, keeps the existing VMs, blocks the new ones, and recovers once it is back", func() {
		ns := newNamespace()
		bind(ns, "guaranteed-medium", "best-effort-medium")
		tkc := objects.Cluster(ns, "revoked", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 1
		createCluster(tkc)
		runningWithReadyVMs(ns, "revoked", 2)
		before := vmNames(ns)()

		By("revoking both bindings after admission")
		unbind(ns, "guaranteed-medium", "best-effort-medium")
		Consistently(vmNames(ns)).WithTimeout(time.Second).Should(ConsistOf(before), "revocation never destroys")
		Expect(phase(ns, "revoked")()).To(Equal(runv1.PhaseRunning))

		By("scaling out: admitted with a warning for each grown pool, since the mode is Warn")
		scaleOut := []string{"patch", "tkc", "revoked", "-n", ns, "--type=merge",
			"-p", `{"spec":{"topology":{"controlPlane":{"count":3},"workers":{"count":3}}}}`}
		// A server-side dry run waits, with no effect, for the webhook's cache to see the revocation.
		Eventually(func() string {
			_, stderr, _ := env.Kubectl(ctx, append(scaleOut, "--dry-run=server")...)
			return stderr
		}).Should(ContainSubstring("Warning:"))
		_, stderr, err := env.Kubectl(ctx, scaleOut...)
		Expect(err).NotTo(HaveOccurred())
		Expect(oneLine(stderr)).To(And(
			ContainSubstring(`Warning: spec.topology.controlPlane.class: Invalid value: "guaranteed-medium": VirtualMachineClass "guaranteed-medium" is not bound in namespace "%s"`, ns),
			ContainSubstring(`Warning: spec.topology.workers.class: Invalid value: "best-effort-medium": VirtualMachineClass "best-effort-medium" is not bound in namespace "%s"`, ns),
		))

		By("the controller blocking the new machines")
		Eventually(phase(ns, "revoked")).Should(Equal(runv1.PhaseFailed))
		Expect(vmNames(ns)()).To(ConsistOf(before))
		tkc = cluster(ns, "revoked")
		cp := tkcctrl.MachineNames("revoked", tkc.UID, tkcctrl.ControlPlanePool, 3)
		c := conditions.Get(tkc.Status.Conditions, "ControlPlaneReady")
		Expect(c).NotTo(BeNil())
		Expect(c.Reason).To(Equal("VirtualMachineClassBindingNotFound @ Machine/" + cp[1]))
		Expect(c.Severity).To(Equal(vmopv1.ConditionSeverityError))
		Expect(c.Message).To(ContainSubstring(`VirtualMachineClass "best-effort-medium" is not bound in namespace "%s"`, ns))
		Expect(conditions.Get(tkc.Status.Conditions, "NodesHealthy").Message).To(Equal("1/3 Control Plane Node(s) healthy. 1/3 Worker Node(s) healthy"))
		Expect(tkc.Status.NodeStatus).To(HaveKeyWithValue(cp[0], runv1.NodeStateReady))

		By("binding again: the cluster updates and runs by itself")
		bind(ns, "guaranteed-medium", "best-effort-medium")
		Eventually(phase(ns, "revoked")).Should(Equal(runv1.PhaseUpdating))
		runningWithReadyVMs(ns, "revoked", 6)
	})
})

var _ = Describe("A machine name taken by a VM the cluster does not control", func() {
	It("blocks that machine naming the VM, leaves the VM alone, and makes the machine once the VM is gone", func() {
		ns := newNamespace()
		tkc := objects.Cluster(ns, "squatted", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 1
		By("creating the cluster before its classes are bound, so its names are known before any VM is made")
		createCluster(tkc)
		Eventually(phase(ns, "squatted")).Should(Equal(runv1.PhaseFailed))
		name := tkcctrl.MachineNames("squatted", cluster(ns, "squatted").UID, tkcctrl.ControlPlanePool, 1)[0]
		squatter := objects.VM(ns, name, "guaranteed-medium", "someone-elses-image")
		Expect(admin.Create(ctx, squatter)).To(Succeed())

		By("binding the classes: the worker is made, the control plane machine is blocked")
		bind(ns, "guaranteed-medium", "best-effort-medium")
		Eventually(func() string {
			c := conditions.Get(cluster(ns, "squatted").Status.Conditions, "ControlPlaneReady")
			if c == nil {
				return ""
			}
			return c.Reason
		}).Should(Equal("MachineNameTaken @ Machine/" + name))
		tkc = cluster(ns, "squatted")
		Expect(tkc.Status.Phase).To(Equal(runv1.PhaseFailed))
		Expect(conditions.Get(tkc.Status.Conditions, "ControlPlaneReady").Message).To(And(
			ContainSubstring(`Machine %s: MachineNameTaken: VirtualMachine "%s" in namespace "%s" has this machine's name and was not created by this cluster (no controller)`, name, name, ns),
			ContainSubstring("delete it, or recreate it under another name"),
		))
		Expect(conditions.Get(tkc.Status.Conditions, "Ready").Reason).To(Equal("MachineNameTaken @ Machine/" + name))
		Expect(tkc.Status.NodeStatus).To(HaveKeyWithValue(name, runv1.NodeStatePending))
		Eventually(vmNames(ns)).Should(HaveLen(2))
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(squatter), squatter)).To(Succeed())
		Expect(squatter.OwnerReferences).To(BeEmpty(), "the cluster never adopts a VM it did not make")
		Expect(squatter.Spec.ImageName).To(Equal("someone-elses-image"))

		By("deleting the VM that took the name: the cluster makes its machine and runs")
		Expect(admin.Delete(ctx, squatter)).To(Succeed())
		Eventually(func() bool {
			vm := &vmopv1.VirtualMachine{}
			return admin.Get(ctx, client.ObjectKeyFromObject(squatter), vm) == nil && metav1IsControlledBy(vm, cluster(ns, "squatted"))
		}).Should(BeTrue())
		runningWithReadyVMs(ns, "squatted", 2)
	})
})

var _ = Describe("A VM under a machine's name with a controller reference to the cluster", func() {
	It("is not adopted without the cluster's name label, which only the cluster's controller writes", func() {
		ns := newNamespace()
		tkc := objects.Cluster(ns, "lured", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 0
		By("creating the cluster before its classes are bound, so its names are known before any VM is made")
		createCluster(tkc)
		Eventually(phase(ns, "lured")).Should(Equal(runv1.PhaseFailed))
		tkc = cluster(ns, "lured")
		name := tkcctrl.MachineNames("lured", tkc.UID, tkcctrl.ControlPlanePool, 1)[0]
		// Admission refuses this reference from a developer; an admin gets past it, and the
		// controller still does not take the VM for its own.
		lure := objects.VM(ns, name, "guaranteed-medium", "someone-elses-image")
		lure.OwnerReferences = []metav1.OwnerReference{{APIVersion: runv1.GroupVersion.String(), Kind: "TanzuKubernetesCluster",
			Name: tkc.Name, UID: tkc.UID, Controller: ptr.To(true)}}
		Expect(admin.Create(ctx, lure)).To(Succeed())

		bind(ns, "guaranteed-medium", "best-effort-medium")
		Eventually(func() string {
			c := conditions.Get(cluster(ns, "lured").Status.Conditions, "ControlPlaneReady")
			if c == nil {
				return ""
			}
			return c.Reason
		}).Should(Equal("MachineNameTaken @ Machine/" + name))
		Expect(conditions.Get(cluster(ns, "lured").Status.Conditions, "ControlPlaneReady").Message).To(ContainSubstring(
			`was not created by this cluster (controller TanzuKubernetesCluster/lured)`))
	})
})

var _ = Describe("Version resolution at admission", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace()
		bind(ns, "guaranteed-medium", "best-effort-medium")
	})

	It("denies an unknown hint, listing the versions that exist", func() {
		tkc := objects.Cluster(ns, "unknown", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Distribution.Version = "v1.22"
		err := admin.Create(ctx, tkc)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(And(
			ContainSubstring(`spec.distribution.version: Invalid value: "v1.22"`),
			// Other specs may add releases (the vcsim spec's image sync does); these three are
			// always there, listed newest first.
			MatchRegexp(`available versions \(newest first\): .*v1\.21\.6\+vmware\.1-tkg\.1\.b3d708a, .*v1\.20\.2\+vmware\.1-tkg\.2\.3e10706, .*v1\.19\.7\+vmware\.1-tkg\.1\.fc82c41`),
		))
	})

	It("denies a fullVersion that contradicts its hint, together with every other problem", func() {
		tkc := objects.Cluster(ns, "contradicting", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Distribution.FullVersion = "v1.19.7+vmware.1-tkg.1.fc82c41"
		tkc.Spec.Topology.ControlPlane.Count = 2
		err := admin.Create(ctx, tkc)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		var fields []string
		for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
			fields = append(fields, c.Field)
		}
		Expect(fields).To(ConsistOf("spec.topology.controlPlane.count", "spec.distribution.fullVersion"))
		Expect(err.Error()).To(ContainSubstring(`does not agree with version "v1.20.2"`))
	})

	It("resolves v1.20 to the newest v1.20.x, keeps it on unrelated updates, and reports updates on releases", func() {
		newer := objects.Release("v1.20.7+vmware.1-tkg.1.7fb9067", "v1.20.7", "ob-18237418-photon-3-k8s-v1.20.7---vmware.1-tkg.1.7fb9067")
		Expect(admin.Create(ctx, newer)).To(Succeed())
		DeferCleanup(func() { Expect(admin.Delete(ctx, newer)).To(Succeed()) })

		By("the release controller listing the newer patch and the next minor on the older release")
		Eventually(func() string {
			out, _, _ := env.Kubectl(ctx, "get", "tkr", runv1.ReleaseName(fullVersion), "--no-headers")
			return oneLine(out)
		}).Should(MatchRegexp(`^%s %s True \[v1.21.6\+vmware.1-tkg.1.b3d708a .*v1.20.7\+vmware.1-tkg.1.7fb9067\] `, runv1.ReleaseName(fullVersion), regexpQuote(fullVersion)))

		tkc := objects.Cluster(ns, "minor", "guaranteed-medium", "best-effort-medium")
		tkc.Spec.Distribution.Version = "v1.20"
		Expect(admin.Create(ctx, tkc)).To(Succeed())
		Expect(tkc.Spec.Distribution.FullVersion).To(Equal("v1.20.7+vmware.1-tkg.1.7fb9067"))

		By("keeping the pinned release when an update leaves it empty and the hint unchanged")
		tkc = updateCluster(ns, "minor", func(c *runv1.TanzuKubernetesCluster) {
			c.Spec.Distribution.FullVersion = ""
			c.Spec.Topology.Workers.Count = 1
		})
		Expect(tkc.Spec.Distribution.FullVersion).To(Equal("v1.20.7+vmware.1-tkg.1.7fb9067"))

		By("re-resolving when the hint changes (to a newer patch: going back is refused)")
		patch := objects.Cluster(ns, "patch", "guaranteed-medium", "best-effort-medium")
		Expect(admin.Create(ctx, patch)).To(Succeed())
		Expect(patch.Spec.Distribution.FullVersion).To(Equal(fullVersion))
		Eventually(func() *vmopv1.Condition {
			return conditions.Get(cluster(ns, "patch").Status.Conditions, "UpdatesAvailable")
		}).Should(And(Not(BeNil()), HaveField("Status", corev1.ConditionTrue), HaveField("Message", ContainSubstring("v1.20.7+vmware.1-tkg.1.7fb9067"))))
		tkc = updateCluster(ns, "patch", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Distribution.Version = "v1.20" })
		Expect(tkc.Spec.Distribution.FullVersion).To(Equal("v1.20.7+vmware.1-tkg.1.7fb9067"))
		Eventually(func() *vmopv1.Condition {
			return conditions.Get(cluster(ns, "patch").Status.Conditions, "UpdatesAvailable")
		}).Should(And(Not(BeNil()), HaveField("Status", corev1.ConditionTrue), HaveField("Message", HavePrefix("[v1.21.6+vmware.1-tkg.1.b3d708a"))))
	})
})
