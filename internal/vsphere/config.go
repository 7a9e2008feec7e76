package vsphere

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
)

// Config says which vCenter to use and where in it VM Service places VMs.
type Config struct {
	// URL of the vCenter SDK endpoint, such as https://vcenter.example.com/sdk. A host name alone
	// is accepted too. User info in the URL is ignored: credentials come from Username and
	// Password.
	URL string
	// Username and Password log in to vCenter. The password is never logged or put in errors.
	Username string
	Password string `json:"-"`
	// Insecure skips TLS certificate verification, for labs and the simulator.
	Insecure bool
	// Datacenter is the datacenter name; the only datacenter when empty.
	Datacenter string
	// Cluster is the supervisor cluster, such as DC0_C0. Namespace resource pools go under its
	// root pool.
	Cluster string
	// Datastore is the datastore name VMs are deployed to; vCenter picks one when empty.
	Datastore string
	// Network is the namespaces' default workload network, which a NIC without a network type
	// joins; DefaultNetwork when empty.
	Network string
	// ContentLibrary is the name of the library whose items are the VM images.
	ContentLibrary string
	// CallTimeout bounds each Provider call, its logins and task waits included, so a vCenter
	// that accepts connections and never answers cannot hold a reconcile forever;
	// DefaultCallTimeout when zero. A deploy task still running then is picked up by the next
	// call, by its instance UUID.
	CallTimeout time.Duration
}

// DefaultCallTimeout is Config.CallTimeout when zero: long enough for a deploy from the content
// library of a large image.
const DefaultCallTimeout = 10 * time.Minute

func (c Config) callTimeout() time.Duration {
	if c.CallTimeout <= 0 {
		return DefaultCallTimeout
	}
	return c.CallTimeout
}

// String describes the configuration without its password, so it is safe to log.
func (c Config) String() string {
	return fmt.Sprintf("vCenter %s as %s (datacenter %q, cluster %q, datastore %q, library %q)",
		redactURL(c.URL), c.Username, c.Datacenter, c.Cluster, c.Datastore, c.ContentLibrary)
}

// DefaultNetwork is the default workload network when Config.Network is empty.
const DefaultNetwork = "VM Network"

func (c Config) network() string {
	if c.Network == "" {
		return DefaultNetwork
	}
	return c.Network
}

func (c Config) validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("URL is required"))
	}
	if c.Username == "" {
		errs = append(errs, errors.New("username is required"))
	}
	if c.Cluster == "" {
		errs = append(errs, errors.New("cluster is required"))
	}
	if c.ContentLibrary == "" {
		errs = append(errs, errors.New("content library is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid vSphere config: %w", err)
	}
	return nil
}

// Endpoint is the SDK endpoint URL, without user info, parsed as govmomi does: a bare host name
// or host:port is accepted. Whoever else talks to this vCenter (the vCenter sync) uses it too.
func (c Config) Endpoint() (*url.URL, error) {
	u, err := soap.ParseURL(c.URL)
	if err != nil || u == nil {
		// The parse error repeats the URL, which may hold a password: leave it out.
		return nil, fmt.Errorf("parse vCenter URL %s: not a valid URL", redactURL(c.URL))
	}
	u.User = nil
	return u, nil
}

// sdkURL is the SDK endpoint with the configured credentials in it, as govmomi expects.
func (c Config) sdkURL() (*url.URL, error) {
	u, err := c.Endpoint()
	if err != nil {
		return nil, err
	}
	u.User = url.UserPassword(c.Username, c.Password)
	return u, nil
}

// redactURL hides a password someone put in the URL despite the Password field.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}
