package tanzukubernetescluster

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

var (
	notBound  = &Blocker{Reason: "VirtualMachineClassBindingNotFound", Message: `VirtualMachineClass "guaranteed-medium" is not bound in namespace "ns"`}
	notBoundW = &Blocker{Reason: "VirtualMachineClassBindingNotFound", Message: `VirtualMachineClass "best-effort-medium" is not bound in namespace "ns"`}
	noImage   = &Blocker{Reason: "VirtualMachineImageNotFound", Message: `VirtualMachineImage "photon" not found`}
)

// machines builds cp control plane and w worker machines; ready and blocked say which are healthy
// or blocked, by name.
func machines(cp, w int, state func(m *MachineState)) []MachineState {
	var out []MachineState
	for i := 0; i < cp; i++ {
		out = append(out, MachineState{Name: "cp-" + string(rune('a'+i)), Pool: ControlPlanePool})
	}
	for i := 0; i < w; i++ {
		out = append(out, MachineState{Name: "w-" + string(rune('a'+i)), Pool: WorkersPool})
	}
	for i := range out {
		state(&out[i])
	}
	return out
}

func allBlocked(m *MachineState) {
	if m.Pool == ControlPlanePool {
		m.Blocked = notBound
	} else {
		m.Blocked = notBoundW
	}
}
func allHealthy(m *MachineState) { m.Exists, m.Healthy = true, true }
func allPending(m *MachineState) { m.Exists = true }

var _ = Describe("cluster phase", func() {
	DescribeTable("follows the machines",
		func(in statusInput, want runv1.TanzuKubernetesClusterPhase) {
			Expect(clusterPhase(in)).To(Equal(want))
		},
		Entry("nothing made yet", statusInput{Machines: machines(3, 5, func(*MachineState) {})}, runv1.PhaseCreating),
		Entry("a blocked machine fails the cluster", statusInput{Machines: machines(3, 5, allBlocked)}, runv1.PhaseFailed),
		Entry("only a worker blocked still fails", statusInput{Machines: machines(1, 2, func(m *MachineState) {
			if m.Name == "w-b" {
				m.Blocked = notBoundW
			} else {
				allHealthy(m)
			}
		}), HasRun: true}, runv1.PhaseFailed),
		Entry("every node healthy", statusInput{Machines: machines(3, 5, allHealthy)}, runv1.PhaseRunning),
		Entry("VMs pending on the first rollout", statusInput{Machines: machines(3, 5, allPending)}, runv1.PhaseCreating),
		Entry("VMs pending after having run", statusInput{Machines: machines(3, 5, allPending), HasRun: true}, runv1.PhaseUpdating),
		Entry("scale down still removing VMs", statusInput{Machines: machines(1, 1, allHealthy), Surplus: 2, HasRun: true}, runv1.PhaseUpdating),
		Entry("deleting wins", statusInput{Machines: machines(3, 5, allBlocked), Deleting: true}, runv1.PhaseDeleting),
	)
})

// count counts the machines of pool.
func count(machines []MachineState, pool Pool) int {
	n := 0
	for _, m := range machines {
		if m.Pool == pool {
			n++
		}
	}
	return n
}

var _ = Describe("MachinePrereqsReady", func() {
	It("warns about running machines whose VMs lost a prerequisite, in the blocked machines' form, and keeps the cluster running", func() {
		ms := machines(1, 2, func(m *MachineState) {
			allHealthy(m)
			if m.Pool == WorkersPool {
				m.Warning = &Blocker{Reason: vmopv1.VirtualMachineClassBindingNotFoundReason, Message: `VirtualMachineClass "best-effort-medium" is not bound in namespace "ns"`}
			}
		})
		out := computeStatus(statusInput{ControlPlaneCount: 1, WorkerCount: 2, Machines: ms})
		Expect(out.Phase).To(Equal(runv1.PhaseRunning))
		c := conditions.Get(out.Conditions, runv1.MachinePrereqsReadyCondition)
		Expect(c).NotTo(BeNil())
		Expect([]any{c.Status, c.Severity, c.Reason}).To(Equal([]any{corev1.ConditionFalse, vmopv1.ConditionSeverityWarning, "VirtualMachineClassBindingNotFound @ Machine/w-a"}))
		Expect(strings.Split(c.Message, "\n")).To(Equal([]string{
			"Running machines keep running; a replacement or a new machine would wait:",
			`Machines w-a, w-b: VirtualMachineClassBindingNotFound: VirtualMachineClass "best-effort-medium" is not bound in namespace "ns"`,
		}))
		Expect(conditions.IsTrue(out.Conditions, runv1.ReadyCondition)).To(BeTrue())

		By("absent while every running machine could be made again")
		healthyOnly := computeStatus(statusInput{ControlPlaneCount: 1, WorkerCount: 2, Machines: machines(1, 2, allHealthy)})
		Expect(conditions.Get(healthyOnly.Conditions, runv1.MachinePrereqsReadyCondition)).To(BeNil())
	})
})

var _ = Describe("ControlPlaneReady", func() {
	It("names the first blocked control plane machine and lists every blocked machine (walkthrough step 5)", func() {
		c := controlPlaneReadyCondition(machines(3, 5, allBlocked), 3)
		Expect(c.Status).To(Equal(corev1.ConditionFalse))
		Expect(c.Severity).To(Equal(vmopv1.ConditionSeverityError))
		Expect(c.Reason).To(Equal("VirtualMachineClassBindingNotFound @ Machine/cp-a"))
		Expect(strings.Split(c.Message, "\n")).To(Equal([]string{
			`Machines cp-a, cp-b, cp-c: VirtualMachineClassBindingNotFound: VirtualMachineClass "guaranteed-medium" is not bound in namespace "ns"`,
			`Machines w-a, w-b, w-c and 2 more: VirtualMachineClassBindingNotFound: VirtualMachineClass "best-effort-medium" is not bound in namespace "ns"`,
		}))
	})

	DescribeTable("otherwise reports the control plane",
		func(ms []MachineState, status corev1.ConditionStatus, severity vmopv1.ConditionSeverity, reason, message string) {
			c := controlPlaneReadyCondition(ms, count(ms, ControlPlanePool))
			Expect(c.Status).To(Equal(status))
			Expect(c.Severity).To(Equal(severity))
			Expect(c.Reason).To(Equal(reason))
			Expect(c.Message).To(Equal(message))
		},
		Entry("healthy", machines(3, 2, allHealthy), corev1.ConditionTrue, vmopv1.ConditionSeverityNone, "", ""),
		Entry("booting", machines(3, 2, allPending), corev1.ConditionFalse, vmopv1.ConditionSeverityInfo,
			"WaitingForControlPlaneNodesHealthy", "0/3 Control Plane Node(s) healthy"),
		Entry("a blocked worker names the worker when no control plane machine is blocked", machines(1, 1, func(m *MachineState) {
			if m.Pool == WorkersPool {
				m.Blocked = noImage
			}
		}), corev1.ConditionFalse, vmopv1.ConditionSeverityError, "VirtualMachineImageNotFound @ Machine/w-a",
			`Machine w-a: VirtualMachineImageNotFound: VirtualMachineImage "photon" not found`),
	)
})

var _ = Describe("NodesHealthy", func() {
	DescribeTable("counts healthy nodes against the spec",
		func(cp, w int, ms []MachineState, status corev1.ConditionStatus, message string) {
			c := nodesHealthyCondition(cp, w, ms)
			Expect(c.Status).To(Equal(status))
			Expect(c.Message).To(Equal(message))
			if status == corev1.ConditionFalse {
				Expect(c.Reason).To(Equal("WaitingForNodesHealthy"))
				Expect(c.Severity).To(Equal(vmopv1.ConditionSeverityInfo))
			}
		},
		Entry("walkthrough step 5", 3, 5, machines(3, 5, allBlocked), corev1.ConditionFalse,
			"0/3 Control Plane Node(s) healthy. 0/5 Worker Node(s) healthy"),
		Entry("half way", 3, 5, machines(3, 5, func(m *MachineState) {
			if m.Name == "cp-a" || m.Name == "w-a" || m.Name == "w-b" {
				allHealthy(m)
			}
		}), corev1.ConditionFalse, "1/3 Control Plane Node(s) healthy. 2/5 Worker Node(s) healthy"),
		Entry("all healthy", 3, 5, machines(3, 5, allHealthy), corev1.ConditionTrue, ""),
		Entry("no workers asked for", 1, 0, machines(1, 0, allHealthy), corev1.ConditionTrue, ""),
	)
})

var _ = Describe("Ready", func() {
	compatible := conditions.True(runv1.TanzuKubernetesReleaseCompatibleCondition)
	DescribeTable("summarises the most important problem",
		func(in statusInput, status corev1.ConditionStatus, reason string) {
			if in.ReleaseCompatible.Type == "" {
				in.ReleaseCompatible = compatible
			}
			c := readyCondition(in)
			Expect(c.Status).To(Equal(status))
			Expect(c.Reason).To(Equal(reason))
		},
		Entry("running", statusInput{ControlPlaneCount: 1, WorkerCount: 1, Machines: machines(1, 1, allHealthy)}, corev1.ConditionTrue, ""),
		Entry("blocked", statusInput{ControlPlaneCount: 3, WorkerCount: 5, Machines: machines(3, 5, allBlocked)}, corev1.ConditionFalse,
			"VirtualMachineClassBindingNotFound @ Machine/cp-a"),
		Entry("release gone", statusInput{ControlPlaneCount: 1, Machines: machines(1, 0, allHealthy),
			ReleaseCompatible: conditions.False(runv1.TanzuKubernetesReleaseCompatibleCondition, "TanzuKubernetesReleaseNotFound", vmopv1.ConditionSeverityWarning, "gone")},
			corev1.ConditionFalse, "TanzuKubernetesReleaseNotFound"),
		Entry("booting", statusInput{ControlPlaneCount: 1, WorkerCount: 1, Machines: machines(1, 1, allPending)}, corev1.ConditionFalse, "WaitingForNodesHealthy"),
		Entry("scaling down", statusInput{ControlPlaneCount: 1, Machines: machines(1, 0, allHealthy), Surplus: 1}, corev1.ConditionFalse, "WaitingForNodesHealthy"),
		Entry("deleting", statusInput{Deleting: true, Remaining: 2}, corev1.ConditionFalse, "Deleting"),
	)
})

var _ = Describe("applyStatus", func() {
	It("writes conditions in the walkthrough's order, node and VM status, and the version once running", func() {
		tkc := &runv1.TanzuKubernetesCluster{}
		tkc.Status.Conditions = vmopv1.Conditions{conditions.True("SomethingElse"), conditions.True(runv1.ReadyCondition)}
		in := statusInput{
			ControlPlaneCount: 3, WorkerCount: 5, Machines: machines(3, 5, allBlocked),
			ReleaseCompatible: conditions.True(runv1.TanzuKubernetesReleaseCompatibleCondition),
			UpdatesAvailable:  conditions.False(runv1.UpdatesAvailableCondition, runv1.NoUpdatesReason, "", ""),
		}
		applyStatus(tkc, computeStatus(in), "v1.20.2")
		var types []vmopv1.ConditionType
		for _, c := range tkc.Status.Conditions {
			types = append(types, c.Type)
			if c.Type != "SomethingElse" {
				Expect(c.LastTransitionTime.IsZero()).To(BeFalse())
			}
		}
		Expect(types).To(Equal([]vmopv1.ConditionType{"ControlPlaneReady", "NodesHealthy", "TanzuKubernetesReleaseCompatible", "UpdatesAvailable", "MachinesSpecUpToDate", "Ready", "SomethingElse"}))
		Expect(tkc.Status.Phase).To(Equal(runv1.PhaseFailed))
		Expect(tkc.Status.NodeStatus).To(HaveLen(8))
		Expect(tkc.Status.VMStatus).To(HaveKeyWithValue("cp-a", runv1.NodeStatePending))
		Expect(tkc.Status.Version).To(BeEmpty(), "a cluster that never ran runs no version")

		in.Machines = machines(3, 5, allHealthy)
		applyStatus(tkc, computeStatus(in), "v1.20.2")
		Expect(tkc.Status.Phase).To(Equal(runv1.PhaseRunning))
		Expect(tkc.Status.VMStatus).To(HaveKeyWithValue("w-e", runv1.NodeStateReady))
		Expect(tkc.Status.Version).To(Equal("v1.20.2"))
	})
})
