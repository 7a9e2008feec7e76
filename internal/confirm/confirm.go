// Package confirm owns how the product refuses: decisions read the manager's informer cache, which
// may be a moment behind the apiserver, and a refusal (a class, binding, image or release not
// found) is confirmed against the apiserver before anyone acts on it. Admitting stays on the cache;
// only the rare refusal pays for a live read.
package confirm

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Readers are the two places a decision reads from.
type Readers struct {
	// Cache is the manager's informer cache, with the field indexes of internal/index.
	Cache client.Reader
	// Live reads the apiserver directly (the manager's API reader). Field selectors it is given
	// must be selectable fields of the CRD. Nil skips confirmation (unit tests on a fake client).
	Live client.Reader
}

// Fresh is the reader that is never behind: the apiserver, or the cache when there is no other.
func (rs Readers) Fresh() client.Reader {
	if rs.Live != nil {
		return rs.Live
	}
	return rs.Cache
}

// Refusal runs decide on the cache and, when it refuses, once more on the apiserver, whose answer
// stands: a refusal never comes from a cache that has not yet seen an object just created.
func Refusal[T any](ctx context.Context, rs Readers, decide func(client.Reader) (T, bool, error)) (T, error) {
	answer, refused, err := decide(rs.Cache)
	if err != nil || !refused || rs.Live == nil {
		return answer, err
	}
	answer, _, err = decide(rs.Live)
	return answer, err
}

// Exists says whether the object at key exists, reading obj from the cache and confirming an
// absence with the apiserver. NotFound is an answer, not an error.
func Exists(ctx context.Context, rs Readers, key client.ObjectKey, obj client.Object) (bool, error) {
	return Refusal(ctx, rs, func(r client.Reader) (bool, bool, error) {
		err := r.Get(ctx, key, obj)
		if apierrors.IsNotFound(err) {
			return false, true, nil
		}
		return err == nil, false, err
	})
}
