// Command bench measures the figures of docs/performance.md (make bench): it prints one table of
// key, value, goal and met, and writes the measured figures as a flat JSON object.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/vm-service/vm-service/test/bench"
)

// The groups of figures, each measured on a setup of its own.
const (
	groupAccess       = "access"
	groupScale        = "scale" // the webhook figures and the manager's memory share one cluster
	groupProvisioning = "provisioning"
	groupCluster      = "cluster"
)

var groups = []string{groupAccess, groupScale, groupProvisioning, groupCluster}

func main() {
	out := flag.String("out", "bin/bench/results.json", "where the figures are written")
	scale := bench.DefaultScale
	flag.IntVar(&scale.Samples, "webhook-samples", scale.Samples, "creates per path for webhook_cost_*")
	flag.IntVar(&scale.ClusterBindings, "cluster-bindings", scale.ClusterBindings, "bindings in the cluster, 100 per namespace, for the webhook and memory figures")
	flag.IntVar(&scale.VMs, "memory-vms", scale.VMs, "VirtualMachines in the cluster when the manager's memory is read")
	flag.StringVar(&scale.PprofAddr, "manager-pprof", "", "serve the profiling endpoints of the manager being measured at this loopback address")
	pcfg := bench.DefaultProvision
	flag.IntVar(&pcfg.VMs, "vms", pcfg.VMs, "VMs provisioned for vms_1000_ratio and api_writes_per_vm")
	flag.IntVar(&pcfg.Namespaces, "vm-namespaces", pcfg.Namespaces, "namespaces the VMs are spread over")
	only := flag.String("figures", strings.Join(groups, ","), "the groups of figures measured, comma-separated")
	flag.Parse()
	chosen := map[string]bool{}
	for _, g := range strings.Split(*only, ",") {
		if !slices.Contains(groups, g) {
			fmt.Fprintf(os.Stderr, "bench: no group of figures %q; the groups are %s\n", g, strings.Join(groups, ", "))
			os.Exit(2)
		}
		chosen[g] = true
	}
	// The manager's logs would bury the table, which is what this command is for.
	ctrl.SetLogger(logr.Discard())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results := bench.Results{}
	run := func(name string, measure func(context.Context) (bench.Results, error)) {
		if !chosen[name] {
			return
		}
		bench.Settle(ctx, time.Minute, os.Stderr)
		start := time.Now()
		fmt.Fprintf(os.Stderr, "bench: %s...\n", name)
		r, err := measure(ctx)
		if err != nil {
			// One figure failing to measure leaves it out; the others still count.
			fmt.Fprintf(os.Stderr, "bench: %s not measured: %v\n", name, err)
			return
		}
		for k, v := range r {
			results[k] = v
		}
		fmt.Fprintf(os.Stderr, "bench: %s done in %s\n", name, time.Since(start).Round(time.Second))
	}
	run(groupAccess, func(ctx context.Context) (bench.Results, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops the in-memory caches
		return bench.Access(ctx, bench.DefaultAccess)
	})
	run(groupScale, func(ctx context.Context) (bench.Results, error) { return bench.Scale(ctx, scale) })
	pcfg.Log = os.Stderr
	run(groupProvisioning, func(ctx context.Context) (bench.Results, error) { return bench.Provisioning(ctx, pcfg) })
	run(groupCluster, func(ctx context.Context) (bench.Results, error) {
		return bench.BindingToRunning(ctx, bench.DefaultCluster)
	})

	fmt.Println()
	if err := results.WriteTable(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := results.WriteJSON(*out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("\nfigures written to %s\n", *out)
}
