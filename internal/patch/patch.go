// Package patch writes a controller's changes to an object as two merge patches computed against
// the object as it was read: one for metadata and spec, one for the status subresource. A
// reconcile creates a Helper first and defers Patch, so status is written on every path.
package patch

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Helper remembers an object as read.
type Helper struct {
	client client.Client
	before client.Object
}

// NewHelper snapshots obj; call it before changing obj.
func NewHelper(obj client.Object, c client.Client) *Helper {
	return &Helper{client: c, before: obj.DeepCopyObject().(client.Object)}
}

// Patch sends what changed in obj since NewHelper: metadata and spec first, then status. A part
// that did not change is not sent, so an idempotent reconcile writes nothing. Afterwards obj
// holds what the server stored.
func (h *Helper) Patch(ctx context.Context, obj client.Object) error {
	mainChanged, statusChanged, err := h.changes(obj)
	if err != nil {
		return err
	}
	from := client.MergeFrom(h.before)
	latest := obj
	var errs []error
	// Each patch call overwrites its argument with the server's answer, so each gets a copy.
	if mainChanged {
		main := obj.DeepCopyObject().(client.Object)
		if err := h.client.Patch(ctx, main, from); err != nil {
			errs = append(errs, fmt.Errorf("patch %s: %w", client.ObjectKeyFromObject(obj), err))
		} else {
			latest = main
		}
	}
	if statusChanged {
		status := obj.DeepCopyObject().(client.Object)
		if err := h.client.Status().Patch(ctx, status, from); err == nil {
			latest = status
		} else if !isGone(err) {
			errs = append(errs, fmt.Errorf("patch status of %s: %w", client.ObjectKeyFromObject(obj), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if latest != obj {
		reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(latest).Elem())
	}
	h.before = obj.DeepCopyObject().(client.Object)
	return nil
}

// changes says whether obj differs from the snapshot outside status and inside it.
func (h *Helper) changes(obj client.Object) (mainChanged, statusChanged bool, err error) {
	before, err := runtime.DefaultUnstructuredConverter.ToUnstructured(h.before)
	if err != nil {
		return false, false, fmt.Errorf("read snapshot: %w", err)
	}
	after, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return false, false, fmt.Errorf("read object: %w", err)
	}
	statusChanged = !equality.Semantic.DeepEqual(before["status"], after["status"])
	for _, u := range []map[string]any{before, after} {
		delete(u, "status")
		// Bookkeeping the server moves on every write; not a change of ours.
		unstructured.RemoveNestedField(u, "metadata", "resourceVersion")
		unstructured.RemoveNestedField(u, "metadata", "managedFields")
	}
	return !equality.Semantic.DeepEqual(before, after), statusChanged, nil
}

// isGone reports the object's deletion between the two patches (its last finalizer removed).
func isGone(err error) bool { return apierrors.IsNotFound(err) }
