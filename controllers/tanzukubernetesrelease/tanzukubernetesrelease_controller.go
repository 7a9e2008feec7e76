// Package tanzukubernetesrelease owns the status of TanzuKubernetesReleases: whether a release
// can be used (Compatible) and which newer builds of its Kubernetes minor exist
// (UpdatesAvailable). It does not create releases; the image sync does, one per content-library
// image whose product version is a release version.
package tanzukubernetesrelease

import (
	"context"
	"errors"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/internal/patch"
)

// +kubebuilder:rbac:groups=run.tanzu.vmware.com,resources=tanzukubernetesreleases,verbs=get;list;watch
// +kubebuilder:rbac:groups=run.tanzu.vmware.com,resources=tanzukubernetesreleases/status,verbs=get;update;patch

// Reconciler keeps each release's conditions true to the set of releases.
type Reconciler struct {
	Client client.Client
}

// SetupWithManager watches releases. A release's UpdatesAvailable depends on every other
// release, so a created, deleted or changed release re-queues all of them; there are tens of
// releases, not thousands, and status-only writes (generation unchanged) are ignored so the
// controller does not re-queue itself.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		return errors.New("tanzukubernetesrelease reconciler needs a client")
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&runv1.TanzuKubernetesRelease{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&runv1.TanzuKubernetesRelease{}, handler.EnqueueRequestsFromMapFunc(r.releaseToReleases),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("tanzukubernetesrelease").
		Complete(r)
}

// Reconcile sets Compatible and UpdatesAvailable on one release.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	release := &runv1.TanzuKubernetesRelease{}
	if err := r.Client.Get(ctx, req.NamespacedName, release); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	helper := patch.NewHelper(release, r.Client)
	defer func() { reterr = errors.Join(reterr, helper.Patch(ctx, release)) }()

	releases := &runv1.TanzuKubernetesReleaseList{}
	if err := r.Client.List(ctx, releases); err != nil {
		return ctrl.Result{}, fmt.Errorf("list TanzuKubernetesReleases: %w", err)
	}
	setStatus(release, releases.Items)
	return ctrl.Result{}, nil
}

// releaseToReleases re-queues every release other than the one that changed (For queues that one).
func (r *Reconciler) releaseToReleases(ctx context.Context, obj client.Object) []reconcile.Request {
	releases := &runv1.TanzuKubernetesReleaseList{}
	if err := r.Client.List(ctx, releases); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list TanzuKubernetesReleases to re-queue")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(releases.Items))
	for _, rel := range releases.Items {
		if rel.Name != obj.GetName() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: rel.Name}})
		}
	}
	return reqs
}
