package bench

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/test/memcache"
	"github.com/vm-service/vm-service/test/objects"
)

// AccessConfig sizes the access check figures.
type AccessConfig struct {
	// Small and Large are the bindings in each cache; Namespaces their namespaces in Large
	// (Small has one binding per namespace, so a refusal there names one bound class).
	Small, Large, Namespaces int
	// Rounds of Batch checks per case; each round runs the four cases in a rotating order.
	Rounds, Batch int
}

// DefaultAccess is the configuration: 10 vs 100,000 bindings, 100 per namespace.
var DefaultAccess = AccessConfig{Small: 10, Large: 100_000, Namespaces: 1_000, Rounds: 300, Batch: 100}

// classCount is how many classes the bindings name, round-robin.
const classCount = 100

// Access measures access_usable_ratio and access_refusal_ratio: the access check as the manager
// runs it (informer cache, field index, bound-class set), on a cache with Large bindings and one
// with Small, interleaved; each ratio is the median batch time of large over small.
func Access(ctx context.Context, cfg AccessConfig) (Results, error) {
	small, err := accessCache(ctx, cfg.Small, cfg.Small)
	if err != nil {
		return nil, err
	}
	large, err := accessCache(ctx, cfg.Large, cfg.Namespaces)
	if err != nil {
		return nil, err
	}
	type kase struct {
		r     client.Reader
		class string
		want  classaccess.Verdict
		times []float64
	}
	cases := []*kase{
		{r: small, class: "class-0", want: classaccess.Usable},
		{r: large, class: "class-0", want: classaccess.Usable},
		{r: small, class: "unbound-class", want: classaccess.NotBound},
		{r: large, class: "unbound-class", want: classaccess.NotBound},
	}
	for round := range cfg.Rounds {
		for k := range cases {
			c := cases[(k+round)%len(cases)] // no case always runs first or after the same one
			start := time.Now()
			for i := range cfg.Batch {
				ns := fmt.Sprintf("ns-%d", i%cfg.Small) // present in both caches
				d, err := classaccess.Check(ctx, confirm.Readers{Cache: c.r}, ns, c.class)
				if err != nil || d.Verdict != c.want {
					return nil, fmt.Errorf("check %s/%s: verdict %v, want %v: %v", ns, c.class, d.Verdict, c.want, err)
				}
			}
			c.times = append(c.times, float64(time.Since(start)))
		}
	}
	ratio := func(large, small *kase) float64 { return quantile(large.times, 0.5) / quantile(small.times, 0.5) }
	return Results{
		"access_usable_ratio":  ratio(cases[1], cases[0]),
		"access_refusal_ratio": ratio(cases[3], cases[2]),
	}, nil
}

// accessCache starts a real informer cache fed from memory: n bindings of the classes spread
// round-robin over the namespaces, with the product's indexes and bound-class set, read the way
// the manager's access check reads it. It stops when ctx ends.
func accessCache(ctx context.Context, n, namespaces int) (client.Reader, error) {
	objs := make([]client.Object, 0, n+classCount+1)
	for i := range n {
		ns := fmt.Sprintf("ns-%d", i%namespaces)
		class := fmt.Sprintf("class-%d", (i/namespaces)%classCount)
		objs = append(objs, objects.Binding(ns, fmt.Sprintf("b-%d", i), class))
	}
	for i := range classCount {
		objs = append(objs, objects.BestEffortClass(fmt.Sprintf("class-%d", i), 2, "4Gi"))
	}
	objs = append(objs, objects.BestEffortClass("unbound-class", 2, "4Gi"))
	c, err := memcache.New(objs)
	if err != nil {
		return nil, fmt.Errorf("access cache: %w", err)
	}
	if err := index.Register(ctx, c); err != nil {
		return nil, err
	}
	if _, err := c.GetInformer(ctx, &vmopv1.VirtualMachineClass{}); err != nil {
		return nil, fmt.Errorf("class informer: %w", err)
	}
	bound, err := classaccess.TrackBound(ctx, c)
	if err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("access cache of %d bindings did not sync", n)
	}
	// The cache is synced before its handlers have seen every object; measure the set in use,
	// as the manager does once it is up.
	for !bound.Synced() {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return classaccess.ReaderWithBound(c, bound), nil
}
