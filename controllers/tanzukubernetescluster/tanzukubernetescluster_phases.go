package tanzukubernetescluster

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/tkr"
)

// resolveRelease finds the release the cluster runs: spec.distribution.fullVersion, which the
// admission webhook resolved from the hint, or the hint itself when fullVersion is empty (the
// webhook was bypassed). When it is missing (deleted after admission, or no release matches),
// new machines are blocked, since the release names their image.
func (r *Reconciler) resolveRelease(ctx context.Context, s *scope) (ctrl.Result, error) {
	dist := s.cluster.Spec.Distribution
	// A release the cache does not have yet is looked for on the apiserver before the cluster
	// reports it missing.
	releases, err := confirm.Refusal(ctx, r.readers(), func(rd client.Reader) ([]runv1.TanzuKubernetesRelease, bool, error) {
		list := &runv1.TanzuKubernetesReleaseList{}
		if err := rd.List(ctx, list); err != nil {
			return nil, false, fmt.Errorf("list TanzuKubernetesReleases: %w", err)
		}
		release, _, _ := clusterRelease(dist, list.Items)
		return list.Items, release == nil, nil
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	s.release, s.releaseCompatible, s.updatesAvailable = clusterRelease(dist, releases)
	if s.release == nil {
		s.releaseBlock = &Blocker{Reason: runv1.TanzuKubernetesReleaseNotFoundReason, Message: s.releaseCompatible.Message}
		s.log.Info("release not found; new machines wait for it", "fullVersion", dist.FullVersion, "version", dist.Version)
	}
	return ctrl.Result{}, nil
}

// clusterRelease resolves the cluster's release among releases and derives its
// TanzuKubernetesReleaseCompatible and UpdatesAvailable conditions from that one release, so
// the conditions cannot disagree with the release machines are made from. The release is nil
// when none resolves; the conditions then describe fullVersion, which is what the user set.
func clusterRelease(dist runv1.Distribution, releases []runv1.TanzuKubernetesRelease) (
	*runv1.TanzuKubernetesRelease, vmopv1.Condition, vmopv1.Condition) {
	want := dist.FullVersion
	if want == "" {
		want = dist.Version
	}
	full := want // when nothing resolves, the conditions name what was asked for
	release, err := tkr.Resolve(want, releases)
	if err == nil {
		full = tkr.VersionOf(release)
	}
	return release, tkr.ClusterReleaseCompatible(full, releases), tkr.ClusterUpdatesAvailable(full, releases)
}

// observe is one machine's state from its VM (nil when not made yet). A VM the VM controller
// holds back for a missing class, binding or image blocks the machine; a healthy VM never does,
// since revoking a binding does not stop what runs: it only warns.
func observe(name string, pool Pool, vm *vmopv1.VirtualMachine) MachineState {
	m := MachineState{Name: name, Pool: pool}
	if vm == nil {
		return m
	}
	m.Exists = true
	m.Healthy = vm.DeletionTimestamp.IsZero() && vm.Status.PowerState == vmopv1.VirtualMachinePoweredOn && vm.Status.VmIp != ""
	c := conditions.Get(vm.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)
	if c == nil || c.Status != corev1.ConditionFalse || !vmBlockingReasons[c.Reason] {
		return m
	}
	if m.Healthy {
		m.Warning = &Blocker{Reason: c.Reason, Message: c.Message}
	} else {
		m.Blocked = &Blocker{Reason: c.Reason, Message: c.Message}
	}
	return m
}

// createVM makes one machine's VM from spec, owned by the cluster, recording the spec on it.
// When a VM of that name exists already, existingVM decides whether it is the cluster's; the
// Blocker it returns says why not.
func (r *Reconciler) createVM(ctx context.Context, s *scope, name string, pool Pool, spec machineSpec) (*Blocker, error) {
	tkc := s.cluster
	vm := &vmopv1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: tkc.Namespace,
			Name:      name,
			Labels:    map[string]string{runv1.ClusterNameLabel: tkc.Name, runv1.PoolLabel: string(pool)},
			Annotations: map[string]string{
				runv1.MachineSpecAnnotation:         spec.annotation(),
				vmopv1.ClusterModuleGroupAnnotation: ModuleGroup(pool),
			},
		},
		Spec: vmopv1.VirtualMachineSpec{
			ClassName:          spec.Class,
			ImageName:          spec.Image,
			PowerState:         vmopv1.VirtualMachinePoweredOn,
			StorageClass:       spec.StorageClass,
			ResourcePolicyName: runv1.ResourcePolicyName(tkc.Name),
		},
	}
	if err := controllerutil.SetControllerReference(tkc, vm, r.Client.Scheme()); err != nil {
		return nil, fmt.Errorf("own VirtualMachine %s: %w", name, err)
	}
	err := r.Client.Create(ctx, vm)
	switch {
	case apierrors.IsAlreadyExists(err):
		return r.existingVM(ctx, s, name)
	case err != nil:
		return nil, fmt.Errorf("create VirtualMachine %s of pool %s: %w", name, pool, err)
	}
	s.vms[name] = vm
	s.log.Info("created VirtualMachine", "vm", name, "pool", pool, "class", spec.Class, "release", spec.Release)
	return nil, nil
}

// existingVM looks at a VM that has a machine's name but that observeMachines did not find to be
// the cluster's. Names are deterministic, so it may be the cluster's own VM from an earlier
// reconcile that the cache does not show yet; its event re-queues the cluster. A VM the cluster
// did not create is never adopted, changed or deleted: the machine is blocked, saying whose
// VM has the name, instead of the cluster waiting in creating for a VM that never comes.
func (r *Reconciler) existingVM(ctx context.Context, s *scope, name string) (*Blocker, error) {
	vm := &vmopv1.VirtualMachine{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: s.cluster.Namespace, Name: name}, vm)
	switch {
	case apierrors.IsNotFound(err):
		// Not in the cache yet. Its create event re-queues the cluster: through Owns when it is
		// the cluster's, through virtualMachineToClusters when it is not.
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read VirtualMachine %s, which already exists: %w", name, err)
	case !createdBy(vm, s.cluster):
		s.log.Info("machine name taken by a VirtualMachine the cluster did not create", "vm", name)
		return &Blocker{Reason: runv1.MachineNameTakenReason, Message: nameTakenMessage(vm)}, nil
	}
	s.vms[name] = vm
	return nil, nil
}

// createdBy says whether the cluster created vm: it carries both marks the controller puts on
// its VMs, the cluster's name label and a controller reference with the cluster's UID. Admission
// keeps both the manager's to write; requiring both here keeps a VM that has only one, written
// by someone admission trusts, from becoming a machine of the cluster.
func createdBy(vm *vmopv1.VirtualMachine, tkc *runv1.TanzuKubernetesCluster) bool {
	return vm.Labels[runv1.ClusterNameLabel] == tkc.Name && metav1.IsControlledBy(vm, tkc)
}

// nameTakenMessage says which VM holds a machine's name, who controls it, and what to do.
func nameTakenMessage(vm *vmopv1.VirtualMachine) string {
	holder := "no controller"
	if ref := metav1.GetControllerOf(vm); ref != nil {
		holder = fmt.Sprintf("controller %s/%s", ref.Kind, ref.Name)
	}
	return fmt.Sprintf("VirtualMachine %q in namespace %q has this machine's name and was not created by this cluster (%s); "+
		"delete it, or recreate it under another name, so the cluster can create its machine", vm.Name, vm.Namespace, holder)
}

// deleteMachines deletes every VM of a deleted cluster and removes the finalizer once they are
// gone; their own finalizer removes them from vSphere first. A paused cluster waits, as Cluster
// API's do: pausing stops every change to the machines, deletion included.
func (r *Reconciler) deleteMachines(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.paused {
		s.log.Info("cluster deleted while paused; its machines stay until the annotation is removed", "annotation", runv1.PausedAnnotation)
		return ctrl.Result{}, nil
	}
	if controllerutil.ContainsFinalizer(s.cluster, metav1.FinalizerOrphanDependents) {
		// --cascade=orphan: the garbage collector takes the cluster's owner references off its
		// VMs and then this finalizer; the VMs then stand alone and are not the cluster's to delete.
		s.log.Info("waiting for the garbage collector to orphan the cluster's VirtualMachines")
		return ctrl.Result{}, nil
	}
	if len(s.vms) == 0 {
		// Then the policy, whose own finalizer removes its pool, folder and modules, and the service.
		gone, err := r.deleteInfrastructure(ctx, s)
		if err != nil || !gone {
			s.log.Info("waiting for the resource policy and control plane service to be deleted")
			return ctrl.Result{RequeueAfter: deletePollInterval}, err
		}
		controllerutil.RemoveFinalizer(s.cluster, runv1.TanzuKubernetesClusterFinalizer)
		s.log.Info("all VirtualMachines, the resource policy and the control plane service gone; cluster released")
		return ctrl.Result{}, nil
	}
	var errs []error
	for name, vm := range s.vms {
		if !vm.DeletionTimestamp.IsZero() {
			continue
		}
		// Only the VM as the cache saw it: one the garbage collector orphaned since is not ours.
		if err := r.Client.Delete(ctx, vm, client.Preconditions{UID: &vm.UID, ResourceVersion: &vm.ResourceVersion}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("delete VirtualMachine %s: %w", name, err))
		}
	}
	s.log.Info("waiting for VirtualMachines to be deleted", "remaining", len(s.vms))
	// Owned VMs' delete events re-queue the cluster; the poll covers an event missed.
	return ctrl.Result{RequeueAfter: deletePollInterval}, errors.Join(errs...)
}

// readers are the cache, and the apiserver that confirms what the cache says is missing.
func (r *Reconciler) readers() confirm.Readers { return confirm.Readers{Cache: r.Client, Live: r.Live} }
