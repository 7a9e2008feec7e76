// Package manager assembles the controller manager: scheme, field indexes, webhooks and
// controllers. cmd/manager (in a cluster) and the local supervisor both build it here, so they
// run the same code.
package manager

import (
	"fmt"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/vm-service/vm-service/internal/scheme"
)

// Options configure the manager; cmd/manager fills them from flags.
type Options struct {
	// MetricsAddr is where Prometheus metrics are served; "0" turns them off.
	MetricsAddr string
	// HealthAddr is where /healthz and /readyz are served.
	HealthAddr string
	// LeaderElection makes only one replica reconcile at a time.
	LeaderElection bool
	// LeaderElectionNamespace holds the lease; the in-cluster namespace when empty.
	LeaderElectionNamespace string
	// WebhookHost and WebhookPort are where the admission webhooks listen.
	WebhookHost string
	WebhookPort int
	// WebhookCertDir holds tls.crt and tls.key for the webhook server.
	WebhookCertDir string
}

// The manager records events on the objects it reconciles.
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// New builds a manager with every index, webhook and controller of the product registered.
func New(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme.New(),
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "vm-service-manager.vmoperator.vmware.com",
		LeaderElectionNamespace: opts.LeaderElectionNamespace,
		// Hand the lease over at once on shutdown instead of letting it expire.
		LeaderElectionReleaseOnCancel: true,
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: opts.WebhookHost, Port: opts.WebhookPort, CertDir: opts.WebhookCertDir,
		}),
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
	return mgr, nil
}
