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
)

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

// awaitFiles waits until every needed file is readable, for a Secret that is created or mounted
// after the pod starts. Meanwhile it serves the health endpoints at healthAddr: liveness passes
// and readiness fails, naming what is missing, so the pod waits out of the Service instead of
// crash-looping. It logs each new reason once and returns false when ctx ends first.
func awaitFiles(ctx context.Context, log logr.Logger, healthAddr string, needs []neededFiles) bool {
	why := func() string {
		var reasons []string
		for _, n := range needs {
			if m := n.missing(); m != "" {
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
			log.Error(nil, "waiting for files the manager needs", "reason", reason)
			logged = reason
		}
		select {
		case <-ctx.Done():
			return false
		case <-ticker.C:
		}
		reason = why()
	}
	log.Info("the files the manager needs are in place; starting")
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
