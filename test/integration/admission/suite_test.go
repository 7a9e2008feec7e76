package admission_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// The admission suite drives the webhooks through the real kube-apiserver, as a platform admin
// and as a namespace editor whose rights come from the RBAC personas in config/rbac.
func TestAdmission(t *testing.T) {
	// Generous: a shared two-core machine running suites in parallel can be slow to converge.
	SetDefaultEventuallyTimeout(20 * time.Second)
	RegisterFailHandler(Fail)
	RunSpecs(t, "Admission suite")
}

var (
	ctx         = context.Background()
	env         *testenv.Env
	admin       client.Client
	stopManager func()
)

var _ = BeforeSuite(func() {
	env = testenv.ForSuite(testenv.WithWebhooks())
	admin = env.Client
	env.InstallPersonas()
	// Clusters name v1.20.2; the version must resolve to a release to be admitted.
	Expect(admin.Create(ctx, objects.Release("v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", "photon-3-k8s-v1.20.2"))).To(Succeed())
	startManager(enforcement.Deny)
	DeferCleanup(func() { stopManager() })
})

// startManager (re)starts the manager, whose webhooks answer in the given enforcement mode.
func startManager(mode enforcement.Mode) {
	if stopManager != nil {
		stopManager()
	}
	var err error
	_, stopManager, err = env.StartManager(manager.Options{Enforcement: mode})
	Expect(err).NotTo(HaveOccurred())
}

// newNamespace makes a fresh namespace for one spec.
func newNamespace() string { return env.NewNamespace("admission") }

// newEditor authenticates a user who is a namespace editor in ns and nothing more: the standard
// edit role plus the vm-service-edit persona (envtest runs no role-aggregation controller, so the
// persona is bound directly instead of through edit's aggregation).
func newEditor(ns string) *testenv.User { return env.NewDeveloper(ns, "edit", "vm-service-edit") }
