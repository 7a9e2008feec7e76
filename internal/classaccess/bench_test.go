package classaccess_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/test/objects"
)

const classes = 100

// BenchmarkCheck measures the access check on controller-runtime's real informer cache holding
// 10 bindings and 100,000 bindings (spread over 1,000 namespaces), side by side in one run, and
// reports both costs and their ratio. The index makes the ratio stay near 1.
func BenchmarkCheck(b *testing.B) {
	small := cacheWith(b, 10, 10)
	large := cacheWith(b, 100_000, 1_000)
	ctx := context.Background()
	check := func(r client.Reader, i int, want classaccess.Verdict) time.Duration {
		ns := fmt.Sprintf("ns-%d", i%10) // present in both caches
		class := "class-0"               // bound in every namespace of both caches
		if want == classaccess.NotBound {
			class = "unbound-class"
		}
		start := time.Now()
		d, err := classaccess.Check(ctx, confirm.Readers{Cache: r}, ns, class)
		elapsed := time.Since(start)
		if err != nil || d.Verdict != want {
			b.Fatalf("check %s/%s: verdict %v, err %v", ns, class, d.Verdict, err)
		}
		return elapsed
	}
	var usableSmall, usableLarge, refusedSmall, refusedLarge time.Duration
	b.ResetTimer()
	for i := range b.N {
		usableSmall += check(small, i, classaccess.Usable)
		usableLarge += check(large, i, classaccess.Usable)
		refusedSmall += check(small, i, classaccess.NotBound)
		refusedLarge += check(large, i, classaccess.NotBound)
	}
	perOp := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(0, "ns/op") // the per-case metrics below are what count
	b.ReportMetric(perOp(usableSmall), "ns/usable@10")
	b.ReportMetric(perOp(usableLarge), "ns/usable@100k")
	b.ReportMetric(perOp(usableLarge)/perOp(usableSmall), "usable-ratio")
	b.ReportMetric(perOp(refusedSmall), "ns/refused@10")
	b.ReportMetric(perOp(refusedLarge), "ns/refused@100k")
	b.ReportMetric(perOp(refusedLarge)/perOp(refusedSmall), "refused-ratio")
}

// cacheWith starts a real informer cache whose informers are fed from memory: n bindings of
// the classes spread round-robin over the given namespaces, with the product's indexes and the
// bound-class set the manager keeps, read as the manager's access check reads them.
func cacheWith(b *testing.B, n, namespaces int) client.Reader {
	b.Helper()
	bindings := &vmopv1.VirtualMachineClassBindingList{}
	for i := range n {
		ns := fmt.Sprintf("ns-%d", i%namespaces)
		class := fmt.Sprintf("class-%d", (i/namespaces)%classes)
		bindings.Items = append(bindings.Items, *objects.Binding(ns, fmt.Sprintf("b-%d", i), class))
	}
	classList := &vmopv1.VirtualMachineClassList{}
	for i := range classes {
		classList.Items = append(classList.Items, *objects.BestEffortClass(fmt.Sprintf("class-%d", i), 2, "4Gi"))
	}
	classList.Items = append(classList.Items, *objects.BestEffortClass("unbound-class", 2, "4Gi"))

	s := scheme.New()
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(vmopv1.GroupVersion.WithKind("VirtualMachineClassBinding"), meta.RESTScopeNamespace)
	mapper.Add(vmopv1.GroupVersion.WithKind("VirtualMachineClass"), meta.RESTScopeRoot)
	mapper.Add(vmopv1.GroupVersion.WithKind("VirtualMachine"), meta.RESTScopeNamespace)
	mapper.Add(runv1.GroupVersion.WithKind("TanzuKubernetesCluster"), meta.RESTScopeNamespace)
	c, err := cache.New(&rest.Config{Host: "https://127.0.0.1:1"}, cache.Options{
		Scheme: s,
		Mapper: mapper,
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, ix toolscache.Indexers) toolscache.SharedIndexInformer {
			var list runtime.Object
			switch obj.(type) {
			case *vmopv1.VirtualMachineClassBinding:
				list = bindings
			case *vmopv1.VirtualMachineClass:
				list = classList
			case *vmopv1.VirtualMachine:
				list = &vmopv1.VirtualMachineList{}
			default:
				list = &runv1.TanzuKubernetesClusterList{}
			}
			return toolscache.NewSharedIndexInformer(memoryListWatch{list}, obj, resync, ix)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	if err := index.Register(ctx, c); err != nil {
		b.Fatal(err)
	}
	if _, err := c.GetInformer(ctx, &vmopv1.VirtualMachineClass{}); err != nil {
		b.Fatal(err)
	}
	bound, err := classaccess.TrackBound(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("cache did not sync")
	}
	// The cache is synced before its handlers have seen every object; measure the set in use.
	for !bound.Synced() {
		time.Sleep(10 * time.Millisecond)
	}
	return classaccess.ReaderWithBound(c, bound)
}

// memoryListWatch lists a fixed set of objects and never reports a change.
type memoryListWatch struct{ list runtime.Object }

func (m memoryListWatch) List(metav1.ListOptions) (runtime.Object, error) {
	return m.list.DeepCopyObject(), nil
}

func (m memoryListWatch) Watch(metav1.ListOptions) (watch.Interface, error) {
	return watch.NewFake(), nil
}

// IsWatchListSemanticsUnSupported makes the reflector list first instead of waiting for a
// streamed initial state that this in-memory source never sends.
func (memoryListWatch) IsWatchListSemanticsUnSupported() bool { return true }
