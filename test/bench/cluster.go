package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/supervisor"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// ClusterConfig sizes binding_to_running_s.
type ClusterConfig struct {
	ControlPlane, Workers int32
	// Trials is how many clusters are timed, one after the other, each in a namespace of its own.
	Trials int
	// Timeout bounds each wait.
	Timeout time.Duration
}

// DefaultCluster is the cluster: 3 control plane nodes and 5 workers. One cluster's
// time (about a second) varied by a quarter from run to run; the median of five varies less.
var DefaultCluster = ClusterConfig{ControlPlane: 3, Workers: 5, Trials: 5, Timeout: 2 * time.Minute}

// nodeImage is a node image the image sync publishes as release v1.21.2.
var nodeImage = vcsim.ImageSpec{
	Name: "photon-3-k8s-v1.21.2---vmware.1-tkg.1.ee25d55", OSType: "vmwarePhoton64Guest",
	Product: "Tanzu Kubernetes Grid", Vendor: "VMware", Version: "v1.21.2",
	FullVersion: "v1.21.2+vmware.1-tkg.1.ee25d55", CPUs: 1, MemoryMiB: 512,
}

// BindingToRunning measures binding_to_running_s: the product's manager (Warn enforcement, so a
// cluster of an unbound class is admitted) with its VM controller on the simulator; a cluster
// fails for its class not being bound, and its time is from the binding's creation to the
// cluster running, every machine a powered-on vSphere VM with an address. The figure is the
// median time of cfg.Trials such clusters.
func BindingToRunning(ctx context.Context, cfg ClusterConfig) (res Results, err error) {
	env, sim, stopAll, err := startWithSimulator(ctx, nodeImage)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, stopAll()) }()
	vc := &manager.VCenterOptions{Config: simConfig(sim), ImageSyncInterval: time.Second, IPPool: supervisor.DefaultVMIPPool}
	_, stop, err := env.StartManager(manager.Options{Enforcement: enforcement.Warn, VCenter: vc})
	if err != nil {
		return nil, err
	}
	defer stop()

	c := env.Client
	if err := clusterClasses(ctx, c); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, cfg.Timeout, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Name: runv1.ReleaseName(nodeImage.FullVersion)}, &runv1.TanzuKubernetesRelease{})
		return err == nil, client.IgnoreNotFound(err)
	}); err != nil {
		return nil, fmt.Errorf("release of %s never published: %w", nodeImage.Name, err)
	}
	var took []float64
	for i := range max(cfg.Trials, 1) {
		d, err := bindingToRunning(ctx, c, fmt.Sprintf("cluster-%d", i), cfg)
		if err != nil {
			return nil, err
		}
		took = append(took, d.Seconds())
	}
	fmt.Fprintf(os.Stderr, "bench: binding to running, each cluster: %.3f s\n", took)
	return Results{"binding_to_running_s": quantile(took, 0.5)}, nil
}

// bindingToRunning creates a cluster in a new namespace where benchClass is not bound, waits for
// it to fail, and times the binding's creation to the cluster running.
func bindingToRunning(ctx context.Context, c client.Client, ns string, cfg ClusterConfig) (time.Duration, error) {
	if err := clusterNamespace(ctx, c, ns); err != nil {
		return 0, err
	}
	tkc := objects.Cluster(ns, "bench", benchClass, benchClass)
	tkc.Spec.Topology.ControlPlane.Count, tkc.Spec.Topology.Workers.Count = cfg.ControlPlane, cfg.Workers
	tkc.Spec.Distribution.Version = nodeImage.Version
	if err := c.Create(ctx, tkc); err != nil {
		return 0, fmt.Errorf("create cluster: %w", err)
	}
	if err := waitForPhase(ctx, c, tkc, runv1.PhaseFailed, cfg.Timeout); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := c.Create(ctx, objects.Binding(ns, benchClass, benchClass)); err != nil {
		return 0, fmt.Errorf("bind %s: %w", benchClass, err)
	}
	if err := waitForPhase(ctx, c, tkc, runv1.PhaseRunning, cfg.Timeout); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// clusterClasses makes the storage class and benchClass the clusters use.
func clusterClasses(ctx context.Context, c client.Client) error {
	if err := c.Create(ctx, objects.StorageClass(testenv.StorageClass, vcsim.VSANDefaultPolicyID)); err != nil {
		return fmt.Errorf("storage class: %w", err)
	}
	if err := c.Create(ctx, objects.BestEffortClass(benchClass, 2, "4Gi")); err != nil {
		return fmt.Errorf("class: %w", err)
	}
	return nil
}

// clusterNamespace makes namespace ns with the storage class assigned and benchClass not bound.
func clusterNamespace(ctx context.Context, c client.Client, ns string) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	if err := c.Create(ctx, objects.StorageQuota(ns, testenv.StorageClass)); err != nil {
		return fmt.Errorf("assign storage: %w", err)
	}
	return nil
}

func waitForPhase(ctx context.Context, c client.Client, tkc *runv1.TanzuKubernetesCluster, phase runv1.TanzuKubernetesClusterPhase, timeout time.Duration) error {
	err := waitFor(ctx, timeout, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(tkc), tkc)
		return err == nil && tkc.Status.Phase == phase, err
	})
	if err != nil {
		return fmt.Errorf("cluster %s never %s (phase %q): %w", tkc.Name, phase, tkc.Status.Phase, err)
	}
	return nil
}

// waitFor polls done every 50 ms for at most timeout.
func waitFor(ctx context.Context, timeout time.Duration, done wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, done)
}
