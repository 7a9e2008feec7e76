// Command manager runs VM Service's admission webhooks and controllers against a Kubernetes
// apiserver: in a supervisor cluster, or under the local supervisor of `make run`.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
)

func main() {
	var opts manager.Options
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", `address of the metrics endpoint; "0" turns it off`)
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect a leader so only one replica reconciles")
	flag.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader lease (default: the pod's namespace)")
	flag.StringVar(&opts.WebhookHost, "webhook-host", "", "address the webhook server listens on (default: all)")
	flag.IntVar(&opts.WebhookPort, "webhook-port", 9443, "port the webhook server listens on")
	flag.StringVar(&opts.WebhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory holding the webhook server's tls.crt and tls.key")
	opts.Enforcement = enforcement.Deny
	flag.Var(&opts.Enforcement, "class-binding-enforcement", "Deny refuses VMs and clusters whose classes are not bound in their namespace; Warn admits them with a warning and the controllers report the failure")
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	mgr, err := manager.New(ctrl.GetConfigOrDie(), opts)
	if err != nil {
		log.Error(err, "unable to build the manager")
		os.Exit(1)
	}
	log.Info("starting manager", "classBindingEnforcement", opts.Enforcement)
	// SetupSignalHandler cancels on SIGINT/SIGTERM, so the manager drains and exits cleanly.
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}
