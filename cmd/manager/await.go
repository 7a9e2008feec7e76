package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/webhookcerts"
)

// certificateSecret checks that the manager can make or read its webhook certificate Secret (and
// so write the certificate to its directory), which fails while its Role is missing.
func certificateSecret(ctx context.Context, opts webhookcerts.Options) func() string {
	return func() string {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return err.Error()
		}
		c, err := client.New(cfg, client.Options{})
		if err != nil {
			return err.Error()
		}
		r, err := webhookcerts.New(c, opts, logr.Discard())
		if err != nil {
			return err.Error()
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := r.Ensure(ctx); err != nil {
			return fmt.Sprintf("webhook certificate Secret %s/%s: %v; the manager needs get, create and update on it (config/rbac/webhook_certs_role.yaml)",
				opts.Namespace, opts.SecretName, err)
		}
		return ""
	}
}

// neededFiles are files the manager cannot start without, all in one directory (a mounted Secret).
type neededFiles struct {
	what, dir string
	names     []string
	fix       string
}

// missing says which files are not readable yet, and what to do; "" when all are.
func (n neededFiles) missing() string {
	var absent []string
	for _, name := range n.names {
		if _, err := os.ReadFile(filepath.Join(n.dir, name)); err != nil {
			absent = append(absent, name)
		}
	}
	if len(absent) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %s missing in %s; %s", n.what, strings.Join(absent, " and "), n.dir, n.fix)
}

// awaitPrerequisites waits until every check passes (returns ""): a Secret created or mounted
// after the pod starts, a Role bound after it. Meanwhile it serves the health endpoints at
// healthAddr: liveness passes and readiness fails, saying what is missing, so the pod waits out
// of the Service instead of crash-looping. It logs each new reason once and returns false when
// ctx ends first.
func awaitPrerequisites(ctx context.Context, log logr.Logger, healthAddr string, checks []func() string) bool {
	why := func() string {
		var reasons []string
		for _, check := range checks {
			if m := check(); m != "" {
				reasons = append(reasons, m)
			}
		}
		return strings.Join(reasons, "; ")
	}
	reason := why()
	if reason == "" {
		return true
	}
	stop := serveWaiting(log, healthAddr, func() string { return reason })
	defer stop()
	logged := ""
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for reason != "" {
		if reason != logged {
			log.Error(nil, "waiting for what the manager needs", "reason", reason)
			logged = reason
		}
		select {
		case <-ctx.Done():
			return false
		case <-ticker.C:
		}
		reason = why()
	}
	log.Info("what the manager needs is in place; starting")
	return true
}

// serveWaiting answers /healthz with 200 and /readyz with 503 and the reason, until stopped.
func serveWaiting(log logr.Logger, addr string, reason func() string) (stop func()) {
	if addr == "" || addr == "0" {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not ready: "+reason(), http.StatusServiceUnavailable)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Error(err, "health endpoints while waiting", "address", addr)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done // the manager binds the same address next
	}
}
