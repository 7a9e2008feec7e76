package testenv

import (
	"context"
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Observe watches the objects of list's kind in namespace from now on and asks wrong about every
// version of them the apiserver reports. The returned function stops the watch and returns what
// wrong said (one line per finding), so a spec can show that a failure never appeared, not only
// that it is gone by the end.
func (e *Env) Observe(list client.ObjectList, namespace string, wrong func(client.Object) string) (stop func() []string) {
	return e.ObserveEvents(list, namespace, func(_ watch.EventType, obj client.Object) string { return wrong(obj) })
}

// ObserveEvents is Observe for a check that needs to know whether an object was added, changed
// or deleted, such as one that keeps a count across objects.
func (e *Env) ObserveEvents(list client.ObjectList, namespace string, wrong func(watch.EventType, client.Object) string) (stop func() []string) {
	c, err := client.NewWithWatch(e.Config, client.Options{Scheme: e.Scheme})
	Expect(err).NotTo(HaveOccurred())
	w, err := c.Watch(context.Background(), list, client.InNamespace(namespace))
	Expect(err).NotTo(HaveOccurred())
	var (
		mu       sync.Mutex
		findings []string
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			obj, ok := ev.Object.(client.Object)
			if !ok {
				continue
			}
			if what := wrong(ev.Type, obj); what != "" {
				mu.Lock()
				findings = append(findings, fmt.Sprintf("%s %s/%s: %s", ev.Type, obj.GetNamespace(), obj.GetName(), what))
				mu.Unlock()
			}
		}
	}()
	var once sync.Once
	stop = func() []string {
		// An open watch would hold up the apiserver's shutdown at the end of the suite.
		once.Do(func() { w.Stop(); <-done })
		mu.Lock()
		defer mu.Unlock()
		return findings
	}
	DeferCleanup(func() { stop() }) // also when the spec fails before it calls stop
	return stop
}
