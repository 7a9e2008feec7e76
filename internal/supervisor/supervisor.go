package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vm-service/vm-service/internal/clusternet"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/internal/vcsim"
)

const (
	// DefaultHost is where the apiserver, the simulator and the webhooks listen: loopback only.
	DefaultHost = "127.0.0.1"
	// DefaultAPIServerPort and DefaultVCenterPort are fixed, so the kubeconfig and GOVC_URL a
	// user exported stay valid from one run to the next.
	DefaultAPIServerPort = 6443
	DefaultVCenterPort   = 8989
	// DefaultMetricsPort is where the manager serves its metrics over HTTPS, as in a cluster.
	DefaultMetricsPort = 8443
	// DefaultSyncInterval and DefaultImageSyncInterval are short, so what the admin does in
	// vCenter shows in kubectl within seconds.
	DefaultSyncInterval      = 2 * time.Second
	DefaultImageSyncInterval = 5 * time.Second
	// DefaultVMIPPool is where VMs get their addresses: the simulator has no DHCP, so the
	// manager assigns static ones through guest customization, which vcsim then reports. It is
	// a loopback range: anything that dials a simulated VM's address stays on this machine.
	// The simulator's distributed port group gets a pool of its own.
	DefaultVMIPPool = "127.0.128.0/20,DC0_DVPG0=127.0.144.0/20"
	// DefaultLoadBalancerRange is where LoadBalancer Services get their addresses, there being no
	// platform load balancer here: loopback too, so nothing dials off this machine.
	DefaultLoadBalancerRange = "127.0.160.0/24"
)

// Config says where the supervisor keeps its files and how it serves.
type Config struct {
	// RepoRoot is the checkout: CRDs, webhook and RBAC manifests come from its config/.
	// Required; FindRepoRoot finds it.
	RepoRoot string
	// StateDir holds the kubeconfig, govc.env, the ready marker, logs and kept state;
	// RepoRoot/.local when empty.
	StateDir string
	// BinDir holds etcd and kube-apiserver; $KUBEBUILDER_ASSETS, else RepoRoot/bin, when empty.
	BinDir string
	// Host is the loopback address everything listens on; DefaultHost when empty.
	Host string
	// APIServerPort and VCenterPort are the ports of kube-apiserver and the simulator; the
	// defaults when zero.
	APIServerPort int
	VCenterPort   int
	// MetricsPort is the manager's metrics port; DefaultMetricsPort when zero.
	MetricsPort int
	// Enforcement is the class-binding enforcement mode of the webhooks; Deny when empty.
	Enforcement enforcement.Mode
	// Keep keeps etcd's data and the simulator's namespaces and classes in StateDir, so the
	// next start finds them; otherwise every start is clean.
	Keep bool
	// SyncInterval and ImageSyncInterval pace the vCenter sync and the image sync; the defaults
	// when zero.
	SyncInterval      time.Duration
	ImageSyncInterval time.Duration
	// VMIPPool is the CIDR VMs get static addresses from; DefaultVMIPPool when empty.
	VMIPPool string
	// LoadBalancerRange is the CIDR LoadBalancer Services get addresses from;
	// DefaultLoadBalancerRange when empty.
	LoadBalancerRange string
	// Log receives the supervisor's structured logs; the manager logs through ctrl.Log.
	Log logr.Logger
}

// Paths are the files the supervisor writes in its state directory.
type Paths struct {
	// Kubeconfig has the admin context, and an admin and a developer context per namespace.
	Kubeconfig string
	// GovcEnv exports GOVC_URL, the simulator's credentials and SUPERVISOR_CLUSTER.
	GovcEnv string
	// Ready exists while the supervisor serves: webhooks answering, caches synced.
	Ready string
	// Logs holds etcd.log and kube-apiserver.log.
	Logs string
	// EtcdData is etcd's data directory when state is kept.
	EtcdData string
	// VCenterState is the simulator's namespaces and classes when state is kept.
	VCenterState string
	// Releases holds the descriptors of releases an admin may publish (see NewerRelease).
	Releases string
	// VCenterPassword is the simulator's password when state is kept, so a GOVC_PASSWORD
	// exported from govc.env stays valid; a clean start draws a new one.
	VCenterPassword string
	// Lock keeps two supervisors off one state directory.
	Lock string
}

// PathsIn are the paths of a supervisor whose state directory is dir.
func PathsIn(dir string) Paths {
	return Paths{
		Kubeconfig:   filepath.Join(dir, "kubeconfig"),
		GovcEnv:      filepath.Join(dir, "govc.env"),
		Ready:        filepath.Join(dir, "ready"),
		Logs:         filepath.Join(dir, "logs"),
		EtcdData:     filepath.Join(dir, "etcd"),
		VCenterState: filepath.Join(dir, "vcenter.json"),
		Lock:         filepath.Join(dir, "supervisor.lock"),
		Releases:     filepath.Join(dir, "releases"),
		// Kept apart from govc.env, which is rewritten at every start.
		VCenterPassword: filepath.Join(dir, "vcenter-password"),
	}
}

func (c Config) withDefaults() (Config, error) {
	if c.RepoRoot == "" {
		return c, errors.New("supervisor: Config.RepoRoot is required")
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join(c.RepoRoot, ".local")
	}
	if c.BinDir == "" {
		if c.BinDir = os.Getenv("KUBEBUILDER_ASSETS"); c.BinDir == "" {
			c.BinDir = filepath.Join(c.RepoRoot, "bin")
		}
	}
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.APIServerPort == 0 {
		c.APIServerPort = DefaultAPIServerPort
	}
	if c.VCenterPort == 0 {
		c.VCenterPort = DefaultVCenterPort
	}
	if c.MetricsPort == 0 {
		c.MetricsPort = DefaultMetricsPort
	}
	if c.Enforcement == "" {
		c.Enforcement = enforcement.Deny
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.ImageSyncInterval == 0 {
		c.ImageSyncInterval = DefaultImageSyncInterval
	}
	if c.VMIPPool == "" {
		c.VMIPPool = DefaultVMIPPool
	}
	if c.LoadBalancerRange == "" {
		c.LoadBalancerRange = DefaultLoadBalancerRange
	}
	if c.Log.GetSink() == nil {
		c.Log = ctrl.Log.WithName("local-supervisor")
	}
	return c, nil
}

// Supervisor is a running local supervisor. Stop it to end every process and remove what a
// clean start does not keep.
type Supervisor struct {
	cfg   Config
	paths Paths
	log   logr.Logger

	lock     *os.File
	sim      *vcsim.Simulator
	network  *clusternet.Proxy
	env      *envtest.Environment
	logFiles []*os.File

	mgr        ctrl.Manager
	mgrCtx     context.Context // ends when Stop stops the manager
	cancel     context.CancelFunc
	mgrDone    chan struct{}
	mgrErr     error
	wg         sync.WaitGroup
	kubeconfig *kubeconfig

	stopOnce sync.Once
	stopErr  error
}

// Start brings the supervisor up and returns once it serves: the control plane with CRDs,
// webhooks and RBAC personas, the simulator seeded, the manager's caches synced and webhooks
// answering, and the kubeconfig, govc.env and ready files written. On error everything started
// so far is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Supervisor, err error) {
	if cfg, err = cfg.withDefaults(); err != nil {
		return nil, err
	}
	s := &Supervisor{cfg: cfg, paths: PathsIn(cfg.StateDir), log: cfg.Log}
	defer func() {
		if err != nil {
			if why := s.Err(); why != nil {
				err = fmt.Errorf("the manager stopped: %w (then: %w)", why, err)
			}
			if stopErr := s.Stop(); stopErr != nil {
				s.log.Error(stopErr, "unable to stop cleanly after a failed start")
			}
		}
	}()
	began := time.Now()

	if err := s.prepareStateDir(); err != nil {
		return nil, err
	}
	// Checked up front, so a taken port is reported plainly before anything starts.
	for _, p := range []struct {
		what, flag string
		port       int
	}{
		{"kube-apiserver", "--apiserver-port", cfg.APIServerPort},
		{"vCenter simulator", "--vcenter-port", cfg.VCenterPort},
		{"manager's metrics", "--metrics-port", cfg.MetricsPort},
	} {
		if err := portFree(cfg.Host, p.port); err != nil {
			return nil, fmt.Errorf("port %d for the %s is taken on %s (is another supervisor running? stop it, or pass %s=<port>): %w",
				p.port, p.what, cfg.Host, p.flag, err)
		}
	}
	if err := s.startVCenter(ctx); err != nil {
		return nil, err
	}
	if err := s.startControlPlane(); err != nil {
		return nil, err
	}
	adminCfg, developerCfg, err := s.addUsers()
	if err != nil {
		return nil, err
	}
	admin, err := client.New(s.env.Config, client.Options{Scheme: s.env.Scheme})
	if err != nil {
		return nil, fmt.Errorf("client for the apiserver: %w", err)
	}
	if err := applyRoles(ctx, admin, cfg.RepoRoot); err != nil {
		return nil, err
	}
	if err := s.startManager(ctx); err != nil {
		return nil, err
	}
	// What follows reads the manager's cache: end those reads if the manager stops (a port taken
	// after it started, say).
	ctx, stopReading := s.whileManagerRuns(ctx)
	defer stopReading()

	s.kubeconfig = newKubeconfig(s.paths.Kubeconfig, cfg.Host, adminCfg, developerCfg)
	namespaces, err := s.mirroredNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	for _, ns := range namespaces {
		if err := ensureDeveloperBindings(ctx, admin, ns); err != nil {
			return nil, err
		}
	}
	// A clean start writes a fresh kubeconfig; a kept one keeps the user's current-context.
	if err := s.kubeconfig.write(namespaces, !cfg.Keep); err != nil {
		return nil, err
	}
	if err := s.watchNamespaces(s.mgrCtx, namespaces); err != nil {
		return nil, err
	}
	if err := s.writeGovcEnv(); err != nil {
		return nil, err
	}
	if err := s.writeNewerRelease(); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(s.paths.Ready, fmt.Appendf(nil, "pid %d\napiserver %s\nvcenter %s\n", os.Getpid(), s.env.Config.Host, s.vcenterURL()), 0o644); err != nil {
		return nil, err
	}
	s.log.Info("local supervisor ready", "apiserver", s.env.Config.Host, "vcenter", s.vcenterURL(),
		"enforcement", cfg.Enforcement, "keep", cfg.Keep, "startup", time.Since(began).Round(time.Millisecond))
	return s, nil
}

// Paths are the files this supervisor writes.
func (s *Supervisor) Paths() Paths { return s.paths }

// Done is closed when the manager stops on its own, which means the supervisor no longer
// serves; Err then says why.
func (s *Supervisor) Done() <-chan struct{} { return s.mgrDone }

// Err is why the manager stopped; nil while it runs or after a clean Stop.
func (s *Supervisor) Err() error {
	select {
	case <-s.mgrDone:
		return s.mgrErr
	default:
		return nil
	}
}

// Stop stops the manager, the control plane (etcd and kube-apiserver are killed if they do
// not exit) and the simulator, removes the ready file and temporary directories, and with Keep
// saves the simulator's state. It is safe to call more than once.
func (s *Supervisor) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Supervisor) stop() error {
	var errs []error
	// First, so nobody takes a stopping supervisor for a ready one.
	if err := os.Remove(s.paths.Ready); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if s.cancel != nil {
		s.cancel()
		<-s.mgrDone
		s.wg.Wait()
	}
	if s.cfg.Keep && s.sim != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.saveVCenter(ctx); err != nil {
			errs = append(errs, fmt.Errorf("save vCenter state: %w", err))
		}
		cancel()
	}
	if s.env != nil {
		if err := s.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop etcd and kube-apiserver: %w", err))
		}
	}
	if s.sim != nil {
		s.sim.Stop()
	}
	if s.network != nil {
		s.network.Stop()
	}
	for _, f := range s.logFiles {
		_ = f.Close()
	}
	if s.lock != nil {
		_ = os.Remove(s.paths.Lock)
		_ = s.lock.Close() // releases the flock
	}
	if len(errs) == 0 && (s.sim != nil || s.env != nil) {
		s.log.Info("local supervisor stopped")
	}
	return errors.Join(errs...)
}

// prepareStateDir creates the state directory, takes its lock and, for a clean start, removes
// what an earlier kept run left.
func (s *Supervisor) prepareStateDir() error {
	if err := os.MkdirAll(s.cfg.StateDir, 0o755); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	f, err := os.OpenFile(s.paths.Lock, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open lock %s: %w", s.paths.Lock, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(s.paths.Lock)
		_ = f.Close()
		return fmt.Errorf("another local supervisor (pid %s) uses %s: stop it first (Ctrl-C in its terminal)", strings.TrimSpace(string(holder)), s.cfg.StateDir)
	}
	s.lock = f
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)

	// A ready file left by a supervisor that was killed would lie.
	_ = os.Remove(s.paths.Ready)
	if !s.cfg.Keep {
		for _, p := range []string{s.paths.EtcdData, s.paths.VCenterState, s.paths.VCenterPassword} {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("clean %s (delete it by hand): %w", p, err)
			}
		}
	}
	return os.MkdirAll(s.paths.Logs, 0o755)
}

// startControlPlane starts etcd and kube-apiserver through envtest, which also installs the
// CRDs and the webhook configurations (with a self-signed CA, pointed at the local webhook
// server the manager will run).
func (s *Supervisor) startControlPlane() error {
	for _, tool := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(s.cfg.BinDir, tool)); err != nil {
			return fmt.Errorf("%s not found in %s: run 'make tools' (make run builds it): %w", tool, s.cfg.BinDir, err)
		}
	}
	etcdLog, err := s.openLog("etcd.log")
	if err != nil {
		return err
	}
	apiLog, err := s.openLog("kube-apiserver.log")
	if err != nil {
		return err
	}
	etcd := &envtest.Etcd{Out: etcdLog, Err: etcdLog}
	if s.cfg.Keep {
		// An explicit data directory is one envtest neither randomises nor deletes.
		etcd.DataDir = s.paths.EtcdData
	}
	apiserver := &envtest.APIServer{
		Out: apiLog, Err: apiLog,
		SecureServing: envtest.SecureServing{ListenAddr: envtest.ListenAddr{Address: s.cfg.Host, Port: strconv.Itoa(s.cfg.APIServerPort)}},
	}
	if err := s.isolateClusterTraffic(apiserver); err != nil {
		return err
	}
	s.env = &envtest.Environment{
		Scheme:                   scheme.New(),
		ControlPlane:             envtest.ControlPlane{APIServer: apiserver, Etcd: etcd},
		CRDDirectoryPaths:        []string{filepath.Join(s.cfg.RepoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    s.cfg.BinDir,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  20 * time.Second,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths:            []string{filepath.Join(s.cfg.RepoRoot, "config", "webhook")},
			LocalServingHost: s.cfg.Host,
		},
	}
	s.log.Info("starting etcd and kube-apiserver", "bin", s.cfg.BinDir, "logs", s.paths.Logs)
	if _, err := s.env.Start(); err != nil {
		return fmt.Errorf("start etcd and kube-apiserver (see %s): %w", s.paths.Logs, err)
	}
	s.log.Info("kube-apiserver serving", "url", s.env.Config.Host)
	return nil
}

// isolateClusterTraffic sends the apiserver's calls to Services (a webhook configuration or API
// service that names one, as config/default's do) through a cluster network stand-in that
// refuses them: without it the apiserver would dial a cluster IP, which leaves this machine.
func (s *Supervisor) isolateClusterTraffic(apiserver *envtest.APIServer) error {
	network, err := clusternet.Start(nil)
	if err != nil {
		return err
	}
	s.network = network
	file := filepath.Join(s.cfg.StateDir, "egress-selector.yaml")
	if err := os.WriteFile(file, network.EgressSelectorConfiguration(), 0o644); err != nil {
		return fmt.Errorf("write the apiserver's egress configuration: %w", err)
	}
	apiserver.Configure().Set("egress-selector-config-file", file)
	return nil
}

func (s *Supervisor) openLog(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(s.paths.Logs, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	s.logFiles = append(s.logFiles, f)
	return f, nil
}

// addUsers provisions the admin (system:masters) and the developer (no groups: RBAC alone
// decides) as client-certificate users of the apiserver.
func (s *Supervisor) addUsers() (admin, developer *rest.Config, err error) {
	a, err := s.env.AddUser(envtest.User{Name: AdminUser, Groups: []string{"system:masters"}}, s.env.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("add user %s: %w", AdminUser, err)
	}
	d, err := s.env.AddUser(envtest.User{Name: DeveloperUser}, s.env.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("add user %s: %w", DeveloperUser, err)
	}
	return a.Config(), d.Config(), nil
}

// portFree reports an error when nothing can listen on host:port.
func portFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}
