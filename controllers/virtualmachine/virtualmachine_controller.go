// Package virtualmachine reconciles VirtualMachines into vSphere VMs. It checks the class, its
// binding in the VM's namespace and the image before any vSphere call, deploys through the
// vSphere provider, drives power, and reports every step in status conditions and events.
// Revoking a binding never touches a VM that already exists in vSphere.
package virtualmachine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/ippool"
	"github.com/vm-service/vm-service/internal/patch"
	"github.com/vm-service/vm-service/internal/steps"
	"github.com/vm-service/vm-service/internal/storageaccess"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// PhaseChangedReason is the reason of the Normal event recorded on every phase change.
const PhaseChangedReason = "PhaseChanged"

// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachines,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachines/status;virtualmachines/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclasses;virtualmachineclassbindings;virtualmachineimages;virtualmachinesetresourcepolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=resourcequotas,verbs=get;list;watch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch

// Concurrency is how many VirtualMachines are reconciled at once, so how many vSphere deploys
// run side by side.
const Concurrency = 16

// Reconciler makes vSphere match VirtualMachines.
type Reconciler struct {
	Client client.Client
	// Live reads the apiserver to confirm what the cache says is missing (a class, binding or
	// image), so a VM never reports a failure that is only the cache lagging; SetupWithManager
	// sets the manager's API reader.
	Live     client.Reader
	Provider vsphere.Provider
	Recorder record.EventRecorder
	// Bound is the manager's bound-class set, through which the controller learns that a class
	// became bound or unbound in a namespace: only after the set the access check reads has.
	Bound *classaccess.BoundSet
	// Networks give the NICs on networks without DHCP static addresses through guest
	// customization, by network name; a network without a pool leaves addressing to DHCP.
	Networks ippool.Networks

	seedMu sync.Mutex
	seeded bool // addresses in use were reserved after start
}

// SetupWithManager watches VirtualMachines, class access through the bound-class set, and,
// through the field indexes, the classes and images they depend on.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil || r.Provider == nil || r.Recorder == nil || r.Bound == nil {
		return errors.New("virtualmachine reconciler needs a client, a provider, an event recorder and the bound-class set")
	}
	if r.Live == nil {
		r.Live = mgr.GetAPIReader()
	}
	if err := mgr.Add(&blockedMetrics{cache: mgr.GetClient()}); err != nil {
		return fmt.Errorf("add blocked VirtualMachines gauge: %w", err)
	}
	// Recover from a vCenter outage within a minute of its end, not after the default ~16 minutes.
	// A passing error (a conflict, a busy simulator) is retried at once as by default: a base of
	// seconds would leave a VM, and a cluster waiting on it, idle for a minute after six in a row.
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, time.Minute)
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	// ConfigMaps and Secrets have no generation; a new resourceVersion is a change, a resync not.
	dataChanged := builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).
		// The controller's own status writes must not wake it: that would cost a vCenter round
		// trip each; periodic requeues catch drift in vSphere instead.
		For(&vmopv1.VirtualMachine{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, lifecycleChanged))).
		WatchesRawSource(r.Bound.Source(r.boundToVirtualMachines)).
		Watches(&vmopv1.VirtualMachineClass{}, handler.EnqueueRequestsFromMapFunc(r.classToVirtualMachines), specChanged).
		Watches(&vmopv1.VirtualMachineImage{}, handler.EnqueueRequestsFromMapFunc(r.imageToVirtualMachines), specChanged).
		Watches(&corev1.ResourceQuota{}, handler.EnqueueRequestsFromMapFunc(r.quotaToVirtualMachines), quotaChanged).
		// A policy's readiness is in its status, so status writes count too.
		Watches(&vmopv1.VirtualMachineSetResourcePolicy{}, handler.EnqueueRequestsFromMapFunc(r.policyToVirtualMachines), dataChanged).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.configMapToVirtualMachines), builder.OnlyMetadata, dataChanged).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.secretToVirtualMachines), builder.OnlyMetadata, dataChanged).
		WithOptions(controller.Options{MaxConcurrentReconciles: Concurrency, RateLimiter: limiter}).
		Complete(r)
}

// scope is one reconcile's view of a VM; steps fill it in and record why they are blocked, and
// status is computed from it in one place.
type scope struct {
	vm     *vmopv1.VirtualMachine
	log    logr.Logger
	helper *patch.Helper
	// written is the status as last written, to tell what a write changed.
	written *vmopv1.VirtualMachineStatus

	// existed says the VM existed in vSphere when the reconcile began (status.uniqueID set);
	// missing that vSphere then said it is gone, and nothing was made since it may not be.
	existed, missing bool
	// access is the class-access decision; checked is set once prerequisites were read.
	access     classaccess.Decision
	storage    storageaccess.Decision
	imageFound bool
	checked    bool
	// policy is what the VM's resource policy decided; zero without spec.resourcePolicyName.
	policy policyDecision
	// state is what vSphere reported this pass; nil when it was not asked or the call failed.
	state *vsphere.VMState
	// vsphereErr is the vSphere call that failed, for the Provisioned condition; networkErr says
	// a NIC's network is missing, addressErr that no address could be allocated, nameErr that
	// another vSphere VM has the VM's name.
	vsphereErr, networkErr, addressErr, nameErr error
	// guestData is the VM's guest data source as read; nil without spec.vmMetadata or before it
	// is read. guestIgnored and guestErr say what applying it left out or why it could not.
	guestData    *guestData
	guestIgnored []string
	guestErr     error
	// readiness is the readiness probe's verdict this pass; nil without a probe or before it ran.
	readiness *readiness
}

// Reconcile adds the finalizer, then deploys or deletes, writing status on every path.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	vm := &vmopv1.VirtualMachine{}
	if err := r.Client.Get(ctx, req.NamespacedName, vm); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", vm.Namespace, "name", vm.Name)
	ctx = ctrl.LoggerInto(ctx, log)
	helper := patch.NewHelper(vm, r.Client)

	// The finalizer comes first, alone, so nothing exists in vSphere that a deletion could leave
	// behind; the write re-queues the VM, and the next reconcile starts clean.
	if vm.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(vm, vmopv1.VirtualMachineFinalizer) {
		controllerutil.AddFinalizer(vm, vmopv1.VirtualMachineFinalizer)
		return ctrl.Result{}, helper.Patch(ctx, vm)
	}

	s := &scope{vm: vm, log: log, helper: helper, written: vm.Status.DeepCopy(), existed: vm.Status.UniqueID != "", imageFound: true}
	defer func() {
		applyStatus(vm, computeStatus(r.statusInput(s)))
		if reterr == nil {
			vm.Status.ObservedGeneration = vm.Generation
		}
		reterr = errors.Join(reterr, r.write(ctx, s))
	}()

	if !vm.DeletionTimestamp.IsZero() {
		return steps.Run(ctx, s, r.deleteVM)
	}
	return steps.Run(ctx, s, r.checkPrereqs, r.readPolicy, r.readGuestData, r.recordAddresses, r.ensureVM, r.probeReadiness)
}

// provisioning says a phase change is a VM's way from its creation to Created, which its status
// and conditions show: an event for each step would more than double the apiserver writes of
// making a VM, for nothing a user asked to hear about.
func provisioning(from, to vmopv1.VMStatusPhase) bool {
	return from == "" || (from == vmopv1.Creating && to == vmopv1.Created)
}

// lifecycleChanged passes updates that start a deletion or change finalizers or annotations.
var lifecycleChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, n := e.ObjectOld, e.ObjectNew
	return !n.GetDeletionTimestamp().Equal(o.GetDeletionTimestamp()) ||
		!slices.Equal(o.GetFinalizers(), n.GetFinalizers()) ||
		!maps.Equal(o.GetAnnotations(), n.GetAnnotations())
}}

// boundToVirtualMachines re-queues the VMs of a namespace that use a class bound or unbound there.
func (r *Reconciler) boundToVirtualMachines(ctx context.Context, namespace, class string) []reconcile.Request {
	return r.virtualMachines(ctx, client.InNamespace(namespace), client.MatchingFields{index.VirtualMachineClassName: class})
}

// classToVirtualMachines re-queues the VMs of every namespace that use the class.
func (r *Reconciler) classToVirtualMachines(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.virtualMachines(ctx, client.MatchingFields{index.VirtualMachineClassName: obj.GetName()})
}

// quotaChanged passes quotas made, deleted or given other limits; quotas have no generation, and
// their usage changes often.
var quotaChanged = builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, n := e.ObjectOld.(*corev1.ResourceQuota), e.ObjectNew.(*corev1.ResourceQuota)
	return !equality.Semantic.DeepEqual(o.Spec.Hard, n.Spec.Hard)
}})

// quotaToVirtualMachines re-queues the VMs of the quota's namespace, which may wait for a storage
// class it assigns.
func (r *Reconciler) quotaToVirtualMachines(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.virtualMachines(ctx, client.InNamespace(obj.GetNamespace()))
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

// write patches the VM and, once the write succeeded, records events for what it changed.
func (r *Reconciler) write(ctx context.Context, s *scope) error {
	if err := s.helper.Patch(ctx, s.vm); err != nil {
		return err
	}
	r.recordChanges(s.vm, s.written)
	s.written = s.vm.Status.DeepCopy()
	return nil
}

// recordChanges records a Normal event for a phase change other than a VM's way to Created,
// and a Warning event for each condition that newly turned False with severity Warning or Error,
// so a VM blocked for an hour yields one event, not hundreds.
func (r *Reconciler) recordChanges(vm *vmopv1.VirtualMachine, before *vmopv1.VirtualMachineStatus) {
	if from, to := before.Phase, vm.Status.Phase; to != from && !provisioning(from, to) {
		r.Recorder.Eventf(vm, corev1.EventTypeNormal, PhaseChangedReason, "VM changes from %s phase to %s phase", from, to)
	}
	for _, c := range vm.Status.Conditions {
		if c.Status != corev1.ConditionFalse || c.Severity == vmopv1.ConditionSeverityInfo {
			continue
		}
		if old := conditions.Get(before.Conditions, c.Type); old == nil || old.Status != c.Status || old.Reason != c.Reason {
			r.Recorder.Event(vm, corev1.EventTypeWarning, c.Reason, c.Message)
		}
	}
}
