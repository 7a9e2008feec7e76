package testenv

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/objects"
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

// StorageClass is the storage class every namespace NewNamespace makes may use, as vCenter shows
// vSAN's default policy assigned to a namespace.
const StorageClass = "vsan-default-storage-policy"

// NewNamespace creates a namespace with a generated name starting with prefix, for one spec,
// with StorageClass assigned to it.
func (e *Env) NewNamespace(prefix string) string {
	GinkgoHelper()
	ns := e.NewNamespaceWithoutStorage(prefix)
	if err := e.Client.Create(context.Background(), objects.StorageClass(StorageClass, vcsim.VSANDefaultPolicyID)); !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	AssignStorage(e.Client, ns, StorageClass)
	return ns
}

// NewNamespaceWithoutStorage creates a namespace, as NewNamespace does, with no storage class
// assigned.
func (e *Env) NewNamespaceWithoutStorage(prefix string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(e.Client.Create(context.Background(), ns)).To(Succeed())
	return ns.Name
}

// AssignStorage gives namespace a ResourceQuota that assigns it the storage classes, as vCenter
// does when a storage policy is assigned to a namespace.
func AssignStorage(c client.Client, namespace string, storageClasses ...string) {
	GinkgoHelper()
	q := objects.StorageQuota(namespace, storageClasses...)
	q.Name, q.GenerateName = "", "storage-"
	Expect(c.Create(context.Background(), q)).To(Succeed())
}

// FreePort returns a loopback port nothing listens on right now (see FreeLoopbackPort).
func FreePort() int {
	GinkgoHelper()
	port, err := FreeLoopbackPort()
	Expect(err).NotTo(HaveOccurred())
	return port
}

// FreeLoopbackPort returns a loopback port nothing listens on right now, drawn at random below
// Linux's ephemeral range (32768 and up): a port the kernel handed out for listening there may be
// taken by any outgoing connection before the caller binds it, which two test runs at once made
// happen.
func FreeLoopbackPort() (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			return port, l.Close()
		}
	}
	return 0, errors.New("no free loopback port between 20000 and 32000 in 100 tries")
}

// Update applies change to obj as it is now and writes it with c, again when a controller wrote
// it meanwhile (controllers write status all the time).
func Update[T client.Object](c client.Client, obj T, change func(T)) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change(obj)
		return c.Update(context.Background(), obj)
	})).To(Succeed())
}
