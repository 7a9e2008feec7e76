package tanzukubernetesrelease

import (
	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/tkr"
)

// setStatus sets the release's two conditions from the set of all releases, in the order
// `kubectl describe` should print them. Transition times move only when a status changes.
func setStatus(release *runv1.TanzuKubernetesRelease, all []runv1.TanzuKubernetesRelease) {
	conds := &release.Status.Conditions
	conditions.Set(conds, tkr.ReleaseCompatible(release))
	conditions.Set(conds, tkr.ReleaseUpdatesAvailable(release, all))
}
