package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/pbm"
	govsession "github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// clients is one logged-in pair of vCenter API clients: SOAP for the inventory and REST for the
// content library. They are replaced together, never otherwise mutated, so callers can use them
// without holding a lock.
type clients struct {
	vim  *vim25.Client
	rest *rest.Client

	// dc is the configured datacenter, set on first use (see datacenter). It lives here so that
	// every call does not look it up again, and so that re-login, which replaces the clients,
	// drops it with the session it was read through.
	dc atomic.Pointer[object.Datacenter]
	// pbm is the storage policy service's client, made on first use (see policies).
	pbm atomic.Pointer[pbm.Client]
	// supervisor and vmFolder are looked up on first use too (see inventory.supervisor).
	supervisor atomic.Pointer[supervisorCluster]
	vmFolder   atomic.Pointer[object.Folder]
}

// session keeps one logged-in set of clients for the whole process. Calls run concurrently on
// the current clients; only logging in takes the mutex, so a slow vCenter call never blocks
// another one, and a burst of calls that all find the session expired logs in only once.
type session struct {
	cfg Config

	current atomic.Pointer[clients]
	loginMu sync.Mutex
	// inflight counts calls in progress; logout waits for them, since a call cancelled mid-way
	// (a task wait) still needs the session to cancel its wait in vCenter.
	inflight atomic.Int64
	// loginErr is why the last login failed; nil after one succeeded.
	loginErr atomic.Pointer[error]
}

// do runs fn with logged-in clients. When fn fails because vCenter no longer knows the session
// (NotAuthenticated, HTTP 401) or the connection broke, do logs in again and runs fn once more;
// fn must therefore be safe to repeat, which every Provider operation is. The whole call is
// bounded by Config.CallTimeout; running out of it counts as vCenter being unreachable.
//
// Every operation is counted and timed under op (see metrics.go), here, once for all callers.
func (s *session) do(ctx context.Context, op string, fn func(context.Context, *clients) error) (err error) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	defer func(start time.Time) { observeCall(op, start, err) }(time.Now())
	timeout := s.cfg.callTimeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errCallTimeout)
	defer cancel()
	err = s.try(ctx, fn)
	if err != nil && errors.Is(context.Cause(ctx), errCallTimeout) {
		return fmt.Errorf("%w: no answer within %s (--vcenter-call-timeout): %w", ErrUnreachable, timeout, err)
	}
	return err
}

// errCallTimeout ends a call's context when vCenter took longer than Config.CallTimeout.
var errCallTimeout = errors.New("vCenter call timed out")

// try runs fn once, and once more after a new login when the session was lost.
func (s *session) try(ctx context.Context, fn func(context.Context, *clients) error) error {
	c, err := s.get(ctx)
	if err != nil {
		return err
	}
	err = fn(ctx, c)
	if err == nil || !sessionLost(err) {
		return err
	}
	log.FromContext(ctx).Info("vCenter session lost, logging in again", "vcenter", redactURL(s.cfg.URL), "reason", err.Error())
	if c, err = s.relogin(ctx, c); err != nil {
		return err
	}
	return fn(ctx, c)
}

// get returns the current clients, logging in first if there are none yet.
func (s *session) get(ctx context.Context) (*clients, error) {
	if c := s.current.Load(); c != nil {
		return c, nil
	}
	return s.relogin(ctx, nil)
}

// relogin replaces stale with freshly logged-in clients. If another caller already replaced
// them, their clients are returned and no second login happens.
func (s *session) relogin(ctx context.Context, stale *clients) (*clients, error) {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	if c := s.current.Load(); c != nil && c != stale {
		return c, nil
	}
	c, err := s.login(ctx)
	s.loginErr.Store(&err)
	if err != nil {
		return nil, err
	}
	s.current.Store(c)
	if stale != nil {
		// The old session is gone on the server side; only its idle connections remain.
		stale.vim.CloseIdleConnections()
	}
	return c, nil
}

// IdleConnections is how many connections to vCenter are kept open between calls: more than the
// controllers make at once, so each call reuses one instead of paying a TLS handshake (Go keeps
// two by default).
const IdleConnections = 64

// login makes new SOAP and REST clients and logs both in.
func (s *session) login(ctx context.Context) (*clients, error) {
	u, err := s.cfg.sdkURL()
	if err != nil {
		return nil, err
	}
	where := redactURL(s.cfg.URL)
	sc := soap.NewClient(u, s.cfg.Insecure)
	sc.DefaultTransport().MaxIdleConnsPerHost = IdleConnections
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connect to vCenter %s: %w", where, classify(err))
	}
	if err := govsession.NewManager(vc).Login(ctx, u.User); err != nil {
		return nil, fmt.Errorf("log in to vCenter %s as %s: %w", where, s.cfg.Username, classify(err))
	}
	rc := rest.NewClient(vc)
	if err := rc.Login(ctx, u.User); err != nil {
		return nil, fmt.Errorf("log in to vCenter REST API %s as %s: %w", where, s.cfg.Username, classify(err))
	}
	log.FromContext(ctx).V(1).Info("logged in to vCenter", "vcenter", where, "user", s.cfg.Username)
	return &clients{vim: vc, rest: rc}, nil
}

// misconfigured says why vCenter refused the last login when the fault is in the manager's
// configuration (vCenter's certificate not trusted, credentials rejected), which waiting does
// not cure; nil when the last login succeeded, none was tried, or vCenter was unreachable, which
// may be an outage and must not take admission down with it.
func (s *session) misconfigured() error {
	p := s.loginErr.Load()
	if p == nil || *p == nil {
		return nil
	}
	switch outcome(*p) {
	case "certificate":
		return fmt.Errorf("%w: trust vCenter's CA (the image's /etc/ssl/certs) or set --vcenter-insecure", *p)
	case "login_failed":
		return fmt.Errorf("%w: fix the username and password in the Secret mounted at --vcenter-credentials-dir", *p)
	}
	return nil
}

// logout ends both sessions, if any, once the calls in progress have returned or ctx is done.
func (s *session) logout(ctx context.Context) error {
	// A cancelled task wait asks vCenter to cancel it on its way out, through this session;
	// logging out first would leave that wait pending in vCenter.
	for s.inflight.Load() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	c := s.current.Swap(nil)
	if c == nil {
		return nil
	}
	return errors.Join(
		c.rest.Logout(ctx),
		govsession.NewManager(c.vim).Logout(ctx),
	)
}

// sessionLost says whether err means the session must be made again: vCenter forgot it, or
// the connection to vCenter broke.
func sessionLost(err error) bool {
	if fault.Is(err, &types.NotAuthenticated{}) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		// rest.IsStatusError does not unwrap.
		if rest.IsStatusError(e, http.StatusUnauthorized) {
			return true
		}
	}
	return IsUnreachable(err)
}
