package vcentersync

import (
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
