package vcentersync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
)

const (
	// DefaultInterval is how often the Syncer polls vCenter when Options.Interval is zero.
	DefaultInterval = 5 * time.Second
	// DefaultTimeout bounds one sync (vCenter read plus Kubernetes writes) when Options.Timeout is zero.
	DefaultTimeout = 30 * time.Second
)

// Options configure a Syncer.
type Options struct {
	// Connection says where vCenter is and how to log in; required unless Inventory is set. It
	// is called before every sync, through a namespaces.Reader the Syncer owns.
	Connection namespaces.ConnectionFunc
	// Inventory, when set, reads vCenter instead of a namespaces.Reader over Connection: for
	// fakes, or a reader shared with something else. The Syncer closes it when it stops.
	Inventory InventoryReader
	// Interval between the end of one sync and the start of the next; DefaultInterval when zero.
	Interval time.Duration
	// Timeout bounds one sync; DefaultTimeout when zero.
	Timeout time.Duration
	// Logger receives the sync's structured logs; ctrl.Log.WithName("vcentersync") when unset.
	Logger logr.Logger
	// Recorder records events on the objects the sync keeps instead of deleting. When unset,
	// SetupWithManager takes the manager's; without either, the log alone says why.
	Recorder record.EventRecorder
}

// Status is what the last syncs did, for readiness checks and tests.
type Status struct {
	// LastAttempt is when the last sync finished, successfully or not.
	LastAttempt time.Time
	// LastSuccess is when the last complete sync finished: vCenter read in full and every
	// Kubernetes write done.
	LastSuccess time.Time
	// Successes counts complete syncs since Start.
	Successes int64
	// Failures counts syncs since Start that failed.
	Failures int64
	// LastError is the error of the last sync, nil when it succeeded.
	LastError error
}

// Syncer mirrors vCenter's namespaces, VM classes and class assignments into Namespaces,
// VirtualMachineClasses and VirtualMachineClassBindings. It is a manager.Runnable that runs
// only on the leader.
type Syncer struct {
	client   client.Client
	vcenter  InventoryReader
	interval time.Duration
	timeout  time.Duration
	log      logr.Logger
	recorder record.EventRecorder

	// heldClasses and heldNamespaces are the objects kept while in use, as last reported; only
	// the sync loop touches them.
	heldClasses, heldNamespaces holds

	mu     sync.Mutex
	status Status
}

var (
	_ manager.Runnable               = &Syncer{}
	_ manager.LeaderElectionRunnable = &Syncer{}
)

// New builds a Syncer that writes through c. With a manager, pass mgr.GetClient(): reads come
// from the shared informer cache and writes go to the API server. The cache needs the
// index.VirtualMachineClassName field index, which is how the Syncer finds a class's users.
func New(c client.Client, opts Options) (*Syncer, error) {
	if c == nil {
		return nil, errors.New("vcentersync: a Kubernetes client is required")
	}
	vcenter := opts.Inventory
	if vcenter == nil {
		if opts.Connection == nil {
			return nil, errors.New("vcentersync: Options.Connection is required")
		}
		vcenter = namespaces.NewReader(opts.Connection)
	}
	s := &Syncer{
		client:   c,
		vcenter:  vcenter,
		interval: opts.Interval,
		timeout:  opts.Timeout,
		log:      opts.Logger,
		recorder: opts.Recorder,

		heldClasses:    newHolds(),
		heldNamespaces: newHolds(),
	}
	if s.interval <= 0 {
		s.interval = DefaultInterval
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.log.GetSink() == nil {
		s.log = ctrl.Log.WithName("vcentersync")
	}
	return s, nil
}

// SetupWithManager adds the Syncer to mgr; it starts once mgr is the leader. Without a
// Recorder in Options, the Syncer records events with the manager's.
func (s *Syncer) SetupWithManager(mgr ctrl.Manager) error {
	if s.recorder == nil {
		s.recorder = mgr.GetEventRecorderFor("vcenter-sync")
	}
	if err := mgr.Add(s); err != nil {
		return fmt.Errorf("add vCenter sync to manager: %w", err)
	}
	return nil
}

// NeedLeaderElection is true: two replicas mirroring at once would fight over the same objects.
func (s *Syncer) NeedLeaderElection() bool { return true }

// Start syncs at once and then every interval until ctx is done.
func (s *Syncer) Start(ctx context.Context) error {
	s.log.Info("starting vCenter sync", "interval", s.interval.String())
	defer s.vcenter.Close(ctx)
	defer s.registerLag()()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			s.log.Info("stopping vCenter sync")
			return nil
		case <-timer.C:
		}
		s.syncOnce(ctx)
		timer.Reset(s.interval)
	}
}

// Status returns what the last syncs did.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// LastSync is when the last complete sync finished; zero before the first one.
func (s *Syncer) LastSync() time.Time { return s.Status().LastSuccess }

// Check is a healthz.Checker: it fails until the first complete sync and when no sync has
// completed for three intervals. Register it only where a vCenter outage should make the
// process unready (the webhooks do not depend on it).
func (s *Syncer) Check(_ *http.Request) error {
	st := s.Status()
	switch {
	case st.LastSuccess.IsZero():
		return fmt.Errorf("no complete vCenter sync yet: %v", st.LastError)
	case time.Since(st.LastSuccess) > 3*s.interval+s.timeout:
		return fmt.Errorf("last complete vCenter sync at %s: %v", st.LastSuccess.Format(time.RFC3339), st.LastError)
	}
	return nil
}

// syncOnce runs one bounded sync and records its outcome.
func (s *Syncer) syncOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	host, err := s.sync(ctx)
	s.record(host, err)
}

// sync reads vCenter in full and, only then, makes Kubernetes match it.
func (s *Syncer) sync(ctx context.Context) (string, error) {
	inv, host, err := s.vcenter.Read(ctx)
	if err != nil {
		return host, fmt.Errorf("read vCenter, deleting nothing: %w", err)
	}
	want := desiredFrom(inv)
	for _, reason := range want.skipped {
		s.log.V(1).Info("not mirroring vCenter object", "vcenter", host, "reason", reason)
	}
	if err := s.apply(ctx, want); err != nil {
		return host, fmt.Errorf("mirror vCenter into Kubernetes: %w", err)
	}
	return host, nil
}

// record updates Status and the metrics, and logs failures and recoveries.
func (s *Syncer) record(host string, err error) {
	now := time.Now()
	s.mu.Lock()
	failedBefore := s.status.LastError != nil
	s.status.LastAttempt, s.status.LastError = now, err
	if err == nil {
		s.status.LastSuccess = now
		s.status.Successes++
	} else {
		s.status.Failures++
	}
	s.mu.Unlock()

	if err != nil {
		syncsTotal.WithLabelValues("error").Inc()
		s.log.Error(err, "vCenter sync failed; retrying next interval", "vcenter", host, "retryIn", s.interval.String())
		return
	}
	syncsTotal.WithLabelValues("success").Inc()
	lastSuccess.Set(float64(now.Unix()))
	if failedBefore {
		s.log.Info("vCenter sync recovered", "vcenter", host)
	}
	s.log.V(1).Info("vCenter sync complete", "vcenter", host)
}
