package tanzukubernetescluster

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// vmBlockingReasons are the VirtualMachine controller's VirtualMachinePrereqReady reasons that
// stop a VM until someone acts (its class, binding, image or storage class is missing); a VM held back for one
// of them is a blocked machine.
var vmBlockingReasons = map[string]bool{
	vmopv1.VirtualMachineClassNotFoundReason:        true,
	vmopv1.VirtualMachineClassBindingNotFoundReason: true,
	vmopv1.VirtualMachineImageNotFoundReason:        true,
	vmopv1.StorageClassNotFoundReason:               true,
}

// conditionOrder is the order `kubectl describe tkc` prints the conditions in, as in the
// walkthrough, with the Ready summary last.
var conditionOrder = []vmopv1.ConditionType{
	runv1.ControlPlaneReadyCondition,
	runv1.NodesHealthyCondition,
	runv1.TanzuKubernetesReleaseCompatibleCondition,
	runv1.UpdatesAvailableCondition,
	runv1.MachinesSpecUpToDateCondition,
	runv1.MachinePrereqsReadyCondition,
	runv1.PausedCondition,
	runv1.ReadyCondition,
}

// machinesPerLine is how many machine names a line of an aggregated message lists before it
// says "and N more".
const machinesPerLine = 3

// Blocker is why a machine cannot be made or booted until someone acts.
type Blocker struct {
	// Reason is a CamelCase token such as VirtualMachineClassBindingNotFound.
	Reason string
	// Message says what is wrong and what to do, naming the class and namespace.
	Message string
}

// MachineState is what the status needs to know about one machine the spec asks for.
type MachineState struct {
	Name string
	Pool Pool
	// Exists says whether the machine's VirtualMachine exists.
	Exists bool
	// Healthy says whether its VM is powered on and has an IP address.
	Healthy bool
	// Blocked is why the machine is held back; nil when nothing blocks it.
	Blocked *Blocker
	// Warning is why a healthy machine could not be made again now (its VM lost a prerequisite
	// since it was made); nil when it could.
	Warning *Blocker
	// Outdated says the machine was made from an earlier spec of its pool and awaits replacement.
	Outdated bool
}

// statusInput is everything the cluster's status is computed from, as plain values, so the
// computation can be covered by table tests.
type statusInput struct {
	ControlPlaneCount int
	WorkerCount       int
	// Machines are the machines the spec asks for, control plane first, each pool in index order.
	Machines []MachineState
	// Surplus is the number of owned VMs beyond the spec, being removed by a scale down.
	Surplus int
	// Deleting says the cluster is being deleted; Remaining VMs are left to delete.
	Deleting  bool
	Remaining int
	// HasRun says the cluster has been running before, so a rollout now is an update.
	HasRun bool
	// ReleaseCompatible and UpdatesAvailable are the release conditions (see internal/tkr).
	ReleaseCompatible vmopv1.Condition
	UpdatesAvailable  vmopv1.Condition
	// Rollouts count, per pool, the machines made from its current spec (see planPool).
	Rollouts []poolRollout
	// Paused says the cluster carries the pause annotation.
	Paused bool
}

// clusterStatus is the computed part of a cluster's status.
type clusterStatus struct {
	Phase      runv1.TanzuKubernetesClusterPhase
	Conditions []vmopv1.Condition
	// Paused says whether the Paused condition is set (it is removed otherwise).
	Paused     bool
	NodeStatus map[string]runv1.NodeState
	VMStatus   map[string]runv1.NodeState
}

// computeStatus is the one place a cluster's status is decided.
func computeStatus(in statusInput) clusterStatus {
	out := clusterStatus{Phase: clusterPhase(in), Paused: in.Paused}
	if in.Paused {
		out.Conditions = append(out.Conditions, pausedCondition())
	}
	if in.Deleting {
		out.Conditions = append(out.Conditions, readyCondition(in))
		return out
	}
	out.Conditions = append(out.Conditions,
		controlPlaneReadyCondition(in.Machines, in.ControlPlaneCount),
		nodesHealthyCondition(in.ControlPlaneCount, in.WorkerCount, in.Machines),
		in.ReleaseCompatible,
		in.UpdatesAvailable,
		machinesSpecUpToDateCondition(in.Rollouts, in.Machines, in.Paused),
	)
	if c, ok := machinePrereqsCondition(in.Machines); ok {
		out.Conditions = append(out.Conditions, c)
	}
	out.Conditions = append(out.Conditions, readyCondition(in))
	out.NodeStatus, out.VMStatus = nodeStates(in.Machines)
	return out
}

// clusterPhase: deleting wins; any blocked machine fails the cluster; running needs every node
// healthy, no outdated machine and no scale down left; otherwise the cluster is creating on its
// first rollout and updating after it has run (a rolling update among them).
func clusterPhase(in statusInput) runv1.TanzuKubernetesClusterPhase {
	switch {
	case in.Deleting:
		return runv1.PhaseDeleting
	case len(blocked(in.Machines)) > 0:
		return runv1.PhaseFailed
	case healthy(in.Machines, "") == len(in.Machines) && in.Surplus == 0 && outdated(in.Machines) == 0:
		return runv1.PhaseRunning
	case in.HasRun:
		return runv1.PhaseUpdating
	}
	return runv1.PhaseCreating
}

// controlPlaneReadyCondition reports the blocked machines, when any, in the walkthrough's form;
// else whether want control plane nodes are healthy (a rollout's surge machine is extra).
func controlPlaneReadyCondition(machines []MachineState, want int) vmopv1.Condition {
	if b := blocked(machines); len(b) > 0 {
		first := b[0]
		if cp := blockedIn(machines, ControlPlanePool); len(cp) > 0 {
			first = cp[0]
		}
		return conditions.False(runv1.ControlPlaneReadyCondition, sourceReason(first),
			vmopv1.ConditionSeverityError, "%s", blockedMessage(b))
	}
	if ok := healthy(machines, ControlPlanePool); ok < want {
		return conditions.False(runv1.ControlPlaneReadyCondition,
			runv1.WaitingForControlPlaneNodesHealthyReason, vmopv1.ConditionSeverityInfo,
			"%d/%d Control Plane Node(s) healthy", ok, want)
	}
	return conditions.True(runv1.ControlPlaneReadyCondition)
}

// nodesHealthyCondition counts healthy nodes against the counts the spec asks for.
func nodesHealthyCondition(controlPlane, workers int, machines []MachineState) vmopv1.Condition {
	cp, w := healthy(machines, ControlPlanePool), healthy(machines, WorkersPool)
	if cp >= controlPlane && w >= workers {
		return conditions.True(runv1.NodesHealthyCondition)
	}
	return conditions.False(runv1.NodesHealthyCondition,
		runv1.WaitingForNodesHealthyReason, vmopv1.ConditionSeverityInfo,
		"%s", nodesMessage(controlPlane, workers, min(cp, controlPlane), min(w, workers)))
}

// readyCondition summarises: deletion, then blocked machines, then an unusable release, then
// nodes still coming up.
func readyCondition(in statusInput) vmopv1.Condition {
	if in.Deleting {
		return conditions.False(runv1.ReadyCondition, runv1.DeletingReason,
			vmopv1.ConditionSeverityInfo, "waiting for %d VirtualMachine(s) to be deleted", in.Remaining)
	}
	if b := blocked(in.Machines); len(b) > 0 {
		return conditions.False(runv1.ReadyCondition, sourceReason(b[0]),
			vmopv1.ConditionSeverityError, "%s", blockedMessage(b))
	}
	if rc := in.ReleaseCompatible; rc.Status == corev1.ConditionFalse {
		return conditions.False(runv1.ReadyCondition, rc.Reason, rc.Severity, "%s", rc.Message)
	}
	if n := outdated(in.Machines); n > 0 {
		return conditions.False(runv1.ReadyCondition, runv1.RollingUpdateInProgressReason,
			vmopv1.ConditionSeverityInfo, "%s", rolloutProgress(in.Rollouts))
	}
	cp, w := healthy(in.Machines, ControlPlanePool), healthy(in.Machines, WorkersPool)
	if cp < in.ControlPlaneCount || w < in.WorkerCount || in.Surplus > 0 {
		msg := nodesMessage(in.ControlPlaneCount, in.WorkerCount, min(cp, in.ControlPlaneCount), min(w, in.WorkerCount))
		if in.Surplus > 0 {
			msg += fmt.Sprintf(". Removing %d VirtualMachine(s) after a scale down", in.Surplus)
		}
		return conditions.False(runv1.ReadyCondition,
			runv1.WaitingForNodesHealthyReason, vmopv1.ConditionSeverityInfo, "%s", msg)
	}
	return conditions.True(runv1.ReadyCondition)
}

func nodesMessage(controlPlane, workers, cp, w int) string {
	return fmt.Sprintf("%d/%d Control Plane Node(s) healthy. %d/%d Worker Node(s) healthy", cp, controlPlane, w, workers)
}

// sourceReason is the aggregated reason naming the machine it comes from, as Cluster API writes it.
func sourceReason(m MachineState) string {
	return fmt.Sprintf("%s @ Machine/%s", m.Blocked.Reason, m.Name)
}

// blockedMessage lists every blocked machine, one line per distinct cause (which names the class
// and namespace), at most machinesPerLine names a line followed by "and N more".
func blockedMessage(machines []MachineState) string {
	type group struct {
		cause Blocker
		names []string
	}
	var groups []*group
	byCause := map[Blocker]*group{}
	for _, m := range machines {
		g, ok := byCause[*m.Blocked]
		if !ok {
			g = &group{cause: *m.Blocked}
			byCause[*m.Blocked] = g
			groups = append(groups, g)
		}
		g.names = append(g.names, m.Name)
	}
	lines := make([]string, 0, len(groups))
	for _, g := range groups {
		noun := "Machine"
		if len(g.names) > 1 {
			noun = "Machines"
		}
		shown := g.names
		more := ""
		if len(shown) > machinesPerLine {
			shown, more = shown[:machinesPerLine], fmt.Sprintf(" and %d more", len(g.names)-machinesPerLine)
		}
		lines = append(lines, fmt.Sprintf("%s %s%s: %s: %s", noun, strings.Join(shown, ", "), more, g.cause.Reason, g.cause.Message))
	}
	return strings.Join(lines, "\n")
}

// nodeStates is the nodeStatus and vmStatus maps: ready when healthy, pending until then. With no
// guest Kubernetes the node is as ready as its VM.
func nodeStates(machines []MachineState) (nodes, vms map[string]runv1.NodeState) {
	nodes = make(map[string]runv1.NodeState, len(machines))
	vms = make(map[string]runv1.NodeState, len(machines))
	for _, m := range machines {
		s := runv1.NodeStatePending
		if m.Healthy {
			s = runv1.NodeStateReady
		}
		nodes[m.Name], vms[m.Name] = s, s
	}
	return nodes, vms
}

// applyStatus writes computed status onto the cluster, keeping each condition's transition time
// while its status holds, and the walkthrough's condition order. status.version is the
// Kubernetes version the cluster runs, so it is set when the cluster is running.
func applyStatus(tkc *runv1.TanzuKubernetesCluster, s clusterStatus, kubernetesVersion string) {
	st := &tkc.Status
	st.Phase = s.Phase
	for _, c := range s.Conditions {
		conditions.Set(&st.Conditions, c)
	}
	rank := func(t vmopv1.ConditionType) int {
		for i, o := range conditionOrder {
			if o == t {
				return i
			}
		}
		return len(conditionOrder)
	}
	sort.SliceStable(st.Conditions, func(i, j int) bool { return rank(st.Conditions[i].Type) < rank(st.Conditions[j].Type) })
	if !s.Paused {
		conditions.Delete(&st.Conditions, runv1.PausedCondition)
	}
	if s.NodeStatus != nil {
		st.NodeStatus, st.VMStatus = s.NodeStatus, s.VMStatus
	}
	if s.Phase == runv1.PhaseRunning && kubernetesVersion != "" {
		st.Version = kubernetesVersion
	}
}

func blocked(machines []MachineState) []MachineState { return blockedIn(machines, "") }

// machinePrereqsCondition warns, in the blocked machines' form, about the running machines whose
// VMs lost a prerequisite; ok is false when none did.
func machinePrereqsCondition(machines []MachineState) (c vmopv1.Condition, ok bool) {
	var warned []MachineState
	for _, m := range machines {
		if m.Warning != nil {
			w := m
			w.Blocked = m.Warning
			warned = append(warned, w)
		}
	}
	if len(warned) == 0 {
		return c, false
	}
	return conditions.False(runv1.MachinePrereqsReadyCondition, sourceReason(warned[0]), vmopv1.ConditionSeverityWarning,
		"Running machines keep running; a replacement or a new machine would wait:\n%s", blockedMessage(warned)), true
}

// blockedIn lists the blocked machines of pool ("" for both), in order.
func blockedIn(machines []MachineState, pool Pool) []MachineState {
	var out []MachineState
	for _, m := range machines {
		if m.Blocked != nil && (pool == "" || m.Pool == pool) {
			out = append(out, m)
		}
	}
	return out
}

// healthy counts the healthy machines of pool ("" for both).
func healthy(machines []MachineState, pool Pool) int {
	n := 0
	for _, m := range machines {
		if m.Healthy && (pool == "" || m.Pool == pool) {
			n++
		}
	}
	return n
}

// outdated counts the machines made from an earlier spec of their pool.
func outdated(machines []MachineState) int {
	n := 0
	for _, m := range machines {
		if m.Outdated {
			n++
		}
	}
	return n
}
