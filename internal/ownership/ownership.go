// Package ownership keeps the metadata the product writes in the manager's hands: its
// finalizers, owner references to TanzuKubernetesClusters, and labels and annotations under the
// product's API groups. Anyone else removing a finalizer or an owner reference would leave a
// vSphere VM running that no controller, quota or in-use check sees any more; adding an owner
// reference or a cluster label would hand a cluster a VM it did not make.
package ownership

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// DefaultManager is the username of the manager's requests when it runs as the ServiceAccount
// of config/manager.
const DefaultManager = "system:serviceaccount:vm-service-system:vm-service-controller-manager"

// mastersGroup holds the cluster's superusers, who may also write the product's metadata: they
// can remove the webhook anyway, and repairing a stuck object is their job.
const mastersGroup = "system:masters"

// ownedGroups prefix the label and annotation keys the product owns.
var ownedGroups = []string{vmopv1.GroupName, runv1.GroupName}

var clusterKind = runv1.GroupVersion.WithKind("TanzuKubernetesCluster").GroupKind()

var (
	finalizersPath  = field.NewPath("metadata", "finalizers")
	ownerRefsPath   = field.NewPath("metadata", "ownerReferences")
	labelsPath      = field.NewPath("metadata", "labels")
	annotationsPath = field.NewPath("metadata", "annotations")
)

// Guard refuses changes to the product's metadata from anyone but the manager.
type Guard struct {
	// Manager is the username the manager's requests carry. Empty leaves the metadata to
	// system:masters alone.
	Manager string
}

// Finalizer is a product finalizer and what to do instead of removing it.
type Finalizer struct {
	Name string
	// Instead tells the user what to do, such as "delete the VirtualMachine instead; ...".
	Instead string
}

// Check lists what a request turning old into obj (old is nil on create) changes of the product's
// metadata, unless the request comes from the manager or system:masters.
func (g Guard) Check(ctx context.Context, old, obj client.Object, fin Finalizer) (field.ErrorList, error) {
	var was metav1.Object = &metav1.ObjectMeta{} // a create changes metadata from none
	if old != nil {
		was = old
	}
	errs := finalizerErrors(was, obj, fin)
	errs = append(errs, keyErrors(labelsPath, was.GetLabels(), obj.GetLabels())...)
	errs = append(errs, keyErrors(annotationsPath, was.GetAnnotations(), obj.GetAnnotations())...)
	refErrs := ownerRefErrors(was, obj)
	if len(errs)+len(refErrs) == 0 {
		return nil, nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("tell who changes the product's metadata: %w", err)
	}
	user := req.UserInfo.Username
	if user == g.Manager && g.Manager != "" || slices.Contains(req.UserInfo.Groups, mastersGroup) {
		return nil, nil
	}
	if len(errs) == 0 && slices.Contains(garbageCollectors, user) && onlyRemoved(was, obj) {
		return nil, nil
	}
	return append(errs, refErrs...), nil
}

// garbageCollectors are the users the garbage collector runs as (with and without
// --use-service-account-credentials): deleting a cluster with --cascade=orphan has it remove the
// cluster's owner references from its VMs, which then stand alone.
var garbageCollectors = []string{
	"system:serviceaccount:kube-system:generic-garbage-collector",
	"system:kube-controller-manager",
}

// onlyRemoved says whether obj's owner references to clusters are a subset of was's.
func onlyRemoved(was, obj metav1.Object) bool {
	before := clusterRefs(was.GetOwnerReferences())
	for _, ref := range clusterRefs(obj.GetOwnerReferences()) {
		if !slices.ContainsFunc(before, func(b metav1.OwnerReference) bool { return equality.Semantic.DeepEqual(b, ref) }) {
			return false
		}
	}
	return true
}

// finalizerErrors refuses removing fin: the object would go before what it stands for in vSphere.
func finalizerErrors(was, obj metav1.Object, fin Finalizer) field.ErrorList {
	if !slices.Contains(was.GetFinalizers(), fin.Name) || slices.Contains(obj.GetFinalizers(), fin.Name) {
		return nil
	}
	return field.ErrorList{field.Forbidden(finalizersPath,
		fmt.Sprintf("only the controller removes finalizer %s; %s", fin.Name, fin.Instead))}
}

// ownerRefErrors refuses adding, changing or removing an owner reference to a cluster: the
// cluster's controller sets them on the VMs it makes, and garbage collection follows them.
func ownerRefErrors(was, obj metav1.Object) field.ErrorList {
	if equality.Semantic.DeepEqual(clusterRefs(was.GetOwnerReferences()), clusterRefs(obj.GetOwnerReferences())) {
		return nil
	}
	return field.ErrorList{field.Forbidden(ownerRefsPath,
		"only the TanzuKubernetesCluster controller sets or removes owner references to a cluster, on the VMs it creates; "+
			"create your own objects without one, and scale the cluster down or delete it to remove its VMs")}
}

func clusterRefs(refs []metav1.OwnerReference) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, ref := range refs {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err == nil && gv.Group == clusterKind.Group && ref.Kind == clusterKind.Kind {
			out = append(out, ref)
		}
	}
	return out
}

// keyErrors refuses setting, changing or removing a key of the product's groups, at path.
func keyErrors(path *field.Path, was, now map[string]string) field.ErrorList {
	var errs field.ErrorList
	for _, key := range changedKeys(was, now) {
		if owned(key) {
			errs = append(errs, field.Forbidden(path.Key(key),
				"keys under "+strings.Join(ownedGroups, "/ and ")+"/ are written by VM Service only; leave them as they are"))
		}
	}
	return errs
}

// changedKeys are the keys set, changed or removed between was and now, sorted.
func changedKeys(was, now map[string]string) []string {
	var keys []string
	for k, v := range now {
		if old, ok := was[k]; !ok || old != v {
			keys = append(keys, k)
		}
	}
	for k := range was {
		if _, ok := now[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func owned(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	return ok && slices.Contains(ownedGroups, prefix)
}
