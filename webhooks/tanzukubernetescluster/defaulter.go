package tanzukubernetescluster

import (
	"context"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/tkr"
)

// +kubebuilder:webhook:path=/mutate-run-tanzu-vmware-com-v1alpha1-tanzukubernetescluster,mutating=true,failurePolicy=fail,sideEffects=None,groups=run.tanzu.vmware.com,resources=tanzukubernetesclusters,verbs=create;update,versions=v1alpha1,name=mtanzukubernetescluster.run.tanzu.vmware.com,admissionReviewVersions=v1

// Defaulter resolves a cluster's version hint (spec.distribution.version, such as v1.20.2) to the
// full release version (spec.distribution.fullVersion, such as v1.20.2+vmware.1-tkg.2.3e10706),
// so the cluster is pinned to one release from admission on: a release published later never
// changes an existing cluster behind its owner's back.
type Defaulter struct {
	// Readers are the manager's cache, where the TanzuKubernetesReleases are read, and the
	// apiserver, read again when the cache resolves nothing.
	Readers confirm.Readers
}

var _ admission.Defaulter[*runv1.TanzuKubernetesCluster] = &Defaulter{}

// Default fills spec.distribution.fullVersion. On create it is resolved from the hint when
// empty. On update it is resolved again only when the hint changed and fullVersion was left as
// it was (the user asked for another version without naming the build); when fullVersion is
// dropped but the hint is unchanged (kubectl replace of the original manifest), the previous
// release is kept rather than silently upgrading. A hint that resolves to nothing is left for
// the validator, which denies it with the versions that exist.
func (d *Defaulter) Default(ctx context.Context, tkc *runv1.TanzuKubernetesCluster) error {
	dist := &tkc.Spec.Distribution
	old, err := oldCluster(ctx)
	if err != nil {
		return err
	}
	if old != nil {
		was := old.Spec.Distribution
		switch {
		case dist.Version == was.Version && dist.FullVersion == "":
			dist.FullVersion = was.FullVersion
			return nil
		case dist.Version != was.Version && dist.FullVersion == was.FullVersion:
			dist.FullVersion = ""
		}
	}
	if dist.FullVersion != "" || dist.Version == "" {
		return nil
	}
	release, err := confirm.Refusal(ctx, d.Readers, func(r client.Reader) (*runv1.TanzuKubernetesRelease, bool, error) {
		releases := &runv1.TanzuKubernetesReleaseList{}
		if err := r.List(ctx, releases); err != nil {
			return nil, false, err
		}
		release, err := tkr.Resolve(dist.Version, releases.Items)
		if err != nil {
			return nil, true, nil
		}
		return release, false, nil
	})
	if err != nil {
		return enforcement.Unavailable("read TanzuKubernetesReleases", err)
	}
	if release == nil {
		// The validator reports it, together with every other problem of the object.
		return nil
	}
	dist.FullVersion = tkr.VersionOf(release)
	ctrl.LoggerFrom(ctx).V(1).Info("resolved cluster version", "namespace", tkc.Namespace, "name", tkc.Name,
		"version", dist.Version, "fullVersion", dist.FullVersion)
	return nil
}

// oldCluster is the object an update replaces, or nil on create: the typed defaulter interface
// passes only the new object, and the old one says whether the hint changed.
func oldCluster(ctx context.Context) (*runv1.TanzuKubernetesCluster, error) {
	req, err := admission.RequestFromContext(ctx)
	if err != nil || req.Operation != admissionv1.Update || len(req.OldObject.Raw) == 0 {
		return nil, nil //nolint:nilerr // outside an update there is no old object to compare with
	}
	old := &runv1.TanzuKubernetesCluster{}
	if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("decode the cluster being updated: %v", err))
	}
	return old, nil
}
