package vcentersync_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/test/testenv"
)

// The vCenter sync suite runs the Syncer in a manager against the real kube-apiserver (envtest)
// and govmomi's simulator, and replays the walkthrough's vCenter-side steps on Kubernetes.
func TestVCenterSync(t *testing.T) {
	// Generous: a shared two-core machine running suites in parallel can be slow to converge.
	SetDefaultEventuallyTimeout(20 * time.Second)
	RegisterFailHandler(Fail)
	RunSpecs(t, "vCenter sync suite")
}

var (
	env *testenv.Env
	k8s client.Client
	ctx = context.Background()
)

var _ = BeforeSuite(func() {
	ctrl.SetLogger(GinkgoLogr)
	env = testenv.ForSuite()
	k8s = env.Client
})
