package vcentersync

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/storageaccess"
	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
)

// A storage policy assigned to a vCenter namespace appears in Kubernetes as a StorageClass named
// after the policy, and as that StorageClass's entry in the namespace's storage quota.
const (
	kindStorageClass  = "StorageClass"
	kindResourceQuota = "ResourceQuota"

	// csiProvisioner is the vSphere CSI driver, which provisions volumes of these classes where
	// it runs.
	csiProvisioner = "csi.vsphere.vmware.com"
)

// storageClassFor mirrors a storage policy.
func storageClassFor(p namespaces.StoragePolicy) *storagev1.StorageClass {
	expand := true
	return &storagev1.StorageClass{
		ObjectMeta:           managedMeta("", p.Name),
		Provisioner:          csiProvisioner,
		Parameters:           map[string]string{storageaccess.PolicyIDParameter: p.ID},
		AllowVolumeExpansion: &expand,
	}
}

// quotaFor mirrors the storage policies assigned to namespace ns, each with its limit (no limit
// is the largest quantity, as vSphere writes it).
func quotaFor(ns string, policies []namespaces.StoragePolicy) *corev1.ResourceQuota {
	hard := corev1.ResourceList{}
	for _, p := range policies {
		limit := resource.NewQuantity(math.MaxInt64, resource.DecimalSI)
		if p.LimitMiB > 0 {
			limit = resource.NewQuantity(p.LimitMiB*mebibyte, resource.BinarySI)
		}
		hard[storageaccess.QuotaResource(p.Name)] = *limit
	}
	return &corev1.ResourceQuota{
		ObjectMeta: managedMeta(ns, storageaccess.QuotaName(ns)),
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}
}

// applyStorageClasses creates mirrored StorageClasses and deletes the ones no namespace is
// assigned any more. A class's parameters cannot change: a policy whose id changed under the
// same name is deleted here and made again at the next interval.
func (s *Syncer) applyStorageClasses(ctx context.Context, want map[string]*storagev1.StorageClass) error {
	var list storagev1.StorageClassList
	if err := s.client.List(ctx, &list); err != nil {
		return fmt.Errorf("list StorageClasses: %w", err)
	}
	var errs []error
	seen := sets.New[string]()
	for i := range list.Items {
		have := &list.Items[i]
		seen.Insert(have.Name)
		desired, wanted := want[have.Name]
		switch {
		case !isManaged(have):
			if wanted {
				s.log.V(1).Info("leaving admin-made StorageClass alone", "storageClass", have.Name)
			}
		case !wanted || !equality.Semantic.DeepEqual(have.Parameters, desired.Parameters):
			errs = append(errs, s.delete(ctx, kindStorageClass, have))
		}
	}
	for _, name := range sortedKeys(want) {
		if !seen.Has(name) {
			errs = append(errs, s.create(ctx, kindStorageClass, want[name]))
		}
	}
	return kerrors.NewAggregate(errs)
}

// applyQuotas keeps each ready namespace's storage quota equal to its assigned policies, and
// deletes the mirrored quota of a namespace that has none.
func (s *Syncer) applyQuotas(ctx context.Context, want map[string]*corev1.ResourceQuota, ready sets.Set[string]) error {
	var list corev1.ResourceQuotaList
	if err := s.client.List(ctx, &list, client.MatchingLabels{vmopv1.VCenterSyncLabel: vmopv1.VCenterSyncLabelValue}); err != nil {
		return fmt.Errorf("list ResourceQuotas: %w", err)
	}
	var errs []error
	seen := sets.New[string]()
	for i := range list.Items {
		have := &list.Items[i]
		desired, wanted := want[have.Namespace]
		switch {
		case !wanted || desired.Name != have.Name:
			errs = append(errs, s.delete(ctx, kindResourceQuota, have))
		case !equality.Semantic.DeepEqual(have.Spec.Hard, desired.Spec.Hard):
			seen.Insert(have.Namespace)
			have.Spec.Hard = desired.Spec.Hard
			errs = append(errs, s.update(ctx, kindResourceQuota, have))
		default:
			seen.Insert(have.Namespace)
		}
	}
	for _, ns := range sortedKeys(want) {
		if !seen.Has(ns) && ready.Has(ns) {
			errs = append(errs, s.create(ctx, kindResourceQuota, want[ns]))
		}
	}
	return kerrors.NewAggregate(errs)
}
