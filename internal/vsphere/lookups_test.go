package vsphere_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("The govmomi provider's inventory lookups", func() {
	// The finder finds the default datacenter by listing the root folder, and the supervisor
	// cluster by listing the datacenter's host folder; nothing else the provider asks for names
	// either folder. Counting the SOAP requests that name them therefore counts those lookups,
	// as vCenter would see them.
	It("finds the datacenter and the supervisor cluster once per session", func(ctx SpecContext) {
		e := newEnv(ctx)
		var l soapLog
		cfg := e.cfg
		cfg.URL = l.proxy(e.sim.URL()).String()
		p, err := vsphere.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		root := ">" + e.admin.ServiceContent.RootFolder.Value + "<"
		dc, err := e.finder.DefaultDatacenter(ctx)
		Expect(err).NotTo(HaveOccurred())
		folders, err := dc.Folders(ctx)
		Expect(err).NotTo(HaveOccurred())
		hostFolder := ">" + folders.HostFolder.Reference().Value + "<"
		ensure := func(name, uuid string, class *vmopv1.VirtualMachineClass) []string {
			GinkgoHelper()
			_, err := p.EnsureVM(logged(ctx), vmSpec(name, uuid, class, vmopv1.VirtualMachinePoweredOn))
			Expect(err).NotTo(HaveOccurred())
			return l.take()
		}

		By("creating a guaranteed VM, which needs the cluster for its pool and its CPU reservation")
		sent := ensure("look-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae301", objects.GuaranteedClass("c", 2, "2Gi"))
		Expect(mentioning(sent, root)).To(BeNumerically(">", 0), "the first call finds the datacenter")
		Expect(mentioning(sent, hostFolder)).To(BeNumerically(">", 0), "and the cluster")

		By("ensuring it again, as every resync and IP poll does")
		for range 2 {
			sent = ensure("look-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae301", objects.GuaranteedClass("c", 2, "2Gi"))
			Expect(mentioning(sent, root)).To(BeZero())
			Expect(mentioning(sent, hostFolder)).To(BeZero())
		}

		By("creating a best-effort VM, which needs the cluster for its pool only")
		sent = ensure("look-1", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae302", objects.BestEffortClass("c", 1, "1Gi"))
		Expect(mentioning(sent, root)).To(BeZero())
		Expect(mentioning(sent, hostFolder)).To(BeZero(), "the cluster is kept for the session")

		By("finding both again with the session that replaces an ended one")
		Expect(terminateOtherSessions(ctx, e)).To(BeNumerically(">=", 1))
		sent = ensure("look-2", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae303", objects.BestEffortClass("c", 1, "1Gi"))
		Expect(mentioning(sent, root)).To(BeNumerically(">", 0))
		Expect(mentioning(sent, hostFolder)).To(BeNumerically(">", 0))
		sent = ensure("look-0", "6f1c1a36-5ad1-4c55-9a55-1f0d4c6ae301", objects.GuaranteedClass("c", 2, "2Gi"))
		Expect(mentioning(sent, root)).To(BeZero())
		Expect(mentioning(sent, hostFolder)).To(BeZero())
	})
})

// soapLog is a reverse proxy in front of the simulator that keeps the body of every SOAP
// request passing through it, so a spec can see which vCenter calls the provider makes.
type soapLog struct {
	mu     sync.Mutex
	bodies []string
}

// proxy starts the proxy to target and returns its SDK URL, for a Config to use instead.
func (l *soapLog) proxy(target *url.URL) *url.URL {
	GinkgoHelper()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sdk" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			l.mu.Lock()
			l.bodies = append(l.bodies, string(body))
			l.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	DeferCleanup(srv.Close)
	u, err := url.Parse(srv.URL + "/sdk")
	Expect(err).NotTo(HaveOccurred())
	return u
}

// take returns the requests logged since the last take and forgets them.
func (l *soapLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bodies
	l.bodies = nil
	return b
}

// mentioning counts the requests whose body contains s.
func mentioning(bodies []string, s string) int {
	n := 0
	for _, b := range bodies {
		if strings.Contains(b, s) {
			n++
		}
	}
	return n
}

// stallingProxy forwards to the simulator until set(true): from then on it holds every request
// without an answer until the client gives up or set(false), as a hung vCenter does.
type stallingProxy struct {
	mu      sync.Mutex
	release chan struct{} // nil while forwarding; closed to let held requests go
}

func (s *stallingProxy) set(stalled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case stalled && s.release == nil:
		s.release = make(chan struct{})
	case !stalled && s.release != nil:
		close(s.release)
		s.release = nil
	}
}

func (s *stallingProxy) held() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.release
}

func (s *stallingProxy) proxy(target *url.URL) *url.URL {
	GinkgoHelper()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if release := s.held(); release != nil {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			http.Error(w, "stalled", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	DeferCleanup(srv.Close)
	DeferCleanup(s.set, false) // runs first: Close waits for the requests it holds
	u, err := url.Parse(srv.URL + target.Path)
	Expect(err).NotTo(HaveOccurred())
	return u
}
