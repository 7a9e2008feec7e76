package virtualmachineclassbinding_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/test/testenv"
)

// The suite runs the product's manager (every index and controller, webhooks not installed)
// against a real kube-apiserver, so the binding controller is driven by real watch events.
func TestVirtualMachineClassBinding(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "VirtualMachineClassBinding controller suite")
}

var (
	ctx = context.Background()
	env *testenv.Env
	k8s client.Client
)

var _ = BeforeSuite(func() {
	ctrl.SetLogger(GinkgoLogr)
	// Watch-driven changes land in well under a second; the bound leaves room for a loaded CI
	// machine while still failing a controller that would only catch up at a resync.
	SetDefaultEventuallyTimeout(5 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)

	env = testenv.ForSuite()
	k8s = env.Client
	env.ManagerForSuite(manager.Options{})
})

// newNamespace makes a fresh namespace for one spec; its generated name also makes the spec's
// class names unique.
func newNamespace() string { return env.NewNamespace("vmclassbinding") }
