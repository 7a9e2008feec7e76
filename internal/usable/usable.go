// Package usable remembers which namespaces may use which classes and storage classes, as the
// access checks last answered from the informer cache, until an informer those answers were
// read from sees a change. Admission asks the same few questions for every VirtualMachine; a
// remembered answer is one map lookup, where the checks read four informers through the cache's
// client, which cost more than decoding the VirtualMachine. Only "usable" is remembered: a
// refusal is always decided afresh and confirmed with the apiserver.
package usable

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kind says which check an answer came from.
type Kind uint8

const (
	// Class answers come from classaccess.Check.
	Class Kind = iota
	// Storage answers come from storageaccess.Check.
	Storage
)

// Key is one question: may Namespace use the class or storage class Name.
type Key struct {
	Kind      Kind
	Namespace string
	Name      string
}

// Memo holds the "usable" answers given since the informers it follows last saw an event. The
// zero Memo follows nothing and remembers nothing; use Follow.
type Memo struct {
	// epoch counts the events of the followed informers; an answer is good for one epoch.
	epoch atomic.Uint64
	mu    sync.RWMutex
	// usable holds the answers of epoch held, and is emptied when a newer epoch remembers one.
	usable map[Key]struct{}
	held   uint64
}

// Follow returns a memo that forgets everything whenever the informer in c of any of kinds sees
// an add, update or delete: the kinds whose stores an answer may be read from. A handler runs a
// moment after its informer's store changed, so an answer may outlive a change by that moment,
// as answers from the cache's handlers (the bound-class set) do. State a handler keeps must call
// Forget itself, after it has changed: a memo's handler may run before it.
func Follow(ctx context.Context, c cache.Informers, kinds ...client.Object) (*Memo, error) {
	m := &Memo{usable: map[Key]struct{}{}}
	forget := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { m.Forget() },
		UpdateFunc: func(any, any) { m.Forget() },
		DeleteFunc: func(any) { m.Forget() },
	}
	for _, kind := range kinds {
		informer, err := c.GetInformer(ctx, kind)
		if err != nil {
			return nil, fmt.Errorf("informer of %T for remembered answers: %w", kind, err)
		}
		if _, err := informer.AddEventHandler(forget); err != nil {
			return nil, fmt.Errorf("follow %T for remembered answers: %w", kind, err)
		}
	}
	return m, nil
}

// Forget drops every answer, for a change the memo learns of other than through an informer it
// follows: the bound-class set's, which its own handler applies after the binding informer's
// store changed, and which the class check reads.
func (m *Memo) Forget() { m.epoch.Add(1) }

// Answer answers key from memory when it is remembered usable; otherwise it asks decide and
// remembers a usable answer. A nil memo always asks.
func (m *Memo) Answer(key Key, decide func() (usable bool, err error)) error {
	if m.Usable(key) {
		return nil
	}
	epoch := m.Epoch()
	ok, err := decide()
	if err == nil && ok {
		m.Remember(key, epoch)
	}
	return err
}

// Epoch is the moment an answer about to be decided is read at; pass it to Remember.
func (m *Memo) Epoch() uint64 {
	if m == nil {
		return 0
	}
	return m.epoch.Load()
}

// Usable says whether key was answered usable and nothing followed has changed since.
func (m *Memo) Usable(key Key) bool {
	if m == nil || m.usable == nil {
		return false
	}
	epoch := m.epoch.Load()
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.usable[key]
	return ok && m.held == epoch
}

// Remember records that key was answered usable from what the cache held at epoch. An answer
// read before the latest event is not kept: it may rest on what that event changed.
func (m *Memo) Remember(key Key, epoch uint64) {
	if m == nil || m.usable == nil || epoch != m.epoch.Load() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if epoch != m.epoch.Load() { // an event came while waiting for the lock
		return
	}
	if m.held != epoch {
		clear(m.usable)
		m.held = epoch
	}
	m.usable[key] = struct{}{}
}
