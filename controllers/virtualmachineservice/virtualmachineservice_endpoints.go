package virtualmachineservice

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
)

// maxEndpointsPerSlice is how many addresses one slice holds, Kubernetes' own default; more
// VMs spread over more slices.
const maxEndpointsPerSlice = 100

// endpoint is a VM that receives the service's traffic.
type endpoint struct {
	vm   string
	uid  types.UID
	addr netip.Addr
}

// backing is the VM as an endpoint: its address when it is powered on, has one, is Ready (its
// readiness probe passes, when it has one) and is not being deleted; "" otherwise.
func backing(vm *vmopv1.VirtualMachine) string {
	st := vm.Status
	if !vm.DeletionTimestamp.IsZero() || st.PowerState != vmopv1.VirtualMachinePoweredOn || st.VmIp == "" ||
		!conditions.IsTrue(st.Conditions, vmopv1.ReadyCondition) {
		return ""
	}
	return st.VmIp
}

// ensureEndpointSlices writes one set of slices per address family for the ready VMs the
// selector picks, and deletes the controller's slices that are no longer needed (all of them for
// ExternalName).
func (r *Reconciler) ensureEndpointSlices(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.nameTaken != "" {
		return ctrl.Result{}, nil // slices would attach our VMs to someone else's Service
	}
	if err := r.observeVMs(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	want := desiredSlices(s.svc, s.ready)
	existing := &discoveryv1.EndpointSliceList{}
	if err := r.Client.List(ctx, existing, client.InNamespace(s.svc.Namespace), client.MatchingLabels(sliceLabels(s.svc))); err != nil {
		return ctrl.Result{}, fmt.Errorf("list EndpointSlices of %s: %w", s.svc.Name, err)
	}
	have := map[string]*discoveryv1.EndpointSlice{}
	for i := range existing.Items {
		have[existing.Items[i].Name] = &existing.Items[i]
	}
	for _, slice := range want {
		if err := r.writeSlice(ctx, s, slice, have[slice.Name]); err != nil {
			return ctrl.Result{}, err
		}
		delete(have, slice.Name)
	}
	for _, old := range have {
		if !metav1.IsControlledBy(old, s.svc) {
			continue
		}
		if err := r.Client.Delete(ctx, old); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("delete EndpointSlice %s: %w", old.Name, err)
		}
	}
	s.endpointsObserved = true
	return ctrl.Result{}, nil
}

// observeVMs reads the VMs the selector picks and keeps those that back the service.
func (r *Reconciler) observeVMs(ctx context.Context, s *scope) error {
	sel := selectorOf(s.svc)
	if sel == nil {
		return nil
	}
	vms := &vmopv1.VirtualMachineList{}
	if err := r.Client.List(ctx, vms, client.InNamespace(s.svc.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return fmt.Errorf("list VirtualMachines selected by %s: %w", s.svc.Name, err)
	}
	s.matched = len(vms.Items)
	for i := range vms.Items {
		vm := &vms.Items[i]
		ip := backing(vm)
		if ip == "" {
			continue
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil || !endpointAllowed(addr.Unmap()) {
			s.notAllowed = append(s.notAllowed, fmt.Sprintf("%s (%s)", vm.Name, ip))
			continue
		}
		s.ready = append(s.ready, endpoint{vm: vm.Name, uid: vm.UID, addr: addr.Unmap()})
	}
	slices.SortFunc(s.ready, func(a, b endpoint) int { return strings.Compare(a.vm, b.vm) })
	slices.Sort(s.notAllowed)
	return nil
}

// endpointAllowed says whether the apiserver accepts addr in an EndpointSlice: it refuses
// unspecified, loopback and link-local addresses (such as the local supervisor's loopback VMs).
func endpointAllowed(addr netip.Addr) bool {
	return !addr.IsUnspecified() && !addr.IsLoopback() && !addr.IsLinkLocalUnicast() && !addr.IsLinkLocalMulticast()
}

// writeSlice creates want, or updates have to match it.
func (r *Reconciler) writeSlice(ctx context.Context, s *scope, want, have *discoveryv1.EndpointSlice) error {
	if have == nil {
		if err := controllerutil.SetControllerReference(s.svc, want, r.Client.Scheme()); err != nil {
			return fmt.Errorf("own EndpointSlice %s: %w", want.Name, err)
		}
		if err := r.Client.Create(ctx, want); err != nil {
			return fmt.Errorf("create EndpointSlice %s: %w", want.Name, err)
		}
		return nil
	}
	if !metav1.IsControlledBy(have, s.svc) {
		return fmt.Errorf("EndpointSlice %s exists and is not controlled by VirtualMachineService %s; delete it", have.Name, s.svc.Name)
	}
	if equality.Semantic.DeepEqual(have.Endpoints, want.Endpoints) && equality.Semantic.DeepEqual(have.Ports, want.Ports) {
		return nil
	}
	before := have.DeepCopy()
	have.Endpoints, have.Ports = want.Endpoints, want.Ports
	if err := r.Client.Patch(ctx, have, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update EndpointSlice %s: %w", have.Name, err)
	}
	return nil
}

// sliceLabels mark the slices of svc: the service-name label consumers look up, and ours as
// manager, so Kubernetes' EndpointSlice controllers leave them alone.
func sliceLabels(svc *vmopv1.VirtualMachineService) map[string]string {
	return map[string]string{
		discoveryv1.LabelServiceName: svc.Name,
		discoveryv1.LabelManagedBy:   vmopv1.VirtualMachineServiceManagedBy,
	}
}

// desiredSlices are the slices of the service: for each address family its ready VMs, at most
// maxEndpointsPerSlice a slice, with the service's ports as the VMs serve them. A service without
// ready VMs (and not ExternalName) keeps one empty IPv4 slice, so consumers see its ports.
func desiredSlices(svc *vmopv1.VirtualMachineService, ready []endpoint) []*discoveryv1.EndpointSlice {
	if svc.Spec.Type == vmopv1.VirtualMachineServiceTypeExternalName {
		return nil
	}
	byFamily := map[discoveryv1.AddressType][]discoveryv1.Endpoint{discoveryv1.AddressTypeIPv4: nil}
	for _, e := range ready {
		family := discoveryv1.AddressTypeIPv4
		if e.addr.Is6() {
			family = discoveryv1.AddressTypeIPv6
		}
		byFamily[family] = append(byFamily[family], discoveryv1.Endpoint{
			Addresses:  []string{e.addr.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			TargetRef: &corev1.ObjectReference{
				APIVersion: vmopv1.GroupVersion.String(), Kind: "VirtualMachine",
				Namespace: svc.Namespace, Name: e.vm, UID: e.uid,
			},
		})
	}
	ports := slicePorts(svc)
	var out []*discoveryv1.EndpointSlice
	for _, family := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
		eps, ok := byFamily[family]
		if !ok {
			continue
		}
		for i := 0; i == 0 || i*maxEndpointsPerSlice < len(eps); i++ {
			chunk := eps[i*maxEndpointsPerSlice : min(len(eps), (i+1)*maxEndpointsPerSlice)]
			out = append(out, &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: svc.Namespace,
					Name:      fmt.Sprintf("%s-%s-%d", svc.Name, strings.ToLower(string(family)), i),
					Labels:    sliceLabels(svc),
				},
				AddressType: family,
				Endpoints:   chunk,
				Ports:       ports,
			})
		}
	}
	return out
}

// slicePorts are the service's ports as the VMs serve them: each named as the Service's port and
// numbered by its targetPort.
func slicePorts(svc *vmopv1.VirtualMachineService) []discoveryv1.EndpointPort {
	ports := make([]discoveryv1.EndpointPort, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		ports = append(ports, discoveryv1.EndpointPort{
			Name:     ptr.To(p.Name),
			Protocol: ptr.To(protocolOf(p)),
			Port:     ptr.To(targetPortOf(p)),
		})
	}
	return ports
}
