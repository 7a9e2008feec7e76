// Package vcsim runs govmomi's vCenter simulator in-process, with the REST endpoints (content
// library, namespace management, cluster modules) a supervisor needs. The local supervisor and
// the tests use it; the manager never imports it.
package vcsim

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vm-service/vm-service/internal/vsphere"

	// Registers the content library and vcenter REST endpoints.
	_ "github.com/vmware/govmomi/vapi/simulator"
	// Registers the namespace-management REST endpoints.
	_ "github.com/vmware/govmomi/vapi/namespace/simulator"
	// Registers storage policy based management (/pbm), with vCenter's default policies.
	_ "github.com/vmware/govmomi/pbm/simulator"
	// Registers the cluster modules REST endpoints (VM anti-affinity groups).
	_ "github.com/vmware/govmomi/vapi/cluster/simulator"
)

// ClusterName is the compute cluster the simulator's VPX inventory calls its first cluster; it
// plays the supervisor cluster.
const ClusterName = "DC0_C0"

// Simulator is a running vCenter simulator.
type Simulator struct {
	model  *simulator.Model
	server *simulator.Server
}

// Start creates a VPX inventory (one datacenter, a cluster of hosts, a datastore) and serves it
// on a free loopback TLS port.
func Start() (*Simulator, error) {
	return StartWith(Options{})
}

// Options shape a simulator beyond the defaults.
type Options struct {
	// Addr (host:port) keeps the URL the same from one run to the next, as the local
	// supervisor's govc environment file needs; "" picks a free loopback port.
	Addr string
	// DefaultStoragePolicy is the storage policy id a namespace created without one is given,
	// as an administrator assigning one to every namespace would; none when empty.
	DefaultStoragePolicy string
	// Login is the only user and password the simulator accepts; when nil it accepts any
	// non-empty pair and hands out vcsim's well-known default, which is too common a word to
	// tell apart in a log.
	Login *url.Userinfo
}

// StartWith is Start shaped by o.
func StartWith(o Options) (sim *Simulator, err error) {
	addr := o.Addr
	model := simulator.VPX()
	if err := model.Create(); err != nil {
		return nil, fmt.Errorf("create vcsim inventory: %w", err)
	}
	model.Service.TLS = new(tls.Config)
	model.Service.RegisterEndpoints = true
	if addr != "" || o.Login != nil {
		model.Service.Listen = &url.URL{Host: addr, User: o.Login}
	}
	// The simulator panics when it cannot listen; callers want an error they can report.
	defer func() {
		if r := recover(); r != nil {
			model.Remove()
			sim, err = nil, fmt.Errorf("start vcsim on %s: %v", addr, r)
		}
	}()
	server := model.Service.NewServer()
	serveNamespaceStorage(model.Service.ServeMux, o.DefaultStoragePolicy)
	return &Simulator{model: model, server: server}, nil
}

// URL is the SDK endpoint, with the simulator's credentials in its user info.
func (s *Simulator) URL() *url.URL {
	u := *s.server.URL
	return &u
}

// VSphereConfig is how the product's vSphere provider reaches the simulator: its SDK URL, with its
// credentials apart as the manager takes them, its cluster as the supervisor cluster and the
// given content library.
func (s *Simulator) VSphereConfig(contentLibrary string) vsphere.Config {
	u := s.URL()
	password, _ := u.User.Password()
	username := u.User.Username()
	u.User = nil
	return vsphere.Config{
		URL: u.String(), Username: username, Password: password, Insecure: true,
		Cluster: ClusterName, ContentLibrary: contentLibrary,
	}
}

// Client logs in to the simulator's SOAP API.
func (s *Simulator) Client(ctx context.Context) (*govmomi.Client, error) {
	return govmomi.NewClient(ctx, s.URL(), true)
}

// RestClient logs in to the simulator's REST API (content library, namespace management).
func (s *Simulator) RestClient(ctx context.Context) (*rest.Client, error) {
	c, err := s.Client(ctx)
	if err != nil {
		return nil, err
	}
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, s.URL().User); err != nil {
		return nil, fmt.Errorf("rest login to vcsim: %w", err)
	}
	return rc, nil
}

// closeTimeout bounds how long Stop waits for requests in progress.
const closeTimeout = 10 * time.Second

// Stop closes the server and removes the inventory. vcsim does not end a WaitForUpdates whose
// client went away without cancelling it, and closing the server waits for every request in
// progress, so Stop gives up on such requests after closeTimeout instead of hanging.
func (s *Simulator) Stop() {
	closed := make(chan struct{})
	go func() {
		s.server.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(closeTimeout):
	}
	s.model.Remove()
}

// SetGuestHeartbeat plays VMware Tools on the VM with managed object id moID reporting a
// heartbeat colour (green, yellow, red, gray); vcsim's VMs report gray, as without Tools.
func (s *Simulator) SetGuestHeartbeat(moID string, status types.ManagedEntityStatus) error {
	ctx := s.model.Service.Context
	vm, ok := ctx.Map.Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: moID}).(*simulator.VirtualMachine)
	if !ok {
		return fmt.Errorf("no VM %s in the simulator", moID)
	}
	ctx.WithLock(vm, func() { vm.Summary.QuickStats.GuestHeartbeatStatus = status })
	return nil
}
