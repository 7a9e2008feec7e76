package tanzukubernetescluster

import (
	"fmt"
	"strings"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// poolTitles are the pools as rollout messages name them.
var poolTitles = map[Pool]string{ControlPlanePool: "control plane", WorkersPool: "workers"}

// machinesSpecUpToDateCondition is True when no machine is outdated. During a rolling update it
// is False with reason RollingUpdateInProgress and the updated/total count of each pool; when the
// next machine cannot be made, its reason names that machine's blocker (as ControlPlaneReady
// does) with severity Warning, since the outdated machines keep running.
func machinesSpecUpToDateCondition(rollouts []poolRollout, machines []MachineState, paused bool) vmopv1.Condition {
	if outdated(machines) == 0 {
		return conditions.True(runv1.MachinesSpecUpToDateCondition)
	}
	msg := rolloutProgress(rollouts)
	if paused {
		msg += " (paused)"
	}
	for _, m := range machines {
		if m.Blocked != nil && !m.Exists {
			return conditions.False(runv1.MachinesSpecUpToDateCondition, sourceReason(m), vmopv1.ConditionSeverityWarning,
				"%s; blocked: machine %s cannot be made: %s: %s; the outdated machines keep running, and the update goes on by itself once this is fixed",
				msg, m.Name, m.Blocked.Reason, m.Blocked.Message)
		}
	}
	return conditions.False(runv1.MachinesSpecUpToDateCondition, runv1.RollingUpdateInProgressReason,
		vmopv1.ConditionSeverityInfo, "%s", msg)
}

// rolloutProgress counts the updated machines of each pool: "Rolling update: control plane 3/3
// updated, workers 1/5 updated".
func rolloutProgress(rollouts []poolRollout) string {
	parts := make([]string, 0, len(rollouts))
	for _, ro := range rollouts {
		parts = append(parts, fmt.Sprintf("%s %d/%d updated", poolTitles[ro.Pool], ro.Updated, ro.Count))
	}
	return "Rolling update: " + strings.Join(parts, ", ")
}
