package vcentersync

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// Kinds as they appear in logs, errors and metrics.
const (
	kindNamespace = "Namespace"
	kindClass     = vmopv1.VirtualMachineClassKind
	kindBinding   = "VirtualMachineClassBinding"
)

// apply makes Kubernetes match want. It goes on past an object that fails so one bad object does
// not stall the rest, and returns every error together. It only runs after a complete vCenter
// read, so deleting what vCenter no longer has is safe here.
func (s *Syncer) apply(ctx context.Context, want desiredState) error {
	ready, nsErr := s.applyNamespaces(ctx, want.namespaces)
	// Elements run in order. A namespace's storage goes in before its bindings, so whoever sees a
	// binding and applies a VM or cluster at once finds its storage class assigned too.
	return kerrors.NewAggregate([]error{
		nsErr,
		s.applyStorageClasses(ctx, want.storageClasses),
		s.applyQuotas(ctx, want.quotas, ready),
		s.applyClasses(ctx, want.classes),
		s.applyBindings(ctx, want.bindings, ready),
	})
}

// applyNamespaces creates missing Namespaces and deletes the mirrored ones vCenter no longer
// has, once they hold no workloads. It returns the wanted namespaces that exist and are not
// terminating, where bindings may be written.
func (s *Syncer) applyNamespaces(ctx context.Context, want []string) (sets.Set[string], error) {
	var list corev1.NamespaceList
	if err := s.client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list Namespaces: %w", err)
	}
	existing := make(map[string]*corev1.Namespace, len(list.Items))
	for i := range list.Items {
		existing[list.Items[i].Name] = &list.Items[i]
	}
	ready, wanted := sets.New[string](), sets.New(want...)
	var errs []error
	for _, name := range want {
		have, ok := existing[name]
		switch {
		case !ok:
			if err := s.create(ctx, kindNamespace, namespaceFor(name)); err != nil {
				errs = append(errs, err)
				continue
			}
			ready.Insert(name)
		case have.DeletionTimestamp != nil:
			s.log.V(1).Info("Namespace is terminating; its bindings wait", "namespace", name)
		default:
			ready.Insert(name) // ours or an admin's: bindings go in either way
		}
	}
	for _, name := range sortedKeys(existing) {
		have := existing[name]
		if isManaged(have) && !wanted.Has(name) && have.DeletionTimestamp == nil {
			errs = append(errs, s.deleteEmptyNamespace(ctx, have))
		}
	}
	s.heldNamespaces.rotate()
	return ready, kerrors.NewAggregate(errs)
}

// applyClasses creates, updates and deletes mirrored VirtualMachineClasses. A class an admin
// made (no vmopv1.VCenterSyncLabel) is left alone even when vCenter has a class of the same name, and a
// class VirtualMachines still use is kept until they are gone.
func (s *Syncer) applyClasses(ctx context.Context, want map[string]*vmopv1.VirtualMachineClass) error {
	var list vmopv1.VirtualMachineClassList
	if err := s.client.List(ctx, &list); err != nil {
		return fmt.Errorf("list VirtualMachineClasses: %w", err)
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
				s.log.V(1).Info("leaving admin-made VirtualMachineClass alone", "class", have.Name)
			}
		case !wanted:
			if have.DeletionTimestamp == nil {
				errs = append(errs, s.deleteUnusedClass(ctx, have))
			}
		case !equality.Semantic.DeepEqual(have.Spec, desired.Spec):
			have.Spec = desired.Spec
			errs = append(errs, s.update(ctx, kindClass, have))
		}
	}
	for _, name := range sortedKeys(want) {
		if !seen.Has(name) {
			errs = append(errs, s.create(ctx, kindClass, want[name]))
		}
	}
	s.heldClasses.rotate()
	return kerrors.NewAggregate(errs)
}

// applyBindings creates, updates and deletes mirrored VirtualMachineClassBindings. Bindings wait
// until their namespace is ready; a binding an admin made is left alone.
func (s *Syncer) applyBindings(ctx context.Context, want map[types.NamespacedName]*vmopv1.VirtualMachineClassBinding, ready sets.Set[string]) error {
	var list vmopv1.VirtualMachineClassBindingList
	if err := s.client.List(ctx, &list); err != nil {
		return fmt.Errorf("list VirtualMachineClassBindings: %w", err)
	}
	var errs []error
	seen := sets.New[types.NamespacedName]()
	for i := range list.Items {
		have := &list.Items[i]
		key := client.ObjectKeyFromObject(have)
		seen.Insert(key)
		desired, wanted := want[key]
		switch {
		case !isManaged(have):
			if wanted {
				s.log.V(1).Info("leaving admin-made VirtualMachineClassBinding alone", "namespace", key.Namespace, "name", key.Name)
			}
		case !wanted:
			if have.DeletionTimestamp == nil {
				errs = append(errs, s.delete(ctx, kindBinding, have))
			}
		case have.ClassRef != desired.ClassRef:
			have.ClassRef = desired.ClassRef
			errs = append(errs, s.update(ctx, kindBinding, have))
		}
	}
	for key, b := range want {
		if !seen.Has(key) && ready.Has(key.Namespace) {
			errs = append(errs, s.create(ctx, kindBinding, b))
		}
	}
	return kerrors.NewAggregate(errs)
}

// create writes a new mirrored object. AlreadyExists means the cache has not seen it yet; the
// next interval sorts it out.
func (s *Syncer) create(ctx context.Context, kind string, obj client.Object) error {
	err := s.client.Create(ctx, obj)
	switch {
	case apierrors.IsAlreadyExists(err):
		s.log.V(1).Info("object already exists; retrying next interval", logKeys(kind, obj)...)
		return nil
	case err != nil:
		return fmt.Errorf("create %s %s: %w", kind, client.ObjectKeyFromObject(obj), err)
	}
	s.log.Info("created from vCenter", logKeys(kind, obj)...)
	writesTotal.WithLabelValues(kind, "create").Inc()
	return nil
}

// update writes a changed mirrored object; a conflict waits for the next interval.
func (s *Syncer) update(ctx context.Context, kind string, obj client.Object) error {
	err := s.client.Update(ctx, obj)
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		s.log.V(1).Info("object changed meanwhile; retrying next interval", logKeys(kind, obj)...)
		return nil
	case err != nil:
		return fmt.Errorf("update %s %s: %w", kind, client.ObjectKeyFromObject(obj), err)
	}
	s.log.Info("updated from vCenter", logKeys(kind, obj)...)
	writesTotal.WithLabelValues(kind, "update").Inc()
	return nil
}

// delete removes a mirrored object vCenter no longer has. The preconditions make sure it is
// still the object that was read (for instance, that nobody removed vmopv1.VCenterSyncLabel meanwhile).
func (s *Syncer) delete(ctx context.Context, kind string, obj client.Object) error {
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	err := s.client.Delete(ctx, obj, client.Preconditions{UID: &uid, ResourceVersion: &rv})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		s.log.V(1).Info("object changed meanwhile; retrying next interval", logKeys(kind, obj)...)
		return nil
	case err != nil:
		return fmt.Errorf("delete %s %s: %w", kind, client.ObjectKeyFromObject(obj), err)
	}
	s.log.Info("deleted, gone from vCenter", logKeys(kind, obj)...)
	writesTotal.WithLabelValues(kind, "delete").Inc()
	return nil
}

// logKeys are the stable log keys for obj: namespace, name and class as they apply.
func logKeys(kind string, obj client.Object) []any {
	switch o := obj.(type) {
	case *corev1.Namespace:
		return []any{"kind", kind, "namespace", o.Name}
	case *vmopv1.VirtualMachineClass:
		return []any{"kind", kind, "class", o.Name}
	case *vmopv1.VirtualMachineClassBinding:
		return []any{"kind", kind, "namespace", o.Namespace, "name", o.Name, "class", o.ClassRef.Name}
	}
	return []any{"kind", kind, "namespace", obj.GetNamespace(), "name", obj.GetName()}
}
