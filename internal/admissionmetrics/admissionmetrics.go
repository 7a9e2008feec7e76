// Package admissionmetrics counts and times every admission decision the manager's webhook
// server makes, by kind, operation, verdict and reason. The server applies Measure to every
// webhook registered on it, so each is measured without knowing.
package admissionmetrics

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Verdicts, the verdict label.
const (
	Allowed = "allowed"
	Denied  = "denied"
	Warned  = "warned"
)

var (
	decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vmservice_admission_decisions_total",
		Help: "Admission decisions by kind, operation, verdict (allowed, denied, warned: allowed with warnings) and reason: the first refused or warned field, such as spec.className, or the status reason (Forbidden, ServiceUnavailable) when no field is named; empty when allowed.",
	}, []string{"kind", "operation", "verdict", "reason"})

	duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vmservice_admission_duration_seconds",
		Help: "Time the webhooks took to decide, by kind and operation (controller_runtime_webhook_latency_seconds adds reading and writing the review).",
		// Answers come from the informer cache, with an apiserver read to confirm a refusal;
		// the apiserver gives up on a webhook after 10 seconds.
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10},
	}, []string{"kind", "operation"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(decisions, duration)
}

// Measure has every decision of wh counted and timed. The manager applies it to every admission
// webhook its server registers.
func Measure(wh *admission.Webhook) { wh.Handler = measured{wh.Handler} }

// measured times a webhook's decisions and counts them, reading the request and the answer the
// webhook server has already decoded and is about to encode: decoding the review again here
// cost as much as an allow-all webhook's own handling. A panic, which the server answers with
// a 500, is counted by controller-runtime's webhook panic metric instead.
type measured struct{ admission.Handler }

func (m measured) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	resp := m.Handler.Handle(ctx, req)
	kind, op := req.Kind.Kind, string(req.Operation)
	duration.WithLabelValues(kind, op).Observe(time.Since(start).Seconds())
	verdict, reason := Decision(&resp.AdmissionResponse)
	decisions.WithLabelValues(kind, op, verdict, reason).Inc()
	return resp
}

// Decision reads the verdict and reason of a webhook's answer.
func Decision(resp *admissionv1.AdmissionResponse) (verdict, reason string) {
	switch {
	case !resp.Allowed:
		return Denied, deniedReason(resp)
	case len(resp.Warnings) > 0:
		return Warned, warnedReason(resp.Warnings[0])
	}
	return Allowed, ""
}

func deniedReason(resp *admissionv1.AdmissionResponse) string {
	st := resp.Result
	if st == nil {
		return "Unknown"
	}
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Field != "" {
				return fieldReason(c.Field)
			}
		}
	}
	if st.Reason != "" {
		return string(st.Reason)
	}
	if st.Code != 0 {
		return http.StatusText(int(st.Code))
	}
	return "Unknown"
}

// warnedReason is the field a warning names ("spec.className: Invalid value: ..."), or
// "Warning" when it names none.
func warnedReason(warning string) string {
	if f, _, ok := strings.Cut(warning, ": "); ok && fieldPath.MatchString(f) {
		return fieldReason(f)
	}
	return "Warning"
}

var (
	// fieldPath is what field.Path prints: dotted names with optional [index] or [key] parts.
	fieldPath = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]*(\[[^\]]*\])*(\.[a-zA-Z][a-zA-Z0-9]*(\[[^\]]*\])*)*$`)
	subscript = regexp.MustCompile(`\[[^\]]*\]`)
)

// fieldReason drops list indexes and map keys from a field path, so the reason label names a
// rule, not an object: spec.topology.workers[0].class and [1] count together.
func fieldReason(f string) string { return subscript.ReplaceAllString(f, "") }
