package virtualmachineservice

import (
	"context"
	"errors"
	"maps"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/patch"
	"github.com/vm-service/vm-service/internal/steps"
)

// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineservices,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineservices/status;virtualmachineservices/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachines,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconciler keeps the Service and EndpointSlices of VirtualMachineServices.
type Reconciler struct {
	// Client reads from the manager's cache.
	Client client.Client
	// Recorder records a Warning event when a condition turns False.
	Recorder record.EventRecorder
}

// SetupWithManager watches VirtualMachineServices, the Services and slices they control, and
// VirtualMachines (mapped to the services of their namespace whose selector matches their old or
// new labels).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil || r.Recorder == nil {
		return errors.New("virtualmachineservice reconciler needs a client and an event recorder")
	}
	return ctrl.NewControllerManagedBy(mgr).
		// Our own status writes need no reconcile; spec edits, creation and deletion do.
		For(&vmopv1.VirtualMachineService{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A Service's status carries the load balancer's address, so every change of it counts.
		Owns(&corev1.Service{}).
		Owns(&discoveryv1.EndpointSlice{}).
		Watches(&vmopv1.VirtualMachine{}, handler.Funcs{
			CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.enqueue(ctx, q, e.Object.GetNamespace(), e.Object.GetLabels())
			},
			UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				old, vm := e.ObjectOld.(*vmopv1.VirtualMachine), e.ObjectNew.(*vmopv1.VirtualMachine)
				if maps.Equal(old.Labels, vm.Labels) && backing(old) == backing(vm) {
					return // status noise that changes no endpoint
				}
				r.enqueue(ctx, q, vm.Namespace, old.Labels, vm.Labels)
			},
			DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.enqueue(ctx, q, e.Object.GetNamespace(), e.Object.GetLabels())
			},
		}).
		Named("virtualmachineservice").
		Complete(r)
}

// enqueue adds the VirtualMachineServices of namespace whose selector matches any of the label
// sets: a VM that gained, lost or kept a match.
func (r *Reconciler) enqueue(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], namespace string, labelSets ...map[string]string) {
	services := &vmopv1.VirtualMachineServiceList{}
	if err := r.Client.List(ctx, services, client.InNamespace(namespace)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list VirtualMachineServices to re-queue", "namespace", namespace)
		return
	}
	for i := range services.Items {
		svc := &services.Items[i]
		sel := selectorOf(svc)
		if sel == nil {
			continue
		}
		for _, set := range labelSets {
			if sel.Matches(labels.Set(set)) {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(svc)})
				break
			}
		}
	}
}

// selectorOf is the service's VM selector; nil when it selects nothing (ExternalName, or an empty
// selector admission let through before it was refused), never "everything".
func selectorOf(svc *vmopv1.VirtualMachineService) labels.Selector {
	if svc.Spec.Type == vmopv1.VirtualMachineServiceTypeExternalName || len(svc.Spec.Selector) == 0 {
		return nil
	}
	return labels.SelectorFromSet(svc.Spec.Selector)
}

// scope is one reconcile's view of a VirtualMachineService; steps fill it in, and status is
// computed from it.
type scope struct {
	svc *vmopv1.VirtualMachineService
	log logr.Logger

	// service is the core Service as last written or read; nil when it could not be.
	service *corev1.Service
	// serviceErr is the apiserver's refusal of the Service; nameTaken, when set, says who holds a
	// Service of that name that is not ours.
	serviceErr error
	nameTaken  string
	// matched counts the VMs the selector picks; ready are those that back the service.
	matched int
	ready   []endpoint
	// notAllowed are the ready VMs ("name (address)") whose address no EndpointSlice may hold.
	notAllowed []string
	// endpointsObserved says the endpoints step ran to the end.
	endpointsObserved bool
}

// Reconcile writes the Service and the EndpointSlices, then the status, on every path.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	svc := &vmopv1.VirtualMachineService{}
	if err := r.Client.Get(ctx, req.NamespacedName, svc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !svc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the garbage collector removes what it controls
	}
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", svc.Namespace, "name", svc.Name)
	ctx = ctrl.LoggerInto(ctx, log)
	helper := patch.NewHelper(svc, r.Client)
	before := svc.Status.DeepCopy()

	s := &scope{svc: svc, log: log}
	defer func() {
		applyStatus(svc, computeStatus(statusInputOf(s)))
		if reterr == nil {
			svc.Status.ObservedGeneration = svc.Generation
		}
		if err := helper.Patch(ctx, svc); err != nil {
			reterr = errors.Join(reterr, err)
			return
		}
		r.recordChanges(svc, before)
	}()
	return steps.Run(ctx, s, r.ensureService, r.ensureEndpointSlices)
}

// recordChanges records a Warning event for each condition that newly turned False with severity
// Warning or Error, so a service that waits an hour yields one event, not hundreds.
func (r *Reconciler) recordChanges(svc *vmopv1.VirtualMachineService, before *vmopv1.VirtualMachineServiceStatus) {
	for _, c := range svc.Status.Conditions {
		if c.Status != corev1.ConditionFalse || c.Severity == vmopv1.ConditionSeverityInfo {
			continue
		}
		if old := conditions.Get(before.Conditions, c.Type); old == nil || old.Status != c.Status || old.Reason != c.Reason {
			r.Recorder.Event(svc, corev1.EventTypeWarning, c.Reason, c.Message)
		}
	}
}
