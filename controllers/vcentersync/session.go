package vcentersync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-logr/logr"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// Connection says where vCenter is and how to log in to its REST API.
type Connection struct {
	// URL is the vCenter SDK endpoint, such as https://vcenter.example.com/sdk. User info in the
	// URL is ignored; credentials come from Username and Password.
	URL *url.URL
	// Username and Password log in to vCenter. They are never logged.
	Username string
	Password string `json:"-"`
	// Insecure skips TLS certificate verification (for simulators and labs only).
	Insecure bool
}

var (
	_ fmt.Stringer   = Connection{}
	_ fmt.GoStringer = Connection{}
	_ logr.Marshaler = Connection{}
)

// ConnectionFunc returns the vCenter connection to use. The Syncer calls it before every sync,
// so rotated credentials or a moved vCenter take effect at the next interval without a restart.
type ConnectionFunc func(ctx context.Context) (Connection, error)

// StaticConnection is a ConnectionFunc that always returns c.
func StaticConnection(c Connection) ConnectionFunc {
	return func(context.Context) (Connection, error) { return c, nil }
}

// ConnectionFromURL builds a Connection from a govc-style URL that carries the credentials in
// its user info, such as https://user:pass@vcenter/sdk.
func ConnectionFromURL(u *url.URL, insecure bool) Connection {
	c := Connection{URL: withoutUser(u), Insecure: insecure}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c
}

// Host names the vCenter in logs and errors without any credentials.
func (c Connection) Host() string {
	if c.URL == nil {
		return ""
	}
	return c.URL.Host
}

// String describes the connection without its password, so %v and %+v of a Connection, or of
// a struct holding one, are safe to log.
func (c Connection) String() string {
	return fmt.Sprintf("vCenter %s as %q (insecure: %t)", c.redactedURL(), c.Username, c.Insecure)
}

// GoString keeps the password out of %#v too.
func (c Connection) GoString() string { return "vcentersync.Connection{" + c.String() + "}" }

// MarshalLog is what logr sinks log for a Connection: every field but the password.
func (c Connection) MarshalLog() any {
	return struct {
		URL      string `json:"url"`
		Username string `json:"username"`
		Insecure bool   `json:"insecure"`
	}{c.redactedURL(), c.Username, c.Insecure}
}

// redactedURL is the URL without any user info, which may hold a password.
func (c Connection) redactedURL() string {
	if c.URL == nil {
		return ""
	}
	return withoutUser(c.URL).String()
}

func (c Connection) validate() error {
	if c.URL == nil || c.URL.Host == "" {
		return errors.New("vCenter connection has no URL")
	}
	return nil
}

// sameAs reports whether an existing session for c can serve other.
func (c Connection) sameAs(other Connection) bool {
	return c.Insecure == other.Insecure && c.Username == other.Username && c.Password == other.Password &&
		c.URL != nil && other.URL != nil && withoutUser(c.URL).String() == withoutUser(other.URL).String()
}

func withoutUser(u *url.URL) *url.URL {
	out := *u
	out.User = nil
	return &out
}

// session is the Syncer's one REST session with vCenter. Only the sync loop uses it, so it needs
// no lock; other Syncers (other vCenters) have sessions of their own.
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
