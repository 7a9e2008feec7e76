package virtualmachinesetresourcepolicy

import (
	"context"
	"errors"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// ensureInVSphere makes the pool, folder and modules and records the modules' ids.
func (r *Reconciler) ensureInVSphere(ctx context.Context, s *scope) (ctrl.Result, error) {
	p := s.policy
	state, err := r.Provider.EnsureResourcePolicy(ctx, vsphere.ResourcePolicyFromAPI(p))
	if err != nil {
		s.vsphereErr = err
		return ctrl.Result{}, err
	}
	s.state = &state
	p.Status.ClusterModules = nil
	for _, m := range state.ClusterModules {
		p.Status.ClusterModules = append(p.Status.ClusterModules, vmopv1.ClusterModuleStatus{GroupName: m.Group, ModuleUuid: m.ID})
	}
	return ctrl.Result{RequeueAfter: driftInterval}, nil
}

// checkUsers finds the VirtualMachines that still name the policy; the VM watch brings the policy
// back when one goes.
func (r *Reconciler) checkUsers(ctx context.Context, s *scope) (ctrl.Result, error) {
	vms := &vmopv1.VirtualMachineList{}
	if err := r.Client.List(ctx, vms, client.InNamespace(s.policy.Namespace),
		client.MatchingFields{index.VirtualMachineResourcePolicyName: s.policy.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list the VirtualMachines of resource policy %s/%s: %w", s.policy.Namespace, s.policy.Name, err)
	}
	for _, vm := range vms.Items {
		s.users = append(s.users, vm.Name)
	}
	if len(s.users) > 0 {
		s.log.Info("waiting for VirtualMachines that use the policy to go", "virtualMachines", s.users)
	}
	return ctrl.Result{}, nil
}

// deleteFromVSphere removes the modules, pool and folder, then lets the policy go.
func (r *Reconciler) deleteFromVSphere(ctx context.Context, s *scope) (ctrl.Result, error) {
	if len(s.users) > 0 {
		return ctrl.Result{}, nil
	}
	p := s.policy
	spec := vsphere.ResourcePolicyFromAPI(p)
	err := r.Provider.DeleteResourcePolicy(ctx, spec)
	if errors.Is(err, vsphere.ErrResourcePolicyInUse) {
		s.inUseErr = err
		return ctrl.Result{RequeueAfter: inUseRetryInterval}, nil
	}
	if err != nil {
		s.vsphereErr = err
		return ctrl.Result{}, err
	}
	s.log.Info("removed resource policy from vSphere")
	controllerutil.RemoveFinalizer(p, vmopv1.VirtualMachineSetResourcePolicyFinalizer)
	return ctrl.Result{}, nil
}
