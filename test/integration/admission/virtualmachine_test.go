package admission_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("VirtualMachine admission", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("admits a VM whose class is bound by a binding with another name", func() {
		ensureClasses("best-effort-small")
		Expect(admin.Create(ctx, objects.Binding(ns, "small-for-tests", "best-effort-small"))).To(Succeed())
		created(admin, objects.VM(ns, "vm", "best-effort-small", "ubuntu"))
	})

	It("refuses a class bound only in another namespace, naming the class, namespace and bound classes", func() {
		other := newNamespace()
		bind(other, "guaranteed-xlarge")
		bind(ns, "guaranteed-large")
		Expect(admin.Create(ctx, objects.VM(other, "probe", "guaranteed-xlarge", "ubuntu"))).To(Succeed())

		err := admin.Create(ctx, objects.VM(ns, "vm", "guaranteed-xlarge", "ubuntu"))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("spec.className"))
		Expect(err.Error()).To(ContainSubstring(`spec.className: Invalid value: "guaranteed-xlarge": VirtualMachineClass "guaranteed-xlarge" is not bound in namespace "%s" (bound here: guaranteed-large)`, ns))
	})

	It("refuses a class that does not exist", func() {
		err := admin.Create(ctx, objects.VM(ns, "vm", "no-such-class", "ubuntu"))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring(`VirtualMachineClass "no-such-class" does not exist (bound in namespace "%s": none)`, ns))
	})

	It("refuses the second of two VMs when the binding is deleted between them", func() {
		bind(ns, "best-effort-medium")
		created(admin, objects.VM(ns, "first", "best-effort-medium", "ubuntu"))
		Expect(admin.Delete(ctx, objects.Binding(ns, "best-effort-medium", "best-effort-medium"))).To(Succeed())

		Eventually(func() error {
			return admin.Create(ctx, objects.VM(ns, "second", "best-effort-medium", "ubuntu"))
		}).Should(MatchError(ContainSubstring("is not bound in namespace")))
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "first"}, &vmopv1.VirtualMachine{})).To(Succeed(), "revocation never removes an existing VM")
	})

	It("answers server-side dry-run without persisting anything", func() {
		err := admin.Create(ctx, objects.VM(ns, "dry", "best-effort-large", "ubuntu"), client.DryRunAll)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)

		bind(ns, "best-effort-large")
		Eventually(func() error {
			return admin.Create(ctx, objects.VM(ns, "dry", "best-effort-large", "ubuntu"), client.DryRunAll)
		}).Should(Succeed())
		err = admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dry"}, &vmopv1.VirtualMachine{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "dry-run persisted the VM: %v", err)
	})

	It("checks a changed class on update and keeps the class fixed once the VM exists in vSphere", func() {
		bind(ns, "best-effort-xsmall", "guaranteed-xsmall")
		vm := objects.VM(ns, "vm", "best-effort-xsmall", "ubuntu")
		created(admin, vm)

		vm.Spec.ClassName = "best-effort-4xlarge"
		ensureClasses("best-effort-4xlarge")
		err := admin.Update(ctx, vm)
		Expect(err).To(MatchError(ContainSubstring(`"best-effort-4xlarge" is not bound`)))

		vm.Spec.ClassName = "guaranteed-xsmall"
		Expect(admin.Update(ctx, vm)).To(Succeed(), "a bound class may replace another before the VM is deployed")

		vm.Status.UniqueID = "vm-42"
		Expect(admin.Status().Update(ctx, vm)).To(Succeed())
		vm.Spec.ClassName, vm.Spec.ImageName = "best-effort-xsmall", "photon"
		err = admin.Update(ctx, vm)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("spec.className", "spec.imageName"))
	})

	It("admits edits of a deployed VM's network interfaces, checked as new ones, but not emptying them", func() {
		bind(ns, "best-effort-xsmall")
		vm := objects.VM(ns, "vm", "best-effort-xsmall", "ubuntu")
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{}}
		created(admin, vm)
		vm.Status.UniqueID = "vm-42"
		Expect(admin.Status().Update(ctx, vm)).To(Succeed())

		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{
			{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0"}, {EthernetCardType: "e1000e"}}
		Expect(admin.Update(ctx, vm)).To(Succeed(), "a NIC moved to a port group and one added")

		vm.Spec.NetworkInterfaces[1].EthernetCardType = "rtl8139"
		err := admin.Update(ctx, vm)
		Expect(causes(err)).To(ConsistOf("spec.networkInterfaces[1].ethernetCardType"))

		vm.Spec.NetworkInterfaces = nil
		err = admin.Update(ctx, vm)
		Expect(causes(err)).To(ConsistOf("spec.networkInterfaces"))
		Expect(err.Error()).To(ContainSubstring("cannot be emptied once the deploy has started"))
	})

	It("answers a malformed VM with a 4xx and a clear message, never a 500", func() {
		u := objects.VM(ns, "bad", "", "")
		u.Spec.PowerState = "sleeping"
		err := admin.Create(ctx, u)
		Expect(err).To(HaveOccurred())
		status := err.(apierrors.APIStatus).Status()
		Expect(status.Code).To(BeNumerically(">=", 400))
		Expect(status.Code).To(BeNumerically("<", 500))
		Expect(err.Error()).To(ContainSubstring("spec.powerState"))
	})

	It("refuses malformed guest data, naming each field", func() {
		bind(ns, "best-effort-xsmall")
		both := objects.VM(ns, "both", "best-effort-xsmall", "ubuntu")
		both.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "a", SecretName: "b", Transport: vmopv1.VirtualMachineMetadataOvfEnvTransport}
		err := admin.Create(ctx, both)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("spec.vmMetadata.secretName"))
		Expect(err.Error()).To(ContainSubstring("set configMapName or secretName, not both"))

		neither := objects.VM(ns, "neither", "best-effort-xsmall", "ubuntu")
		neither.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{Transport: vmopv1.VirtualMachineMetadataCloudInitTransport}
		err = admin.Create(ctx, neither)
		Expect(causes(err)).To(ConsistOf("spec.vmMetadata.configMapName"))

		ok := objects.VM(ns, "cloud", "best-effort-xsmall", "ubuntu")
		ok.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{SecretName: "user-data", Transport: vmopv1.VirtualMachineMetadataCloudInitTransport}
		Expect(admin.Create(ctx, ok)).To(Succeed())
	})

	It("admits guest data with transport OvfEnv, from a ConfigMap or a Secret", func() {
		bind(ns, "best-effort-xsmall")
		fromConfigMap := objects.VM(ns, "ovf-cm", "best-effort-xsmall", "ubuntu")
		fromConfigMap.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "props", Transport: vmopv1.VirtualMachineMetadataOvfEnvTransport}
		Expect(admin.Create(ctx, fromConfigMap)).To(Succeed())
		fromSecret := objects.VM(ns, "ovf-secret", "best-effort-xsmall", "ubuntu")
		fromSecret.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{SecretName: "props", Transport: vmopv1.VirtualMachineMetadataOvfEnvTransport}
		Expect(admin.Create(ctx, fromSecret)).To(Succeed())
	})

	It("refuses every field this release does not act on, all at once, instead of storing and ignoring it", func() {
		bind(ns, "best-effort-xsmall")
		vm := objects.VM(ns, "unsupported", "best-effort-xsmall", "ubuntu")
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{NetworkType: "nsx-t", NetworkName: "n"}}
		vm.Spec.Ports = []vmopv1.VirtualMachinePort{{Port: 22, Name: "ssh", Protocol: "TCP"}}
		vm.Spec.AdvancedOptions = &vmopv1.VirtualMachineAdvancedOptions{ChangeBlockTracking: ptr.To(true)}
		err := admin.Create(ctx, vm)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(causes(err)).To(ConsistOf("spec.networkInterfaces[0].networkType", "spec.ports", "spec.advancedOptions"))
		Expect(err.Error()).To(ContainSubstring("this release supports vSphere networking only"))
	})

	DescribeTable("refuses a malformed readiness probe, naming the field",
		func(p vmopv1.Probe, field, message string) {
			bind(ns, "best-effort-xsmall")
			vm := objects.VM(ns, "probed", "best-effort-xsmall", "ubuntu")
			vm.Spec.ReadinessProbe = &p
			err := admin.Create(ctx, vm)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			Expect(causes(err)).To(ConsistOf(field))
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("both actions", vmopv1.Probe{TCPSocket: &vmopv1.TCPSocketAction{Port: intstr.FromInt32(22)}, GuestHeartbeat: &vmopv1.GuestHeartbeatAction{}},
			"spec.readinessProbe", "set one action"),
		Entry("no action", vmopv1.Probe{PeriodSeconds: 5}, "spec.readinessProbe.tcpSocket", "set one action"),
		Entry("port 0", vmopv1.Probe{TCPSocket: &vmopv1.TCPSocketAction{Port: intstr.FromInt32(0)}}, "spec.readinessProbe.tcpSocket.port", "between 1 and 65535"),
		Entry("port 65536", vmopv1.Probe{TCPSocket: &vmopv1.TCPSocketAction{Port: intstr.FromInt32(65536)}}, "spec.readinessProbe.tcpSocket.port", "between 1 and 65535"),
		Entry("a named port", vmopv1.Probe{TCPSocket: &vmopv1.TCPSocketAction{Port: intstr.FromString("ssh")}}, "spec.readinessProbe.tcpSocket.port", "a VM has no named ports"),
		Entry("a negative period", vmopv1.Probe{GuestHeartbeat: &vmopv1.GuestHeartbeatAction{}, PeriodSeconds: -1}, "spec.readinessProbe.periodSeconds", "should be greater than or equal to 1"),
		Entry("a timeout over a minute", vmopv1.Probe{GuestHeartbeat: &vmopv1.GuestHeartbeatAction{}, TimeoutSeconds: 61}, "spec.readinessProbe.timeoutSeconds", "should be less than or equal to 60"),
	)

	DescribeTable("refuses a malformed volume, naming the field",
		func(v vmopv1.VirtualMachineVolume, field, message string) {
			bind(ns, "best-effort-xsmall")
			vm := objects.VM(ns, "disks", "best-effort-xsmall", "ubuntu")
			vm.Spec.Volumes = []vmopv1.VirtualMachineVolume{v}
			err := admin.Create(ctx, vm)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			Expect(causes(err)).To(ContainElement(field))
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("a claim", vmopv1.VirtualMachineVolume{Name: "data", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}},
			"spec.volumes[0].persistentVolumeClaim", "needs the vSphere CSI driver"),
		Entry("no source", vmopv1.VirtualMachineVolume{Name: "data"}, "spec.volumes[0].vSphereVolume", "with a capacity"),
		Entry("no capacity", vmopv1.VirtualMachineVolume{Name: "data", VsphereVolume: &vmopv1.VsphereVolumeSource{}},
			"spec.volumes[0].vSphereVolume.capacity", "set ephemeral-storage (or storage)"),
		Entry("a name that is not a DNS label", vmopv1.VirtualMachineVolume{Name: "Data_1", VsphereVolume: disk("1Gi")},
			"spec.volumes[0].name", "RFC 1123 label"),
		Entry("no name", vmopv1.VirtualMachineVolume{VsphereVolume: disk("1Gi")}, "spec.volumes[0].name", "Required value"),
	)

	It("refuses two volumes with one name, and a disk that shrinks, but lets it grow", func() {
		bind(ns, "best-effort-xsmall")
		vm := objects.VM(ns, "disks", "best-effort-xsmall", "ubuntu")
		vm.Spec.Volumes = []vmopv1.VirtualMachineVolume{{Name: "data", VsphereVolume: disk("1Gi")}, {Name: "data", VsphereVolume: disk("2Gi")}}
		err := admin.Create(ctx, vm)
		Expect(err).To(MatchError(ContainSubstring(`spec.volumes[1]: Duplicate value`)))

		vm.Spec.Volumes = vm.Spec.Volumes[:1]
		Expect(admin.Create(ctx, vm)).To(Succeed())
		vm.Spec.Volumes[0].VsphereVolume = disk("512Mi")
		err = admin.Update(ctx, vm)
		Expect(causes(err)).To(ConsistOf("spec.volumes[0].vSphereVolume.capacity"))
		Expect(err.Error()).To(ContainSubstring("cannot shrink from 1Gi to 512Mi"))
		vm.Spec.Volumes[0].VsphereVolume = disk("4Gi")
		Expect(admin.Update(ctx, vm)).To(Succeed())
	})

	DescribeTable("refuses a malformed network interface, naming the field",
		func(n vmopv1.VirtualMachineNetworkInterface, field, message string) {
			bind(ns, "best-effort-xsmall")
			vm := objects.VM(ns, "nics", "best-effort-xsmall", "ubuntu")
			vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{}, n}
			err := admin.Create(ctx, vm)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			Expect(causes(err)).To(ConsistOf(field))
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("a port group without a name", vmopv1.VirtualMachineNetworkInterface{NetworkType: "vsphere-distributed"},
			"spec.networkInterfaces[1].networkName", "name the distributed port group"),
		Entry("a name without a type", vmopv1.VirtualMachineNetworkInterface{NetworkName: "DC0_DVPG0"},
			"spec.networkInterfaces[1].networkName", "set networkType vsphere-distributed"),
		Entry("an unknown type", vmopv1.VirtualMachineNetworkInterface{NetworkType: "flannel"},
			"spec.networkInterfaces[1].networkType", "Unsupported value"),
		Entry("an unknown card", vmopv1.VirtualMachineNetworkInterface{EthernetCardType: "rtl8139"},
			"spec.networkInterfaces[1].ethernetCardType", "Unsupported value"),
		Entry("a provider reference", vmopv1.VirtualMachineNetworkInterface{ProviderRef: &vmopv1.NetworkInterfaceProviderReference{Kind: "NetworkInterface", Name: "n"}},
			"spec.networkInterfaces[1].providerRef", "not supported in this release"),
	)
})

// disk is a vSphere volume of the given size.
func disk(size string) *vmopv1.VsphereVolumeSource {
	return &vmopv1.VsphereVolumeSource{Capacity: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse(size)}}
}
