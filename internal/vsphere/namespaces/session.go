package namespaces

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// session is a Reader's one REST session with vCenter. Only its Reader's caller uses it, one
// read at a time, so it needs no lock; other Readers (other vCenters) have sessions of their own.
type session struct {
	connect ConnectionFunc
	conn    Connection
	rc      *rest.Client
}

// client returns a logged-in REST client for the current connection, logging in again when the
// connection changed or there is no session yet.
func (s *session) client(ctx context.Context) (*rest.Client, Connection, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, Connection{}, fmt.Errorf("get vCenter connection: %w", err)
	}
	if err := conn.validate(); err != nil {
		return nil, conn, err
	}
	if s.rc != nil && s.conn.sameAs(conn) {
		return s.rc, conn, nil
	}
	s.close(ctx)
	rc, err := login(ctx, conn)
	if err != nil {
		return nil, conn, err
	}
	s.conn, s.rc = conn, rc
	return rc, conn, nil
}

// do runs read with a logged-in client. When vCenter answers 401 (the session expired or
// vCenter restarted), it logs in again and retries once.
func (s *session) do(ctx context.Context, read func(*rest.Client) error) (Connection, error) {
	rc, conn, err := s.client(ctx)
	if err != nil {
		return conn, err
	}
	err = read(rc)
	if !isUnauthorized(err) {
		return conn, err
	}
	s.rc = nil // the session is gone on the server; do not log it out
	if rc, conn, err = s.client(ctx); err != nil {
		return conn, fmt.Errorf("log in again after session loss: %w", err)
	}
	return conn, read(rc)
}

// close logs the session out, best effort, and forgets it.
func (s *session) close(ctx context.Context) {
	if s.rc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.rc.Logout(ctx)
	s.rc = nil
}

// login opens a REST session. The URL given to govmomi carries no user info, so no error text
// can contain the password.
func login(ctx context.Context, conn Connection) (*rest.Client, error) {
	sc := soap.NewClient(withoutUser(conn.URL), conn.Insecure)
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connect to vCenter %s: %w", conn.Host(), err)
	}
	rc := rest.NewClient(vc)
	if err := rc.Login(ctx, url.UserPassword(conn.Username, conn.Password)); err != nil {
		return nil, fmt.Errorf("log in to vCenter %s REST API: %w", conn.Host(), err)
	}
	return rc, nil
}

// isUnauthorized reports whether err, or an error it wraps, is a REST 401.
func isUnauthorized(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if rest.IsStatusError(err, http.StatusUnauthorized) {
			return true
		}
	}
	return false
}
