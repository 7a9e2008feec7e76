package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

// WebhookConfig sizes the webhook figures.
type WebhookConfig struct {
	// Samples is how many creates are timed on each of the three paths.
	Samples int
	// NamespaceBindings are the bindings in each measured namespace; ClusterBindings all the
	// bindings in the cluster (the rest in filler namespaces of NamespaceBindings each).
	NamespaceBindings, ClusterBindings int
	// LoadClients create VMs as fast as they can, LoadCreates in all, for at most LoadTime.
	LoadClients, LoadCreates int
	LoadTime                 time.Duration
}

// DefaultWebhook is the configuration.
var DefaultWebhook = WebhookConfig{
	Samples: 1000, NamespaceBindings: 100, ClusterBindings: 100_000,
	LoadClients: 8, LoadCreates: 4000, LoadTime: 60 * time.Second,
}

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
	allowAllPath  = "/bench-allow-all"
	benchClass    = "class-0"
	latencyMetric = "controller_runtime_webhook_latency_seconds"
)

// Webhooks measures webhook_cost_p50, webhook_cost_p99 and admission_p99_ms_under_load on a
// real kube-apiserver with the product's manager (no vCenter, so nothing but admission acts on
// the VMs created).
func Webhooks(ctx context.Context, cfg WebhookConfig) (res Results, err error) {
	env, err := testenv.Start(testenv.WithWebhooks())
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, env.Stop()) }()
	mgr, stopManager, err := env.StartManager(manager.Options{Enforcement: enforcement.Deny})
	if err != nil {
		return nil, err
	}
	defer stopManager()
	var allowed atomic.Int64
	mgr.GetWebhookServer().Register(allowAllPath, &admission.Webhook{Handler: admission.HandlerFunc(
		func(context.Context, admission.Request) admission.Response {
			allowed.Add(1)
			return admission.Allowed("")
		})})
	c := env.Client
	if err := routeWebhooks(ctx, env); err != nil {
		return nil, err
	}
	namespaces := map[string]string{}
	for _, path := range []string{pathOurs, pathNone, pathTrivial} {
		if namespaces[path], err = benchNamespace(ctx, c, path, cfg.NamespaceBindings); err != nil {
			return nil, err
		}
	}
	if err := fillBindings(ctx, c, cfg.ClusterBindings-3*cfg.NamespaceBindings, cfg.NamespaceBindings); err != nil {
		return nil, err
	}
	if err := waitForCache(ctx, mgr.GetCache(), cfg.ClusterBindings); err != nil {
		return nil, err
	}
	// The apiserver picks webhook configuration changes up a moment later: warm every path up
	// until the allow-all webhook has answered.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, path := range []string{pathOurs, pathNone, pathTrivial} {
			if _, err := createVM(ctx, c, namespaces[path], "warm-"+strconv.Itoa(int(time.Now().UnixNano()))); err != nil {
				return false, err
			}
		}
		return allowed.Load() > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("allow-all webhook never called: %w", err)
	}

	samples := map[string][]int64{}
	order := []string{pathOurs, pathNone, pathTrivial}
	for i := range cfg.Samples {
		for k := range order {
			path := order[(k+i)%len(order)]
			d, err := createVM(ctx, c, namespaces[path], fmt.Sprintf("vm-%d", i))
			if err != nil {
				return nil, err
			}
			samples[path] = append(samples[path], int64(d))
		}
	}
	res = Results{}
	for _, q := range []struct {
		key string
		q   float64
	}{{"webhook_cost_p50", 0.5}, {"webhook_cost_p99", 0.99}} {
		ours, none, trivial := quantile(samples[pathOurs], q.q), quantile(samples[pathNone], q.q), quantile(samples[pathTrivial], q.q)
		if trivial <= none {
			return nil, fmt.Errorf("%s: the allow-all webhook added nothing measurable (%v with it, %v without)", q.key, time.Duration(trivial), time.Duration(none))
		}
		res[q.key] = float64(ours-none) / float64(trivial-none)
	}

	p99, err := admissionUnderLoad(ctx, c, namespaces[pathOurs], cfg)
	if err != nil {
		return nil, err
	}
	res["admission_p99_ms_under_load"] = p99 * 1000
	return res, nil
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

// benchNamespace makes a namespace of the given path with bindings bindings (benchClass among
// them), the storage class assigned and every class the bindings name.
func benchNamespace(ctx context.Context, c client.Client, path string, bindings int) (string, error) {
	if path == pathOurs { // the classes, once; class admission does not depend on namespaces
		if err := c.Create(ctx, objects.StorageClass(testenv.StorageClass, vcsim.VSANDefaultPolicyID)); err != nil {
			return "", fmt.Errorf("storage class: %w", err)
		}
		for i := range classCount {
			if err := c.Create(ctx, objects.BestEffortClass(fmt.Sprintf("class-%d", i), 2, "4Gi")); err != nil {
				return "", fmt.Errorf("class: %w", err)
			}
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench-" + path, Labels: map[string]string{pathLabel: path}}}
	if err := c.Create(ctx, ns); err != nil {
		return "", fmt.Errorf("namespace %s: %w", ns.Name, err)
	}
	if err := c.Create(ctx, objects.StorageQuota(ns.Name, testenv.StorageClass)); err != nil {
		return "", fmt.Errorf("assign storage to %s: %w", ns.Name, err)
	}
	for i := range bindings {
		class := fmt.Sprintf("class-%d", i%classCount)
		if err := c.Create(ctx, objects.Binding(ns.Name, fmt.Sprintf("b-%d", i), class)); err != nil {
			return "", fmt.Errorf("binding in %s: %w", ns.Name, err)
		}
	}
	return ns.Name, nil
}

// fillBindings creates n bindings, perNamespace in each filler namespace, with a few writers at
// once: the cluster-wide binding count the issue asks the webhook figures to hold.
func fillBindings(ctx context.Context, c client.Client, n, perNamespace int) error {
	if n <= 0 {
		return nil
	}
	namespaces := (n + perNamespace - 1) / perNamespace
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Go(func() {
			for nsi := range jobs {
				err := fillNamespace(ctx, c, nsi, min(perNamespace, n-nsi*perNamespace))
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	for nsi := range namespaces {
		select {
		case jobs <- nsi:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return cmpErr(firstErr, ctx.Err())
}

func fillNamespace(ctx context.Context, c client.Client, nsi, bindings int) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("filler-%d", nsi), Labels: map[string]string{pathLabel: pathFiller}}}
	if err := c.Create(ctx, ns); err != nil {
		return fmt.Errorf("namespace %s: %w", ns.Name, err)
	}
	for i := range bindings {
		if err := c.Create(ctx, objects.Binding(ns.Name, fmt.Sprintf("b-%d", i), fmt.Sprintf("class-%d", i%classCount))); err != nil {
			return fmt.Errorf("binding in %s: %w", ns.Name, err)
		}
	}
	return nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// waitForCache waits until the manager's cache holds n bindings, so the figures are taken with
// the cluster's bindings in it.
func waitForCache(ctx context.Context, r client.Reader, n int) error {
	return wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		list := &vmopv1.VirtualMachineClassBindingList{}
		if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			return false, err
		}
		return len(list.Items) >= n, nil
	})
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
func admissionUnderLoad(ctx context.Context, c client.Client, namespace string, cfg WebhookConfig) (float64, error) {
	before, err := latencyBuckets(vmWebhookPath)
	if err != nil {
		return 0, err
	}
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
	after, err := latencyBuckets(vmWebhookPath)
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
}

// latencyBuckets reads the webhook latency histogram of path from the manager's registry.
func latencyBuckets(path string) (nativeBuckets, error) {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		return nativeBuckets{}, fmt.Errorf("gather metrics: %w", err)
	}
	for _, f := range families {
		if f.GetName() != latencyMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "webhook" || l.GetValue() != path {
					continue
				}
				h := m.GetHistogram()
				nb := nativeBuckets{base: math.Pow(2, math.Pow(2, -float64(h.GetSchema()))), zero: h.GetZeroCount(), counts: map[int]uint64{}}
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
	out := nativeBuckets{base: b.base, zero: b.zero - o.zero, counts: map[int]uint64{}}
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
