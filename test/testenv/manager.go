package testenv

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/vm-service/vm-service/internal/manager"
)

// StartManager runs the product's manager against the control plane, serving the webhooks that
// WithWebhooks registered, and returns once its cache is synced and its webhooks answer. The
// returned stop function cancels it and waits for it to exit.
func (e *Env) StartManager(opts manager.Options) (ctrl.Manager, func(), error) {
	wio := e.WebhookInstallOptions
	opts.MetricsAddr, opts.HealthAddr = "0", "0"
	opts.WebhookHost, opts.WebhookPort, opts.WebhookCertDir = wio.LocalServingHost, wio.LocalServingPort, wio.LocalServingCertDir
	mgr, err := manager.New(e.Config, opts)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stop := func() {
		cancel()
		<-done
	}
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		stop()
		return nil, nil, fmt.Errorf("manager cache did not sync")
	}
	if wio.LocalServingPort != 0 {
		checker := mgr.GetWebhookServer().StartedChecker()
		err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return checker(&http.Request{}) == nil, nil
		})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("webhook server did not start: %w", err)
		}
	}
	return mgr, stop, nil
}
