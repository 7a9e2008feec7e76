package namespaces

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/go-logr/logr"
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

// ConnectionFunc returns the vCenter connection to use. A Reader calls it before every Read,
// so rotated credentials or a moved vCenter take effect at the next read without a restart.
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
func (c Connection) GoString() string { return "namespaces.Connection{" + c.String() + "}" }

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
