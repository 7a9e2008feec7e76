package vcentersync

import (
	"fmt"
	"sort"

	"github.com/vmware/govmomi/vapi/namespace"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
)

const mebibyte = 1024 * 1024

// desiredState is what Kubernetes should hold for one vCenter inventory.
type desiredState struct {
	namespaces []string
	classes    map[string]*vmopv1.VirtualMachineClass
	bindings   map[types.NamespacedName]*vmopv1.VirtualMachineClassBinding
	// storageClasses are the policies assigned to any namespace; quotas each namespace's
	// storage quota, by namespace.
	storageClasses map[string]*storagev1.StorageClass
	quotas         map[string]*corev1.ResourceQuota
	// skipped explains each vCenter object that cannot be mirrored, for the log.
	skipped []string
}

// desiredFrom maps a complete vCenter inventory to the objects the sync owns: every namespace,
// every class assigned to at least one namespace, and one binding per assignment.
func desiredFrom(inv *namespaces.Inventory) desiredState {
	want := desiredState{
		classes:        map[string]*vmopv1.VirtualMachineClass{},
		bindings:       map[types.NamespacedName]*vmopv1.VirtualMachineClassBinding{},
		storageClasses: map[string]*storagev1.StorageClass{},
		quotas:         map[string]*corev1.ResourceQuota{},
	}
	for _, ns := range sortedKeys(inv.Namespaces) {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			want.skipped = append(want.skipped, fmt.Sprintf("namespace %q: not a valid Kubernetes namespace name: %v", ns, errs))
			continue
		}
		want.namespaces = append(want.namespaces, ns)
		if policies := inv.Storage[ns]; len(policies) > 0 {
			for _, p := range policies {
				want.storageClasses[p.Name] = storageClassFor(p)
			}
			want.quotas[ns] = quotaFor(ns, policies)
		}
		for _, class := range inv.Namespaces[ns] {
			info, ok := inv.Classes[class]
			if !ok {
				want.skipped = append(want.skipped, fmt.Sprintf("class %q assigned to namespace %q is not defined in vCenter", class, ns))
				continue
			}
			if errs := validation.IsDNS1123Subdomain(class); len(errs) > 0 {
				want.skipped = append(want.skipped, fmt.Sprintf("class %q: not a valid Kubernetes name: %v", class, errs))
				continue
			}
			if problem := unmirrorableDevice(info.Devices); problem != "" {
				want.skipped = append(want.skipped, fmt.Sprintf("class %q: %s", class, problem))
				continue
			}
			want.classes[class] = classFor(info)
			b := bindingFor(ns, class)
			want.bindings[types.NamespacedName{Namespace: ns, Name: class}] = b
		}
	}
	return want
}

// classFor mirrors a vCenter VM class. A class with any CPU or memory reservation in vCenter is
// guaranteed: it requests all of its hardware. Otherwise it is best-effort and requests nothing.
func classFor(info namespace.VirtualMachineClassInfo) *vmopv1.VirtualMachineClass {
	memory := *resource.NewQuantity(info.MemoryMb*mebibyte, resource.BinarySI)
	c := &vmopv1.VirtualMachineClass{
		ObjectMeta: managedMeta("", info.Id),
		Spec: vmopv1.VirtualMachineClassSpec{
			Hardware: vmopv1.VirtualMachineClassHardware{
				Cpus:    info.CpuCount,
				Memory:  memory,
				Devices: devicesFor(info.Devices),
			},
		},
	}
	if info.CpuReservation > 0 || info.MemoryReservation > 0 {
		c.Spec.Policies.Resources.Requests = vmopv1.VirtualMachineResourceSpec{
			Cpu:    *resource.NewQuantity(info.CpuCount, resource.DecimalSI),
			Memory: memory.DeepCopy(),
		}
	}
	return c
}

// maxPCIID is the largest PCI vendor or device id: they are 16 bits.
const maxPCIID = 0xFFFF

// unmirrorableDevice says why the VirtualMachineClass CRD's schema would refuse one of a vCenter
// class's devices, or "" when it accepts them all. Such a class is skipped rather than failing
// every sync on its create.
func unmirrorableDevice(in namespace.VirtualDevices) string {
	for i, d := range in.VgpuDevices {
		if d.ProfileName == "" {
			return fmt.Sprintf("vGPU device %d has no profile name", i)
		}
	}
	for i, d := range in.DirectPathIoDevices {
		if d.VendorId < 1 || d.VendorId > maxPCIID || d.DeviceId < 1 || d.DeviceId > maxPCIID {
			return fmt.Sprintf("DirectPath I/O device %d has vendor id %d and device id %d; PCI ids are 1 to %d", i, d.VendorId, d.DeviceId, maxPCIID)
		}
	}
	return ""
}

func devicesFor(in namespace.VirtualDevices) vmopv1.VirtualDevices {
	var out vmopv1.VirtualDevices
	for _, d := range in.VgpuDevices {
		out.VGPUDevices = append(out.VGPUDevices, vmopv1.VGPUDevice{ProfileName: d.ProfileName})
	}
	for _, d := range in.DirectPathIoDevices {
		out.DynamicDirectPathIODevices = append(out.DynamicDirectPathIODevices, vmopv1.DynamicDirectPathIODevice{
			VendorID: int(d.VendorId), DeviceID: int(d.DeviceId), CustomLabel: d.CustomLabel,
		})
	}
	return out
}

// bindingFor mirrors the assignment of class to namespace ns; the binding is named after the class.
func bindingFor(ns, class string) *vmopv1.VirtualMachineClassBinding {
	return &vmopv1.VirtualMachineClassBinding{
		ObjectMeta: managedMeta(ns, class),
		ClassRef: vmopv1.ClassReference{
			APIVersion: vmopv1.GroupVersion.String(),
			Kind:       vmopv1.VirtualMachineClassKind,
			Name:       class,
		},
	}
}

// namespaceFor mirrors a vCenter namespace.
func namespaceFor(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: managedMeta("", name)}
}

func managedMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: namespace,
		Name:      name,
		Labels:    map[string]string{vmopv1.VCenterSyncLabel: vmopv1.VCenterSyncLabelValue},
	}
}

// isManaged reports whether the sync created obj and so may change or delete it.
func isManaged(obj metav1.Object) bool {
	return obj.GetLabels()[vmopv1.VCenterSyncLabel] == vmopv1.VCenterSyncLabelValue
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
