package tkr

import (
	"errors"
	"fmt"
	"strings"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
)

// ErrNotAnUpgrade means a cluster's release would change to one it may not move to: an older
// build, or a minor other than its own or the next.
var ErrNotAnUpgrade = errors.New("not an allowed upgrade")

// IsUpgrade says whether a cluster on from may move to to: a newer build of the same minor, or
// any build of the next minor of the same major. Equal versions are no move at all.
func IsUpgrade(from, to Version) bool {
	if from.major != to.major {
		return false
	}
	switch to.minor {
	case from.minor:
		return to.Compare(from) > 0
	case from.minor + 1:
		return true
	}
	return false
}

// UpgradeError explains why a cluster may not move from one release to another, naming the
// releases it may move to, so a webhook can return it as is.
type UpgradeError struct {
	From, To string
	// Allowed are the versions the cluster may move to, newest first (Updates).
	Allowed []string
}

func (e *UpgradeError) Error() string {
	why := "a downgrade is not supported"
	if f, err := Parse(e.From); err == nil {
		if t, err := Parse(e.To); err == nil && t.Compare(f) > 0 {
			why = fmt.Sprintf("a cluster moves one Kubernetes minor at a time, from v%d.%d to a newer v%d.%d build or to v%d.%d",
				f.major, f.minor, f.major, f.minor, f.major, f.minor+1)
		}
	}
	msg := fmt.Sprintf("cannot move the cluster from %s to %s: %s", e.From, e.To, why)
	if len(e.Allowed) == 0 {
		return msg + "; no release it may move to is available, so keep " + e.From
	}
	return msg + "; versions it may move to (newest first): " + strings.Join(e.Allowed, ", ")
}

// Unwrap lets callers match ErrNotAnUpgrade.
func (e *UpgradeError) Unwrap() error { return ErrNotAnUpgrade }

// CheckUpgrade checks a change of a cluster's release from fullVersion from to fullVersion to:
// nil when they are the same build or to is an upgrade (IsUpgrade), else an *UpgradeError listing
// the versions the cluster may move to among releases. A from that does not parse (a cluster
// whose release was never resolved) may move anywhere: there is nothing to upgrade from.
func CheckUpgrade(from, to string, releases []runv1.TanzuKubernetesRelease) error {
	f, err := Parse(from)
	if err != nil {
		return nil //nolint:nilerr // an unresolved cluster has no version to protect
	}
	t, err := Parse(to)
	if err != nil || t.canonical == f.canonical || IsUpgrade(f, t) {
		return nil // a malformed target is CheckFullVersion's to report
	}
	allowed := Updates(&runv1.TanzuKubernetesRelease{Spec: runv1.TanzuKubernetesReleaseSpec{Version: f.canonical}}, releases)
	return &UpgradeError{From: f.canonical, To: t.canonical, Allowed: allowed}
}
