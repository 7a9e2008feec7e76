package vcentersync

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/index"
)

// ReasonNamespaceInUse is the reason of the Warning event on a mirrored Namespace that vCenter
// no longer lists but that the sync keeps because it still holds workloads.
const ReasonNamespaceInUse = "VCenterNamespaceGoneButInUse"

// errNamespaceInUse is logged, not returned: keeping such a Namespace is the guard working.
var errNamespaceInUse = errors.New("vCenter no longer lists this namespace, but it still holds workloads; keeping it")

// holds remembers what was last reported about each object the sync keeps instead of deleting,
// so a hold is reported when it starts or changes, not at every interval.
type holds struct {
	last, next map[string]string
}

func newHolds() holds {
	return holds{last: map[string]string{}, next: map[string]string{}}
}

// changed records that key is held in state and reports whether that is news.
func (h *holds) changed(key, state string) bool {
	h.next[key] = state
	return h.last[key] != state
}

// rotate ends a pass: holds not recorded during it are over, and report again if they return.
func (h *holds) rotate() {
	h.last, h.next = h.next, map[string]string{}
}

// deleteUnusedClass deletes a mirrored class vCenter assigns nowhere, unless VirtualMachines
// still use it. The class webhook would refuse that delete anyway; asking first keeps an
// expected state from failing every sync. The class goes at the first sync after its last user.
func (s *Syncer) deleteUnusedClass(ctx context.Context, class *vmopv1.VirtualMachineClass) error {
	var vms vmopv1.VirtualMachineList
	if err := s.client.List(ctx, &vms, client.MatchingFields{index.VirtualMachineClassName: class.Name}); err != nil {
		return fmt.Errorf("list the VirtualMachines using VirtualMachineClass %s: %w", class.Name, err)
	}
	if n := len(vms.Items); n > 0 {
		if s.heldClasses.changed(class.Name, fmt.Sprint(n)) {
			s.log.V(1).Info("keeping VirtualMachineClass assigned nowhere in vCenter while VirtualMachines use it",
				"class", class.Name, "virtualMachines", n)
		}
		return nil
	}
	err := s.delete(ctx, kindClass, class)
	if apierrors.IsForbidden(err) {
		// A VirtualMachine the cache has not seen yet made the class webhook refuse: the same
		// hold as above, found one step later.
		if s.heldClasses.changed(class.Name, "forbidden") {
			s.log.V(1).Info("VirtualMachineClass delete refused; retrying next interval", "class", class.Name, "reason", err.Error())
		}
		return nil
	}
	return err
}

// workloads counts what a Namespace holds that deleting it would destroy.
type workloads struct {
	virtualMachines, clusters int
}

func (w workloads) empty() bool { return w.virtualMachines == 0 && w.clusters == 0 }

// namespaceWorkloads counts the VirtualMachines and TanzuKubernetesClusters in ns.
func (s *Syncer) namespaceWorkloads(ctx context.Context, ns string) (workloads, error) {
	var vms vmopv1.VirtualMachineList
	if err := s.client.List(ctx, &vms, client.InNamespace(ns)); err != nil {
		return workloads{}, fmt.Errorf("list VirtualMachines in Namespace %s: %w", ns, err)
	}
	var clusters runv1.TanzuKubernetesClusterList
	if err := s.client.List(ctx, &clusters, client.InNamespace(ns)); err != nil {
		return workloads{}, fmt.Errorf("list TanzuKubernetesClusters in Namespace %s: %w", ns, err)
	}
	return workloads{virtualMachines: len(vms.Items), clusters: len(clusters.Items)}, nil
}

// deleteEmptyNamespace deletes a mirrored Namespace vCenter no longer lists, but only once it
// holds no VirtualMachines or TanzuKubernetesClusters. Deleting a Namespace deletes its VMs, whose
// finalizers destroy them in vSphere, and a successful but empty answer (wrong URL, a missing
// privilege) looks exactly like every namespace being removed: workloads must be deleted on
// purpose, not by the sync.
func (s *Syncer) deleteEmptyNamespace(ctx context.Context, ns *corev1.Namespace) error {
	w, err := s.namespaceWorkloads(ctx, ns.Name)
	if err != nil {
		return err
	}
	if w.empty() {
		return s.delete(ctx, kindNamespace, ns)
	}
	if s.heldNamespaces.changed(ns.Name, fmt.Sprintf("%d/%d", w.virtualMachines, w.clusters)) {
		s.warnNamespaceKept(ns, w)
	}
	return nil
}

// warnNamespaceKept tells the admin, in the log and on the Namespace, why it was not deleted.
func (s *Syncer) warnNamespaceKept(ns *corev1.Namespace, w workloads) {
	s.log.Error(errNamespaceInUse, "not deleting mirrored Namespace; delete its workloads first if the namespace is really gone from vCenter",
		"namespace", ns.Name, "virtualMachines", w.virtualMachines, "tanzuKubernetesClusters", w.clusters)
	if s.recorder == nil {
		return
	}
	s.recorder.Eventf(ns, corev1.EventTypeWarning, ReasonNamespaceInUse,
		"vCenter no longer lists namespace %s, but it holds %d VirtualMachine(s) and %d TanzuKubernetesCluster(s); "+
			"the vCenter sync keeps it until they are deleted", ns.Name, w.virtualMachines, w.clusters)
}
