package manager_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/test/testenv"
)

// The manager suite runs the manager as cmd/manager builds it, against a real apiserver, as the
// service account of config/rbac.
func TestManager(t *testing.T) {
	SetDefaultEventuallyTimeout(20 * time.Second)
	RegisterFailHandler(Fail)
	RunSpecs(t, "Manager suite")
}

var (
	ctx = context.Background()
	env *testenv.Env
)

var _ = BeforeSuite(func() {
	env = testenv.ForSuite()
})
