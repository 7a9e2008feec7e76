// Package tanzukubernetescluster admits TanzuKubernetesClusters: both topology classes must exist
// and be bound in the cluster's namespace, the pools must have sane sizes and storage, and the
// version hint must resolve to a TanzuKubernetesRelease, whose full version the defaulter pins in
// spec.distribution.fullVersion. The metadata the product writes is the manager's to change.
package tanzukubernetescluster

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/ownership"
	"github.com/vm-service/vm-service/internal/tkr"
)

// +kubebuilder:webhook:path=/validate-run-tanzu-vmware-com-v1alpha1-tanzukubernetescluster,mutating=false,failurePolicy=fail,sideEffects=None,groups=run.tanzu.vmware.com,resources=tanzukubernetesclusters,verbs=create;update,versions=v1alpha1,name=vtanzukubernetescluster.run.tanzu.vmware.com,admissionReviewVersions=v1

// Validator checks TanzuKubernetesClusters on create and update.
type Validator struct {
	enforcement.ClassPolicy
	// Guard keeps the cluster's finalizer and product labels and annotations in the manager's
	// hands.
	Guard ownership.Guard
}

// finalizer is what a user who removes the cluster's finalizer is told to do instead.
var finalizer = ownership.Finalizer{
	Name:    runv1.TanzuKubernetesClusterFinalizer,
	Instead: "delete the TanzuKubernetesCluster instead; the controller removes its finalizer once the cluster's VirtualMachines are gone",
}

var _ admission.Validator[*runv1.TanzuKubernetesCluster] = &Validator{}

// SetupWithManager registers the validating webhook, and the Defaulter that resolves the version
// hint before it, with the manager's webhook server.
func (v *Validator) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &runv1.TanzuKubernetesCluster{}).
		WithDefaulter(&Defaulter{Readers: v.Readers}).
		WithValidator(v).
		Complete()
}

var (
	gk               = runv1.GroupVersion.WithKind("TanzuKubernetesCluster").GroupKind()
	topologyPath     = field.NewPath("spec", "topology")
	distributionPath = field.NewPath("spec", "distribution")
)

// ValidateCreate checks both pools and both classes.
func (v *Validator) ValidateCreate(ctx context.Context, tkc *runv1.TanzuKubernetesCluster) (admission.Warnings, error) {
	return v.validate(ctx, nil, tkc)
}

// ValidateUpdate checks both pools, the class of each pool whose class changed or that scales
// out, and the distribution when it changed: a class whose binding was revoked, or a release
// deleted, after admission must not block unrelated edits such as scaling down, but a scale-out
// would make new VMs of that class, which revocation forbids.
func (v *Validator) ValidateUpdate(ctx context.Context, old, tkc *runv1.TanzuKubernetesCluster) (admission.Warnings, error) {
	return v.validate(ctx, old, tkc)
}

// ValidateDelete admits every delete.
func (v *Validator) ValidateDelete(context.Context, *runv1.TanzuKubernetesCluster) (admission.Warnings, error) {
	return nil, nil
}

func (v *Validator) validate(ctx context.Context, old, tkc *runv1.TanzuKubernetesCluster) (admission.Warnings, error) {
	var was client.Object // a nil *TanzuKubernetesCluster would not be a nil Object
	if old != nil {
		was = old
	}
	owned, err := v.Guard.Check(ctx, was, tkc, finalizer)
	if err != nil {
		return nil, err
	}
	f := enforcement.Findings{Invalid: owned}
	if old == nil {
		f.Invalid = append(f.Invalid, nameErrors(tkc.Name)...)
	}
	pools := []struct {
		name      string
		pool, was *runv1.TopologySettings
	}{
		{"controlPlane", &tkc.Spec.Topology.ControlPlane, nil},
		{"workers", &tkc.Spec.Topology.Workers, nil},
	}
	if old != nil {
		pools[0].was, pools[1].was = &old.Spec.Topology.ControlPlane, &old.Spec.Topology.Workers
	}
	// A new release replaces every machine, so its classes and storage are checked as at create.
	upgrade := old != nil && old.Spec.Distribution.FullVersion != tkc.Spec.Distribution.FullVersion
	cp := tkc.Spec.Topology.ControlPlane.Count
	if cp != 1 && cp != 3 {
		f.Invalid = append(f.Invalid, field.Invalid(topologyPath.Child("controlPlane", "count"), cp, "must be 1 or 3"))
	}
	if w := tkc.Spec.Topology.Workers.Count; w < 0 {
		f.Invalid = append(f.Invalid, field.Invalid(topologyPath.Child("workers", "count"), w, "must be 0 or more"))
	}
	for _, p := range pools {
		path := topologyPath.Child(p.name)
		// Refused only when set or changed, so clusters stored before keep accepting other edits.
		if len(p.pool.Volumes) > 0 && (p.was == nil || !equality.Semantic.DeepEqual(p.was.Volumes, p.pool.Volumes)) {
			f.Invalid = append(f.Invalid, field.Forbidden(path.Child("volumes"),
				"node volumes are not supported in this release: no guest Kubernetes mounts them; remove volumes, or give a VirtualMachine spec.volumes instead"))
		}
		switch {
		case p.pool.StorageClass == "":
			f.Invalid = append(f.Invalid, field.Required(path.Child("storageClass"), "name the storage class for the nodes' disks"))
		case upgrade || p.was == nil || p.was.StorageClass != p.pool.StorageClass || p.pool.Count > p.was.Count:
			// Like a class, a storage class is checked when it would place new disks.
			if err := v.CheckStorage(ctx, tkc.Namespace, p.pool.StorageClass, path.Child("storageClass"), &f); err != nil {
				return nil, err
			}
		}
		if p.pool.Class == "" {
			f.Invalid = append(f.Invalid, field.Required(path.Child("class"), "name a VirtualMachineClass bound in this namespace"))
			continue
		}
		if !upgrade && !needsClassCheck(p.was, p.pool) {
			continue
		}
		if err := v.CheckClass(ctx, tkc.Namespace, p.pool.Class, path.Child("class"), &f); err != nil {
			return nil, err
		}
	}
	dist := tkc.Spec.Distribution
	if old == nil || old.Spec.Distribution != dist {
		var was *runv1.Distribution
		if old != nil {
			was = &old.Spec.Distribution
		}
		errs, err := v.validateDistribution(ctx, was, dist)
		if err != nil {
			return nil, err
		}
		f.Invalid = append(f.Invalid, errs...)
	}
	return v.Mode.Answer(gk, tkc.Name, f)
}

// needsClassCheck says whether admission must check a pool's class: always on create (was is
// nil), and on update when the class changed or the pool grows, since either makes new VMs of
// the class. An unchanged or shrinking pool makes none, so a revoked binding does not block it.
func needsClassCheck(was, pool *runv1.TopologySettings) bool {
	return was == nil || was.Class != pool.Class || pool.Count > was.Count
}

// validateDistribution requires the hint to resolve to a release and fullVersion (filled in by
// the Defaulter when empty) to name a release the hint matches; on update (was is the old
// distribution) a changed release must be an upgrade the cluster may make. Each message lists
// the versions that exist, or those the cluster may move to, so the user can pick one. Version
// problems always refuse the request, whatever the enforcement mode: without a release there is
// no image to boot the nodes from, and a downgrade or a skipped minor is not supported.
func (v *Validator) validateDistribution(ctx context.Context, was *runv1.Distribution, dist runv1.Distribution) (field.ErrorList, error) {
	errs, err := confirm.Refusal(ctx, v.Readers, func(r client.Reader) (field.ErrorList, bool, error) {
		releases := &runv1.TanzuKubernetesReleaseList{}
		if err := r.List(ctx, releases); err != nil {
			return nil, false, err
		}
		errs := distributionErrors(dist, releases.Items)
		if len(errs) == 0 && was != nil {
			errs = upgradeErrors(*was, dist, releases.Items)
		}
		return errs, len(errs) > 0, nil
	})
	if err != nil {
		return nil, enforcement.Unavailable("list TanzuKubernetesReleases", err)
	}
	return errs, nil
}

func distributionErrors(dist runv1.Distribution, releases []runv1.TanzuKubernetesRelease) field.ErrorList {
	if dist.Version != "" {
		if _, err := tkr.Resolve(dist.Version, releases); err != nil {
			// A hint that resolves to nothing makes any fullVersion check redundant noise.
			return field.ErrorList{versionFieldError(err)}
		}
	}
	if err := tkr.CheckFullVersion(dist.Version, dist.FullVersion, releases); err != nil {
		return field.ErrorList{versionFieldError(err)}
	}
	if dist.FullVersion == "" {
		// The defaulter found no release the validator now finds: the releases changed between
		// them. Admitting it would leave the cluster unpinned.
		return field.ErrorList{field.Required(distributionPath.Child("fullVersion"),
			fmt.Sprintf("version %q was not resolved at admission because the releases changed meanwhile; retry", dist.Version))}
	}
	return nil
}

// upgradeErrors refuses a change of release that is not an upgrade: a downgrade, or a move past
// the next minor. The message names the versions the cluster may move to.
func upgradeErrors(was, dist runv1.Distribution, releases []runv1.TanzuKubernetesRelease) field.ErrorList {
	if err := tkr.CheckUpgrade(was.FullVersion, dist.FullVersion, releases); err != nil {
		path := distributionPath.Child("fullVersion")
		value := dist.FullVersion
		if dist.Version != was.Version {
			// The user changed the hint; say so at the field they wrote.
			path, value = distributionPath.Child("version"), dist.Version
		}
		return field.ErrorList{field.Invalid(path, value, err.Error())}
	}
	return nil
}

// versionFieldError states a resolution failure at the spec.distribution field it names.
func versionFieldError(err error) *field.Error {
	var ve *tkr.VersionError
	if !errors.As(err, &ve) {
		return field.InternalError(distributionPath, err)
	}
	path := distributionPath.Child(ve.Field)
	if errors.Is(err, tkr.ErrVersionRequired) {
		return field.Required(path, err.Error())
	}
	return field.Invalid(path, ve.Value, err.Error())
}

// maxNameLength keeps the cluster's control plane service, <name>-control-plane, a valid Service
// name (a DNS-1035 label of at most 63 characters).
var maxNameLength = validation.DNS1035LabelMaxLength - len(runv1.ControlPlaneServiceName(""))

// nameErrors refuses a cluster name its control plane service could not carry.
func nameErrors(name string) field.ErrorList {
	path := field.NewPath("metadata", "name")
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1035Label(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	if len(name) > maxNameLength {
		errs = append(errs, field.TooLong(path, name, maxNameLength))
	}
	return errs
}
