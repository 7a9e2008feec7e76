package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// The namespaces of the webhook figures carry pathLabel, which says which webhooks see their
// VirtualMachines: ours (the product's), none, or trivial (an allow-all webhook on the product's
// webhook server); filler namespaces only hold bindings, created past every webhook.
const (
	pathLabel   = "bench.vmoperator.vmware.com/webhooks"
	pathOurs    = "ours"
	pathNone    = "none"
	pathTrivial = "trivial"
	pathFiller  = "filler"

	// vmWebhookPath is where the product's VirtualMachine validator is served; its latency
	// metric is labelled with it.
	vmWebhookPath = "/validate-vmoperator-vmware-com-v1alpha1-virtualmachine"
	allowAllPath  = "/bench-allow-all" // served by benchmanager
	benchClass    = "class-0"
	latencyMetric = "controller_runtime_webhook_latency_seconds"
)

// webhookFigures measures webhook_cost_p50, webhook_cost_p99 and admission_p99_ms_under_load
// against mgr, the bench manager, idle and with the cluster populated.
func webhookFigures(ctx context.Context, c client.Client, mgr *managerProcess, cfg ScaleConfig) (Results, error) {
	if err := warmUp(ctx, c, mgr, cfg.WarmUp); err != nil {
		return nil, err
	}
	start := time.Now()
	servedPaths := []string{vmWebhookPath, allowAllPath}
	before := map[string]nativeBuckets{}
	for _, path := range servedPaths {
		b, err := latencyBuckets(ctx, mgr, path)
		if err != nil {
			return nil, err
		}
		before[path] = b
	}
	res, err := webhookCost(ctx, c, cfg.Samples)
	if err != nil {
		return nil, err
	}
	for _, path := range servedPaths {
		after, err := latencyBuckets(ctx, mgr, path)
		if err != nil {
			return nil, err
		}
		served := after.minus(before[path])
		fmt.Fprintf(os.Stderr, "bench: %s answered %d reviews in %.0f µs each on average, reading and writing them included\n",
			path, served.count, served.sum/float64(max(served.count, 1))*1e6)
	}
	fmt.Fprintf(os.Stderr, "bench: %d creates per path timed in %s; %d clients creating...\n", cfg.Samples, time.Since(start).Round(time.Second), cfg.LoadClients)
	start = time.Now()
	p99, err := admissionUnderLoad(ctx, c, mgr, cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: load done in %s\n", time.Since(start).Round(time.Second))
	res["admission_p99_ms_under_load"] = p99 * 1000
	return res, nil
}

// warmUp creates VMs on every path until the allow-all webhook has answered (the apiserver picks
// webhook configuration changes up a moment later), then n more rounds untimed, so connections,
// caches and the Go runtimes on both ends are warm before anything is timed.
func warmUp(ctx context.Context, c client.Client, mgr *managerProcess, n int) error {
	round := 0
	createRound := func(ctx context.Context) error {
		round++
		for _, path := range paths {
			if _, err := createVM(ctx, c, benchNamespaceName(path), fmt.Sprintf("warm-%d", round)); err != nil {
				return err
			}
		}
		return nil
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := createRound(ctx); err != nil {
			return false, err
		}
		families, err := mgr.metrics(ctx)
		if err != nil {
			return false, err
		}
		return sumWhere(families["controller_runtime_webhook_requests_total"], "webhook", allowAllPath) > 0, nil
	})
	if err != nil {
		return fmt.Errorf("allow-all webhook never called: %w", err)
	}
	for range n {
		if err := createRound(ctx); err != nil {
			return err
		}
	}
	return nil
}

// paths are the three ways a measured VM create goes.
var paths = []string{pathOurs, pathNone, pathTrivial}

// webhookCost times samples rounds of one create on each path, in an order that rotates every
// round, and reports, at the median and the 99th percentile, the per-round difference from the
// create with no webhook on our path over the same on the allow-all path.
func webhookCost(ctx context.Context, c client.Client, samples int) (Results, error) {
	added := map[string][]int64{} // per round: the path's create minus the same round's none
	var none []int64
	for i := range samples {
		took := map[string]time.Duration{}
		for k := range paths {
			path := paths[(k+i)%len(paths)]
			d, err := createVM(ctx, c, benchNamespaceName(path), fmt.Sprintf("vm-%d", i))
			if err != nil {
				return nil, err
			}
			took[path] = d
		}
		for _, path := range []string{pathOurs, pathTrivial} {
			added[path] = append(added[path], int64(took[path]-took[pathNone]))
		}
		none = append(none, int64(took[pathNone]))
	}
	us := func(ns []int64, q float64) float64 { return float64(quantile(ns, q)) / 1e3 }
	fmt.Fprintf(os.Stderr, "bench: a create with no webhook took %.0f µs (median); our webhooks added %.0f µs (median) and %.0f µs (p99), the allow-all one %.0f and %.0f\n",
		us(none, 0.5), us(added[pathOurs], 0.5), us(added[pathOurs], 0.99), us(added[pathTrivial], 0.5), us(added[pathTrivial], 0.99))
	res := Results{}
	for _, q := range []struct {
		key string
		q   float64
	}{{"webhook_cost_p50", 0.5}, {"webhook_cost_p99", 0.99}} {
		ratio, err := costRatio(added[pathOurs], added[pathTrivial], q.q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.key, err)
		}
		res[q.key] = ratio
	}
	return res, nil
}

// costRatio is the q-th quantile of what our webhooks added over that of what the allow-all one
// added.
func costRatio(ours, trivial []int64, q float64) (float64, error) {
	o, t := quantile(ours, q), quantile(trivial, q)
	if t <= 0 {
		return 0, fmt.Errorf("the allow-all webhook added nothing measurable (%v)", time.Duration(t))
	}
	return float64(o) / float64(t), nil
}

// routeWebhooks keeps the product's webhooks away from the none, trivial and filler namespaces
// and adds the allow-all webhook for VirtualMachine creates in the trivial one, served by the
// product's webhook server with its certificate, so its path to the apiserver is the same.
func routeWebhooks(ctx context.Context, env *testenv.Env) error {
	c := env.Client
	notOurs := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: pathLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{pathNone, pathTrivial, pathFiller},
	}}}
	vwcs := &admissionregistrationv1.ValidatingWebhookConfigurationList{}
	if err := c.List(ctx, vwcs); err != nil {
		return fmt.Errorf("list validating webhooks: %w", err)
	}
	for i := range vwcs.Items {
		for j := range vwcs.Items[i].Webhooks {
			vwcs.Items[i].Webhooks[j].NamespaceSelector = notOurs
		}
		if err := c.Update(ctx, &vwcs.Items[i]); err != nil {
			return fmt.Errorf("route validating webhooks: %w", err)
		}
	}
	mwcs := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	if err := c.List(ctx, mwcs); err != nil {
		return fmt.Errorf("list mutating webhooks: %w", err)
	}
	for i := range mwcs.Items {
		for j := range mwcs.Items[i].Webhooks {
			mwcs.Items[i].Webhooks[j].NamespaceSelector = notOurs
		}
		if err := c.Update(ctx, &mwcs.Items[i]); err != nil {
			return fmt.Errorf("route mutating webhooks: %w", err)
		}
	}
	wio := env.WebhookInstallOptions
	url := "https://" + net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort)) + allowAllPath
	allowAll := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-allow-all"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "allow-all.bench.vmoperator.vmware.com",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: wio.LocalServingCAData},
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{pathLabel: pathTrivial}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{vmopv1.GroupVersion.Group}, APIVersions: []string{vmopv1.GroupVersion.Version},
					Resources: []string{"virtualmachines"},
				},
			}},
		}},
	}
	if err := c.Create(ctx, allowAll); err != nil {
		return fmt.Errorf("add the allow-all webhook: %w", err)
	}
	return nil
}

// createVM creates a VM of benchClass in namespace and returns how long the create took.
func createVM(ctx context.Context, c client.Client, namespace, name string) (time.Duration, error) {
	vm := objects.VM(namespace, name, benchClass, "bench-image")
	start := time.Now()
	err := c.Create(ctx, vm)
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("create VM %s/%s: %w", namespace, name, err)
	}
	return d, nil
}

// admissionUnderLoad has cfg.LoadClients clients create VMs in namespace as fast as they can and
// returns the p99, in seconds, of the VM webhook's own handling time over that load, read from
// its latency metric (a native histogram, whose buckets are 10% wide: the p99 reported is the
// upper bound of the bucket that holds it).
func admissionUnderLoad(ctx context.Context, c client.Client, mgr *managerProcess, cfg ScaleConfig) (float64, error) {
	before, err := latencyBuckets(ctx, mgr, vmWebhookPath)
	if err != nil {
		return 0, err
	}
	namespace := benchNamespaceName(pathOurs)
	ctx, cancel := context.WithTimeout(ctx, cfg.LoadTime)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, cfg.LoadClients)
	for w := range cfg.LoadClients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(cfg.LoadCreates) || ctx.Err() != nil {
					return
				}
				if _, err := createVM(ctx, c, namespace, fmt.Sprintf("load-%d", i)); err != nil {
					if ctx.Err() == nil {
						errs[w] = err
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	after, err := latencyBuckets(ctx, mgr, vmWebhookPath)
	if err != nil {
		return 0, err
	}
	return after.minus(before).quantile(0.99)
}

// nativeBuckets are the counts of a native histogram by bucket index; bucket i holds values up
// to base^i.
type nativeBuckets struct {
	base   float64
	zero   uint64
	counts map[int]uint64
	// count and sum are the observations and their total, in seconds.
	count uint64
	sum   float64
}

// latencyBuckets reads the webhook latency histogram of path from the manager's metrics.
func latencyBuckets(ctx context.Context, mgr *managerProcess, path string) (nativeBuckets, error) {
	families, err := mgr.metrics(ctx)
	if err != nil {
		return nativeBuckets{}, err
	}
	if f := families[latencyMetric]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "webhook" || l.GetValue() != path {
					continue
				}
				h := m.GetHistogram()
				nb := nativeBuckets{base: math.Pow(2, math.Pow(2, -float64(h.GetSchema()))), zero: h.GetZeroCount(), counts: map[int]uint64{},
					count: h.GetSampleCount(), sum: h.GetSampleSum()}
				// Spans give runs of consecutive buckets, each offset from the end of the last
				// one; counts are delta-encoded across all of them.
				deltas, count, idx, d := h.GetPositiveDelta(), int64(0), 0, 0
				for _, span := range h.GetPositiveSpan() {
					idx += int(span.GetOffset())
					for range int(span.GetLength()) {
						count += deltas[d]
						d++
						nb.counts[idx] = uint64(count)
						idx++
					}
				}
				return nb, nil
			}
		}
	}
	return nativeBuckets{}, fmt.Errorf("no %s for webhook %s", latencyMetric, path)
}

func (b nativeBuckets) minus(o nativeBuckets) nativeBuckets {
	out := nativeBuckets{base: b.base, zero: b.zero - o.zero, counts: map[int]uint64{}, count: b.count - o.count, sum: b.sum - o.sum}
	for k, v := range b.counts {
		out.counts[k] = v - o.counts[k]
	}
	return out
}

// quantile is the upper bound of the bucket that holds the q-th quantile.
func (b nativeBuckets) quantile(q float64) (float64, error) {
	total := b.zero
	keys := make([]int, 0, len(b.counts))
	for k, v := range b.counts {
		total += v
		keys = append(keys, k)
	}
	if total == 0 {
		return 0, fmt.Errorf("the webhook handled no request under load")
	}
	sort.Ints(keys)
	rank := uint64(math.Ceil(q * float64(total)))
	seen := b.zero
	for _, k := range keys {
		seen += b.counts[k]
		if seen >= rank {
			return math.Pow(b.base, float64(k)), nil
		}
	}
	return math.Pow(b.base, float64(keys[len(keys)-1])), nil
}
