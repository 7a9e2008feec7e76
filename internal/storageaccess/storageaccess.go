// Package storageaccess answers the storage question: may namespace N put disks on StorageClass
// S? As in vSphere with Tanzu, a namespace may use the storage classes its ResourceQuotas name,
// which is how vCenter assigns storage policies to a namespace. Every webhook and controller asks
// Check; nothing else decides it.
package storageaccess

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/confirm"
)

// PolicyIDParameter is the StorageClass parameter that names its vSphere storage policy.
const PolicyIDParameter = "storagePolicyID"

// quotaSuffix follows a storage class's name in the quota resource that assigns it.
const quotaSuffix = ".storageclass.storage.k8s.io/requests.storage"

// QuotaResource is the ResourceQuota resource that assigns storageClass to a namespace.
func QuotaResource(storageClass string) corev1.ResourceName {
	return corev1.ResourceName(storageClass + quotaSuffix)
}

// QuotaName is the name of the storage quota vCenter gives namespace.
func QuotaName(namespace string) string { return namespace + "-storagequota" }

// Decision is Check's answer, with what a message about it needs. The zero Decision is usable:
// no storage class asked for, nothing refused.
type Decision struct {
	Namespace    string
	StorageClass string
	// Assigned lists, sorted, the storage classes the namespace may use; filled when refused.
	Assigned []string
	// PolicyID is the storage class's vSphere storage policy; set when usable.
	PolicyID string
	// missing says the class is assigned but no StorageClass of that name exists.
	missing bool
	// Refused says the namespace may not use the storage class.
	Refused bool
}

// Usable says whether the namespace may use the storage class.
func (d Decision) Usable() bool { return !d.Refused }

// Reason is the condition reason of a refusal; empty when usable.
func (d Decision) Reason() string {
	if !d.Refused {
		return ""
	}
	return vmopv1.StorageClassNotFoundReason
}

// Message explains a refusal and says what to do; empty when usable.
func (d Decision) Message() string {
	if !d.Refused {
		return ""
	}
	assigned := "none"
	if len(d.Assigned) > 0 {
		assigned = strings.Join(d.Assigned, ", ")
	}
	if d.missing {
		return fmt.Sprintf("StorageClass %q is assigned to namespace %q but does not exist (assigned here: %s); ask a platform admin to check its storage policy", d.StorageClass, d.Namespace, assigned)
	}
	return fmt.Sprintf("StorageClass %q is not assigned to namespace %q (assigned here: %s); use an assigned storage class or ask a platform admin to assign its storage policy to the namespace", d.StorageClass, d.Namespace, assigned)
}

// FieldError states a refusal as a field error at path, for admission responses.
func (d Decision) FieldError(path *field.Path) *field.Error {
	return field.Invalid(path, d.StorageClass, d.Message())
}

// Check decides whether namespace may use storageClass, reading the cache and confirming a
// refusal with the apiserver. An empty storage class is always usable: the VM takes vCenter's
// default placement.
func Check(ctx context.Context, rs confirm.Readers, namespace, storageClass string) (Decision, error) {
	if storageClass == "" {
		return Decision{Namespace: namespace}, nil
	}
	return confirm.Refusal(ctx, rs, func(r client.Reader) (Decision, bool, error) {
		d, err := check(ctx, r, namespace, storageClass)
		return d, d.Refused, err
	})
}

func check(ctx context.Context, r client.Reader, namespace, storageClass string) (Decision, error) {
	d := Decision{Namespace: namespace, StorageClass: storageClass, Refused: true}
	if namespace == "" {
		return d, nil // no namespace, no quota, no storage
	}
	assigned, err := Assigned(ctx, r, namespace)
	if err != nil {
		return d, err
	}
	if !contains(assigned, storageClass) {
		d.Assigned = assigned
		return d, nil
	}
	sc := &storagev1.StorageClass{}
	err = r.Get(ctx, client.ObjectKey{Name: storageClass}, sc)
	switch {
	case apierrors.IsNotFound(err):
		d.Assigned, d.missing = assigned, true
		return d, nil
	case err != nil:
		return d, fmt.Errorf("read StorageClass %q: %w", storageClass, err)
	}
	d.PolicyID, d.Refused = sc.Parameters[PolicyIDParameter], false
	return d, nil
}

// Assigned lists, sorted and without repeats, the storage classes namespace's ResourceQuotas
// name.
func Assigned(ctx context.Context, r client.Reader, namespace string) ([]string, error) {
	quotas := &corev1.ResourceQuotaList{}
	// Only the names of the hard limits are read, so the cache may hand out its own objects.
	if err := r.List(ctx, quotas, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list ResourceQuotas in namespace %q: %w", namespace, err)
	}
	seen := map[string]bool{}
	var names []string
	for _, q := range quotas.Items {
		for res := range q.Spec.Hard {
			if name, ok := strings.CutSuffix(string(res), quotaSuffix); ok && !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func contains(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}
