package supervisor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// startManager runs the product's manager, built by internal/manager exactly as cmd/manager
// builds it in a cluster, against the control plane and the simulator, and returns once its
// caches are synced and the apiserver reaches its webhooks.
func (s *Supervisor) startManager(ctx context.Context) error {
	wio := s.env.WebhookInstallOptions
	username, password := s.vcenterCredentials()
	opts := manager.Options{
		// Metrics as in a cluster (HTTPS, a token granted the metrics-reader role), on loopback;
		// nothing probes a local process, whose readiness is the ready file.
		MetricsAddr:    s.metricsAddr(),
		HealthAddr:     "0",
		WebhookHost:    wio.LocalServingHost,
		WebhookPort:    wio.LocalServingPort,
		WebhookCertDir: wio.LocalServingCertDir,
		Enforcement:    s.cfg.Enforcement,
		// No platform load balancer runs here; the manager gives LoadBalancer Services addresses.
		LoadBalancerRange: s.cfg.LoadBalancerRange,
		// Cluster events come from where a vSphere with Tanzu supervisor sends them.
		ClusterEventSource: manager.SupervisorClusterEventSource,
		// No ManagerUser: the manager runs as the control plane's admin, a member of system:masters,
		// whom admission lets write the product's metadata.
		VCenter: &manager.VCenterOptions{
			Config: vsphere.Config{
				URL:            s.vcenterURL(),
				Username:       username,
				Password:       password,
				Insecure:       true, // the simulator's certificate is self-signed
				Cluster:        vcsim.ClusterName,
				ContentLibrary: ContentLibrary,
			},
			SyncInterval:      s.cfg.SyncInterval,
			ImageSyncInterval: s.cfg.ImageSyncInterval,
			IPPool:            s.cfg.VMIPPool,
		},
	}
	mgr, err := manager.New(s.env.Config, opts)
	if err != nil {
		return fmt.Errorf("build the manager: %w", err)
	}
	s.mgr = mgr

	// The manager lives until Stop, not until the caller's ctx ends.
	mgrCtx, cancel := context.WithCancel(context.Background())
	s.mgrCtx, s.cancel = mgrCtx, cancel
	s.mgrDone = make(chan struct{})
	go func() {
		defer close(s.mgrDone)
		if err := mgr.Start(mgrCtx); err != nil {
			s.mgrErr = err
			s.log.Error(err, "manager stopped with an error")
		}
	}()
	s.log.Info("manager starting", "webhooks", fmt.Sprintf("%s:%d", wio.LocalServingHost, wio.LocalServingPort), "enforcement", s.cfg.Enforcement)

	// Wait for readiness, but give up when the manager dies or the caller gives up.
	waitCtx, stopWaiting := context.WithTimeout(ctx, 60*time.Second)
	defer stopWaiting()
	waitCtx, stopWaiting = s.whileManagerRuns(waitCtx)
	defer stopWaiting()
	if !mgr.GetCache().WaitForCacheSync(waitCtx) {
		return fmt.Errorf("manager caches did not sync: %w", s.whyNotReady(waitCtx))
	}
	started := mgr.GetWebhookServer().StartedChecker()
	// The probe's binding names no real class, which the webhook answers with a warning the
	// user need not read.
	probeCfg := rest.CopyConfig(s.env.Config)
	probeCfg.WarningHandler = rest.NoWarnings{}
	probe, err := client.New(probeCfg, client.Options{Scheme: s.env.Scheme})
	if err != nil {
		return fmt.Errorf("client for the readiness probe: %w", err)
	}
	err = wait.PollUntilContextCancel(waitCtx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		return started(&http.Request{}) == nil && webhooksAnswer(ctx, probe), nil
	})
	if err != nil {
		return fmt.Errorf("the apiserver cannot reach the manager's webhooks: %w", s.whyNotReady(waitCtx))
	}
	return nil
}

// metricsAddr is where the manager serves its metrics: loopback, like everything here.
func (s *Supervisor) metricsAddr() string {
	return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.MetricsPort))
}

// whyNotReady explains a readiness wait that ended.
func (s *Supervisor) whyNotReady(ctx context.Context) error {
	select {
	case <-s.mgrDone:
		return fmt.Errorf("the manager stopped: %w", s.mgrErr)
	default:
		return ctx.Err()
	}
}

// webhooksAnswer asks the apiserver to admit a binding in dry-run mode: the answer proves the
// apiserver reaches the webhook server and trusts its certificate. A denial is an answer too;
// only a failed webhook call is not.
func webhooksAnswer(ctx context.Context, c client.Client) bool {
	probe := &vmopv1.VirtualMachineClassBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "local-supervisor-readiness-probe"},
		ClassRef:   vmopv1.ClassReference{Kind: vmopv1.VirtualMachineClassKind, Name: "local-supervisor-readiness-probe"},
	}
	err := c.Create(ctx, probe, client.DryRunAll)
	return err == nil || !strings.Contains(err.Error(), "failed calling webhook")
}

// whileManagerRuns returns a context that also ends when the manager stops: reads of its cache
// wait forever once it is gone.
func (s *Supervisor) whileManagerRuns(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.mgrDone:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
