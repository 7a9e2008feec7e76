package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// ScaleConfig sizes the figures taken on one control plane at the scale: the webhook
// figures and the manager's memory.
type ScaleConfig struct {
	// ClusterBindings are all the bindings in the cluster, NamespaceBindings in each namespace
	// (the three measured ones and as many filler namespaces as the rest takes).
	NamespaceBindings, ClusterBindings int
	// VMs are the VirtualMachines in the cluster when the manager's memory is read.
	VMs int
	// Samples creates are timed on each webhook path, after WarmUp untimed ones.
	Samples, WarmUp int
	// LoadClients create VMs as fast as they can, LoadCreates in all, for at most LoadTime.
	LoadClients, LoadCreates int
	LoadTime                 time.Duration
	// Writers create the cluster's objects at once.
	Writers int
	// Dir holds the manager binaries and their logs.
	Dir string
	// PprofAddr, when set, serves the profiling endpoints of the manager being measured there.
	PprofAddr string
}

// DefaultScale is the configuration: 100,000 bindings, 100 in each of 1,000 namespaces,
// and 10,000 VMs.
var DefaultScale = ScaleConfig{
	NamespaceBindings: 100, ClusterBindings: 100_000, VMs: 10_000,
	Samples: 12_000, WarmUp: 100,
	LoadClients: 8, LoadCreates: 4000, LoadTime: 60 * time.Second,
	Writers: 32, Dir: "bin/bench",
}

// Scale measures webhook_cost_p50, webhook_cost_p99, admission_p99_ms_under_load and
// rss_mib_10k_vms on one real kube-apiserver holding the bindings and namespaces, with
// the manager as a process of its own (no vCenter, so nothing but admission and the status
// controllers act on what is created).
func Scale(ctx context.Context, cfg ScaleConfig) (res Results, err error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench directory: %w", err)
	}
	if err := buildManagers(ctx, dir); err != nil {
		return nil, err
	}
	env, err := testenv.Start(testenv.WithWebhooks(), roomyControlPlane)
	if err != nil {
		return nil, err
	}
	defer func() {
		// The figures are measured by then: a slow teardown is reported, not a reason to drop them.
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: stop the control plane of the scale figures: %v\n", err)
		}
	}()
	token, err := metricsToken(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := routeWebhooks(ctx, env); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := setUpCluster(ctx, env, dir, token, cfg); err != nil {
		return nil, err
	}
	mgr, err := startManager(ctx, env, dir, benchManager, token, append(cfg.pprofArgs(), "--allow-all-path", allowAllPath)...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if mgr != nil {
			err = errors.Join(err, mgr.stop())
		}
	}()
	if err := mgr.waitIdle(ctx, 0); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: %d bindings in %d namespaces, listed, in %s\n",
		cfg.ClusterBindings, namespaceCount(cfg), time.Since(start).Round(time.Second))
	if res, err = webhookFigures(ctx, env.Client, mgr, cfg); err != nil {
		return nil, err
	}
	if err := mgr.stop(); err != nil {
		return nil, err
	}
	mgr = nil
	rss, err := managerRSS(ctx, env, dir, token, cfg)
	if err != nil {
		return nil, err
	}
	res["rss_mib_10k_vms"] = rss
	return res, nil
}

// setUpCluster populates the cluster with a manager running, so its webhooks admit what is created
// and it reports on the bindings, stops it, and copies the bindings into the filler namespaces.
func setUpCluster(ctx context.Context, env *testenv.Env, dir, token string, cfg ScaleConfig) error {
	mgr, err := startManager(ctx, env, dir, benchManager, token)
	if err != nil {
		return err
	}
	if err := populate(ctx, env.Client, cfg); err != nil {
		return errors.Join(err, mgr.stop())
	}
	if err := mgr.waitIdle(ctx, 3*cfg.NamespaceBindings); err != nil {
		return errors.Join(err, mgr.stop())
	}
	if err := mgr.stop(); err != nil {
		return err
	}
	return seedFillerBindings(ctx, env.Client, env.ControlPlane.Etcd.URL, cfg)
}

// pprofArgs serve the profiling endpoints of the manager measured, when asked to.
func (cfg ScaleConfig) pprofArgs() []string {
	if cfg.PprofAddr == "" {
		return nil
	}
	return []string{"--pprof-bind-address", cfg.PprofAddr}
}

// roomyControlPlane lets the bench's writers and the manager's reads in at once: the defaults (400
// requests, 200 writes in flight) are sized for a shared production apiserver, not for setting up
// 100,000 objects on a private one.
func roomyControlPlane(te *envtest.Environment) {
	te.ControlPlane.GetAPIServer().Configure().
		Set("max-requests-inflight", "2000").
		Set("max-mutating-requests-inflight", "1000")
	// etcd holding 100,000 bindings and tens of thousands of VMs has taken more than two minutes
	// to stop gracefully, and its data is thrown away: after 20 s it is killed, the figures are
	// kept, and the next group waits for the machine to settle (Settle).
	te.ControlPlaneStopTimeout = 20 * time.Second
}

func namespaceCount(cfg ScaleConfig) int {
	return (cfg.ClusterBindings + cfg.NamespaceBindings - 1) / cfg.NamespaceBindings
}

// The measured namespaces and the filler ones that make up the rest of the cluster.
func benchNamespaceName(path string) string { return "bench-" + path }
func fillerNamespaceName(i int) string      { return fmt.Sprintf("filler-%d", i) }

// populate creates, through the apiserver and cfg.Writers at a time, the storage class, the
// classes, the filler namespaces and the three measured namespaces (storage assigned), each of
// these with cfg.NamespaceBindings bindings; seedFillerBindings fills the rest.
func populate(ctx context.Context, c client.Client, cfg ScaleConfig) error {
	if err := c.Create(ctx, objects.StorageClass(testenv.StorageClass, vcsim.VSANDefaultPolicyID)); err != nil {
		return fmt.Errorf("storage class: %w", err)
	}
	if err := inParallel(ctx, cfg.Writers, classCount, func(ctx context.Context, i int) error {
		return create(ctx, c, objects.BestEffortClass(fmt.Sprintf("class-%d", i), 2, "4Gi"))
	}); err != nil {
		return err
	}
	var namespaces []*corev1.Namespace
	for _, path := range []string{pathOurs, pathNone, pathTrivial} {
		namespaces = append(namespaces, pathNamespace(benchNamespaceName(path), path))
	}
	for i := range namespaceCount(cfg) - len(namespaces) {
		namespaces = append(namespaces, pathNamespace(fillerNamespaceName(i), pathFiller))
	}
	if err := inParallel(ctx, cfg.Writers, len(namespaces), func(ctx context.Context, i int) error {
		ns := namespaces[i]
		if err := create(ctx, c, ns); err != nil {
			return err
		}
		if ns.Labels[pathLabel] == pathFiller {
			return nil
		}
		return create(ctx, c, objects.StorageQuota(ns.Name, testenv.StorageClass))
	}); err != nil {
		return err
	}
	return inParallel(ctx, cfg.Writers, 3*cfg.NamespaceBindings, func(ctx context.Context, i int) error {
		ns, n := namespaces[i/cfg.NamespaceBindings].Name, i%cfg.NamespaceBindings
		return create(ctx, c, objects.Binding(ns, fmt.Sprintf("b-%d", n), fmt.Sprintf("class-%d", n%classCount)))
	})
}

func pathNamespace(name, path string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{pathLabel: path}}}
}

// inParallel runs do(0..n-1) with workers at a time and returns the first error.
func inParallel(ctx context.Context, workers, n int, do func(context.Context, int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { return do(ctx, i) })
	}
	return g.Wait()
}

func create(ctx context.Context, c client.Client, obj client.Object) error {
	if err := c.Create(ctx, obj); err != nil {
		return fmt.Errorf("create %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}
