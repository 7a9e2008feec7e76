package tkr

import (
	"sort"
	"strings"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// Condition types. The type strings are what `kubectl get tkr` and `kubectl get tkc` columns
// select on (see the printcolumn markers in api/run/v1alpha1), so they must not change.
const (
	// TanzuKubernetesReleaseCompatibleCondition is True on a release clusters can use; it is
	// False when the release's version cannot be parsed, since then it can be neither resolved
	// nor ordered.
	TanzuKubernetesReleaseCompatibleCondition vmopv1.ConditionType = "Compatible"

	// TanzuKubernetesReleaseUpdatesAvailableCondition is True on a release when newer releases
	// of the same Kubernetes minor exist; its message lists them, newest first.
	TanzuKubernetesReleaseUpdatesAvailableCondition vmopv1.ConditionType = "UpdatesAvailable"

	// TanzuKubernetesClusterReleaseCompatibleCondition is True on a cluster whose release
	// resolves (spec.distribution.fullVersion, or its version hint when fullVersion is empty)
	// to an existing, usable release.
	TanzuKubernetesClusterReleaseCompatibleCondition vmopv1.ConditionType = "TanzuKubernetesReleaseCompatible"

	// TanzuKubernetesClusterUpdatesAvailableCondition is True on a cluster when its release has
	// updates (see TanzuKubernetesReleaseUpdatesAvailableCondition).
	TanzuKubernetesClusterUpdatesAvailableCondition vmopv1.ConditionType = "UpdatesAvailable"
)

// Condition reasons.
const (
	// NoUpdatesReason is the reason of a False UpdatesAvailable condition: the release is the
	// newest build of its Kubernetes minor.
	NoUpdatesReason = "NoUpdates"

	// InvalidVersionReason is the reason of a False Compatible condition on a release whose
	// spec.version is not a release version; the message says what is wrong with it.
	InvalidVersionReason = "InvalidVersion"

	// TanzuKubernetesReleaseNotFoundReason is the reason of a False
	// TanzuKubernetesReleaseCompatible condition on a cluster whose fullVersion names no
	// release, for instance because the release was deleted after the cluster was admitted.
	TanzuKubernetesReleaseNotFoundReason = "TanzuKubernetesReleaseNotFound"
)

// Updates lists the versions of the releases that update release: newer builds (a newer patch,
// or a newer vmware.N or tkg.M) of the same Kubernetes MAJOR.MINOR, newest first. Moving to
// another minor is an upgrade, not an update, so it is never listed. A release whose version
// does not parse has no updates.
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
		if err != nil || !v.SameMinor(cur) || v.Compare(cur) <= 0 || seen[v.canonical] {
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
		return conditions.False(TanzuKubernetesReleaseUpdatesAvailableCondition, NoUpdatesReason, vmopv1.ConditionSeverityNone, "")
	}
	c := conditions.True(TanzuKubernetesReleaseUpdatesAvailableCondition)
	c.Message = "[" + strings.Join(updates, " ") + "]"
	return c
}

// ReleaseCompatible is the Compatible condition of a release: True, or False with reason
// InvalidVersion (severity Warning: existing clusters keep running, new ones cannot pick it)
// when its version does not parse.
func ReleaseCompatible(release *runv1.TanzuKubernetesRelease) vmopv1.Condition {
	if _, err := Parse(VersionOf(release)); err != nil {
		return conditions.False(TanzuKubernetesReleaseCompatibleCondition, InvalidVersionReason,
			vmopv1.ConditionSeverityWarning, "%v", err)
	}
	return conditions.True(TanzuKubernetesReleaseCompatibleCondition)
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
		return conditions.True(TanzuKubernetesClusterReleaseCompatibleCondition)
	}
	msg := "spec.distribution.fullVersion is empty"
	if err := CheckFullVersion("", fullVersion, releases); err != nil {
		msg = err.Error()
	}
	return conditions.False(TanzuKubernetesClusterReleaseCompatibleCondition, TanzuKubernetesReleaseNotFoundReason,
		vmopv1.ConditionSeverityWarning, "%s", msg)
}

// ClusterUpdatesAvailable is the UpdatesAvailable condition of a cluster running fullVersion:
// its release's updates. A cluster whose release is missing reports no updates; its
// TanzuKubernetesReleaseCompatible condition carries that problem.
func ClusterUpdatesAvailable(fullVersion string, releases []runv1.TanzuKubernetesRelease) vmopv1.Condition {
	c := UpdatesAvailable(Updates(find(fullVersion, releases), releases))
	c.Type = TanzuKubernetesClusterUpdatesAvailableCondition
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
