package virtualmachine

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// specErrors returns what is wrong with the VM's spec apart from its class: malformed guest data,
// and fields this release does not act on, which are refused rather than stored and ignored. On
// update (old not nil) a field is refused only when it changed, so an object stored before keeps
// accepting unrelated edits.
func specErrors(old, vm *vmopv1.VirtualMachine) field.ErrorList {
	var errs field.ErrorList
	changed := func(get func(*vmopv1.VirtualMachineSpec) any) bool {
		return old == nil || !equality.Semantic.DeepEqual(get(&old.Spec), get(&vm.Spec))
	}
	if md := vm.Spec.VmMetadata; md != nil && changed(func(s *vmopv1.VirtualMachineSpec) any { return s.VmMetadata }) {
		errs = append(errs, metadataErrors(md)...)
	}
	if p := vm.Spec.ReadinessProbe; p != nil && changed(func(s *vmopv1.VirtualMachineSpec) any { return s.ReadinessProbe }) {
		errs = append(errs, probeErrors(p)...)
	}
	if changed(func(s *vmopv1.VirtualMachineSpec) any { return s.NetworkInterfaces }) {
		errs = append(errs, networkErrors(old, vm)...)
	}
	if changed(func(s *vmopv1.VirtualMachineSpec) any { return s.Volumes }) {
		errs = append(errs, volumeErrors(old, vm)...)
	}
	if group, ok := vm.Annotations[vmopv1.ClusterModuleGroupAnnotation]; ok && vm.Spec.ResourcePolicyName == "" {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations").Key(vmopv1.ClusterModuleGroupAnnotation),
			fmt.Sprintf("cluster module group %q needs a VirtualMachineSetResourcePolicy: set spec.resourcePolicyName to the policy that has the group", group)))
	}
	for _, u := range unsupported {
		if u.set(&vm.Spec) && changed(u.get) {
			errs = append(errs, field.Forbidden(specPath.Child(u.name), u.why))
		}
	}
	return errs
}

var metadataPath = specPath.Child("vmMetadata")

// transports are the ways guest data may reach the guest.
var transports = []vmopv1.VirtualMachineMetadataTransport{
	vmopv1.VirtualMachineMetadataExtraConfigTransport,
	vmopv1.VirtualMachineMetadataOvfEnvTransport,
	vmopv1.VirtualMachineMetadataCloudInitTransport,
}

func metadataErrors(md *vmopv1.VirtualMachineMetadata) field.ErrorList {
	var errs field.ErrorList
	switch {
	case md.ConfigMapName != "" && md.SecretName != "":
		errs = append(errs, field.Invalid(metadataPath.Child("secretName"), md.SecretName,
			"set configMapName or secretName, not both"))
	case md.ConfigMapName == "" && md.SecretName == "":
		errs = append(errs, field.Required(metadataPath.Child("configMapName"),
			"name the ConfigMap (or, in secretName, the Secret) in this namespace that holds the guest data"))
	}
	if md.Transport != "" && !slices.Contains(transports, md.Transport) {
		errs = append(errs, field.NotSupported(metadataPath.Child("transport"), md.Transport, transports))
	}
	return errs
}

// cardTypes are the NIC models a networkInterface may ask for.
var cardTypes = []string{"vmxnet3", "vmxnet2", "e1000e", "e1000", "pcnet32"}

// networkErrors checks each network interface. A deployed VM's may change, but not all go: an
// empty list means the NICs the VM has, which are no longer the image's.
func networkErrors(old, vm *vmopv1.VirtualMachine) field.ErrorList {
	path := specPath.Child("networkInterfaces")
	var errs field.ErrorList
	if old != nil && len(old.Spec.NetworkInterfaces) > 0 && len(vm.Spec.NetworkInterfaces) == 0 &&
		(old.Status.UniqueID != "" || len(old.Status.NetworkInterfaces) > 0) {
		errs = append(errs, field.Forbidden(path,
			"cannot be emptied once the deploy has started: they replaced the image's NICs; list the NICs the VM keeps"))
	}
	for i, n := range vm.Spec.NetworkInterfaces {
		p := path.Index(i)
		switch n.NetworkType {
		case "":
			if n.NetworkName != "" {
				errs = append(errs, field.Invalid(p.Child("networkName"), n.NetworkName,
					"a NIC without networkType joins the namespace's network; set networkType vsphere-distributed to name a port group"))
			}
		case "vsphere-distributed":
			if n.NetworkName == "" {
				errs = append(errs, field.Required(p.Child("networkName"), "name the distributed port group"))
			}
		case "nsx-t":
			errs = append(errs, field.Forbidden(p.Child("networkType"),
				"this release supports vSphere networking only: use vsphere-distributed, or leave networkType empty for the namespace's network"))
		default:
			errs = append(errs, field.NotSupported(p.Child("networkType"), n.NetworkType, []string{"vsphere-distributed", ""}))
		}
		if n.EthernetCardType != "" && !slices.Contains(cardTypes, n.EthernetCardType) {
			errs = append(errs, field.NotSupported(p.Child("ethernetCardType"), n.EthernetCardType, cardTypes))
		}
		if n.ProviderRef != nil {
			errs = append(errs, field.Forbidden(p.Child("providerRef"), "not supported in this release; name the network with networkType and networkName"))
		}
	}
	return errs
}

// volumeErrors checks each volume, and on update that no disk shrinks.
func volumeErrors(old, vm *vmopv1.VirtualMachine) field.ErrorList {
	var errs field.ErrorList
	was := map[string]resource.Quantity{}
	if old != nil {
		for _, v := range old.Spec.Volumes {
			if v.VsphereVolume != nil {
				if q, ok := v.VsphereVolume.Size(); ok {
					was[v.Name] = q
				}
			}
		}
	}
	for i, v := range vm.Spec.Volumes {
		path := specPath.Child("volumes").Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(path.Child("name"), "name the volume; its disk is named after it"))
		} else {
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				errs = append(errs, field.Invalid(path.Child("name"), v.Name, msg))
			}
		}
		switch {
		case v.PersistentVolumeClaim != nil:
			errs = append(errs, field.Forbidden(path.Child("persistentVolumeClaim"),
				"needs the vSphere CSI driver, which is not part of this release; use vSphereVolume with a capacity"))
		case v.VsphereVolume == nil:
			errs = append(errs, field.Required(path.Child("vSphereVolume"), "give the volume a vSphereVolume with a capacity"))
		default:
			capPath := path.Child("vSphereVolume", "capacity")
			if v.VsphereVolume.DeviceKey != nil {
				errs = append(errs, field.Forbidden(path.Child("vSphereVolume", "deviceKey"), "not supported in this release; give a capacity for a new disk"))
			}
			q, ok := v.VsphereVolume.Size()
			switch {
			case !ok:
				errs = append(errs, field.Required(capPath, "set ephemeral-storage (or storage) to the disk's size, such as 10Gi"))
			case q.Sign() <= 0:
				errs = append(errs, field.Invalid(capPath, q.String(), "must be more than 0"))
			default:
				if before, ok := was[v.Name]; ok && q.Cmp(before) < 0 {
					errs = append(errs, field.Forbidden(capPath, fmt.Sprintf("cannot shrink from %s to %s: a disk only grows", before.String(), q.String())))
				}
			}
		}
	}
	return errs
}

var probePath = specPath.Child("readinessProbe")

func probeErrors(p *vmopv1.Probe) field.ErrorList {
	var errs field.ErrorList
	switch {
	case p.TCPSocket != nil && p.GuestHeartbeat != nil:
		errs = append(errs, field.Invalid(probePath, "tcpSocket and guestHeartbeat", "set one action: tcpSocket or guestHeartbeat"))
	case p.TCPSocket == nil && p.GuestHeartbeat == nil:
		errs = append(errs, field.Required(probePath.Child("tcpSocket"), "set one action: tcpSocket or guestHeartbeat"))
	case p.TCPSocket != nil:
		port := p.TCPSocket.Port
		portPath := probePath.Child("tcpSocket", "port")
		if port.Type == intstr.String {
			errs = append(errs, field.Invalid(portPath, port.StrVal, "must be a port number: a VM has no named ports"))
		} else if port.IntVal < 1 || port.IntVal > 65535 {
			errs = append(errs, field.Invalid(portPath, port.IntVal, "must be between 1 and 65535"))
		}
	}
	return errs
}

// unsupported are the spec fields this release refuses, each with what to do instead.
var unsupported = []struct {
	name string
	get  func(*vmopv1.VirtualMachineSpec) any
	set  func(*vmopv1.VirtualMachineSpec) bool
	why  string
}{
	{"ports",
		func(s *vmopv1.VirtualMachineSpec) any { return s.Ports },
		func(s *vmopv1.VirtualMachineSpec) bool { return len(s.Ports) > 0 },
		"not acted on (upstream deprecated it too): expose the VM's ports with a Service; remove ports"},
	{"advancedOptions",
		func(s *vmopv1.VirtualMachineSpec) any { return s.AdvancedOptions },
		func(s *vmopv1.VirtualMachineSpec) bool { return s.AdvancedOptions != nil },
		"not supported in this release: disks are provisioned as the image and storage policy say; remove advancedOptions"},
}
