package vcentersync

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	syncsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vmservice_vcenter_sync_total",
		Help: "vCenter syncs by result: success (complete read and all writes done) or error.",
	}, []string{"result"})

	lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vmservice_vcenter_sync_last_success_timestamp_seconds",
		Help: "Unix time of the last complete vCenter sync.",
	})

	writesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vmservice_vcenter_sync_writes_total",
		Help: "Kubernetes writes made by the vCenter sync, by kind and operation (create, update, delete).",
	}, []string{"kind", "operation"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(syncsTotal, lastSuccess, writesTotal)
}

// lagGauge reports how far the mirror may be behind vCenter: the seconds since this Syncer last
// completed a sync, or since it started when none has completed yet. It is computed when scraped,
// so a stuck sync shows a growing lag rather than a stale value. Only the leader runs a Syncer,
// so only the leader reports it.
func (s *Syncer) lagGauge(started time.Time) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vmservice_vcenter_sync_lag_seconds",
		Help: "Seconds since the last complete vCenter sync (since the sync started, before the first); reported by the leader.",
	}, func() float64 {
		last := s.LastSync()
		if last.IsZero() {
			last = started
		}
		return time.Since(last).Seconds()
	})
}

// registerLag registers the lag gauge while the Syncer runs; the returned function removes it.
func (s *Syncer) registerLag() (unregister func()) {
	g := s.lagGauge(time.Now())
	if err := ctrlmetrics.Registry.Register(g); err != nil {
		// Another Syncer in this process (a test) reports it already.
		s.log.Info("vCenter sync lag gauge not registered", "reason", err.Error())
		return func() {}
	}
	return func() { ctrlmetrics.Registry.Unregister(g) }
}
