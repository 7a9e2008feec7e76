package virtualmachine

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// blockedDesc answers "what is waiting, and on what?": a rollout from Warn to Deny is safe once
// no VM is blocked for want of a class or binding.
var blockedDesc = prometheus.NewDesc("vmservice_blocked_objects",
	"Objects the controllers cannot act on, by kind and reason: VirtualMachines whose VirtualMachinePrereqReady condition is False (VirtualMachineClassNotFound, VirtualMachineClassBindingNotFound, VirtualMachineImageNotFound, ...).",
	[]string{"kind", "reason"}, nil)

// blockedMetrics counts blocked VirtualMachines from the informer cache when scraped, so the
// gauge is never stale and no reconcile has to maintain it. It is registered while the manager
// runs, on every replica (each has the cache).
type blockedMetrics struct {
	cache client.Reader
}

// Start registers the collector until ctx ends; a second manager in one process (tests) leaves
// the first one's in place.
func (b *blockedMetrics) Start(ctx context.Context) error {
	if err := ctrlmetrics.Registry.Register(b); err != nil {
		ctrl.Log.WithName("metrics").Info("blocked objects gauge not registered", "reason", err.Error())
		return nil
	}
	<-ctx.Done()
	ctrlmetrics.Registry.Unregister(b)
	return nil
}

// NeedLeaderElection is false: followers serve metrics too.
func (b *blockedMetrics) NeedLeaderElection() bool { return false }

func (b *blockedMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- blockedDesc }

func (b *blockedMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var vms vmopv1.VirtualMachineList
	if err := b.cache.List(ctx, &vms); err != nil {
		ch <- prometheus.NewInvalidMetric(blockedDesc, err)
		return
	}
	for reason, n := range blockedByReason(vms.Items) {
		ch <- prometheus.MustNewConstMetric(blockedDesc, prometheus.GaugeValue, float64(n), "VirtualMachine", reason)
	}
}

// blockedByReason counts VMs whose prerequisites are not met, by the condition's reason. The
// access reasons are always present, zero when nothing is blocked, so an alert or a rollout check
// reads 0 rather than no data.
func blockedByReason(vms []vmopv1.VirtualMachine) map[string]int {
	counts := map[string]int{
		vmopv1.VirtualMachineClassNotFoundReason:        0,
		vmopv1.VirtualMachineClassBindingNotFoundReason: 0,
		vmopv1.VirtualMachineImageNotFoundReason:        0,
	}
	for i := range vms {
		c := conditions.Get(vms[i].Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)
		if c != nil && c.Status == corev1.ConditionFalse {
			counts[c.Reason]++
		}
	}
	return counts
}
