package v1alpha1

import vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"

// Conditions and reasons of the run.tanzu.vmware.com kinds. Each constant's name is its value with
// Condition or Reason after it. The type strings are what `kubectl describe` shows and what the
// printer columns select on, so they must not change.

// TanzuKubernetesCluster conditions.
const (
	// ControlPlaneReadyCondition is True when every control plane node is healthy. When any
	// machine of the cluster is blocked (class missing or not bound, image or release missing) it
	// is False with severity Error; its reason names the first blocked control plane machine as
	// "Reason @ Machine/<name>" and its message lists every blocked machine.
	ControlPlaneReadyCondition vmopv1.ConditionType = "ControlPlaneReady"
	// NodesHealthyCondition counts the healthy nodes of each pool against the spec:
	// "0/3 Control Plane Node(s) healthy. 0/5 Worker Node(s) healthy".
	NodesHealthyCondition vmopv1.ConditionType = "NodesHealthy"
	// ReadyCondition summarises the others: True when the cluster runs with every node healthy;
	// otherwise the most important reason it does not.
	ReadyCondition vmopv1.ConditionType = "Ready"
	// TanzuKubernetesReleaseCompatibleCondition is True on a cluster whose release resolves
	// (spec.distribution.fullVersion, or its version hint when fullVersion is empty) to an
	// existing, usable release.
	TanzuKubernetesReleaseCompatibleCondition vmopv1.ConditionType = "TanzuKubernetesReleaseCompatible"
	// MachinesSpecUpToDateCondition is True when every machine was made from its pool's current
	// spec (class, storage class, release). During a rolling update it is False with reason
	// RollingUpdateInProgress and a message counting updated/total machines per pool; when the
	// rollout cannot go on, its reason and message say what is missing (Warning: the outdated
	// machines keep running).
	MachinesSpecUpToDateCondition vmopv1.ConditionType = "MachinesSpecUpToDate"
	// MachinePrereqsReadyCondition is False, severity Warning, while a running machine's VM has
	// lost a prerequisite it was made with (its class's binding revoked, its class, image or
	// storage class gone): the machine keeps running, but a replacement or a new machine would
	// wait. The reason is the VM's, "@ Machine/<name>"; the condition is absent otherwise.
	MachinePrereqsReadyCondition vmopv1.ConditionType = "MachinePrereqsReady"
	// PausedCondition is True, with reason Paused, while the cluster carries the
	// cluster.x-k8s.io/paused annotation; it is absent otherwise.
	PausedCondition vmopv1.ConditionType = "Paused"
)

// TanzuKubernetesRelease conditions; UpdatesAvailable is also a cluster's, about its release.
const (
	// CompatibleCondition is True on a release clusters can use; it is False when the release's
	// version cannot be parsed, since then it can be neither resolved nor ordered.
	CompatibleCondition vmopv1.ConditionType = "Compatible"
	// UpdatesAvailableCondition is True when releases the cluster (or release) may move to next
	// exist: newer builds of its Kubernetes minor and builds of the next minor; its message lists
	// them, newest first.
	UpdatesAvailableCondition vmopv1.ConditionType = "UpdatesAvailable"
)

// Reasons.
const (
	// WaitingForNodesHealthyReason (NodesHealthy False): nodes are still being made or booted; no
	// action is needed.
	WaitingForNodesHealthyReason = "WaitingForNodesHealthy"
	// WaitingForControlPlaneNodesHealthyReason (ControlPlaneReady False): control plane nodes are
	// still being made or booted and nothing blocks them.
	WaitingForControlPlaneNodesHealthyReason = "WaitingForControlPlaneNodesHealthy"
	// DeletingReason (Ready False): the cluster's VMs are being deleted.
	DeletingReason = "Deleting"
	// MachineNameTakenReason blocks a machine whose name a VirtualMachine the cluster does not
	// control already has: the cluster cannot make that machine, and must not adopt or delete
	// someone else's VM, until a person deletes or recreates it under another name.
	MachineNameTakenReason = "MachineNameTaken"

	// RollingUpdateInProgressReason (MachinesSpecUpToDate False): outdated machines are being
	// replaced one at a time, control plane first; no action is needed.
	RollingUpdateInProgressReason = "RollingUpdateInProgress"
	// PausedReason (Paused True): the cluster carries the cluster.x-k8s.io/paused annotation, so
	// its machines are neither created, replaced nor deleted until it is removed.
	PausedReason = "Paused"

	// NoUpdatesReason (UpdatesAvailable False): no newer build of the release's minor and no build
	// of the next minor exists.
	NoUpdatesReason = "NoUpdates"
	// InvalidVersionReason (Compatible False): the release's spec.version is not a release
	// version; the message says what is wrong with it.
	InvalidVersionReason = "InvalidVersion"
	// TanzuKubernetesReleaseNotFoundReason (TanzuKubernetesReleaseCompatible False): the cluster's
	// fullVersion names no release, for instance because it was deleted after admission.
	TanzuKubernetesReleaseNotFoundReason = "TanzuKubernetesReleaseNotFound"
)
