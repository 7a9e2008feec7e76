package testenv

import (
	"context"
	"net"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vm-service/vm-service/internal/manager"
)

// ForSuite starts a control plane for a Ginkgo suite (call it in BeforeSuite) and stops it when
// the suite ends.
func ForSuite(opts ...Option) *Env {
	GinkgoHelper()
	env, err := Start(opts...)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	return env
}

// ManagerForSuite starts the manager (see StartManager) and returns its stop function, which is
// also called when the calling container ends; calling it twice is harmless.
func (e *Env) ManagerForSuite(opts manager.Options) (stop func()) {
	GinkgoHelper()
	_, stopManager, err := e.StartManager(opts)
	Expect(err).NotTo(HaveOccurred())
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			stopManager()
		}
	}
	DeferCleanup(stop)
	return stop
}

// NewNamespace creates a namespace with a generated name starting with prefix, for one spec.
func (e *Env) NewNamespace(prefix string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(e.Client.Create(context.Background(), ns)).To(Succeed())
	return ns.Name
}

// FreePort returns a loopback port nothing listens on right now.
func FreePort() int {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
