// Command local-supervisor runs VM Service on an embedded local supervisor, the one behind
// `make run`: etcd, kube-apiserver, a vCenter simulator and the product's manager in one process
// (see internal/supervisor). Ctrl-C or SIGTERM stops all of it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/supervisor"
)

func main() {
	cfg := supervisor.Config{Enforcement: enforcement.Deny}
	flag.Var(&cfg.Enforcement, "enforcement", "class-binding enforcement: Deny refuses VMs and clusters whose classes are not bound in their namespace; Warn admits them with a warning")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep etcd's data and the vCenter simulator's namespaces and classes in the state directory for the next run (default: every start is clean)")
	flag.StringVar(&cfg.StateDir, "state-dir", "", "directory for the kubeconfig, govc.env, logs and kept state (default: .local at the repository root)")
	flag.StringVar(&cfg.Host, "host", supervisor.DefaultHost, "loopback address to serve on")
	flag.IntVar(&cfg.APIServerPort, "apiserver-port", supervisor.DefaultAPIServerPort, "kube-apiserver port")
	flag.IntVar(&cfg.VCenterPort, "vcenter-port", supervisor.DefaultVCenterPort, "vCenter simulator port")
	flag.IntVar(&cfg.MetricsPort, "metrics-port", supervisor.DefaultMetricsPort, "port of the manager's HTTPS metrics endpoint")
	flag.DurationVar(&cfg.SyncInterval, "vcenter-sync-interval", supervisor.DefaultSyncInterval, "how often vCenter namespaces, classes and assignments are mirrored into Kubernetes")
	flag.DurationVar(&cfg.ImageSyncInterval, "image-sync-interval", supervisor.DefaultImageSyncInterval, "how often the content library is read into images and releases")
	flag.StringVar(&cfg.VMIPPool, "vm-ip-pool", supervisor.DefaultVMIPPool, "CIDR from which VMs get static addresses (the simulator has no DHCP)")
	flag.StringVar(&cfg.LoadBalancerRange, "load-balancer-range", supervisor.DefaultLoadBalancerRange, "CIDR from which LoadBalancer Services (and so VirtualMachineServices) get their external address, there being no platform load balancer")
	// Readable console lines at info level (--zap-log-level=debug shows every sync), and stack
	// traces only for panics: an error here is a message for a person, not a bug report.
	zapOpts := zap.Options{
		Development: true, Level: zapcore.InfoLevel, StacktraceLevel: zapcore.DPanicLevel,
		TimeEncoder: zapcore.TimeEncoderOfLayout(time.TimeOnly),
	}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	cfg.Log = ctrl.Log.WithName("local-supervisor")

	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "\nlocal-supervisor:", err)
		os.Exit(1)
	}
}

func run(cfg supervisor.Config) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if cfg.RepoRoot, err = supervisor.FindRepoRoot(wd); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go stopWhenOrphaned(ctx, stop)

	s, err := supervisor.Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Print(s.Usage())
	select {
	case <-ctx.Done():
		cfg.Log.Info("stopping")
	case <-s.Done():
	}
	stop() // a second Ctrl-C now kills the process at once
	stopErr := s.Stop()
	if err := s.Err(); err != nil {
		return fmt.Errorf("the manager stopped: %w", err)
	}
	return stopErr
}

// stopWhenOrphaned stops the supervisor when its parent dies, for instance a `go run` that
// got SIGTERM (it does not pass it on) or a killed `make run`; otherwise the supervisor, and
// with it etcd and kube-apiserver, would live on unattended.
func stopWhenOrphaned(ctx context.Context, stop context.CancelFunc) {
	parent := os.Getppid()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				ctrl.Log.WithName("local-supervisor").Info("parent process exited; stopping", "parent", parent)
				stop()
				return
			}
		}
	}
}
