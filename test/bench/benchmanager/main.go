// Command benchmanager is the product's manager (internal/manager, as cmd/manager builds it, with
// no vCenter) plus an allow-all VirtualMachine webhook on the same webhook server: make bench
// times creates through each, in a process of their own, for the webhook figures.
package main

import (
	"context"
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
)

func main() {
	opts := manager.Options{Enforcement: enforcement.Deny}
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", "0", "address of the /healthz and /readyz endpoints")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", "0", "address of the HTTPS metrics endpoint")
	flag.StringVar(&opts.PprofAddr, "pprof-bind-address", "0", "address of Go's profiling endpoints")
	flag.StringVar(&opts.WebhookHost, "webhook-host", "127.0.0.1", "address the webhook server listens on")
	flag.IntVar(&opts.WebhookPort, "webhook-port", 9443, "port the webhook server listens on")
	flag.StringVar(&opts.WebhookCertDir, "webhook-cert-dir", "", "directory holding the webhook server's tls.crt and tls.key")
	flag.StringVar(&opts.ManagerUser, "manager-user", "", "username of the manager's own requests")
	allowAllPath := flag.String("allow-all-path", "/allow-all", "where the allow-all webhook is served")
	flag.Parse()
	ctrl.SetLogger(zap.New())
	log := ctrl.Log.WithName("benchmanager")

	mgr, err := manager.New(ctrl.GetConfigOrDie(), opts)
	if err != nil {
		log.Error(err, "unable to build the manager")
		os.Exit(1)
	}
	mgr.GetWebhookServer().Register(*allowAllPath, &admission.Webhook{Handler: admission.HandlerFunc(
		func(context.Context, admission.Request) admission.Response { return admission.Allowed("") })})
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}
