// Package memcache builds real controller-runtime informer caches fed from memory, for specs and
// benchmarks that read the manager's cache (its informers, indexes and handlers) without an
// apiserver.
package memcache

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vm-service/vm-service/internal/scheme"
)

// clusterScoped are the kinds of the product's scheme that live outside namespaces.
var clusterScoped = map[string]bool{
	"VirtualMachineClass": true, "VirtualMachineImage": true, "TanzuKubernetesRelease": true,
	"Namespace": true, "StorageClass": true, "ValidatingWebhookConfiguration": true,
	"MutatingWebhookConfiguration": true, "CustomResourceDefinition": true,
}

// Option changes what a cache's informers are fed.
type Option func(*feed)

// Following makes the informer of kind's objects follow events after its initial list; without
// it an informer never sees a change.
func Following(kind client.Object, events watch.Interface) Option {
	return func(f *feed) { f.events[reflect.TypeOf(kind)] = events }
}

type feed struct {
	objects map[reflect.Type][]runtime.Object
	events  map[reflect.Type]watch.Interface
}

// New returns a cache, not started, of the product's scheme whose informer of each kind lists
// the objs of that kind. Register indexes and handlers on it, then start it.
func New(objs []client.Object, opts ...Option) (cache.Cache, error) {
	s := scheme.New()
	f := &feed{objects: map[reflect.Type][]runtime.Object{}, events: map[reflect.Type]watch.Interface{}}
	for _, obj := range objs {
		f.objects[reflect.TypeOf(obj)] = append(f.objects[reflect.TypeOf(obj)], obj.DeepCopyObject())
	}
	for _, opt := range opts {
		opt(f)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	for gvk := range s.AllKnownTypes() {
		if strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		scope := meta.RESTScopeNamespace
		if clusterScoped[gvk.Kind] {
			scope = meta.RESTScopeRoot
		}
		mapper.Add(gvk, scope)
	}
	c, err := cache.New(&rest.Config{Host: "https://127.0.0.1:1"}, cache.Options{
		Scheme: s,
		Mapper: mapper,
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, ix toolscache.Indexers) toolscache.SharedIndexInformer {
			return toolscache.NewSharedIndexInformer(f.listWatch(s, obj), obj, resync, ix)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cache fed from memory: %w", err)
	}
	return c, nil
}

// listWatch feeds the informer of obj's kind.
func (f *feed) listWatch(s *runtime.Scheme, obj runtime.Object) toolscache.ListerWatcher {
	lw := listWatch{events: f.events[reflect.TypeOf(obj)]}
	gvks, _, err := s.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		lw.err = fmt.Errorf("kind of %T: %v", obj, err)
		return lw
	}
	list, err := s.New(gvks[0].GroupVersion().WithKind(gvks[0].Kind + "List"))
	if err == nil {
		err = meta.SetList(list, f.objects[reflect.TypeOf(obj)])
	}
	if err == nil {
		err = meta.NewAccessor().SetResourceVersion(list, "1")
	}
	lw.list, lw.err = list, err
	return lw
}

// listWatch lists a fixed set of objects, then hands out one watch: the spec's, or one that
// never reports anything.
type listWatch struct {
	list   runtime.Object
	events watch.Interface
	err    error
}

func (m listWatch) List(metav1.ListOptions) (runtime.Object, error) {
	if m.err != nil {
		return nil, m.err
	}
	return m.list.DeepCopyObject(), nil
}

func (m listWatch) Watch(metav1.ListOptions) (watch.Interface, error) {
	if m.events != nil {
		return m.events, nil
	}
	return watch.NewFake(), nil
}

// IsWatchListSemanticsUnSupported makes the reflector list first.
func (listWatch) IsWatchListSemanticsUnSupported() bool { return true }
