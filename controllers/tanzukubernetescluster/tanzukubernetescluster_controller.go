package tanzukubernetescluster

import (
	"context"
	"errors"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/patch"
	"github.com/vm-service/vm-service/internal/steps"
	"github.com/vm-service/vm-service/internal/tkr"
)

// PhaseChangedReason is the reason of the Normal event recorded on every phase change.
const PhaseChangedReason = "PhaseChanged"

// +kubebuilder:rbac:groups=run.tanzu.vmware.com,resources=tanzukubernetesclusters,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=run.tanzu.vmware.com,resources=tanzukubernetesclusters/status;tanzukubernetesclusters/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=run.tanzu.vmware.com,resources=tanzukubernetesreleases,verbs=get;list;watch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachines,verbs=get;list;watch;create;delete;patch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineclasses;virtualmachineclassbindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=vmoperator.vmware.com,resources=virtualmachineservices;virtualmachinesetresourcepolicies,verbs=get;list;watch;create;delete;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconciler turns TanzuKubernetesClusters into VirtualMachines and reports on them.
type Reconciler struct {
	// Client reads from the manager's cache, with the field indexes of internal/index.
	Client client.Client
	// Live reads the apiserver to confirm what the cache says is missing (a class, binding or
	// release), so a cluster never reports a failure that is only the cache lagging;
	// SetupWithManager sets the manager's API reader.
	Live client.Reader
	// Recorder records the PhaseChanged events.
	Recorder record.EventRecorder
	// Bound is the manager's bound-class set, through which the controller learns that a class
	// became bound or unbound in a namespace: only after the set the access check reads has.
	Bound *classaccess.BoundSet
}

// SetupWithManager watches clusters, the VMs they own, VMs they do not own that appear or go
// under a machine's name, and what decides whether a VM may be made: class access and classes
// (through the ClusterClassNames index, so a class bound or unbound re-queues only the clusters
// of its namespace that use it) and releases (through the ClusterReleaseMinor index).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil || r.Recorder == nil || r.Bound == nil {
		return errors.New("tanzukubernetescluster reconciler needs a client, an event recorder and the bound-class set")
	}
	if r.Live == nil {
		r.Live = mgr.GetAPIReader()
	}
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).
		For(&runv1.TanzuKubernetesCluster{}).
		Owns(&vmopv1.VirtualMachine{}).
		// The service's status carries the API endpoint; the policy is made again if deleted.
		Owns(&vmopv1.VirtualMachineService{}).
		Owns(&vmopv1.VirtualMachineSetResourcePolicy{}).
		Watches(&vmopv1.VirtualMachine{}, handler.EnqueueRequestsFromMapFunc(r.virtualMachineToClusters), builder.WithPredicates(notOwnedByCluster)).
		WatchesRawSource(r.Bound.Source(r.boundToClusters)).
		Watches(&vmopv1.VirtualMachineClass{}, handler.EnqueueRequestsFromMapFunc(r.classToClusters), specChanged).
		Watches(&runv1.TanzuKubernetesRelease{}, handler.EnqueueRequestsFromMapFunc(r.releaseToClusters), specChanged).
		Named("tanzukubernetescluster").
		Complete(r)
}

// scope is one reconcile's view of a cluster; steps fill it in and record why they are blocked,
// and the status is computed from it.
type scope struct {
	cluster *runv1.TanzuKubernetesCluster
	log     logr.Logger

	// release is the cluster's resolved release; nil with releaseBlock set when it is missing.
	release      *runv1.TanzuKubernetesRelease
	releaseBlock *Blocker
	// releaseCompatible and updatesAvailable are the cluster's release conditions, worked out by
	// resolveRelease from the release it resolved, so status reports the release the machines
	// are made from. The deletion path does not resolve a release and leaves them unset.
	releaseCompatible vmopv1.Condition
	updatesAvailable  vmopv1.Condition

	// vms are the VirtualMachines the cluster owns, by name.
	vms map[string]*vmopv1.VirtualMachine
	// machines are the cluster's live VMs (outdated ones too) and those this reconcile makes;
	// surplus counts owned VMs being deleted or to delete.
	machines []MachineState
	surplus  int
	// rollouts say, per pool, how many machines are up to date; toDelete are the VMs the plans
	// delete, replaced the outdated ones among them (see tanzukubernetescluster_rollout.go).
	rollouts []poolRollout
	toDelete []string
	replaced map[string]bool
	// apiEndpoints is where the cluster's API is served: its control plane service's address.
	apiEndpoints []runv1.APIEndpoint
	// paused is set by the cluster.x-k8s.io/paused annotation: machines are left as they are.
	paused bool
	// observed says the steps got far enough for status to be computed from this scope.
	observed bool
}

// Reconcile adds the finalizer, then makes or removes VMs, writing status on every path.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	tkc := &runv1.TanzuKubernetesCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, tkc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", tkc.Namespace, "name", tkc.Name)
	ctx = ctrl.LoggerInto(ctx, log)
	helper := patch.NewHelper(tkc, r.Client)

	// The finalizer comes first, alone, so no VM exists that a deletion could leave behind; the
	// write re-queues the cluster, and the next reconcile starts clean.
	if tkc.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(tkc, runv1.TanzuKubernetesClusterFinalizer) {
		controllerutil.AddFinalizer(tkc, runv1.TanzuKubernetesClusterFinalizer)
		if tkc.Status.Phase == "" {
			tkc.Status.Phase = runv1.PhaseCreating
		}
		return ctrl.Result{}, helper.Patch(ctx, tkc)
	}

	s := &scope{cluster: tkc, log: log, paused: isPaused(tkc)}
	phase := tkc.Status.Phase
	defer func() {
		if s.observed {
			r.setStatus(s)
			if reterr == nil {
				tkc.Status.ObservedGeneration = tkc.Generation
			}
		}
		// A cluster starts creating. The finalizer write that records it and this status may
		// reach the cache apart, so an empty phase read here is creating, not "no phase".
		from := phase
		if from == "" {
			from = runv1.PhaseCreating
		}
		if err := helper.Patch(ctx, tkc); err != nil {
			// The event reports a phase the cluster's status holds; no write, no event.
			reterr = errors.Join(reterr, err)
			return
		}
		if tkc.Status.Phase != from && tkc.Status.Phase != "" {
			log.Info("phase changed", "from", from, "to", tkc.Status.Phase)
			r.Recorder.Eventf(tkc, corev1.EventTypeNormal, PhaseChangedReason,
				"cluster changes from %s phase to %s phase", from, tkc.Status.Phase)
		}
	}()

	if !tkc.DeletionTimestamp.IsZero() {
		return steps.Run(ctx, s, r.observeMachines, r.deleteMachines)
	}
	return steps.Run(ctx, s, r.resolveRelease, r.labelRelease, r.ensureInfrastructure, r.observeMachines, r.rollOut)
}

// setStatus computes the cluster's status from the scope, in one place.
func (r *Reconciler) setStatus(s *scope) {
	tkc := s.cluster
	in := statusInput{
		ControlPlaneCount: int(tkc.Spec.Topology.ControlPlane.Count),
		WorkerCount:       int(tkc.Spec.Topology.Workers.Count),
		Machines:          s.machines,
		Surplus:           s.surplus,
		Deleting:          !tkc.DeletionTimestamp.IsZero(),
		Remaining:         len(s.vms),
		HasRun:            tkc.Status.Version != "",
		ReleaseCompatible: s.releaseCompatible,
		UpdatesAvailable:  s.updatesAvailable,
		Rollouts:          s.rollouts,
		Paused:            s.paused,
	}
	version := ""
	if s.release != nil {
		version = s.release.Spec.KubernetesVersion
	}
	applyStatus(tkc, computeStatus(in), version)
	if !in.Deleting {
		tkc.Status.APIEndpoints = s.apiEndpoints
	}
}

// boundToClusters re-queues the clusters of a namespace that use a class bound or unbound there.
func (r *Reconciler) boundToClusters(ctx context.Context, namespace, class string) []reconcile.Request {
	return r.clusters(ctx, client.InNamespace(namespace), client.MatchingFields{index.ClusterClassNames: class})
}

// classToClusters re-queues the clusters of every namespace that use the class.
func (r *Reconciler) classToClusters(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.clusters(ctx, client.MatchingFields{index.ClusterClassNames: obj.GetName()})
}

// notOwnedByCluster passes the creation and deletion of VMs no cluster controls (Owns covers the
// others): only those can take a machine's name or free it.
var notOwnedByCluster = predicate.Funcs{
	CreateFunc:  func(e event.CreateEvent) bool { return !controlledByCluster(e.Object) },
	DeleteFunc:  func(e event.DeleteEvent) bool { return !controlledByCluster(e.Object) },
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

func controlledByCluster(obj client.Object) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.Kind == "TanzuKubernetesCluster" && ref.APIVersion == runv1.GroupVersion.String()
}

// virtualMachineToClusters re-queues the cluster whose machine name a VM it does not control
// has taken or freed, so a MachineNameTaken block appears, and clears, without waiting. The
// cluster is named by the VM's name; no lookup is needed, and a cluster that does not exist is
// a no-op reconcile.
func (r *Reconciler) virtualMachineToClusters(_ context.Context, obj client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, name := range clustersOfMachineName(obj.GetName()) {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}})
	}
	return reqs
}

// releaseToClusters re-queues the clusters a release can matter to, through the
// ClusterReleaseMinor index: those on the release's Kubernetes minor, whose UpdatesAvailable it
// may change or whose release it is, those on the minor before, which may upgrade to it, and
// those still without a release, which may now resolve.
func (r *Reconciler) releaseToClusters(ctx context.Context, obj client.Object) []reconcile.Request {
	rel, ok := obj.(*runv1.TanzuKubernetesRelease)
	if !ok {
		return nil
	}
	minor := index.ReleaseMinor(tkr.VersionOf(rel))
	if minor == index.UnresolvedRelease {
		// A release whose version does not parse can be no cluster's release.
		return nil
	}
	reqs := append(r.clusters(ctx, client.MatchingFields{index.ClusterReleaseMinor: minor}),
		r.clusters(ctx, client.MatchingFields{index.ClusterReleaseMinor: index.UnresolvedRelease})...)
	if prev := index.PreviousReleaseMinor(tkr.VersionOf(rel)); prev != "" {
		reqs = append(reqs, r.clusters(ctx, client.MatchingFields{index.ClusterReleaseMinor: prev})...)
	}
	return reqs
}

func (r *Reconciler) clusters(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	clusters := &runv1.TanzuKubernetesClusterList{}
	if err := r.Client.List(ctx, clusters, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list TanzuKubernetesClusters to re-queue")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(clusters.Items))
	for _, c := range clusters.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
	}
	return reqs
}

// deletePollInterval re-checks a deletion in case a VM's delete event is missed.
const deletePollInterval = 10 * time.Second
