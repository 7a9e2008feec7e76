package tanzukubernetescluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/tkr"
)

// MachineReplacedReason is the reason of the Normal event recorded for each outdated machine a
// rolling update replaces.
const MachineReplacedReason = "MachineReplaced"

// machineSpec is what a machine is made from. The controller records it on the machine's VM at
// creation (runv1.MachineSpecAnnotation), so a rollout compares names and versions as they were,
// never a class as it reads today: editing a class does not roll a cluster.
type machineSpec struct {
	Class        string `json:"class"`
	StorageClass string `json:"storageClass"`
	// Release is the release's full version; Image the VirtualMachineImage it booted from.
	Release string `json:"release,omitempty"`
	Image   string `json:"image,omitempty"`
}

// targetSpec is what the pool asks for now. Without a resolved release the release is what the
// spec names, so machines already made from it stay up to date while new ones wait for it.
func targetSpec(s *scope, pool Pool) machineSpec {
	settings := poolSettings(s.cluster, pool)
	spec := machineSpec{Class: settings.Class, StorageClass: settings.StorageClass, Release: s.cluster.Spec.Distribution.FullVersion}
	if s.release != nil {
		spec.Release, spec.Image = tkr.VersionOf(s.release), s.release.Spec.NodeImageName
	}
	return spec
}

// recordedSpec is the spec a VM was made from. A VM made before specs were recorded has none; its
// own spec says the same about class, storage class and image.
func recordedSpec(vm *vmopv1.VirtualMachine) machineSpec {
	if raw, ok := vm.Annotations[runv1.MachineSpecAnnotation]; ok {
		var m machineSpec
		if err := json.Unmarshal([]byte(raw), &m); err == nil {
			return m
		}
	}
	return machineSpec{Class: vm.Spec.ClassName, StorageClass: vm.Spec.StorageClass, Image: vm.Spec.ImageName}
}

// matches says whether a machine made from m is what target asks for. Releases are compared when
// both are known, else images.
func (m machineSpec) matches(target machineSpec) bool {
	if m.Class != target.Class || m.StorageClass != target.StorageClass {
		return false
	}
	if m.Release != "" && target.Release != "" {
		return m.Release == target.Release
	}
	return m.Image == "" || target.Image == "" || m.Image == target.Image
}

func (m machineSpec) annotation() string {
	b, _ := json.Marshal(m) // four strings always marshal
	return string(b)
}

// poolVM is one existing VM of a pool, as the rollout plan sees it.
type poolVM struct {
	Name string
	// Index is the VM's position in the pool's name sequence (MachineNames): scale down removes
	// the highest.
	Index    int
	UpToDate bool
	Ready    bool
	Deleting bool
}

// poolPlan is what one reconcile does to a pool.
type poolPlan struct {
	// Create are the names of the machines to make, from the pool's current spec.
	Create []string
	// Delete are VMs to delete: up-to-date ones beyond the count (scale down) and outdated ones
	// that a ready machine now stands in for.
	Delete []string
	// Replaced are the outdated VMs among Delete.
	Replaced []string
}

// planPool plans a pool towards count machines made from its current spec, in the manner of
// Cluster API's rolling update with one surge machine and none unavailable. While outdated VMs
// remain (a rollout): at most count+1 VMs exist, deleting ones included, so replacements come one
// at a time; an outdated VM goes only when the pool has more live VMs than count and, if it is
// ready, count ready VMs remain without it. So a pool that had count ready machines never has
// fewer. mayReplace false (the workers while the control plane rolls) makes no replacements,
// only machines that keep the pool at count. sequence lists the pool's machine names; new
// machines take the first ones no VM of the pool has.
func planPool(count int, vms []poolVM, sequence []string, mayReplace bool) poolPlan {
	var plan poolPlan
	var up, old []poolVM
	taken := map[string]bool{}
	deleting := 0
	for _, vm := range vms {
		taken[vm.Name] = true
		switch {
		case vm.Deleting:
			deleting++
		case vm.UpToDate:
			up = append(up, vm)
		default:
			old = append(old, vm)
		}
	}
	sort.Slice(up, func(i, j int) bool { return up[i].Index < up[j].Index })
	// Not-ready outdated VMs go first: replacing them costs no ready node.
	sort.Slice(old, func(i, j int) bool {
		if old[i].Ready != old[j].Ready {
			return !old[i].Ready
		}
		return old[i].Index < old[j].Index
	})
	if len(up) > count {
		for _, vm := range up[count:] {
			plan.Delete = append(plan.Delete, vm.Name)
		}
		deleting += len(up) - count
		up = up[:count]
	}

	live := len(up) + len(old)
	need := count - len(up)
	if len(old) > 0 {
		if mayReplace {
			need = min(need, max(count+1-live-deleting, 0))
		} else {
			need = max(count-live, 0)
		}
	}
	for _, name := range sequence {
		if len(plan.Create) >= need {
			break
		}
		if !taken[name] {
			plan.Create = append(plan.Create, name)
		}
	}

	ready := 0
	for _, vm := range append(append([]poolVM{}, up...), old...) {
		if vm.Ready {
			ready++
		}
	}
	excess := live - count
	for _, vm := range old {
		if excess <= 0 || vm.Ready && ready-1 < count {
			break
		}
		if vm.Ready {
			ready--
		}
		excess--
		plan.Delete = append(plan.Delete, vm.Name)
		plan.Replaced = append(plan.Replaced, vm.Name)
	}
	return plan
}

// poolRollout is how far a pool is from its spec, for status.
type poolRollout struct {
	Pool Pool
	// Count is the machines the pool asks for; Updated the live ones made from its current spec
	// (at most Count); Outdated the live ones made from an earlier spec.
	Count, Updated, Outdated int
}

// observeMachines reads the VMs the cluster created, works out which are outdated, and plans each
// pool, control plane first: the workers are replaced only once the control plane has no
// outdated machine and all its machines are ready.
func (r *Reconciler) observeMachines(ctx context.Context, s *scope) (ctrl.Result, error) {
	tkc := s.cluster
	vms := &vmopv1.VirtualMachineList{}
	if err := r.Client.List(ctx, vms, client.InNamespace(tkc.Namespace), client.MatchingLabels{runv1.ClusterNameLabel: tkc.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list VirtualMachines of cluster: %w", err)
	}
	s.vms = make(map[string]*vmopv1.VirtualMachine, len(vms.Items))
	byPool := map[Pool][]*vmopv1.VirtualMachine{}
	for i := range vms.Items {
		vm := &vms.Items[i]
		if !createdBy(vm, tkc) {
			continue
		}
		s.vms[vm.Name] = vm
		byPool[Pool(vm.Labels[runv1.PoolLabel])] = append(byPool[Pool(vm.Labels[runv1.PoolLabel])], vm)
	}
	s.machines, s.rollouts, s.toDelete, s.replaced, s.surplus = nil, nil, nil, map[string]bool{}, 0
	mayReplace := true
	for _, pool := range pools {
		count := int(poolSettings(tkc, pool).Count)
		target := targetSpec(s, pool)
		sequence := MachineNames(tkc.Name, tkc.UID, pool, count+len(byPool[pool])+1)
		position := make(map[string]int, len(sequence))
		for i, name := range sequence {
			position[name] = i
		}
		var pvms []poolVM
		for _, vm := range byPool[pool] {
			i, ok := position[vm.Name]
			if !ok {
				i = len(sequence)
			}
			m := observe(vm.Name, pool, vm)
			pvms = append(pvms, poolVM{Name: vm.Name, Index: i, UpToDate: recordedSpec(vm).matches(target),
				Ready: m.Healthy, Deleting: !vm.DeletionTimestamp.IsZero()})
		}
		sort.Slice(pvms, func(i, j int) bool { return pvms[i].Index < pvms[j].Index })
		plan := planPool(count, pvms, sequence, mayReplace)
		s.toDelete = append(s.toDelete, plan.Delete...)
		for _, name := range plan.Replaced {
			s.replaced[name] = true
		}
		deleted := map[string]bool{}
		for _, name := range plan.Delete {
			deleted[name] = true
		}
		ro := poolRollout{Pool: pool, Count: count}
		readyUp := 0
		for _, v := range pvms {
			if v.Deleting || deleted[v.Name] {
				s.surplus++
				continue
			}
			m := observe(v.Name, pool, s.vms[v.Name])
			m.Outdated = !v.UpToDate
			s.machines = append(s.machines, m)
			if v.UpToDate {
				ro.Updated++
				if v.Ready {
					readyUp++
				}
			} else {
				ro.Outdated++
			}
		}
		ro.Updated = min(ro.Updated, count)
		s.rollouts = append(s.rollouts, ro)
		if !s.paused {
			// A paused cluster makes nothing, so status lists no machine it would make.
			for _, name := range plan.Create {
				s.machines = append(s.machines, MachineState{Name: name, Pool: pool})
			}
		}
		// The next pool rolls once this one is settled: nothing outdated, every machine ready.
		mayReplace = mayReplace && ro.Outdated == 0 && readyUp >= count
	}
	// VMs of a pool that no longer exists go as a scale down does.
	for pool, list := range byPool {
		if pool == ControlPlanePool || pool == WorkersPool {
			continue
		}
		for _, vm := range list {
			s.surplus++
			if vm.DeletionTimestamp.IsZero() {
				s.toDelete = append(s.toDelete, vm.Name)
			}
		}
	}
	s.observed = true
	return ctrl.Result{}, nil
}

// rollOut makes the machines the plans ask for, from each pool's current spec, and deletes the
// VMs they no longer need. Nothing changes while the cluster is paused. A machine whose class the
// namespace may not use, or whose release is missing, is blocked with the one class-access
// decision, and no outdated machine of its pool is deleted meanwhile (the plan deletes only what
// live, ready machines stand in for), so a rollout that cannot proceed keeps every old machine.
func (r *Reconciler) rollOut(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.paused {
		s.log.V(1).Info("cluster paused; machines left as they are", "annotation", runv1.PausedAnnotation)
		return ctrl.Result{}, nil
	}
	tkc := s.cluster
	decisions := map[Pool]*classaccess.Decision{}
	// Deletions first: an outdated control plane machine is on its way out before the first
	// worker of the new spec appears.
	errs := []error{r.deleteSurplus(ctx, s)}
	for i := range s.machines {
		m := &s.machines[i]
		if m.Exists {
			continue
		}
		if s.releaseBlock != nil {
			m.Blocked = s.releaseBlock
			continue
		}
		settings := poolSettings(tkc, m.Pool)
		d, ok := decisions[m.Pool]
		if !ok {
			dec, err := classaccess.Check(ctx, r.readers(), tkc.Namespace, settings.Class)
			if err != nil {
				return ctrl.Result{}, fmt.Errorf("check class %q for pool %s: %w", settings.Class, m.Pool, err)
			}
			d, decisions[m.Pool] = &dec, &dec
			if !dec.Usable() {
				s.log.Info("class not usable; new machines of the pool are blocked", "class", settings.Class,
					"pool", m.Pool, "reason", dec.Reason())
			}
		}
		if !d.Usable() {
			m.Blocked = &Blocker{Reason: d.Reason(), Message: d.Message()}
			continue
		}
		taken, err := r.createVM(ctx, s, m.Name, m.Pool, targetSpec(s, m.Pool))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if taken != nil {
			m.Blocked = taken
			continue
		}
		m.Exists = true
	}
	return ctrl.Result{}, errors.Join(errs...)
}

// deleteSurplus deletes the VMs the plans no longer need, with an event for each outdated
// machine replaced.
func (r *Reconciler) deleteSurplus(ctx context.Context, s *scope) error {
	var errs []error
	for _, name := range s.toDelete {
		vm := s.vms[name]
		if err := r.Client.Delete(ctx, vm); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("delete VirtualMachine %s: %w", name, err))
			continue
		}
		if !s.replaced[name] {
			s.log.Info("deleting VirtualMachine after scale down", "vm", name)
			continue
		}
		was := recordedSpec(vm)
		s.log.Info("replacing outdated machine", "vm", name, "pool", vm.Labels[runv1.PoolLabel],
			"class", was.Class, "release", was.Release)
		r.Recorder.Eventf(s.cluster, corev1.EventTypeNormal, MachineReplacedReason,
			"machine %s (class %s, storage class %s, release %s) replaced by a machine of the pool's current spec",
			name, was.Class, was.StorageClass, orUnknown(was.Release))
	}
	return errors.Join(errs...)
}

func orUnknown(s string) string {
	if s == "" {
		return "unrecorded"
	}
	return s
}
