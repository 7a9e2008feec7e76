// Package objects builds valid API objects for specs, so each spec states only what it varies.
package objects

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/storageaccess"
)

// GuaranteedClass is a class that reserves all of its hardware.
func GuaranteedClass(name string, cpus int64, memory string) *vmopv1.VirtualMachineClass {
	c := BestEffortClass(name, cpus, memory)
	c.Spec.Policies.Resources.Requests = vmopv1.VirtualMachineResourceSpec{
		Cpu:    *resource.NewMilliQuantity(cpus*1000, resource.DecimalSI),
		Memory: resource.MustParse(memory),
	}
	return c
}

// BestEffortClass is a class that reserves nothing.
func BestEffortClass(name string, cpus int64, memory string) *vmopv1.VirtualMachineClass {
	return &vmopv1.VirtualMachineClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: vmopv1.VirtualMachineClassSpec{
			Hardware: vmopv1.VirtualMachineClassHardware{Cpus: cpus, Memory: resource.MustParse(memory)},
		},
	}
}

// Binding binds class in namespace, under a name of its own.
func Binding(namespace, name, class string) *vmopv1.VirtualMachineClassBinding {
	return &vmopv1.VirtualMachineClassBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		ClassRef: vmopv1.ClassReference{
			APIVersion: vmopv1.GroupVersion.String(),
			Kind:       vmopv1.VirtualMachineClassKind,
			Name:       class,
		},
	}
}

// VM is a powered-on VirtualMachine of class from image.
func VM(namespace, name, class, image string) *vmopv1.VirtualMachine {
	return &vmopv1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: vmopv1.VirtualMachineSpec{
			ClassName:    class,
			ImageName:    image,
			PowerState:   vmopv1.VirtualMachinePoweredOn,
			StorageClass: "vsan-default-storage-policy",
		},
	}
}

// Cluster is the walkthrough's cluster shape: 3 control plane nodes and 5 workers.
func Cluster(namespace, name, controlPlaneClass, workerClass string) *runv1.TanzuKubernetesCluster {
	return &runv1.TanzuKubernetesCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: runv1.TanzuKubernetesClusterSpec{
			Topology: runv1.Topology{
				ControlPlane: runv1.TopologySettings{Count: 3, Class: controlPlaneClass, StorageClass: "vsan-default-storage-policy"},
				Workers:      runv1.TopologySettings{Count: 5, Class: workerClass, StorageClass: "vsan-default-storage-policy"},
			},
			Distribution: runv1.Distribution{Version: "v1.20.2"},
		},
	}
}

// Release is a TanzuKubernetesRelease of the given full version, booting from image.
func Release(version, kubernetesVersion, image string) *runv1.TanzuKubernetesRelease {
	return &runv1.TanzuKubernetesRelease{
		ObjectMeta: metav1.ObjectMeta{Name: runv1.ReleaseName(version)},
		Spec: runv1.TanzuKubernetesReleaseSpec{
			Version:           version,
			KubernetesVersion: kubernetesVersion,
			NodeImageName:     image,
		},
	}
}

// StorageClass is the StorageClass of a vSphere storage policy.
func StorageClass(name, policyID string) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: name},
		Provisioner: "csi.vsphere.vmware.com",
		Parameters:  map[string]string{storageaccess.PolicyIDParameter: policyID},
	}
}

// StorageQuota assigns storageClasses to namespace, as vCenter's storage quota does.
func StorageQuota(namespace string, storageClasses ...string) *corev1.ResourceQuota {
	hard := corev1.ResourceList{}
	for _, sc := range storageClasses {
		hard[storageaccess.QuotaResource(sc)] = resource.MustParse("1Ti")
	}
	return &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: storageaccess.QuotaName(namespace)},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}
}

// Image is an OVF VirtualMachineImage from the content library.
func Image(name string) *vmopv1.VirtualMachineImage {
	return &vmopv1.VirtualMachineImage{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       vmopv1.VirtualMachineImageSpec{Type: "ovf", ImageSourceType: "Content Library"},
	}
}

// VMService is a ClusterIP VirtualMachineService selecting the VMs labelled app=<app>, with one
// port named http from 80 to 8080.
func VMService(namespace, name, app string) *vmopv1.VirtualMachineService {
	return &vmopv1.VirtualMachineService{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: vmopv1.VirtualMachineServiceSpec{
			Type:     vmopv1.VirtualMachineServiceTypeClusterIP,
			Selector: map[string]string{"app": app},
			Ports:    []vmopv1.VirtualMachineServicePort{{Name: "http", Protocol: "TCP", Port: 80, TargetPort: 8080}},
		},
	}
}
