package virtualmachine

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/guestdata"
	"github.com/vm-service/vm-service/internal/index"
	"github.com/vm-service/vm-service/internal/vsphere"
)

// Guest data comes from ConfigMaps and Secrets. They are watched metadata-only and read from the
// apiserver when a VM needs them, so no Secret's data is ever held in the manager's cache.
// +kubebuilder:rbac:groups="",resources=configmaps;secrets,verbs=get;list;watch

// guestData is what a reconcile learned about a VM's spec.vmMetadata.
type guestData struct {
	// source names the ConfigMap or Secret, for messages: `ConfigMap "user-data"`.
	source string
	// data is its data; missing says it does not exist.
	data    map[string]string
	missing bool
}

// readGuestData reads the ConfigMap or Secret the VM's guest data comes from, from the apiserver.
func (r *Reconciler) readGuestData(ctx context.Context, s *scope) (ctrl.Result, error) {
	md := s.vm.Spec.VmMetadata
	if md == nil {
		return ctrl.Result{}, nil
	}
	key := client.ObjectKey{Namespace: s.vm.Namespace}
	var obj client.Object
	gd := &guestData{}
	switch {
	case md.SecretName != "":
		key.Name, obj = md.SecretName, &corev1.Secret{}
		gd.source = fmt.Sprintf("Secret %q", md.SecretName)
	default:
		key.Name, obj = md.ConfigMapName, &corev1.ConfigMap{}
		gd.source = fmt.Sprintf("ConfigMap %q", md.ConfigMapName)
	}
	// client-go logs every response body at verbosity 8 through the context's logger: guest data
	// must not reach a log however verbose, so this one read logs nothing.
	err := r.readers().Fresh().Get(ctrl.LoggerInto(ctx, logr.Discard()), key, obj)
	switch {
	case apierrors.IsNotFound(err):
		gd.missing = true
		s.log.Info("guest data not found; a new VM waits for it", "source", gd.source)
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("read guest data from %s: %w", gd.source, err)
	default:
		gd.data = dataOf(obj)
	}
	s.guestData = gd
	return ctrl.Result{}, nil // the ConfigMap and Secret watches bring the VM back
}

func dataOf(obj client.Object) map[string]string {
	data := map[string]string{}
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		for k, v := range o.Data {
			data[k] = v
		}
		for k, v := range o.BinaryData {
			data[k] = string(v)
		}
	case *corev1.Secret:
		for k, v := range o.Data {
			data[k] = string(v)
		}
		for k, v := range o.StringData {
			data[k] = v
		}
	}
	return data
}

// guestResult is what the VM's guest data sets, for NICs as the guest will see them: nothing
// (nil maps) when there is nothing to apply (no source read, or it is missing and the VM keeps
// what it had), with the keys left out.
func guestResult(vm *vmopv1.VirtualMachine, gd *guestData, nics []guestdata.NIC) (guestdata.Result, error) {
	if vm.Spec.VmMetadata == nil {
		return guestdata.None(), nil // removes what was set before
	}
	if gd == nil || gd.missing {
		return guestdata.Result{}, nil
	}
	return guestdata.Compute(guestdata.Input{Transport: vm.Spec.VmMetadata.Transport, Data: gd.data,
		InstanceID: string(vm.UID), HostName: vsphere.HostName(vm.Name), NICs: nics})
}

// setGuestData checks the VM's guest data, recording what it leaves out or why it cannot be
// applied, and gives the provider what computes it once the VM's NICs exist. It says whether the
// VM may be deployed: a new VM with guest data that cannot be applied is not; an existing one
// keeps the guest data it has.
func setGuestData(s *scope, spec *vsphere.VMSpec) bool {
	vm, ips := s.vm, spec.StaticIPs()
	checked, err := guestResult(vm, s.guestData, guestNICs(nil, ips))
	s.guestIgnored, s.guestErr = checked.Ignored, err
	if err != nil || checked.ExtraConfig == nil {
		return err == nil || s.existed
	}
	gd := s.guestData
	spec.GuestData = func(nics []vsphere.NICState) (vsphere.GuestData, error) {
		r, err := guestResult(vm, gd, guestNICs(nics, ips))
		return vsphere.GuestData{ExtraConfig: r.ExtraConfig, VAppProperties: r.VAppProperties}, err
	}
	return true
}

// guestNICs are the NICs as cloud-init configures them: vSphere's cards (once made) with the
// static addresses asked for.
func guestNICs(cards []vsphere.NICState, ips []*vsphere.StaticIP) []guestdata.NIC {
	out := make([]guestdata.NIC, max(len(cards), len(ips)))
	for i := range out {
		if i < len(cards) {
			out[i].MAC = cards[i].MACAddress
		}
		if i < len(ips) && ips[i] != nil {
			ip := ips[i]
			out[i].IP = &guestdata.Network{Address: ip.Address, Netmask: ip.Netmask, Gateway: ip.Gateway, DNSServers: ip.DNSServers}
		}
	}
	return out
}

// metadataCondition states whether the guest data is there and applied as given. Its messages
// name the source and keys, never values.
func metadataCondition(in statusInput, exists bool) *vmopv1.Condition {
	t := vmopv1.VirtualMachineMetadataReadyCondition
	md, gd := in.Metadata, in.GuestData
	switch {
	case md == nil:
		return ptr(conditions.True(t))
	case gd == nil:
		return nil
	case gd.missing && exists:
		return ptr(conditions.False(t, vmopv1.VirtualMachineMetadataNotFoundReason, vmopv1.ConditionSeverityWarning,
			"%s not found in namespace %q; the VM keeps the guest data it has", gd.source, in.Namespace))
	case gd.missing:
		return ptr(conditions.False(t, vmopv1.VirtualMachineMetadataNotFoundReason, vmopv1.ConditionSeverityError,
			"%s not found in namespace %q; the VM is made once it exists", gd.source, in.Namespace))
	case in.GuestErr != nil:
		return ptr(conditions.False(t, vmopv1.VirtualMachineMetadataInvalidReason, vmopv1.ConditionSeverityError,
			"guest data from %s cannot be applied: %v", gd.source, in.GuestErr))
	case len(in.GuestIgnored) > 0:
		return ptr(conditions.False(t, vmopv1.VirtualMachineMetadataKeysIgnoredReason, vmopv1.ConditionSeverityWarning,
			"keys of %s not applied by transport %s: %s; %s", gd.source, transportOf(md), strings.Join(in.GuestIgnored, ", "), ignoredHint(md)))
	case transportOf(md) == vmopv1.VirtualMachineMetadataOvfEnvTransport:
		return propertiesCondition(gd, in.State, exists)
	}
	return ptr(conditions.True(t))
}

// propertiesCondition states whether the VM declares a vApp property for every key of the OvfEnv
// data, which only vSphere knows: it is kept as it was when vSphere was not reached this pass.
func propertiesCondition(gd *guestData, state *vsphere.VMState, exists bool) *vmopv1.Condition {
	t := vmopv1.VirtualMachineMetadataReadyCondition
	switch {
	case state == nil && exists:
		return nil
	case state == nil:
		return ptr(conditions.Unknown(t, vmopv1.VirtualMachineMetadataPropertiesPendingReason,
			"the keys of %s are matched to the image's vApp properties once the VM is deployed", gd.source))
	case len(state.UndeclaredProperties) > 0:
		return ptr(conditions.False(t, vmopv1.VirtualMachineMetadataPropertiesNotDeclaredReason, vmopv1.ConditionSeverityWarning,
			"keys of %s not applied: the VM's image declares no user-configurable vApp property %s",
			gd.source, strings.Join(state.UndeclaredProperties, ", ")))
	}
	return ptr(conditions.True(t))
}

func transportOf(md *vmopv1.VirtualMachineMetadata) vmopv1.VirtualMachineMetadataTransport {
	if t := md.Transport; t != "" {
		return t
	}
	return vmopv1.VirtualMachineMetadataExtraConfigTransport
}

func ignoredHint(md *vmopv1.VirtualMachineMetadata) string {
	if transportOf(md) == vmopv1.VirtualMachineMetadataCloudInitTransport {
		return "CloudInit reads only user-data and ssh-public-keys"
	}
	return "only keys starting with guestinfo. are set, since any other ExtraConfig key could change how vSphere runs the VM"
}

// configMapToVirtualMachines re-queues the VMs of the ConfigMap's namespace whose guest data it holds.
func (r *Reconciler) configMapToVirtualMachines(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.virtualMachines(ctx, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{index.VirtualMachineGuestData: index.GuestDataSource("ConfigMap", obj.GetName())})
}

// secretToVirtualMachines re-queues the VMs of the Secret's namespace whose guest data it holds.
func (r *Reconciler) secretToVirtualMachines(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.virtualMachines(ctx, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{index.VirtualMachineGuestData: index.GuestDataSource("Secret", obj.GetName())})
}
