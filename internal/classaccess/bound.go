package classaccess

import (
	"context"
	"fmt"
	"sort"
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// BoundSet keeps, per namespace, the names of the classes bound there, current with the binding
// informer. A refusal names the namespace's bound classes; reading them here costs the same with
// one binding or a hundred, where listing the namespace's bindings on every refusal grew with
// their number.
type BoundSet struct {
	mu sync.RWMutex
	// classes counts, per namespace and class, the live bindings naming the class: two bindings
	// of one class keep it bound until both are gone.
	classes map[string]map[string]int
	// counted is what each binding (by namespace/name) added to classes, so an update or a
	// delete takes back exactly that, whatever the object it arrives with.
	counted map[string]binding
	// sorted holds each namespace's answer until the namespace's bindings change; an answer is
	// never modified once handed out.
	sorted map[string][]string
	synced func() bool
}

type binding struct{ namespace, class string }

// NewBoundSet returns an empty set that follows no informer; TrackBound is what the manager uses.
// Feed it through its event handler methods.
func NewBoundSet() *BoundSet {
	return &BoundSet{
		classes: map[string]map[string]int{},
		counted: map[string]binding{},
		sorted:  map[string][]string{},
	}
}

// TrackBound returns a BoundSet fed by the binding informer of c, which may not be started yet.
// The set answers only once it has seen every binding the informer held when it synced.
func TrackBound(ctx context.Context, c cache.Informers) (*BoundSet, error) {
	informer, err := c.GetInformer(ctx, &vmopv1.VirtualMachineClassBinding{})
	if err != nil {
		return nil, fmt.Errorf("binding informer for the bound-class set: %w", err)
	}
	s := NewBoundSet()
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

// OnAdd implements toolscache.ResourceEventHandler.
func (s *BoundSet) OnAdd(obj any, _ bool) { s.observe(obj) }

// OnUpdate implements toolscache.ResourceEventHandler: a changed classRef or a deletion
// timestamp moves or removes what the binding counted.
func (s *BoundSet) OnUpdate(_, obj any) { s.observe(obj) }

// OnDelete implements toolscache.ResourceEventHandler, including a delete the informer missed
// and reports as a tombstone.
func (s *BoundSet) OnDelete(obj any) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		s.set(tomb.Key, binding{})
		return
	}
	if b, ok := obj.(*vmopv1.VirtualMachineClassBinding); ok {
		s.set(client.ObjectKeyFromObject(b).String(), binding{})
	}
}

func (s *BoundSet) observe(obj any) {
	b, ok := obj.(*vmopv1.VirtualMachineClassBinding)
	if !ok {
		return
	}
	now := binding{}
	if live(*b) && b.ClassRef.Name != "" {
		now = binding{namespace: b.Namespace, class: b.ClassRef.Name}
	}
	s.set(client.ObjectKeyFromObject(b).String(), now)
}

// set records that the binding at key now counts for now (nothing when now is zero).
func (s *BoundSet) set(key string, now binding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before, had := s.counted[key]
	if had && before == now {
		return
	}
	if had {
		delete(s.counted, key)
		if n := s.classes[before.namespace][before.class] - 1; n > 0 {
			s.classes[before.namespace][before.class] = n
		} else {
			delete(s.classes[before.namespace], before.class)
			if len(s.classes[before.namespace]) == 0 {
				delete(s.classes, before.namespace)
			}
		}
		delete(s.sorted, before.namespace)
	}
	if now.class == "" {
		return
	}
	s.counted[key] = now
	if s.classes[now.namespace] == nil {
		s.classes[now.namespace] = map[string]int{}
	}
	s.classes[now.namespace][now.class]++
	delete(s.sorted, now.namespace)
}

// WithBound returns c, whose reads go to the informer cache that feeds bound, as a reader Check
// takes the namespace's bound classes from instead of listing bindings. Writes go to c as before.
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

// boundSource gives a reader its namespaces' bound classes.
type boundSource struct{ set *BoundSet }

func (b boundSource) boundClasses(namespace string) ([]string, bool) { return b.set.Classes(namespace) }

// boundReader is a reader that knows each namespace's bound classes without listing.
type boundReader interface {
	boundClasses(namespace string) ([]string, bool)
}
