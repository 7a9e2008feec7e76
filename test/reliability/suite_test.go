package reliability_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
)

// The reliability suite measures the figures of docs/reliability.md. Its specs carry the
// "reliability" label: `make reliability` runs them and prints their figures, `make test` leaves
// them out.
func TestReliability(t *testing.T) {
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RegisterFailHandler(Fail)
	RunSpecs(t, "Reliability suite")
}

var ctx = context.Background()

var _ = BeforeSuite(func() {
	// Every log line of this process, controller-runtime's and client-go's alike, at every
	// verbosity, is recorded for the secrets spec to search.
	logger := recordedLog.logger()
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
})
