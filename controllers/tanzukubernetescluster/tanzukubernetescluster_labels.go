package tanzukubernetescluster

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
)

// labelRelease labels the cluster with the release its spec resolves to, as TKG does, so
// `kubectl describe tkc` and label selectors show it; an upgrade moves the label with the spec.
// The label is the manager's (admission keeps run.tanzu.vmware.com/ keys for it). A cluster
// whose release is missing keeps the label it had.
func (r *Reconciler) labelRelease(_ context.Context, s *scope) (ctrl.Result, error) {
	if s.release == nil || s.cluster.Labels[runv1.ReleaseLabel] == s.release.Name {
		return ctrl.Result{}, nil
	}
	if s.cluster.Labels == nil {
		s.cluster.Labels = map[string]string{}
	}
	s.cluster.Labels[runv1.ReleaseLabel] = s.release.Name
	return ctrl.Result{}, nil
}
