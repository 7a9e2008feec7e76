package tanzukubernetescluster

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// A cluster's infrastructure, as Tanzu Kubernetes Grid lays it out: a resource policy named after
// the cluster (its VMs' pool and folder, and a cluster module per pool so vSphere keeps a pool's
// machines on different hosts) and a LoadBalancer VirtualMachineService in front of the control
// plane, whose address is the cluster's API endpoint.

// APIServerPort is the port of a cluster's API endpoint and of its control plane VMs' apiserver.
const APIServerPort = 6443

// ModuleGroup is the cluster module group of a pool's machines.
func ModuleGroup(pool Pool) string { return string(pool) }

// ensureInfrastructure makes the cluster's resource policy and control plane service, and reads
// the API endpoint from the service.
func (r *Reconciler) ensureInfrastructure(ctx context.Context, s *scope) (ctrl.Result, error) {
	tkc := s.cluster
	policy := &vmopv1.VirtualMachineSetResourcePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: tkc.Namespace, Name: runv1.ResourcePolicyName(tkc.Name)}}
	err := r.ensureControlled(ctx, tkc, policy, func() {
		policy.Spec.ResourcePool.Name = tkc.Name
		policy.Spec.Folder.Name = tkc.Name
		policy.Spec.ClusterModules = []vmopv1.ClusterModuleSpec{{GroupName: ModuleGroup(ControlPlanePool)}, {GroupName: ModuleGroup(WorkersPool)}}
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	svc := &vmopv1.VirtualMachineService{ObjectMeta: metav1.ObjectMeta{Namespace: tkc.Namespace, Name: runv1.ControlPlaneServiceName(tkc.Name)}}
	err = r.ensureControlled(ctx, tkc, svc, func() {
		svc.Spec.Type = vmopv1.VirtualMachineServiceTypeLoadBalancer
		svc.Spec.Ports = []vmopv1.VirtualMachineServicePort{{Name: "apiserver", Protocol: "TCP", Port: APIServerPort, TargetPort: APIServerPort}}
		svc.Spec.Selector = map[string]string{runv1.ClusterNameLabel: tkc.Name, runv1.PoolLabel: string(ControlPlanePool)}
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		host := in.IP
		if host == "" {
			host = in.Hostname
		}
		if host != "" {
			s.apiEndpoints = []runv1.APIEndpoint{{Host: host, Port: APIServerPort}}
			break
		}
	}
	return ctrl.Result{}, nil
}

// ensureControlled creates obj as set by mutate, controlled by the cluster, or brings the one the
// cluster controls back to it. One of that name that the cluster does not control is never adopted.
func (r *Reconciler) ensureControlled(ctx context.Context, tkc *runv1.TanzuKubernetesCluster, obj client.Object, mutate func()) error {
	gvk, err := r.Client.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	kind := gvk.Kind
	err = r.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	switch {
	case apierrors.IsNotFound(err):
		mutate()
		if err := controllerutil.SetControllerReference(tkc, obj, r.Client.Scheme()); err != nil {
			return fmt.Errorf("own %s %s: %w", kind, obj.GetName(), err)
		}
		if err := r.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("create %s %s: %w", kind, obj.GetName(), err)
		}
		ctrl.LoggerFrom(ctx).Info("created "+kind, "name", obj.GetName())
		return nil
	case err != nil:
		return fmt.Errorf("read %s %s: %w", kind, obj.GetName(), err)
	case !metav1.IsControlledBy(obj, tkc):
		return fmt.Errorf("%s %s exists and is not this cluster's: delete or rename it so the cluster can make its own", kind, obj.GetName())
	}
	base := obj.DeepCopyObject().(client.Object)
	mutate()
	if equality.Semantic.DeepEqual(base, obj) {
		return nil // every reconcile passes here; an empty patch would still be a write
	}
	if err := r.Client.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("update %s %s: %w", kind, obj.GetName(), err)
	}
	return nil
}

// deleteInfrastructure deletes the cluster's policy and service, once its VMs are gone; it says
// whether both are gone. Objects the cluster no longer controls (orphaned) are left alone.
func (r *Reconciler) deleteInfrastructure(ctx context.Context, s *scope) (bool, error) {
	tkc := s.cluster
	gone := true
	var errs []error
	for _, obj := range []client.Object{
		&vmopv1.VirtualMachineService{ObjectMeta: metav1.ObjectMeta{Namespace: tkc.Namespace, Name: runv1.ControlPlaneServiceName(tkc.Name)}},
		&vmopv1.VirtualMachineSetResourcePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: tkc.Namespace, Name: runv1.ResourcePolicyName(tkc.Name)}},
	} {
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			errs = append(errs, err)
			gone = false
			continue
		}
		if !metav1.IsControlledBy(obj, tkc) {
			continue
		}
		gone = false
		if !obj.GetDeletionTimestamp().IsZero() {
			continue // its own finalizer (the policy's) is removing what it stands for in vSphere
		}
		uid, rv := obj.GetUID(), obj.GetResourceVersion()
		if err := r.Client.Delete(ctx, obj, client.Preconditions{UID: &uid, ResourceVersion: &rv}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", obj.GetName(), err))
		}
	}
	return gone, errors.Join(errs...)
}
