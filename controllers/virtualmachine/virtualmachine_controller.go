// Package virtualmachine reconciles VirtualMachines into vSphere VMs. It checks the class, its
// binding in the VM's namespace and the image before any vSphere call, deploys through the
// vSphere provider, drives power, and reports every step in status conditions and events.
// Revoking a binding never touches a VM that already exists in vSphere.
package virtualmachine

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/ippool"
	"github.com/vm-service/vm-service/internal/patch"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// Finalizer keeps a VirtualMachine until its vSphere VM is destroyed.
const Finalizer = "virtualmachine.vmoperator.vmware.com"

// PhaseChangedReason is the reason of the Normal event recorded on every phase change.
const PhaseChangedReason = "PhaseChanged"

// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachines,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachines/status;virtualmachines/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclasses;virtualmachineclassbindings;virtualmachineimages,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconciler makes vSphere match VirtualMachines.
type Reconciler struct {
	Client client.Client
	// Live reads the apiserver to confirm what the cache says is missing (a class, binding or
	// image), so a VM never reports a failure that is only the cache lagging; SetupWithManager
	// sets the manager's API reader.
	Live     client.Reader
	Provider vsphere.Provider
	Recorder record.EventRecorder
	// IPs gives VMs static addresses through guest customization; nil leaves addressing to the
	// network (DHCP).
	IPs *ippool.Pool

	seedMu sync.Mutex
	seeded bool // addresses in use were reserved after start
}

// SetupWithManager watches VirtualMachines and, through the field indexes, the bindings, classes
// and images they depend on.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil || r.Provider == nil || r.Recorder == nil {
		return errors.New("virtualmachine reconciler needs a client, a provider and an event recorder")
	}
	if r.Live == nil {
		r.Live = mgr.GetAPIReader()
	}
	// Recover from a vCenter outage within a minute of its end, not after the default ~16 minutes.
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, time.Minute)
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).
		// The controller's own status writes must not wake it: that would cost a vCenter round
		// trip each; periodic requeues catch drift in vSphere instead.
		For(&vmopv1.VirtualMachine{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, lifecycleChanged))).
		Watches(&vmopv1.VirtualMachineClassBinding{}, handler.EnqueueRequestsFromMapFunc(r.bindingToVirtualMachines), specChanged).
		Watches(&vmopv1.VirtualMachineClass{}, handler.EnqueueRequestsFromMapFunc(r.classToVirtualMachines), specChanged).
		Watches(&vmopv1.VirtualMachineImage{}, handler.EnqueueRequestsFromMapFunc(r.imageToVirtualMachines), specChanged).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4, RateLimiter: limiter}).
		Complete(r)
}

// Reconcile adds the finalizer, then deploys or deletes, writing status on every path.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	vm := &vmopv1.VirtualMachine{}
	if err := r.Client.Get(ctx, req.NamespacedName, vm); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if vm.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(vm, Finalizer) {
		base := vm.DeepCopy()
		controllerutil.AddFinalizer(vm, Finalizer)
		return ctrl.Result{}, r.Client.Patch(ctx, vm, client.MergeFrom(base))
	}

	helper := patch.NewHelper(vm, r.Client)
	phase := vm.Status.Phase
	defer func() {
		r.recordPhaseChange(vm, phase)
		reterr = errors.Join(reterr, helper.Patch(ctx, vm))
	}()

	if !vm.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, vm)
	}
	return r.reconcileNormal(ctx, vm)
}

// lifecycleChanged passes updates that start a deletion or change finalizers or annotations.
var lifecycleChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, n := e.ObjectOld, e.ObjectNew
	return !n.GetDeletionTimestamp().Equal(o.GetDeletionTimestamp()) ||
		!slices.Equal(o.GetFinalizers(), n.GetFinalizers()) ||
		!maps.Equal(o.GetAnnotations(), n.GetAnnotations())
}}

// bindingToVirtualMachines re-queues the VMs of the binding's namespace that use its class.
func (r *Reconciler) bindingToVirtualMachines(ctx context.Context, obj client.Object) []reconcile.Request {
	b := obj.(*vmopv1.VirtualMachineClassBinding)
	return r.virtualMachines(ctx, client.InNamespace(b.Namespace), client.MatchingFields{index.VirtualMachineClassName: b.ClassRef.Name})
}

// classToVirtualMachines re-queues the VMs of every namespace that use the class.
func (r *Reconciler) classToVirtualMachines(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.virtualMachines(ctx, client.MatchingFields{index.VirtualMachineClassName: obj.GetName()})
}

// imageToVirtualMachines re-queues the VMs waiting for or made from the image.
func (r *Reconciler) imageToVirtualMachines(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.virtualMachines(ctx, client.MatchingFields{index.VirtualMachineImageName: obj.GetName()})
}

func (r *Reconciler) virtualMachines(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	vms := &vmopv1.VirtualMachineList{}
	if err := r.Client.List(ctx, vms, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list VirtualMachines to re-queue")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(vms.Items))
	for _, vm := range vms.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&vm)})
	}
	return reqs
}

func (r *Reconciler) recordPhaseChange(vm *vmopv1.VirtualMachine, from vmopv1.VMStatusPhase) {
	switch to := vm.Status.Phase; {
	case to == from:
	case from == "":
		r.Recorder.Eventf(vm, corev1.EventTypeNormal, PhaseChangedReason, "VM enters %s phase", to)
	default:
		r.Recorder.Eventf(vm, corev1.EventTypeNormal, PhaseChangedReason, "VM changes from %s phase to %s phase", from, to)
	}
}
