// Package virtualmachineclassbinding owns the status of VirtualMachineClassBindings: the
// ClassFound condition says whether the VirtualMachineClass the binding names exists. A binding
// may be created before its class (an admin binds first, or vCenter's mirror lags); it then
// takes effect once the class appears, and this condition tells the admin so.
package virtualmachineclassbinding

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/patch"
)

// The controller reads bindings and classes and writes only the bindings' status.
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclassbindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclassbindings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclasses,verbs=get;list;watch

// Reconciler keeps a VirtualMachineClassBinding's ClassFound condition in step with its class.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Live reads the apiserver to confirm a class the cache does not have, so a class created a
	// moment ago is never reported missing; SetupWithManager sets the manager's API reader.
	Live client.Reader
	// cache is the manager's, where index.BindingClassName is registered; SetupWithManager sets it.
	cache cache.Informers
}

// bindingWorkers reconcile bindings at once; a binding's reconcile touches only that binding.
const bindingWorkers = 8

// SetupWithManager registers the controller: it reconciles bindings and is woken, for every
// binding naming it, when a class is created or deleted.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		return errors.New("virtualmachineclassbinding controller: Client is required")
	}
	if r.Live == nil {
		r.Live = mgr.GetAPIReader()
	}
	r.cache = mgr.GetCache()
	return ctrl.NewControllerManagedBy(mgr).
		For(&vmopv1.VirtualMachineClassBinding{}, builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(e event.CreateEvent) bool { return r.stale(context.Background(), e.Object) },
		})).
		Watches(&vmopv1.VirtualMachineClass{},
			handler.EnqueueRequestsFromMapFunc(r.classToBindings),
			builder.WithPredicates(existenceChanges())).
		// A reconcile is one status write, mostly waiting on the apiserver; one worker takes a
		// quarter of an hour to report on a supervisor's 100,000 bindings at startup.
		WithOptions(controller.Options{MaxConcurrentReconciles: bindingWorkers}).
		Complete(r)
}

// Reconcile sets ClassFound from whether the named class exists.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	binding := &vmopv1.VirtualMachineClassBinding{}
	if err := r.Client.Get(ctx, req.NamespacedName, binding); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil // deleted: nothing left to report on
		}
		return ctrl.Result{}, fmt.Errorf("read VirtualMachineClassBinding %s: %w", req.NamespacedName, err)
	}
	class := binding.ClassRef.Name
	logger := log.FromContext(ctx).WithValues("class", class)

	helper := patch.NewHelper(binding, r.Client)
	defer func() {
		if err := helper.Patch(ctx, binding); err != nil {
			reterr = errors.Join(reterr, fmt.Errorf("write status of VirtualMachineClassBinding %s: %w", req.NamespacedName, err))
		}
	}()

	found, err := r.classExists(ctx, class)
	if err != nil {
		// A failed cache read says nothing about the class: the last observation stays, and the
		// error requeues the binding with backoff.
		return ctrl.Result{}, err
	}
	cond := classFoundCondition(class, found)
	if prev := conditions.Get(binding.Status.Conditions, cond.Type); prev == nil || prev.Status != cond.Status {
		logger.Info("ClassFound changed", "status", cond.Status, "reason", cond.Reason)
	}
	conditions.Set(&binding.Status.Conditions, cond)
	return ctrl.Result{}, nil
}

// classExists reads the class from the cache, confirming an absence with the apiserver. The
// cache's own object, not a copy (a class lists every namespace it is bound in: a thousand on a
// large supervisor), and the typed informer's, since its watch is what wakes this reconcile on a
// class's deletion and another informer could still hold the class then.
func (r *Reconciler) classExists(ctx context.Context, class string) (bool, error) {
	cached, err := index.Cached(ctx, r.cache, &vmopv1.VirtualMachineClass{}, class)
	if err != nil || cached != nil {
		return cached != nil, err
	}
	err = r.Live.Get(ctx, client.ObjectKey{Name: class}, &vmopv1.VirtualMachineClass{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read VirtualMachineClass %q: %w", class, err)
	}
	return true, nil
}

// classToBindings maps a class to the bindings, in any namespace, whose classRef.name is the
// class and whose ClassFound condition the class's creation or deletion makes wrong, looked up
// through the index rather than by listing all bindings.
func (r *Reconciler) classToBindings(ctx context.Context, obj client.Object) []reconcile.Request {
	bindings, err := index.BindingsOfClass(ctx, r.cache, obj.GetName())
	if err != nil {
		// A map function cannot return an error; the bindings catch up at the next resync.
		log.FromContext(ctx).Error(err, "Look up bindings of a VirtualMachineClass", "class", obj.GetName())
		return nil
	}
	var requests []reconcile.Request
	for _, b := range bindings {
		if r.stale(ctx, b) {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(b)})
		}
	}
	return requests
}

// stale says whether obj, a binding, may report its class wrongly: its ClassFound condition is
// not the one the class in the cache gives. A manager that starts among 100,000 bindings it
// reported on before queues only those whose class came or went meanwhile, not all of them; the
// reconcile decides, confirming an absence with the apiserver, so a doubt is always queued.
func (r *Reconciler) stale(ctx context.Context, obj client.Object) bool {
	b, ok := obj.(*vmopv1.VirtualMachineClassBinding)
	if !ok {
		return true
	}
	cached, err := index.Cached(ctx, r.cache, &vmopv1.VirtualMachineClass{}, b.ClassRef.Name)
	if err != nil {
		return true
	}
	want := classFoundCondition(b.ClassRef.Name, cached != nil)
	have := conditions.Get(b.Status.Conditions, want.Type)
	return have == nil || have.Status != want.Status || have.Reason != want.Reason ||
		have.Severity != want.Severity || have.Message != want.Message
}

// existenceChanges keeps the class events that can change whether a class exists, creation and
// deletion, and drops updates (spec edits, the class controller's status writes, resyncs).
func existenceChanges() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(event.UpdateEvent) bool { return false },
	}
}
