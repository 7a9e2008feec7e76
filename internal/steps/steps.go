// Package steps runs a reconcile as an ordered list of small step functions over one scope, the
// shape every reconciler of the product shares: each step does one thing and records on the scope
// why it is blocked; status is computed from the scope afterwards.
package steps

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Step is one step of a reconcile over scope S.
type Step[S any] func(context.Context, S) (ctrl.Result, error)

// Run runs steps in order, stopping at the first error and keeping the shortest requeue.
func Run[S any](ctx context.Context, s S, steps ...Step[S]) (ctrl.Result, error) {
	var res ctrl.Result
	for _, st := range steps {
		r, err := st(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		res = Shortest(res, r)
	}
	return res, nil
}

// Shortest is the sooner of two requeues; no requeue (zero) loses to any.
func Shortest(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.RequeueAfter == 0:
		return b
	case b.RequeueAfter == 0:
		return a
	case b.RequeueAfter < a.RequeueAfter:
		return b
	}
	return a
}
