package virtualmachine

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// policyRetryInterval: a VM whose policy's pool, folder or module vSphere lacks although the
// policy says it is ready; the policy's next status write usually brings the VM back sooner.
const policyRetryInterval = 10 * time.Second

// policyDecision is what the VM's resource policy says about where the VM goes.
type policyDecision struct {
	// placement and module are where the VM goes and the cluster module it joins; set when the
	// policy is usable.
	placement *vsphere.Placement
	module    string
	// reason and message say why the policy keeps a new VM from being made; empty when it does
	// not.
	reason, message string
}

func (d policyDecision) blocks() bool { return d.reason != "" }

// readPolicy decides whether the VM's resource policy lets it be made: the policy exists, is
// Ready, is not being deleted, and has a module for the VM's cluster module group. A policy that
// looks missing or unready in the cache is read again from the apiserver before the VM waits.
func (r *Reconciler) readPolicy(ctx context.Context, s *scope) (ctrl.Result, error) {
	vm := s.vm
	name := vm.Spec.ResourcePolicyName
	if name == "" {
		return ctrl.Result{}, nil
	}
	group := vm.Annotations[vmopv1.ClusterModuleGroupAnnotation]
	d, err := confirm.Refusal(ctx, r.readers(), func(rd client.Reader) (policyDecision, bool, error) {
		p := &vmopv1.VirtualMachineSetResourcePolicy{}
		err := rd.Get(ctx, client.ObjectKey{Namespace: vm.Namespace, Name: name}, p)
		if apierrors.IsNotFound(err) {
			d := policyDecision{reason: vmopv1.VirtualMachineSetResourcePolicyNotFoundReason,
				message: fmt.Sprintf("VirtualMachineSetResourcePolicy %q not found in namespace %s; the VM is made once it exists and is ready", name, vm.Namespace)}
			return d, true, nil
		}
		if err != nil {
			return policyDecision{}, false, fmt.Errorf("read VirtualMachineSetResourcePolicy %s/%s: %w", vm.Namespace, name, err)
		}
		d := decidePolicy(p, group)
		return d, d.blocks(), nil
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	s.policy = d
	if d.blocks() && !s.existed {
		s.log.Info("waiting for resource policy", "policy", name, "reason", d.reason)
	}
	return ctrl.Result{}, nil // the policy watch brings a waiting VM back
}

// decidePolicy says whether policy p places a VM that joins the module of group ("" for none).
func decidePolicy(p *vmopv1.VirtualMachineSetResourcePolicy, group string) policyDecision {
	notReady := func(format string, args ...any) policyDecision {
		return policyDecision{reason: vmopv1.VirtualMachineSetResourcePolicyNotReadyReason,
			message: fmt.Sprintf("VirtualMachineSetResourcePolicy %q ", p.Name) + fmt.Sprintf(format, args...)}
	}
	ready := conditions.Get(p.Status.Conditions, vmopv1.ReadyCondition)
	switch {
	case !p.DeletionTimestamp.IsZero():
		return notReady("is being deleted; name another policy, or none")
	case ready == nil || ready.Status != corev1.ConditionTrue:
		why := "its resource pool and folder are not made yet"
		if ready != nil && ready.Message != "" {
			why = ready.Message
		}
		return notReady("is not ready: %s; the VM is made once it is", why)
	}
	d := policyDecision{placement: &vsphere.Placement{Pool: p.Spec.ResourcePool.Name, Folder: p.Spec.Folder.Name}}
	if group == "" {
		return d
	}
	if d.module = p.ModuleUUID(group); d.module == "" {
		var groups []string
		for _, m := range p.Spec.ClusterModules {
			groups = append(groups, m.GroupName)
		}
		return notReady("has no cluster module for group %q (annotation %s; its groups: %s); add the group to the policy or fix the annotation",
			group, vmopv1.ClusterModuleGroupAnnotation, strings.Join(groups, ", "))
	}
	return d
}

// policyCondition is VirtualMachinePrereqReady for a VM its policy blocks: an Error for a VM not
// made yet, a Warning for one that exists and keeps running.
func policyCondition(d policyDecision, exists bool) vmopv1.Condition {
	if exists {
		return conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, d.reason, vmopv1.ConditionSeverityWarning,
			"%s; the existing VM keeps running unchanged", d.message)
	}
	return conditions.False(vmopv1.VirtualMachinePrereqReadyCondition, d.reason, vmopv1.ConditionSeverityError, "%s", d.message)
}

// policyToVirtualMachines re-queues the VMs of the policy's namespace that name it.
func (r *Reconciler) policyToVirtualMachines(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.virtualMachines(ctx, client.InNamespace(obj.GetNamespace()), client.MatchingFields{index.VirtualMachineResourcePolicyName: obj.GetName()})
}

// placementOf is where the VM's policy puts it, for finding an interrupted creation on delete;
// nil without a policy or when the policy is gone.
func (r *Reconciler) placementOf(ctx context.Context, vm *vmopv1.VirtualMachine) (*vsphere.Placement, error) {
	if vm.Spec.ResourcePolicyName == "" {
		return nil, nil
	}
	p := &vmopv1.VirtualMachineSetResourcePolicy{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: vm.Namespace, Name: vm.Spec.ResourcePolicyName}, p)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read VirtualMachineSetResourcePolicy %s/%s: %w", vm.Namespace, vm.Spec.ResourcePolicyName, err)
	}
	pl := vsphere.PlacementOf(p)
	return &pl, nil
}
