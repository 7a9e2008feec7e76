package virtualmachine

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// Probe defaults, as the API's defaulting sets them (for objects stored before it did).
const (
	defaultProbePeriod  = 10 * time.Second
	defaultProbeTimeout = 10 * time.Second
)

// readiness is one probe's verdict.
type readiness struct {
	ready   bool
	message string
}

// probeReadiness runs the VM's readiness probe once it is on, and comes back every period.
func (r *Reconciler) probeReadiness(ctx context.Context, s *scope) (ctrl.Result, error) {
	p := s.vm.Spec.ReadinessProbe
	if p == nil || s.state == nil || s.state.PowerState != vmopv1.VirtualMachinePoweredOn {
		return ctrl.Result{}, nil
	}
	res := probe(ctx, p, *s.state)
	s.readiness = &res
	return ctrl.Result{RequeueAfter: seconds(p.PeriodSeconds, defaultProbePeriod)}, nil
}

// probe runs p against the VM as vSphere reports it.
func probe(ctx context.Context, p *vmopv1.Probe, state vsphere.VMState) readiness {
	switch {
	case p.TCPSocket != nil:
		host := p.TCPSocket.Host
		if host == "" {
			host = state.IP
		}
		if host == "" {
			return readiness{message: "waiting for the guest to report an address to probe"}
		}
		addr := net.JoinHostPort(host, strconv.Itoa(p.TCPSocket.Port.IntValue()))
		d := net.Dialer{Timeout: seconds(p.TimeoutSeconds, defaultProbeTimeout)}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return readiness{message: fmt.Sprintf("TCP probe of %s failed: %v", addr, err)}
		}
		_ = conn.Close()
		return readiness{ready: true}
	case p.GuestHeartbeat != nil:
		return heartbeat(p.GuestHeartbeat.ThresholdStatus, state.Heartbeat)
	}
	return readiness{message: "the readiness probe has no action"}
}

// heartbeat compares the VMware Tools heartbeat with the threshold (green when empty): yellow
// admits yellow and green.
func heartbeat(threshold vmopv1.GuestHeartbeatStatus, got string) readiness {
	if threshold == "" {
		threshold = "green"
	}
	if got == "" {
		got = "gray"
	}
	if got == "green" || (got == "yellow" && threshold == "yellow") {
		return readiness{ready: true}
	}
	return readiness{message: fmt.Sprintf("VMware Tools heartbeat is %s; ready at %s or better", got, threshold)}
}

func seconds(n int32, fallback time.Duration) time.Duration {
	if n <= 0 {
		return fallback
	}
	return time.Duration(n) * time.Second
}
