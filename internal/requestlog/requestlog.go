// Package requestlog gives each admission request a logger that names the request but costs
// nothing until it writes a line. controller-runtime builds a logger with the request's values
// twice for every admission, and a structured logger encodes the values as it is built: with the
// product's webhooks rarely logging, that was a tenth of an admission's CPU.
package requestlog

import (
	"sync"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Defer has wh build each request's logger only when the logger writes a line. The manager
// applies it to every admission webhook its server registers.
func Defer(wh *admission.Webhook) { wh.LogConstructor = Deferred(wh.LogConstructor) }

// Deferred returns a log constructor that makes construct's logger (controller-runtime's default
// when nil) only when a line is written, and only once per request.
func Deferred(construct func(logr.Logger, *admission.Request) logr.Logger) func(logr.Logger, *admission.Request) logr.Logger {
	if construct == nil {
		construct = admission.DefaultLogConstructor
	}
	return func(base logr.Logger, req *admission.Request) logr.Logger {
		if req == nil || base.GetSink() == nil {
			return construct(base, req) // no request: nothing to defer
		}
		return base.WithSink(&sink{enabled: base.GetSink(), build: func() logr.LogSink {
			return construct(base, req).GetSink() // the server never changes a request it handles
		}})
	}
}

// sink answers Enabled from the base logger, which holds no request values yet, and builds the
// request's logger on the first line it writes.
type sink struct {
	enabled logr.LogSink
	build   func() logr.LogSink
	once    sync.Once
	built   logr.LogSink
}

var _ logr.CallDepthLogSink = &sink{}

// request is the request's logger, built once.
func (s *sink) request() logr.LogSink {
	s.once.Do(func() { s.built = s.build() })
	return s.built
}

func (s *sink) Init(logr.RuntimeInfo)  {} // the base logger's sink is initialized already
func (s *sink) Enabled(level int) bool { return s.enabled.Enabled(level) }

func (s *sink) Info(level int, msg string, keysAndValues ...any) {
	s.WithCallDepth(1).Info(level, msg, keysAndValues...) // callers see their own line, not this one
}

func (s *sink) Error(err error, msg string, keysAndValues ...any) {
	s.WithCallDepth(1).Error(err, msg, keysAndValues...)
}

// WithValues and WithName are rare on a request's logger: they build it.
func (s *sink) WithValues(keysAndValues ...any) logr.LogSink {
	return s.request().WithValues(keysAndValues...)
}

func (s *sink) WithName(name string) logr.LogSink { return s.request().WithName(name) }

func (s *sink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.request().(logr.CallDepthLogSink); ok {
		return cd.WithCallDepth(depth)
	}
	return s.request()
}
