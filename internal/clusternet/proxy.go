// Package clusternet owns the stand-in for a cluster network on a machine that has none: an HTTP
// CONNECT proxy on a Unix socket through which kube-apiserver's egress selector sends its cluster
// traffic (calls to webhooks and API services behind Services). It connects each endpoint it is
// told about to a loopback address and refuses every other target, so an apiserver that routes a
// Service to an endpoint address never sends a byte off this machine.
package clusternet

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Proxy is a running cluster network stand-in.
type Proxy struct {
	ln     net.Listener
	dir    string
	routes map[string]string
	wg     sync.WaitGroup
}

// Start serves on a Unix socket in a new temporary directory (socket paths are limited to about
// 100 bytes, so not under a deep state directory). routes maps an endpoint's host:port to the
// loopback host:port that serves it; with none, every target is refused.
func Start(routes map[string]string) (*Proxy, error) {
	for endpoint, target := range routes {
		if host, _, err := net.SplitHostPort(target); err != nil || !net.ParseIP(host).IsLoopback() {
			return nil, fmt.Errorf("route %s to %s: the target must be a loopback host:port", endpoint, target)
		}
	}
	dir, err := os.MkdirTemp("", "clusternet-")
	if err != nil {
		return nil, fmt.Errorf("directory for the cluster network socket: %w", err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "egress.sock"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("listen for cluster traffic: %w", err)
	}
	p := &Proxy{ln: ln, dir: dir, routes: routes}
	p.wg.Go(p.serve)
	return p, nil
}

// EgressSelectorConfiguration is the file content that makes kube-apiserver
// (--egress-selector-config-file) send its cluster traffic through p.
func (p *Proxy) EgressSelectorConfiguration() []byte {
	return fmt.Appendf(nil, `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %s
`, p.ln.Addr().String())
}

// Stop closes the socket and removes its directory; tunnels already open end with their peers.
func (p *Proxy) Stop() {
	_ = p.ln.Close()
	p.wg.Wait()
	_ = os.RemoveAll(p.dir)
}

func (p *Proxy) serve() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.tunnel(conn)
	}
}

// tunnel answers one CONNECT and then copies bytes both ways until either side closes.
func (p *Proxy) tunnel(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		return
	}
	target, ok := p.routes[req.Host]
	if req.Method != http.MethodConnect || !ok {
		fmt.Fprintf(conn, "HTTP/1.1 503 Service Unavailable\r\n\r\n%s is not reachable: this machine has no cluster network\n", req.Host)
		return
	}
	upstream, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		fmt.Fprintf(conn, "HTTP/1.1 502 Bad Gateway\r\n\r\n%v\n", err)
		return
	}
	defer upstream.Close()
	_ = conn.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, upstream); done <- struct{}{} }()
	<-done
}
