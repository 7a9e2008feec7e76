package install_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
)

// The install suite proves config/default works as a whole: applied to a fresh apiserver, with
// the manager running as its own ServiceAccount and reached through the webhook Service.
func TestInstall(t *testing.T) {
	SetDefaultEventuallyTimeout(90 * time.Second)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RegisterFailHandler(Fail)
	RunSpecs(t, "install suite")
}

var _ = BeforeSuite(func() { ctrl.SetLogger(GinkgoLogr) })

var ctx = context.Background()
