package classaccess

import (
	"context"
	"fmt"
	"sort"
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/index"
)

// BoundSet keeps, per namespace, the names of the classes bound there, current with the binding
// informer. It answers the access check in the cache (a class is usable where it is bound) and
// names a namespace's bound classes in a refusal, at the same cost with one binding or a hundred,
// and in a few bytes per binding where an index by namespace and class held a set per binding.
//
// The set is updated by its own handler on the binding informer, which may run after another
// handler's for the same change; a controller that asks Check is therefore woken through Source,
// which runs after the set has taken the change in, never by a watch of its own on bindings.
type BoundSet struct {
	mu sync.RWMutex
	// classes counts, per namespace and class, the live bindings naming the class: two bindings
	// of one class keep it bound until both are gone.
	classes map[string]map[string]int
	// sorted holds each namespace's answer until the namespace's bindings change; an answer is
	// never modified once handed out.
	sorted  map[string][]string
	synced  func() bool
	changed []func(namespace, class string)
	// informers is the cache the set follows, where a reader made by WithBound reads classes
	// without copying them; nil for a set that follows no informer.
	informers cache.Informers
}

// NewBoundSet returns an empty set that follows no informer; TrackBound is what the manager uses.
// Feed it through its event handler methods.
func NewBoundSet() *BoundSet {
	return &BoundSet{classes: map[string]map[string]int{}, sorted: map[string][]string{}}
}

// TrackBound returns a BoundSet fed by the binding informer of c, which may not be started yet.
// The set answers only once it has seen every binding the informer held when it synced.
func TrackBound(ctx context.Context, c cache.Informers) (*BoundSet, error) {
	informer, err := c.GetInformer(ctx, &vmopv1.VirtualMachineClassBinding{})
	if err != nil {
		return nil, fmt.Errorf("binding informer for the bound-class set: %w", err)
	}
	s := NewBoundSet()
	s.informers = c
	reg, err := informer.AddEventHandler(s)
	if err != nil {
		return nil, fmt.Errorf("follow bindings for the bound-class set: %w", err)
	}
	s.synced = reg.HasSynced
	return s, nil
}

// Synced says whether the set has seen every binding the informer held when it synced; until
// then Classes declines to answer.
func (s *BoundSet) Synced() bool { return s.synced == nil || s.synced() }

// Classes returns, sorted and read-only, the classes bound in namespace, and false while the set
// has not caught up with the informer yet (the caller then lists bindings instead).
func (s *BoundSet) Classes(namespace string) ([]string, bool) {
	if !s.Synced() {
		return nil, false
	}
	s.mu.RLock()
	names, ok := s.sorted[namespace]
	s.mu.RUnlock()
	if ok {
		return names, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if names, ok := s.sorted[namespace]; ok {
		return names, true
	}
	for class := range s.classes[namespace] {
		names = append(names, class)
	}
	sort.Strings(names)
	s.sorted[namespace] = names
	return names, true
}

// Source is a controller's watch on class access: toRequests is called, after the set has taken
// the change in, with each namespace and class that became bound or stopped being bound, and the
// requests it returns are queued.
func (s *BoundSet) Source(toRequests func(ctx context.Context, namespace, class string) []reconcile.Request) source.Source {
	return source.Func(func(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		s.OnChange(func(namespace, class string) {
			for _, req := range toRequests(ctx, namespace, class) {
				queue.Add(req)
			}
		})
		return nil
	})
}

// OnChange calls changed, after the set has taken the change in, with each namespace and class
// that became bound or stopped being bound.
func (s *BoundSet) OnChange(changed func(namespace, class string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = append(s.changed, changed)
}

// OnAdd implements toolscache.ResourceEventHandler.
func (s *BoundSet) OnAdd(obj any, _ bool) { s.move(binding{}, counted(obj)) }

// OnUpdate implements toolscache.ResourceEventHandler: a changed classRef or a deletion
// timestamp moves or removes what the binding counted. The informer hands each handler every
// state of an object in order, so old is what this binding last counted.
func (s *BoundSet) OnUpdate(old, obj any) { s.move(counted(old), counted(obj)) }

// OnDelete implements toolscache.ResourceEventHandler, including a delete the informer missed
// and reports as a tombstone holding the binding's last state.
func (s *BoundSet) OnDelete(obj any) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	s.move(counted(obj), binding{})
}

// binding is what one binding counts for: its namespace and class, or nothing.
type binding struct{ namespace, class string }

func counted(obj any) binding {
	b, ok := obj.(*vmopv1.VirtualMachineClassBinding)
	if !ok || !live(*b) || b.ClassRef.Name == "" {
		return binding{}
	}
	return binding{namespace: b.Namespace, class: b.ClassRef.Name}
}

// move takes back what a binding counted before and counts what it counts now, then tells the
// watchers of each class that became bound or unbound in its namespace.
func (s *BoundSet) move(before, now binding) {
	if before == now {
		return
	}
	var flipped []binding
	s.mu.Lock()
	if before.class != "" {
		switch n := s.classes[before.namespace][before.class]; {
		case n > 1:
			s.classes[before.namespace][before.class] = n - 1
		case n == 1:
			delete(s.classes[before.namespace], before.class)
			if len(s.classes[before.namespace]) == 0 {
				delete(s.classes, before.namespace)
			}
			flipped = append(flipped, before)
		}
		delete(s.sorted, before.namespace)
	}
	if now.class != "" {
		if s.classes[now.namespace] == nil {
			s.classes[now.namespace] = map[string]int{}
		}
		if s.classes[now.namespace][now.class]++; s.classes[now.namespace][now.class] == 1 {
			flipped = append(flipped, now)
		}
		delete(s.sorted, now.namespace)
	}
	changed := s.changed
	s.mu.Unlock()
	for _, b := range flipped {
		for _, notify := range changed {
			notify(b.namespace, b.class)
		}
	}
}

// WithBound returns c, whose reads go to the informer cache that feeds bound, as a reader Check
// takes the namespace's bound classes from instead of listing bindings, and reads a class from
// without copying it (through c when bound follows no informer). Writes go to c as before.
func WithBound(c client.Client, bound *BoundSet) client.Client {
	return struct {
		client.Client
		boundSource
	}{c, boundSource{bound}}
}

// ReaderWithBound is WithBound for a reader that never writes, such as the informer cache itself.
func ReaderWithBound(r client.Reader, bound *BoundSet) client.Reader {
	return struct {
		client.Reader
		boundSource
	}{r, boundSource{bound}}
}

// boundSource gives a reader its namespaces' bound classes and the cache's own classes.
type boundSource struct{ set *BoundSet }

func (b boundSource) boundClasses(namespace string) ([]string, bool) { return b.set.Classes(namespace) }

func (b boundSource) cachedClass(ctx context.Context, name string) (*vmopv1.VirtualMachineClass, bool, error) {
	if b.set.informers == nil {
		return nil, false, nil
	}
	obj, err := index.Cached(ctx, b.set.informers, &vmopv1.VirtualMachineClass{}, name)
	class, _ := obj.(*vmopv1.VirtualMachineClass)
	return class, true, err
}

// boundReader is a reader that knows each namespace's bound classes without listing, and may hand
// out the cache's own classes (read-only) instead of copies.
type boundReader interface {
	boundClasses(namespace string) ([]string, bool)
	// cachedClass returns the class named name, nil when there is none; false when the reader
	// cannot look it up this way.
	cachedClass(ctx context.Context, name string) (*vmopv1.VirtualMachineClass, bool, error)
}
