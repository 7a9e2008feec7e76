package virtualmachinesetresourcepolicy

import (
	"context"
	"errors"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/patch"
	"github.com/vm-service/vm-service/internal/steps"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachinesetresourcepolicies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachinesetresourcepolicies/status;virtualmachinesetresourcepolicies/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachines,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// How soon a policy is looked at again when nothing else brings it back.
const (
	// driftInterval: a ready policy, to notice a pool, folder or module removed in vCenter.
	driftInterval = 5 * time.Minute
	// inUseRetryInterval: a deleted policy whose pool or folder still holds VMs; nothing watches
	// vSphere's inventory.
	inUseRetryInterval = 30 * time.Second
)

// Reconciler makes vSphere match VirtualMachineSetResourcePolicies.
type Reconciler struct {
	// Client reads from the manager's cache, with the field indexes of internal/index.
	Client   client.Client
	Provider vsphere.ResourcePolicies
	Recorder record.EventRecorder
}

// SetupWithManager watches policies and the VirtualMachines that name one, so a deleted policy
// waiting for its VMs goes as soon as the last one is gone.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil || r.Provider == nil || r.Recorder == nil {
		return errors.New("virtualmachinesetresourcepolicy reconciler needs a client, a provider and an event recorder")
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&vmopv1.VirtualMachineSetResourcePolicy{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, lifecycleChanged))).
		Watches(&vmopv1.VirtualMachine{}, handler.EnqueueRequestsFromMapFunc(virtualMachineToPolicy), builder.WithPredicates(vmGone)).
		Named("virtualmachinesetresourcepolicy").
		Complete(r)
}

// lifecycleChanged passes updates that start a deletion or change finalizers.
var lifecycleChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return !e.ObjectNew.GetDeletionTimestamp().Equal(e.ObjectOld.GetDeletionTimestamp()) ||
		len(e.ObjectNew.GetFinalizers()) != len(e.ObjectOld.GetFinalizers())
}}

// vmGone passes the deletion of a VM: only that can free a policy being deleted.
var vmGone = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// virtualMachineToPolicy re-queues the policy the VM names; no lookup is needed.
func virtualMachineToPolicy(_ context.Context, obj client.Object) []reconcile.Request {
	name := obj.(*vmopv1.VirtualMachine).Spec.ResourcePolicyName
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}}}
}

// scope is one reconcile's view of a policy; steps record what they saw, status is computed from
// it in one place.
type scope struct {
	policy *vmopv1.VirtualMachineSetResourcePolicy
	log    logr.Logger

	// state is what vSphere holds for the policy; nil when it was not asked or the call failed.
	state *vsphere.ResourcePolicyState
	// vsphereErr is the vSphere call that failed.
	vsphereErr error
	// users are the VirtualMachines (names) that still name a policy being deleted; inUseErr says
	// VMs are still in its pool or folder.
	users    []string
	inUseErr error
}

// Reconcile adds the finalizer, then makes or removes the policy in vSphere, writing status on
// every path.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	policy := &vmopv1.VirtualMachineSetResourcePolicy{}
	if err := r.Client.Get(ctx, req.NamespacedName, policy); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", policy.Namespace, "name", policy.Name)
	ctx = ctrl.LoggerInto(ctx, log)
	helper := patch.NewHelper(policy, r.Client)

	// The finalizer comes first, alone, so nothing exists in vSphere that a deletion could leave
	// behind.
	if policy.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(policy, vmopv1.VirtualMachineSetResourcePolicyFinalizer) {
		controllerutil.AddFinalizer(policy, vmopv1.VirtualMachineSetResourcePolicyFinalizer)
		return ctrl.Result{}, helper.Patch(ctx, policy)
	}

	s := &scope{policy: policy, log: log}
	before := conditions.Get(policy.Status.Conditions, vmopv1.ReadyCondition).DeepCopy()
	defer func() {
		if !controllerutil.ContainsFinalizer(policy, vmopv1.VirtualMachineSetResourcePolicyFinalizer) {
			reterr = errors.Join(reterr, helper.Patch(ctx, policy))
			return
		}
		ready := readyCondition(statusInput{
			Deleting: !policy.DeletionTimestamp.IsZero(), State: s.state, VSphereErr: s.vsphereErr, Users: s.users, InUseErr: s.inUseErr,
		})
		conditions.Set(&policy.Status.Conditions, ready)
		if reterr == nil {
			policy.Status.ObservedGeneration = policy.Generation
		}
		if err := helper.Patch(ctx, policy); err != nil {
			reterr = errors.Join(reterr, err)
			return
		}
		r.recordChange(policy, before, ready)
	}()

	if !policy.DeletionTimestamp.IsZero() {
		return steps.Run(ctx, s, r.checkUsers, r.deleteFromVSphere)
	}
	return steps.Run(ctx, s, r.ensureInVSphere)
}

// recordChange records an event when Ready changes status or reason: Normal when the policy
// becomes ready, Warning when it turns False.
func (r *Reconciler) recordChange(policy *vmopv1.VirtualMachineSetResourcePolicy, before *vmopv1.Condition, now vmopv1.Condition) {
	if before != nil && before.Status == now.Status && before.Reason == now.Reason {
		return
	}
	switch now.Status {
	case corev1.ConditionTrue:
		r.Recorder.Event(policy, corev1.EventTypeNormal, "ResourcePolicyReady", "resource pool, folder and cluster modules exist in vSphere")
	case corev1.ConditionFalse:
		r.Recorder.Event(policy, corev1.EventTypeWarning, now.Reason, now.Message)
	}
}
