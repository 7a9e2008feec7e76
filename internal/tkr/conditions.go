package tkr

import (
	"sort"
	"strings"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// Updates lists the versions of the releases that release may move to next, newest first: newer
// builds (a newer patch, or a newer vmware.N or tkg.M) of the same Kubernetes MAJOR.MINOR, and
// every build of the next minor. Skipping a minor is not allowed (Kubernetes supports upgrading
// one minor at a time), so later minors are never listed. A release whose version does not parse
// has no updates.
func Updates(release *runv1.TanzuKubernetesRelease, releases []runv1.TanzuKubernetesRelease) []string {
	if release == nil {
		return nil
	}
	cur, err := Parse(VersionOf(release))
	if err != nil {
		return nil
	}
	var newer []Version
	seen := map[string]bool{}
	for i := range releases {
		v, err := Parse(VersionOf(&releases[i]))
		if err != nil || !IsUpgrade(cur, v) || seen[v.canonical] {
			continue
		}
		seen[v.canonical] = true
		newer = append(newer, v)
	}
	sort.Slice(newer, func(i, j int) bool { return newer[i].Newer(newer[j]) })
	out := make([]string, len(newer))
	for i, v := range newer {
		out[i] = v.canonical
	}
	return out
}

// UpdatesAvailable is the UpdatesAvailable condition for the given updates (as Updates returns
// them): True with the message "[v1.20.7+vmware.1-tkg.1.7fb9067 ...]", the form the
// UPDATES AVAILABLE column shows, or False with reason NoUpdates and no message. A False
// UpdatesAvailable is the normal state, so it carries no severity (as in the walkthrough).
func UpdatesAvailable(updates []string) vmopv1.Condition {
	if len(updates) == 0 {
		return conditions.False(runv1.UpdatesAvailableCondition, runv1.NoUpdatesReason, vmopv1.ConditionSeverityNone, "")
	}
	c := conditions.True(runv1.UpdatesAvailableCondition)
	c.Message = "[" + strings.Join(updates, " ") + "]"
	return c
}

// ReleaseCompatible is the Compatible condition of a release: True, or False with reason
// InvalidVersion (severity Warning: existing clusters keep running, new ones cannot pick it)
// when its version does not parse.
func ReleaseCompatible(release *runv1.TanzuKubernetesRelease) vmopv1.Condition {
	if _, err := Parse(VersionOf(release)); err != nil {
		return conditions.False(runv1.CompatibleCondition, runv1.InvalidVersionReason,
			vmopv1.ConditionSeverityWarning, "%v", err)
	}
	return conditions.True(runv1.CompatibleCondition)
}

// ReleaseUpdatesAvailable is the UpdatesAvailable condition of a release among releases.
func ReleaseUpdatesAvailable(release *runv1.TanzuKubernetesRelease, releases []runv1.TanzuKubernetesRelease) vmopv1.Condition {
	return UpdatesAvailable(Updates(release, releases))
}

// ClusterReleaseCompatible is the TanzuKubernetesReleaseCompatible condition of a cluster whose
// resolved release is fullVersion: True when that release exists (leading "v" optional), else
// False with reason TanzuKubernetesReleaseNotFound and severity Warning, since the cluster's
// existing nodes keep running but it cannot be scaled or repaired from a release that is gone.
func ClusterReleaseCompatible(fullVersion string, releases []runv1.TanzuKubernetesRelease) vmopv1.Condition {
	if find(fullVersion, releases) != nil {
		return conditions.True(runv1.TanzuKubernetesReleaseCompatibleCondition)
	}
	msg := "spec.distribution.fullVersion is empty"
	if err := CheckFullVersion("", fullVersion, releases); err != nil {
		msg = err.Error()
	}
	return conditions.False(runv1.TanzuKubernetesReleaseCompatibleCondition, runv1.TanzuKubernetesReleaseNotFoundReason,
		vmopv1.ConditionSeverityWarning, "%s", msg)
}

// ClusterUpdatesAvailable is the UpdatesAvailable condition of a cluster running fullVersion:
// its release's updates. A cluster whose release is missing reports no updates; its
// TanzuKubernetesReleaseCompatible condition carries that problem.
func ClusterUpdatesAvailable(fullVersion string, releases []runv1.TanzuKubernetesRelease) vmopv1.Condition {
	c := UpdatesAvailable(Updates(find(fullVersion, releases), releases))
	c.Type = runv1.UpdatesAvailableCondition
	return c
}

// find returns the release whose version is exactly fullVersion (leading "v" optional), or nil.
func find(fullVersion string, releases []runv1.TanzuKubernetesRelease) *runv1.TanzuKubernetesRelease {
	want, err := Parse(fullVersion)
	if err != nil {
		return nil
	}
	for i := range releases {
		if v, err := Parse(VersionOf(&releases[i])); err == nil && v.canonical == want.canonical {
			return &releases[i]
		}
	}
	return nil
}
