package api_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/test/testenv"
)

// The API suite checks what the CRDs alone promise, with no webhook or controller running:
// they install, objects round-trip, the schema rejects bad objects and kubectl prints the columns.
func TestAPI(t *testing.T) {
	// Generous: a shared two-core machine running suites in parallel can be slow to converge.
	SetDefaultEventuallyTimeout(20 * time.Second)
	RegisterFailHandler(Fail)
	RunSpecs(t, "API schema suite")
}

var (
	env *testenv.Env
	k8s client.Client
	ctx = context.Background()
)

func nameOf(name string) client.ObjectKey { return client.ObjectKey{Name: name} }

var _ = BeforeSuite(func() {
	env = testenv.ForSuite()
	k8s = env.Client
})

// newNamespace makes a fresh namespace for one spec.
func newNamespace() string { return env.NewNamespace("api") }
