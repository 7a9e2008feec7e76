// Package virtualmachineclass owns the status of VirtualMachineClasses: the sorted namespaces
// where a VirtualMachineClassBinding names the class, and the Bound condition that says whether
// there is at least one. It only reports; which namespace may use a class is decided by
// internal/classaccess.
package virtualmachineclass

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// The controller reads classes and bindings and writes only the classes' status.
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclasses/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclassbindings,verbs=get;list;watch

// Reconciler keeps a VirtualMachineClass's status in step with the bindings that name it.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// cache is the manager's, where index.BindingClassName is registered; SetupWithManager sets it.
	cache cache.Informers
}

// SetupWithManager registers the controller: it reconciles classes and is woken by every
// binding that is created, deleted or re-pointed, for the class the binding names.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		return errors.New("virtualmachineclass controller: Client is required")
	}
	r.cache = mgr.GetCache()
	return ctrl.NewControllerManagedBy(mgr).
		For(&vmopv1.VirtualMachineClass{}).
		Watches(&vmopv1.VirtualMachineClassBinding{},
			handler.EnqueueRequestsFromMapFunc(r.bindingToClass),
			builder.WithPredicates(classRefChanged())).
		Complete(r)
}

// Reconcile recomputes where the class is bound and patches its status when that changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	logger := log.FromContext(ctx).WithValues("class", req.Name)
	class := &vmopv1.VirtualMachineClass{}
	if err := r.Client.Get(ctx, req.NamespacedName, class); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil // deleted: nothing left to report on
		}
		return ctrl.Result{}, fmt.Errorf("read VirtualMachineClass %q: %w", req.Name, err)
	}

	helper := patch.NewHelper(class, r.Client)
	defer func() {
		if err := helper.Patch(ctx, class); err != nil {
			reterr = errors.Join(reterr, fmt.Errorf("write status of VirtualMachineClass %q: %w", class.Name, err))
		}
	}()

	namespaces, err := r.boundNamespaces(ctx, class.Name)
	if err != nil {
		// A failed read of our own cache says nothing new about where the class is bound: the
		// last observation stays, and the error requeues the class with backoff.
		return ctrl.Result{}, err
	}
	if !slices.Equal(class.Status.Namespaces, namespaces) {
		logger.Info("Bound namespaces changed", "from", class.Status.Namespaces, "to", namespaces)
	}
	class.Status.Namespaces = namespaces
	conditions.Set(&class.Status.Conditions, boundCondition(class.Name, namespaces))
	return ctrl.Result{}, nil
}

// boundNamespaces looks up, through the classRef.name index and across all namespaces, the
// bindings that name class, and returns their namespaces.
func (r *Reconciler) boundNamespaces(ctx context.Context, class string) ([]string, error) {
	bindings, err := index.BindingsOfClass(ctx, r.cache, class)
	if err != nil {
		return nil, fmt.Errorf("look up bindings of VirtualMachineClass %q: %w", class, err)
	}
	return namespacesOf(bindings), nil
}

// bindingToClass maps a binding to the class it names. On an update the handler calls it for
// the old and the new object, so a re-pointed binding wakes both classes; on a delete it is
// called with the last state, so the class drops the namespace.
func (r *Reconciler) bindingToClass(_ context.Context, obj client.Object) []reconcile.Request {
	binding, ok := obj.(*vmopv1.VirtualMachineClassBinding)
	if !ok || binding.ClassRef.Name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: binding.ClassRef.Name}}}
}

// classRefChanged drops binding updates that keep classRef.name, such as the binding
// controller's own status writes and resyncs: they cannot change where a class is bound.
func classRefChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			before, okOld := e.ObjectOld.(*vmopv1.VirtualMachineClassBinding)
			after, okNew := e.ObjectNew.(*vmopv1.VirtualMachineClassBinding)
			return !okOld || !okNew || before.ClassRef.Name != after.ClassRef.Name
		},
	}
}
