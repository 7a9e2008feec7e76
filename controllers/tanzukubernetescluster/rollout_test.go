package tanzukubernetescluster_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	tkcctrl "github.com/vm-service/vm-service/controllers/tanzukubernetescluster"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/test/objects"
)

const (
	release20 = "v1.20.2---vmware.1-tkg.2.3e10706"
	release21 = "v1.21.6---vmware.1-tkg.1.b3d708a"
	image20   = "ob-17805141-photon-3-k8s-v1.20.2---vmware.1-tkg.2.3e10706"
	image21   = "ob-18880455-photon-3-k8s-v1.21.6---vmware.1-tkg.1.b3d708a"
)

// observedVM is what the rollout observer keeps of each VM.
type observedVM struct {
	pool, class, image string
	ready, deleting    bool
}

// rolloutObserver samples a namespace's VMs at every watch event and reports each moment a pool
// that had count ready machines had fewer, or had more than count+1 VMs, and the first moment a
// worker of image workersAfter existed while a control plane VM of another image did.
type rolloutObserver struct {
	stop func() []string
}

func observeRollout(ns string, counts map[string]int, workersAfter string) rolloutObserver {
	vms := map[types.UID]observedVM{}
	armed := map[string]bool{}
	return rolloutObserver{stop: env.ObserveEvents(&vmopv1.VirtualMachineList{}, ns, func(t watch.EventType, obj client.Object) string {
		vm := obj.(*vmopv1.VirtualMachine)
		if t == watch.Deleted {
			delete(vms, vm.UID)
		} else {
			vms[vm.UID] = observedVM{pool: vm.Labels[runv1.PoolLabel], class: vm.Spec.ClassName, image: vm.Spec.ImageName,
				ready:    vm.Status.PowerState == vmopv1.VirtualMachinePoweredOn && vm.Status.VmIp != "",
				deleting: !vm.DeletionTimestamp.IsZero()}
		}
		var findings []string
		for pool, count := range counts {
			ready, total := 0, 0
			for _, o := range vms {
				if o.pool != pool {
					continue
				}
				total++
				if o.ready && !o.deleting {
					ready++
				}
			}
			armed[pool] = armed[pool] || ready >= count
			if armed[pool] && ready < count {
				findings = append(findings, fmt.Sprintf("%s: %d ready of %d", pool, ready, count))
			}
			if total > count+1 {
				findings = append(findings, fmt.Sprintf("%s: %d VMs, more than %d+1", pool, total, count))
			}
		}
		if workersAfter != "" {
			for _, w := range vms {
				if w.pool != string(tkcctrl.WorkersPool) || w.image != workersAfter {
					continue
				}
				for _, cp := range vms {
					if cp.pool == string(tkcctrl.ControlPlanePool) && cp.image != workersAfter && !cp.deleting {
						findings = append(findings, "a worker of the new release exists while a control plane machine runs the old one")
					}
				}
			}
		}
		return strings.Join(findings, "; ")
	})}
}

// clusterVMs lists the cluster's VMs in ns.
func clusterVMs(ns string) []vmopv1.VirtualMachine {
	vms := &vmopv1.VirtualMachineList{}
	Expect(admin.List(ctx, vms, client.InNamespace(ns))).To(Succeed())
	return vms.Items
}

// rolledOut marks every VM ready, as the VM controller would, until the cluster runs with want
// VMs that all have the given class and image.
func rolledOut(ns, name string, want int, class, image string) {
	Eventually(func(g Gomega) {
		markReady(ns)
		vms := clusterVMs(ns)
		g.Expect(vms).To(HaveLen(want))
		for _, vm := range vms {
			if class != "" && vm.Labels[runv1.PoolLabel] == string(tkcctrl.WorkersPool) {
				g.Expect(vm.Spec.ClassName).To(Equal(class))
			}
			g.Expect(vm.Spec.ImageName).To(Equal(image))
		}
		g.Expect(phase(ns, name)()).To(Equal(runv1.PhaseRunning))
	}).WithTimeout(60 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
}

// condition reads one of the cluster's conditions.
func condition(ns, name string, t vmopv1.ConditionType) func() *vmopv1.Condition {
	return func() *vmopv1.Condition {
		return conditions.Get(cluster(ns, name).Status.Conditions, t)
	}
}

// events lists the reasons and messages of the events about the cluster.
func events(ns, name string) func() []string {
	return func() []string {
		list := &corev1.EventList{}
		Expect(admin.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		var out []string
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name {
				out = append(out, e.Reason+": "+e.Message)
			}
		}
		return out
	}
}

// newRunningCluster makes a bound 1+2 cluster on v1.20.2 and waits until it runs.
func newRunningCluster(ns, name string) *runv1.TanzuKubernetesCluster {
	bind(ns, "guaranteed-medium", "best-effort-medium")
	tkc := objects.Cluster(ns, name, "guaranteed-medium", "best-effort-medium")
	tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = 1, 2
	createCluster(tkc)
	runningWithReadyVMs(ns, name, 3)
	return cluster(ns, name)
}

var _ = Describe("Rolling updates", func() {
	It("replace the workers one at a time when their class changes, never below count ready", func() {
		ns := newNamespace()
		tkc := newRunningCluster(ns, "roll")
		Expect(tkc.Labels).To(HaveKeyWithValue(runv1.ReleaseLabel, release20))
		before := map[string]bool{}
		for _, vm := range clusterVMs(ns) {
			before[vm.Name] = true
			Expect(vm.Annotations).To(HaveKey(runv1.MachineSpecAnnotation))
		}
		bind(ns, "guaranteed-large")
		obs := observeRollout(ns, map[string]int{"control-plane": 1, "workers": 2}, "")

		updateCluster(ns, "roll", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.Workers.Class = "guaranteed-large" })
		Eventually(condition(ns, "roll", runv1.MachinesSpecUpToDateCondition)).Should(And(
			HaveField("Reason", runv1.RollingUpdateInProgressReason),
			HaveField("Message", MatchRegexp(`control plane 1/1 updated, workers [01]/2 updated`))))
		Expect(phase(ns, "roll")()).To(Equal(runv1.PhaseUpdating))
		rolledOut(ns, "roll", 3, "guaranteed-large", image20)

		Expect(obs.stop()).To(BeEmpty())
		kept := 0
		for _, vm := range clusterVMs(ns) {
			if vm.Labels[runv1.PoolLabel] == "control-plane" {
				Expect(before).To(HaveKey(vm.Name), "the control plane's spec did not change")
				kept++
			}
		}
		Expect(kept).To(Equal(1))
		Expect(condition(ns, "roll", runv1.MachinesSpecUpToDateCondition)()).To(HaveField("Status", corev1.ConditionTrue))
		Eventually(events(ns, "roll")).Should(ContainElements(
			HavePrefix(tkcctrl.MachineReplacedReason+": machine roll-workers-"),
			HavePrefix(tkcctrl.MachineReplacedReason+": machine roll-workers-"),
			ContainSubstring("cluster changes from running phase to updating phase"),
			ContainSubstring("cluster changes from updating phase to running phase"),
		))
	})

	It("keep every old machine while the new class is not bound, and go on by themselves once it is", func() {
		ns := newNamespace()
		newRunningCluster(ns, "blocked")
		before := vmNames(ns)()
		obs := observeRollout(ns, map[string]int{"control-plane": 1, "workers": 2}, "")

		By("changing the workers' class to one not bound here (admitted with a warning in Warn mode)")
		updateCluster(ns, "blocked", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.Workers.Class = "guaranteed-large" })
		Eventually(condition(ns, "blocked", runv1.MachinesSpecUpToDateCondition)).Should(And(
			HaveField("Reason", HavePrefix("VirtualMachineClassBindingNotFound @ Machine/blocked-workers-")),
			HaveField("Severity", vmopv1.ConditionSeverityWarning),
			HaveField("Message", ContainSubstring(`VirtualMachineClass "guaranteed-large" is not bound in namespace "%s"`, ns)),
			HaveField("Message", ContainSubstring("the outdated machines keep running"))))
		Expect(phase(ns, "blocked")()).To(Equal(runv1.PhaseFailed))
		Expect(vmNames(ns)()).To(ConsistOf(before), "no old machine is deleted")

		By("binding the class: the rollout goes on with no edit")
		bind(ns, "guaranteed-large")
		rolledOut(ns, "blocked", 3, "guaranteed-large", image20)
		Expect(obs.stop()).To(BeEmpty())
	})

	It("stop while the cluster is paused and resume when the annotation goes", func() {
		ns := newNamespace()
		newRunningCluster(ns, "paused")
		before := vmNames(ns)()
		bind(ns, "guaranteed-large")
		tkc := updateCluster(ns, "paused", func(c *runv1.TanzuKubernetesCluster) {
			c.Annotations = map[string]string{runv1.PausedAnnotation: "true"}
			c.Spec.Topology.Workers.Class = "guaranteed-large"
		})
		Eventually(func() int64 { return cluster(ns, "paused").Status.ObservedGeneration }).Should(Equal(tkc.Generation))
		Eventually(condition(ns, "paused", runv1.PausedCondition)).Should(And(
			HaveField("Status", corev1.ConditionTrue), HaveField("Reason", runv1.PausedReason)))
		Expect(condition(ns, "paused", runv1.MachinesSpecUpToDateCondition)()).To(HaveField("Message", HaveSuffix("(paused)")))
		Expect(vmNames(ns)()).To(ConsistOf(before), "a paused cluster's machines are left alone")

		updateCluster(ns, "paused", func(c *runv1.TanzuKubernetesCluster) { delete(c.Annotations, runv1.PausedAnnotation) })
		rolledOut(ns, "paused", 3, "guaranteed-large", image20)
		Expect(condition(ns, "paused", runv1.PausedCondition)()).To(BeNil())
	})
})

// tryUpdate applies change to the latest cluster and returns the answer, retrying only conflicts
// with the controller's own writes; for updates that are expected to be refused.
func tryUpdate(ns, name string, change func(*runv1.TanzuKubernetesCluster)) error {
	var err error
	Eventually(func() bool {
		c := cluster(ns, name)
		change(c)
		err = admin.Update(ctx, c)
		return apierrors.IsConflict(err)
	}).Should(BeFalse())
	return err
}

var _ = Describe("Upgrades", func() {
	It("roll the control plane first, then the workers, to the next minor, and move the version and tkr label", func() {
		ns := newNamespace()
		tkc := newRunningCluster(ns, "up")
		Expect(tkc.Status.Version).To(Equal("v1.20.2"))
		Expect(conditions.Get(tkc.Status.Conditions, runv1.UpdatesAvailableCondition)).To(And(
			HaveField("Status", corev1.ConditionTrue), HaveField("Message", HavePrefix("[v1.21.6+vmware.1-tkg.1.b3d708a")),
			HaveField("Message", Not(ContainSubstring("v1.19")))))
		obs := observeRollout(ns, map[string]int{"control-plane": 1, "workers": 2}, image21)

		up := updateCluster(ns, "up", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Distribution.Version = "v1.21.6" })
		Expect(up.Spec.Distribution.FullVersion).To(Equal("v1.21.6+vmware.1-tkg.1.b3d708a"), "the defaulter resolves the new hint")
		Eventually(func() map[string]string { return cluster(ns, "up").Labels }).Should(HaveKeyWithValue(runv1.ReleaseLabel, release21))
		Expect(cluster(ns, "up").Status.Version).To(Equal("v1.20.2"), "the version moves once every machine runs the new one")
		rolledOut(ns, "up", 3, "", image21)
		Expect(obs.stop()).To(BeEmpty())

		tkc = cluster(ns, "up")
		Expect(tkc.Status.Version).To(Equal("v1.21.6"))
		Expect(conditions.Get(tkc.Status.Conditions, runv1.UpdatesAvailableCondition)).To(HaveField("Message", Not(ContainSubstring("v1.21.6"))))
	})

	It("are refused when they go back, skip a minor, or name no release, naming the allowed targets", func() {
		ns := newNamespace()
		bind(ns, "guaranteed-medium", "best-effort-medium")
		tkc := objects.Cluster(ns, "refused", "guaranteed-medium", "best-effort-medium")
		createCluster(tkc)
		update := func(change func(*runv1.TanzuKubernetesCluster)) error { return tryUpdate(ns, "refused", change) }
		err := update(func(c *runv1.TanzuKubernetesCluster) { c.Spec.Distribution.Version = "v1.19.7" })
		Expect(err).To(MatchError(And(
			ContainSubstring("spec.distribution.version"),
			ContainSubstring("cannot move the cluster from v1.20.2+vmware.1-tkg.2.3e10706 to v1.19.7+vmware.1-tkg.1.fc82c41: a downgrade is not supported"),
			MatchRegexp(`versions it may move to \(newest first\): v1.21.6\+vmware.1-tkg.1.b3d708a`))))
		err = update(func(c *runv1.TanzuKubernetesCluster) { c.Spec.Distribution.Version = "v1.23" })
		Expect(err).To(MatchError(ContainSubstring(`no TanzuKubernetesRelease matches version "v1.23"`)))
		err = update(func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.ControlPlane.Count = 2 })
		Expect(err).To(MatchError(ContainSubstring("spec.topology.controlPlane.count: Invalid value: 2: must be 1 or 3")))

		By("a cluster on v1.19.7 may not skip v1.20")
		old := objects.Cluster(ns, "old", "guaranteed-medium", "best-effort-medium")
		old.Spec.Distribution.Version = "v1.19.7"
		createCluster(old)
		Expect(tryUpdate(ns, "old", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Distribution.Version = "v1.21.6" })).To(MatchError(And(
			ContainSubstring("a cluster moves one Kubernetes minor at a time, from v1.19 to a newer v1.19 build or to v1.20"),
			MatchRegexp(`versions it may move to \(newest first\): [^;]*v1.20.2\+vmware.1-tkg.2.3e10706`),
			Not(MatchRegexp(`may move to .*v1.(19|21)`)))))
	})

	It("re-target a running rollout when the class and the version change together", func() {
		ns := newNamespace()
		newRunningCluster(ns, "retarget")
		bind(ns, "guaranteed-large")
		updateCluster(ns, "retarget", func(c *runv1.TanzuKubernetesCluster) { c.Spec.Topology.Workers.Class = "guaranteed-large" })
		Eventually(condition(ns, "retarget", runv1.MachinesSpecUpToDateCondition)).Should(HaveField("Reason", runv1.RollingUpdateInProgressReason))
		updateCluster(ns, "retarget", func(c *runv1.TanzuKubernetesCluster) {
			c.Spec.Topology.Workers.Class = "best-effort-medium"
			c.Spec.Distribution.Version = "v1.21.6"
		})
		rolledOut(ns, "retarget", 3, "best-effort-medium", image21)
		Expect(cluster(ns, "retarget").Status.Version).To(Equal("v1.21.6"))
	})
})
