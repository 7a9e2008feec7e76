// Package manager assembles the controller manager: scheme, field indexes, webhooks and
// controllers. cmd/manager (in a cluster) and the local supervisor both build it here, so they
// run the same code.
package manager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"runtime/metrics"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/controllers/vcentersync"
	vmctrl "github.com/vm-service/vm-service/controllers/virtualmachine"
	imagesync "github.com/vm-service/vm-service/controllers/virtualmachineimage"
	policyctrl "github.com/vm-service/vm-service/controllers/virtualmachinesetresourcepolicy"
	"github.com/vm-service/vm-service/internal/admissionmetrics"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/ippool"
	"github.com/vm-service/vm-service/internal/ownership"
	"github.com/vm-service/vm-service/internal/requestlog"
	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/internal/usable"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
	"github.com/vm-service/vm-service/internal/webhookcerts"
	tkcwebhook "github.com/vm-service/vm-service/webhooks/tanzukubernetescluster"
	vmwebhook "github.com/vm-service/vm-service/webhooks/virtualmachine"
	classwebhook "github.com/vm-service/vm-service/webhooks/virtualmachineclass"
	bindingwebhook "github.com/vm-service/vm-service/webhooks/virtualmachineclassbinding"
	vmservicewebhook "github.com/vm-service/vm-service/webhooks/virtualmachineservice"
	policywebhook "github.com/vm-service/vm-service/webhooks/virtualmachinesetresourcepolicy"
)

// Options configure the manager; cmd/manager fills them from flags.
type Options struct {
	// MetricsAddr is where Prometheus metrics are served over HTTPS, to callers whose bearer
	// token the apiserver authenticates and authorizes for GET /metrics; "0" turns them off.
	MetricsAddr string
	// MetricsCertDir holds tls.crt and tls.key for the metrics endpoint; a self-signed
	// certificate is generated when empty.
	MetricsCertDir string
	// HealthAddr is where /healthz and /readyz are served.
	HealthAddr string
	// PprofAddr is where Go's profiling endpoints are served, for someone who needs a CPU or
	// heap profile of a running manager; empty or "0" turns them off.
	PprofAddr string
	// LeaderElection makes only one replica reconcile at a time.
	LeaderElection bool
	// LeaderElectionNamespace holds the lease; the in-cluster namespace when empty.
	LeaderElectionNamespace string
	// WebhookHost and WebhookPort are where the admission webhooks listen.
	WebhookHost string
	WebhookPort int
	// WebhookCertDir holds tls.crt and tls.key for the webhook server.
	WebhookCertDir string
	// WebhookCerts, when set, has the manager make and renew the webhook server's certificate
	// itself (into WebhookCertDir, which it overrides) and inject its CA into the webhook
	// configurations; without it the files in WebhookCertDir are used as they are.
	WebhookCerts *webhookcerts.Options
	// Enforcement says whether admission refuses classes not bound in the namespace (Deny,
	// the default) or admits them with a warning (Warn).
	Enforcement enforcement.Mode
	// ManagerUser is the username of the manager's own requests: admission lets only it, and
	// members of system:masters, remove the product's finalizers and write owner references to
	// clusters and the product's labels and annotations. Empty leaves them to system:masters.
	ManagerUser string
	// LoadBalancerRange, a CIDR, makes the manager give LoadBalancer Services addresses from it
	// itself, for a supervisor without a platform load balancer; empty leaves that to the
	// platform.
	LoadBalancerRange string
	// ClusterEventSource names the component of the TanzuKubernetesCluster controller's events
	// (PhaseChanged, MachineReplaced); DefaultClusterEventSource when empty. In a supervisor it is
	// SupervisorClusterEventSource, the name vSphere with Tanzu's users see on those events.
	ClusterEventSource string
	// VCenter connects the controllers to vSphere. Without it the manager admits and reports
	// but deploys nothing.
	VCenter *VCenterOptions
}

// The sources of the TanzuKubernetesCluster controller's events.
const (
	// DefaultClusterEventSource is the controller's own name.
	DefaultClusterEventSource = "tanzukubernetescluster-controller"
	// SupervisorClusterEventSource is where `kubectl describe tkc` on a vSphere with Tanzu
	// supervisor shows PhaseChanged events from.
	SupervisorClusterEventSource = "vmware-system-tkg/vmware-system-tkg-controller-manager/tanzukubernetescluster-status-controller"
)

// VCenterOptions say which vCenter the controllers drive and how often they read it.
type VCenterOptions struct {
	vsphere.Config
	// SyncInterval is how often vCenter's namespaces, VM classes and assignments are mirrored
	// into Kubernetes; zero turns the mirror off (classes and bindings are then made with kubectl).
	SyncInterval time.Duration
	// ImageSyncInterval is how often the content library is read into VirtualMachineImages.
	ImageSyncInterval time.Duration
	// Provider, when set, is used instead of the govmomi provider built from Config, for
	// instance to wrap it.
	Provider vsphere.Provider
	// IPPool gives VMs static addresses through guest customization: comma-separated pools,
	// "CIDR" for the default network or "NETWORK=CIDR", such as
	// "10.0.128.0/20,dvpg-db=10.0.144.0/20". Each NIC on a network with a pool gets its address
	// from it; a network without one (or an empty IPPool) leaves addressing to DHCP.
	IPPool string
}

// The manager records events on the objects it reconciles.
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// The metrics endpoint asks the apiserver who a caller is and whether it may read /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// New builds a manager with every index, webhook and controller of the product registered.
func New(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme.New(),
		Metrics:                 metricsOptions(opts),
		HealthProbeBindAddress:  opts.HealthAddr,
		PprofBindAddress:        opts.PprofAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "vm-service-manager.vmoperator.vmware.com",
		LeaderElectionNamespace: opts.LeaderElectionNamespace,
		// Hand the lease over at once on shutdown instead of letting it expire.
		LeaderElectionReleaseOnCancel: true,
		// A process may build the manager more than once (tests restart it); each controller's
		// name is its kind, so names stay unique within one manager.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		// Nothing the manager runs reads managed fields, and with 100,000 bindings and 10,000
		// VMs they would be a large share of what its cache holds.
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		WebhookServer: admissionServer{webhook.NewServer(webhook.Options{
			Host: opts.WebhookHost, Port: opts.WebhookPort, CertDir: opts.WebhookCertDir,
			TLSOpts: []func(*tls.Config){http1Only},
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("new manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return nil, fmt.Errorf("add readiness check: %w", err)
	}
	if err := setupWebhookCerts(cfg, mgr, opts); err != nil {
		return nil, err
	}
	if err := index.Register(context.Background(), mgr.GetCache()); err != nil {
		return nil, err
	}
	bound, err := classaccess.TrackBound(context.Background(), mgr.GetCache())
	if err != nil {
		return nil, err
	}
	// Admission reads the cache: until it holds every object, an answer would rest on part of
	// the cluster (or wait for the rest), so the replica takes no traffic before then.
	if err := mgr.AddReadyzCheck("informers", cacheSynced(mgr.GetCache(), bound)); err != nil {
		return nil, fmt.Errorf("add readiness check: %w", err)
	}
	if err := mgr.Add(listMemory{cache: mgr.GetCache(), bound: bound}); err != nil {
		return nil, fmt.Errorf("add list memory release: %w", err)
	}
	// What asks the access check reads through this client, so the check answers from the set
	// of bound classes the binding informer keeps, and reads classes without copying them.
	access := classaccess.WithBound(mgr.GetClient(), bound)
	if err := setupWebhooks(mgr, access, bound, opts); err != nil {
		return nil, err
	}
	if err := setupControllers(mgr, access, bound, opts); err != nil {
		return nil, err
	}
	if err := setupVCenter(mgr, access, bound, opts.VCenter); err != nil {
		return nil, err
	}
	return mgr, nil
}

// admissionServer is the webhook server every webhook registers on, so what every admission
// webhook should do is set here, once: measure its decisions and defer its request loggers.
type admissionServer struct{ webhook.Server }

func (s admissionServer) Register(path string, hook http.Handler) {
	if wh, ok := hook.(*admission.Webhook); ok {
		admissionmetrics.Measure(wh)
		requestlog.Defer(wh)
	}
	s.Server.Register(path, hook)
}

// http1Only keeps a TLS server to HTTP/1.1: HTTP/2's stream resets let a client make a server
// start and cancel work faster than it can (CVE-2023-44487). The apiserver then calls webhooks
// over a connection per request in flight, and a request's handler reads and answers on its own
// connection instead of handing frames to and from the connection's goroutine.
func http1Only(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }

// cacheSynced is the readiness check that the informers and the bound-class set have caught up
// with the apiserver.
func cacheSynced(c cache.Cache, bound *classaccess.BoundSet) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), 500*time.Millisecond)
		defer cancel()
		if !c.WaitForCacheSync(ctx) || !bound.Synced() {
			return errors.New("the cache has not listed every object yet")
		}
		return nil
	}
}

// listMemory hands the memory the informers' initial lists used back to the operating system
// once they are done. Listing 100,000 bindings and 10,000 VMs peaked at several times what the
// cache then holds, and the Go runtime returns freed memory over minutes, so a manager kept up to
// twice its live heap resident long after it had started. Handlers keep working through what
// was listed after the informers have synced (a controller started alongside has every object
// replayed to it), so the memory is handed back once allocation has also quietened.
type listMemory struct {
	cache cache.Cache
	bound *classaccess.BoundSet
}

// NeedLeaderElection is false: every replica lists.
func (listMemory) NeedLeaderElection() bool { return false }

const (
	// quietAllocation is the most a second may allocate for the manager to count as done with
	// its lists: lease renewals and metric scrapes take kilobytes, a list hundreds of megabytes.
	quietAllocation = 8 << 20
	// listSettleTimeout bounds the wait for allocation to quieten.
	listSettleTimeout = 5 * time.Minute
)

func (l listMemory) Start(ctx context.Context) error {
	if !l.cache.WaitForCacheSync(ctx) {
		return nil // stopped before the cache synced
	}
	allocated := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(allocated)
	last := allocated[0].Value.Uint64()
	deadline := time.Now().Add(listSettleTimeout)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		metrics.Read(allocated)
		now := allocated[0].Value.Uint64()
		if now-last < quietAllocation && l.bound.Synced() || time.Now().After(deadline) {
			debug.FreeOSMemory()
			return nil
		}
		last = now
	}
}

// metricsOptions serve metrics over HTTPS behind the apiserver's authentication and
// authorization, so only callers granted the metrics-reader role (GET /metrics) read them.
func metricsOptions(opts Options) metricsserver.Options {
	return metricsserver.Options{
		BindAddress:    opts.MetricsAddr,
		SecureServing:  true,
		CertDir:        opts.MetricsCertDir,
		FilterProvider: filters.WithAuthenticationAndAuthorization,
		TLSOpts:        []func(*tls.Config){http1Only},
	}
}

// setupVCenter adds what reads or drives vCenter.
func setupVCenter(mgr ctrl.Manager, access client.Client, bound *classaccess.BoundSet, opts *VCenterOptions) error {
	if opts == nil {
		return nil
	}
	provider := opts.Provider
	if provider == nil {
		p, err := vsphere.New(opts.Config)
		if err != nil {
			return err
		}
		// End the vCenter session when the manager stops, rather than leave it to expire.
		logout := crmanager.RunnableFunc(func(ctx context.Context) error {
			<-ctx.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := p.Logout(ctx); err != nil { // vCenter may be gone; its session then expires
				ctrl.Log.WithName("vsphere").Info("could not log out of vCenter", "error", err.Error())
			}
			return nil
		})
		if err := mgr.Add(logout); err != nil {
			return fmt.Errorf("add vCenter logout: %w", err)
		}
		if err := mgr.AddReadyzCheck("vcenter-login", p.CheckLogin); err != nil {
			return fmt.Errorf("add readiness check: %w", err)
		}
		provider = p
	}
	vmr := &vmctrl.Reconciler{Client: access, Bound: bound, Provider: provider, Recorder: mgr.GetEventRecorderFor("virtualmachine-controller")}
	if opts.IPPool != "" {
		networks, err := ippool.ParseNetworks(opts.IPPool)
		if err != nil {
			return err
		}
		vmr.Networks = networks
	}
	if err := vmr.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up VirtualMachine controller: %w", err)
	}
	if err := setupResourcePolicies(mgr, opts, provider); err != nil {
		return err
	}
	images := &imagesync.Syncer{Client: mgr.GetClient(), Images: provider, Interval: opts.ImageSyncInterval}
	if err := images.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up image sync: %w", err)
	}
	if opts.SyncInterval > 0 {
		u, err := opts.Endpoint() // parsed as the provider parses it, so both reach the same vCenter
		if err != nil {
			return err
		}
		syncer, err := vcentersync.New(mgr.GetClient(), vcentersync.Options{
			Connection: namespaces.StaticConnection(namespaces.Connection{
				URL: u, Username: opts.Username, Password: opts.Password, Insecure: opts.Insecure,
			}),
			Interval: opts.SyncInterval,
		})
		if err != nil {
			return fmt.Errorf("set up vCenter sync: %w", err)
		}
		if err := syncer.SetupWithManager(mgr); err != nil {
			return fmt.Errorf("set up vCenter sync: %w", err)
		}
	}
	return nil
}

// setupResourcePolicies adds the VirtualMachineSetResourcePolicy controller, on the VM
// controller's provider unless that one (a wrapper) cannot make policies.
func setupResourcePolicies(mgr ctrl.Manager, opts *VCenterOptions, provider vsphere.Provider) error {
	policies, ok := provider.(vsphere.ResourcePolicies)
	if !ok {
		p, err := vsphere.New(opts.Config)
		if err != nil {
			return err
		}
		policies = p
	}
	r := &policyctrl.Reconciler{Client: mgr.GetClient(), Provider: policies, Recorder: mgr.GetEventRecorderFor("virtualmachinesetresourcepolicy-controller")}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up VirtualMachineSetResourcePolicy controller: %w", err)
	}
	return nil
}

// setupWebhooks registers one admission webhook per admitted kind.
func setupWebhooks(mgr ctrl.Manager, access client.Client, bound *classaccess.BoundSet, opts Options) error {
	// The informer cache, where the indexes live, answers; the apiserver confirms refusals.
	readers := confirm.Readers{Cache: access, Live: mgr.GetAPIReader()}
	// The access checks read classes, quotas and storage classes from their informers' stores,
	// and bindings through the bound-class set, which says when it has changed.
	memo, err := usable.Follow(context.Background(), mgr.GetCache(),
		&vmopv1.VirtualMachineClass{}, &corev1.ResourceQuota{}, &storagev1.StorageClass{})
	if err != nil {
		return err
	}
	bound.OnChange(func(string, string) { memo.Forget() })
	policy := enforcement.ClassPolicy{Readers: readers, Mode: opts.Enforcement, Usable: memo}
	guard := ownership.Guard{Manager: opts.ManagerUser}
	for name, w := range map[string]setupWithManager{
		"VirtualMachine":                  &vmwebhook.Validator{ClassPolicy: policy, Guard: guard},
		"TanzuKubernetesCluster":          &tkcwebhook.Validator{ClassPolicy: policy, Guard: guard},
		"VirtualMachineClassBinding":      &bindingwebhook.Webhook{Readers: readers},
		"VirtualMachineClass":             &classwebhook.Validator{Readers: readers},
		"VirtualMachineService":           &vmservicewebhook.Validator{},
		"VirtualMachineSetResourcePolicy": &policywebhook.Validator{Readers: readers},
	} {
		if err := w.SetupWithManager(mgr); err != nil {
			return fmt.Errorf("set up %s webhook: %w", name, err)
		}
	}
	return nil
}

// The webhook certificate rotator keeps its Secret (in the manager's namespace, see
// config/rbac/webhook_certs_role.yaml) and injects the CA into the webhook configurations.
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations;mutatingwebhookconfigurations,verbs=get;update

// setupWebhookCerts, when the manager keeps its own webhook certificate, provisions it before
// the webhook server starts (which needs the files) and renews it while the manager runs. The
// webhook readiness check fails while the certificate is missing or expired, either way.
func setupWebhookCerts(cfg *rest.Config, mgr ctrl.Manager, opts Options) error {
	if opts.WebhookCerts != nil {
		// Not the manager's cached client: that would watch every Secret in the cluster.
		c, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme()})
		if err != nil {
			return fmt.Errorf("client for webhook certificates: %w", err)
		}
		co := *opts.WebhookCerts
		co.CertDir = opts.WebhookCertDir
		r, err := webhookcerts.New(c, co, ctrl.Log.WithName("webhook-certificates"))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Ensure(ctx); err != nil {
			return fmt.Errorf("provision the webhook serving certificate (the manager needs get, create and update on Secret %s/%s, and get and update on the webhook configurations): %w",
				co.Namespace, co.SecretName, err)
		}
		if err := mgr.Add(r); err != nil {
			return fmt.Errorf("add webhook certificate rotator: %w", err)
		}
	}
	if err := mgr.AddReadyzCheck("webhook-certificate", webhookcerts.Checker(opts.WebhookCertDir)); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}
	return nil
}
