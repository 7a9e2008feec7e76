package namespaces

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/vmware/govmomi/fault"
	govsession "github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// session is a Reader's one REST session with vCenter. Only its Reader's caller uses it, one
// read at a time, so it needs no lock; other Readers (other vCenters) have sessions of their own.
type session struct {
	connect ConnectionFunc
	conn    Connection
	rc      *rest.Client
	// vc is the SOAP session of the same login, for storage policies (PBM has no REST API).
	vc *vim25.Client
}

// client returns a logged-in REST client for the current connection, logging in again when the
// connection changed or there is no session yet.
func (s *session) client(ctx context.Context) (*clients, Connection, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, Connection{}, fmt.Errorf("get vCenter connection: %w", err)
	}
	if err := conn.validate(); err != nil {
		return nil, conn, err
	}
	if s.rc != nil && s.conn.sameAs(conn) {
		return &clients{rest: s.rc, vim: s.vc}, conn, nil
	}
	s.close(ctx)
	c, err := login(ctx, conn)
	if err != nil {
		return nil, conn, err
	}
	s.conn, s.rc, s.vc = conn, c.rest, c.vim
	return c, conn, nil
}

// clients are one login's REST and SOAP clients.
type clients struct {
	rest *rest.Client
	vim  *vim25.Client
}

// do runs read with a logged-in client. When vCenter answers 401 (the session expired or
// vCenter restarted), it logs in again and retries once.
func (s *session) do(ctx context.Context, read func(*clients) error) (Connection, error) {
	c, conn, err := s.client(ctx)
	if err != nil {
		return conn, err
	}
	err = read(c)
	if !isUnauthorized(err) {
		return conn, err
	}
	s.rc = nil // the session is gone on the server; do not log it out
	if c, conn, err = s.client(ctx); err != nil {
		return conn, fmt.Errorf("log in again after session loss: %w", err)
	}
	return conn, read(c)
}

// close logs the session out, best effort, and forgets it.
func (s *session) close(ctx context.Context) {
	if s.rc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.rc.Logout(ctx)
	if s.vc != nil {
		_ = govsession.NewManager(s.vc).Logout(ctx)
	}
	s.rc, s.vc = nil, nil
}

// login opens a REST session and a SOAP one. The URL given to govmomi carries no user info, so
// no error text can contain the password.
func login(ctx context.Context, conn Connection) (*clients, error) {
	sc := soap.NewClient(withoutUser(conn.URL), conn.Insecure)
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connect to vCenter %s: %w", conn.Host(), err)
	}
	user := url.UserPassword(conn.Username, conn.Password)
	rc := rest.NewClient(vc)
	if err := rc.Login(ctx, user); err != nil {
		return nil, fmt.Errorf("log in to vCenter %s REST API: %w", conn.Host(), err)
	}
	if err := govsession.NewManager(vc).Login(ctx, user); err != nil {
		_ = rc.Logout(ctx)
		return nil, fmt.Errorf("log in to vCenter %s: %w", conn.Host(), err)
	}
	return &clients{rest: rc, vim: vc}, nil
}

// isUnauthorized reports whether err, or an error it wraps, is a REST 401, or whether the SOAP
// session (storage policies) was forgotten: vCenter expires idle SOAP sessions on their own.
func isUnauthorized(err error) bool {
	if fault.Is(err, &types.NotAuthenticated{}) {
		return true
	}
	for ; err != nil; err = errors.Unwrap(err) {
		if rest.IsStatusError(err, http.StatusUnauthorized) {
			return true
		}
	}
	return false
}
