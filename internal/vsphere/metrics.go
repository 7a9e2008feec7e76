package vsphere

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/types"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Provider operations, the op label of the vCenter call metrics.
const (
	opEnsureVM   = "EnsureVM"
	opDeleteVM   = "DeleteVM"
	opListImages = "ListImages"

	opEnsureResourcePolicy = "EnsureResourcePolicy"
	opDeleteResourcePolicy = "DeleteResourcePolicy"
)

var (
	callsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vmservice_vcenter_calls_total",
		Help: "vCenter operations by operation and outcome: success, unreachable, certificate (vCenter's certificate not trusted), login_failed, not_found or error. One operation may make many vCenter requests.",
	}, []string{"operation", "outcome"})

	callDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vmservice_vcenter_call_duration_seconds",
		Help: "Time vCenter operations took, logins and task waits included, by operation.",
		// From a cached lookup to a deploy with a task wait; the call timeout (2m by default) bounds them.
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"operation"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(callsTotal, callDuration)
}

// observeCall records one operation that started at start and ended with err.
func observeCall(op string, start time.Time, err error) {
	callDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	callsTotal.WithLabelValues(op, outcome(err)).Inc()
}

// outcome names err for the calls counter, so an operator tells a vCenter that is down from one
// that refuses the product's certificate trust or credentials, from an ordinary failure.
func outcome(err error) string {
	switch {
	case err == nil:
		return "success"
	case isCertificateError(err):
		return "certificate"
	case fault.Is(err, &types.InvalidLogin{}):
		return "login_failed"
	case IsUnreachable(err), errors.Is(err, context.DeadlineExceeded):
		return "unreachable"
	case errors.Is(err, ErrVMNotFound), errors.Is(err, ErrImageNotFound):
		return "not_found"
	}
	return "error"
}
