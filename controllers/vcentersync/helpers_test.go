package vcentersync_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vapi/namespace"
	corev1 "k8s.io/api/core/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/controllers/vcentersync"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
)

const (
	syncInterval = 200 * time.Millisecond
	// waitTimeout is generous against a busy two-core machine; specs normally react in one interval.
	waitTimeout = 15 * time.Second
	// sessionHeader is the REST session header of the vSphere Automation API.
	sessionHeader = "vmware-api-session-id"
)

// vcenter is one running simulator plus a namespace-management client for the spec to play
// the vSphere admin with.
type vcenter struct {
	sim  *vcsim.Simulator
	api  *namespace.Manager
	stop func()
}

// startSimulator starts a simulator without touching the namespace-management state, which
// govmomi's simulator keeps in package variables shared by every simulator in the process.
func startSimulator() *vcenter {
	sim, err := vcsim.Start()
	Expect(err).NotTo(HaveOccurred())
	var once sync.Once
	v := &vcenter{sim: sim, stop: func() { once.Do(sim.Stop) }}
	DeferCleanup(v.stop)
	rc, err := sim.RestClient(ctx)
	Expect(err).NotTo(HaveOccurred())
	v.api = namespace.NewManager(rc)
	return v
}

// startVCenter starts a simulator in the state of walkthrough step 1: no namespaces and the 16
// stock classes defined, assigned nowhere.
func startVCenter() *vcenter {
	v := startSimulator()
	v.reset()
	Expect(v.sim.DefineStockClasses(ctx)).To(Succeed())
	return v
}

// reset deletes every namespace and class left in the simulator's shared state.
func (v *vcenter) reset() {
	instances, err := v.api.ListNamespaces(ctx)
	Expect(err).NotTo(HaveOccurred())
	for _, ns := range instances {
		Expect(v.api.DeleteNamespace(ctx, ns.Namespace)).To(Succeed())
	}
	classes, err := v.api.ListVmClasses(ctx)
	Expect(err).NotTo(HaveOccurred())
	for _, c := range classes {
		Expect(v.api.DeleteVmClass(ctx, c.Id)).To(Succeed())
	}
}

func (v *vcenter) connection() namespaces.Connection {
	return namespaces.ConnectionFromURL(v.sim.URL(), true)
}

func (v *vcenter) createNamespace(name string, classes ...string) {
	GinkgoHelper()
	Expect(v.api.CreateNamespace(ctx, namespace.NamespacesInstanceCreateSpec{
		Cluster:       vcsim.ClusterName,
		Namespace:     name,
		VmServiceSpec: namespace.VmServiceSpec{VmClasses: classes},
	})).To(Succeed())
}

// assign replaces the classes assigned to a namespace, as the vSphere Client and govc
// namespace.update do.
func (v *vcenter) assign(name string, classes ...string) {
	GinkgoHelper()
	Expect(v.api.UpdateNamespace(ctx, name, namespace.NamespacesInstanceUpdateSpec{
		VmServiceSpec: namespace.VmServiceSpec{VmClasses: classes},
	})).To(Succeed())
}

func (v *vcenter) deleteNamespace(name string) {
	GinkgoHelper()
	Expect(v.api.DeleteNamespace(ctx, name)).To(Succeed())
}

// switchable is a ConnectionFunc a spec can re-point while the Syncer runs.
type switchable struct {
	conn atomic.Pointer[namespaces.Connection]
}

func newSwitchable(c namespaces.Connection) *switchable {
	s := &switchable{}
	s.set(c)
	return s
}

func (s *switchable) set(c namespaces.Connection) { s.conn.Store(&c) }

func (s *switchable) get(context.Context) (namespaces.Connection, error) { return *s.conn.Load(), nil }

// runningSyncer is a Syncer running in a manager, with a count of the writes it made.
type runningSyncer struct {
	*vcentersync.Syncer
	writes atomic.Int64
	// deleteHook, when set, answers the Syncer's deletes instead of the API server (nil passes
	// a delete on), to play admission refusals the spec cannot otherwise time.
	deleteHook atomic.Pointer[func(client.Object) error]
}

// interceptDeletes makes hook answer every delete the Syncer sends; nil heals it.
func (r *runningSyncer) interceptDeletes(hook func(client.Object) error) {
	if hook == nil {
		r.deleteHook.Store(nil)
		return
	}
	r.deleteHook.Store(&hook)
}

// countWrites counts every create, update and delete the Syncer sends, including updates the
// API server turns into no-ops (which leave resourceVersion alone).
func (r *runningSyncer) countWrites(c client.WithWatch) client.WithWatch {
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			r.writes.Add(1)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			r.writes.Add(1)
			return c.Update(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			r.writes.Add(1)
			if hook := r.deleteHook.Load(); hook != nil {
				if err := (*hook)(obj); err != nil {
					return err
				}
			}
			return c.Delete(ctx, obj, opts...)
		},
	})
}

// noWatch lets the interceptor wrap the manager's client, which the Syncer never watches with.
type noWatch struct{ client.Client }

func (noWatch) Watch(context.Context, client.ObjectList, ...client.ListOption) (watch.Interface, error) {
	return nil, errors.New("watch is not used by the vCenter sync")
}

// runSyncer runs a Syncer in a fresh manager until the spec ends.
func runSyncer(conn namespaces.ConnectionFunc, logger ...logr.Logger) *runningSyncer {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	// As in main: the Syncer finds the users of a class through the field indexes.
	Expect(index.Register(ctx, mgr.GetCache())).To(Succeed())
	opts := vcentersync.Options{Connection: conn, Interval: syncInterval, Timeout: 5 * time.Second}
	if len(logger) > 0 {
		opts.Logger = logger[0]
	}
	r := &runningSyncer{}
	c := r.countWrites(noWatch{mgr.GetClient()})
	r.Syncer, err = vcentersync.New(c, opts)
	Expect(err).NotTo(HaveOccurred())
	Expect(r.SetupWithManager(mgr)).To(Succeed())

	// Runs last (cleanups are LIFO), once the manager has stopped: later specs start from no
	// mirrored classes or bindings, whatever order Ginkgo runs them in.
	DeferCleanup(deleteMirrored)

	mgrCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		defer GinkgoRecover()
		done <- mgr.Start(mgrCtx)
	}()
	DeferCleanup(func() {
		cancel()
		Expect(<-done).To(Succeed())
	})
	return r
}

// deleteMirrored deletes every class and binding the sync created.
func deleteMirrored() {
	mirrored := client.MatchingLabels{vmopv1.VCenterSyncLabel: vmopv1.VCenterSyncLabelValue}
	var cls vmopv1.VirtualMachineClassList
	Expect(k8s.List(ctx, &cls, mirrored)).To(Succeed())
	for i := range cls.Items {
		Expect(client.IgnoreNotFound(k8s.Delete(ctx, &cls.Items[i]))).To(Succeed())
	}
	var bs vmopv1.VirtualMachineClassBindingList
	Expect(k8s.List(ctx, &bs, mirrored)).To(Succeed())
	for i := range bs.Items {
		Expect(client.IgnoreNotFound(k8s.Delete(ctx, &bs.Items[i]))).To(Succeed())
	}
}

// waitForSyncs waits until n more complete syncs have finished.
func waitForSyncs(s *runningSyncer, n int64) {
	GinkgoHelper()
	target := s.Status().Successes + n
	Eventually(func() int64 { return s.Status().Successes }).
		WithTimeout(waitTimeout).Should(BeNumerically(">=", target))
}

func uniqueName(prefix string) string { return prefix + "-" + utilrand.String(5) }

// classes returns every VirtualMachineClass by name, mirrored or not.
func classes() map[string]vmopv1.VirtualMachineClass {
	var list vmopv1.VirtualMachineClassList
	Expect(k8s.List(ctx, &list)).To(Succeed())
	out := map[string]vmopv1.VirtualMachineClass{}
	for _, c := range list.Items {
		out[c.Name] = c
	}
	return out
}

// bindings returns every VirtualMachineClassBinding in ns by name.
func bindings(ns string) map[string]vmopv1.VirtualMachineClassBinding {
	var list vmopv1.VirtualMachineClassBindingList
	Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	out := map[string]vmopv1.VirtualMachineClassBinding{}
	for _, b := range list.Items {
		out[b.Name] = b
	}
	return out
}

func getNamespace(name string) (*corev1.Namespace, error) {
	ns := &corev1.Namespace{}
	return ns, k8s.Get(ctx, client.ObjectKey{Name: name}, ns)
}

// resourceVersions snapshots the resourceVersion of every class and of every binding and the
// Namespace of ns, keyed by kind and name.
func resourceVersions(ns string) map[string]string {
	out := map[string]string{}
	for name, c := range classes() {
		out["class/"+name] = c.ResourceVersion
	}
	for name, b := range bindings(ns) {
		out["binding/"+name] = b.ResourceVersion
	}
	n, err := getNamespace(ns)
	Expect(err).NotTo(HaveOccurred())
	out["namespace/"+ns] = n.ResourceVersion
	return out
}

// proxy stands between the Syncer and a simulator to inject what a real vCenter does now and
// then: failing requests and sessions that expire.
type proxy struct {
	server *httptest.Server

	mu      sync.Mutex
	failing func(*http.Request) bool
	seen    map[string]bool
	expired map[string]bool
	logins  int
}

func newProxy(v *vcenter) *proxy {
	target := v.sim.URL()
	target.User, target.Path = nil, ""
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	p := &proxy{seen: map[string]bool{}, expired: map[string]bool{}}
	p.server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status := p.intercept(r); status != 0 {
			w.WriteHeader(status)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	DeferCleanup(p.server.Close)
	return p
}

// intercept returns the status to answer r with, or 0 to pass it on.
func (p *proxy) intercept(r *http.Request) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/com/vmware/cis/session") && r.URL.RawQuery == "" {
		p.logins++
	}
	if id := r.Header.Get(sessionHeader); id != "" {
		if p.expired[id] {
			return http.StatusUnauthorized
		}
		p.seen[id] = true
	}
	if p.failing != nil && p.failing(r) {
		return http.StatusInternalServerError
	}
	return 0
}

// fail makes the proxy answer 500 to every request match accepts; nil heals it.
func (p *proxy) fail(match func(*http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failing = match
}

// expireSessions makes every session seen so far invalid, as vCenter does after idling or a restart.
func (p *proxy) expireSessions() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.seen {
		p.expired[id] = true
	}
}

func (p *proxy) loginCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logins
}

// connection points at the proxy with the simulator's credentials.
func (p *proxy) connection(v *vcenter) namespaces.Connection {
	c := v.connection()
	u, err := url.Parse(p.server.URL + "/sdk")
	Expect(err).NotTo(HaveOccurred())
	c.URL = u
	return c
}
