// Package admissionmetrics counts and times every admission decision the manager's webhook
// server makes, by kind, operation, verdict and reason. It wraps the server once, so every
// webhook registered on it is measured without the webhooks knowing.
package admissionmetrics

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
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
		Help: "Time the webhooks took to answer, by kind and operation.",
		// Answers come from the informer cache, with an apiserver read to confirm a refusal;
		// the apiserver gives up on a webhook after 10 seconds.
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10},
	}, []string{"kind", "operation"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(decisions, duration)
}

// Instrument returns s with every webhook registered on it measured.
func Instrument(s webhook.Server) webhook.Server { return server{s} }

type server struct{ webhook.Server }

// Register serves hook at path, measured.
func (s server) Register(path string, hook http.Handler) { s.Server.Register(path, Handler(hook)) }

// maxReview bounds what is read of a request; the apiserver sends at most 3 MiB objects.
const maxReview = 7 << 20

// Handler measures the AdmissionReviews hook answers. It reads the review the apiserver sent
// and the one hook wrote back, so the answer itself is never changed.
func Handler(hook http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, err := io.ReadAll(io.LimitReader(r.Body, maxReview))
		if err != nil {
			http.Error(w, "read admission review: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w}
		hook.ServeHTTP(rec, r)
		kind, op := requestLabels(body)
		duration.WithLabelValues(kind, op).Observe(time.Since(start).Seconds())
		verdict, reason := Decision(rec.body.Bytes())
		decisions.WithLabelValues(kind, op, verdict, reason).Inc()
	})
}

// recorder passes a response through and keeps a copy of its body.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// requestLabels are the kind and operation of a review, "unknown" when it cannot be read. Only
// those two fields are decoded: the webhook decodes the objects, and decoding them here as well
// doubled the decoding each admission request costs.
func requestLabels(body []byte) (kind, operation string) {
	var review struct {
		Request *struct {
			Kind      struct{ Kind string }
			Operation string
		}
	}
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		return "unknown", "unknown"
	}
	return review.Request.Kind.Kind, review.Request.Operation
}

// Decision reads the verdict and reason of a webhook's answer (an AdmissionReview). An answer
// that cannot be read is a denial, as the apiserver treats it under failurePolicy Fail.
func Decision(body []byte) (verdict, reason string) {
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Response == nil {
		return Denied, "UnreadableResponse"
	}
	resp := review.Response
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
