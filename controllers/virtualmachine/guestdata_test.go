package virtualmachine_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

func decoded(s string) string {
	GinkgoHelper()
	b, err := base64.StdEncoding.DecodeString(s)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// cloudInitMetadata is guestinfo.metadata as cloud-init reads it.
type cloudInitMetadata struct {
	InstanceID string `json:"instance-id"`
	Hostname   string `json:"local-hostname"`
	Network    struct {
		Ethernets map[string]struct {
			Addresses []string          `json:"addresses"`
			Match     map[string]string `json:"match"`
		} `json:"ethernets"`
	} `json:"network"`
}

var _ = Describe("Guest data", func() {
	var ns, class string
	BeforeEach(func() { ns, class = boundNamespace() })

	It("sets a ConfigMap's guestinfo keys as ExtraConfig, names the keys it leaves out, and follows edits", func() {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "guest"},
			Data: map[string]string{"guestinfo.role": "web", "guestinfo.tier": "front", "RUN.container": "busybox"}}
		Expect(k8s.Create(ctx, cm)).To(Succeed())
		vm := objects.VM(ns, "extra", class, ubuntu.Name)
		vm.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "guest", Transport: vmopv1.VirtualMachineMetadataExtraConfigTransport}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		poweredOn(vm)

		ec := inVSphere(vm).ExtraConfig
		Expect(ec).To(HaveKeyWithValue("guestinfo.role", "web"))
		Expect(ec).To(HaveKeyWithValue("guestinfo.tier", "front"))
		Expect(ec).NotTo(HaveKey("RUN.container"), "only guestinfo keys ever reach vSphere")
		Expect(metadataReady(vm)).To(And(HaveField("Reason", vmopv1.VirtualMachineMetadataKeysIgnoredReason),
			HaveField("Message", ContainSubstring("RUN.container"))))

		By("editing the ConfigMap: a changed key, a removed key, and the ignored key gone")
		cm.Data = map[string]string{"guestinfo.role": "db"}
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		Eventually(func(g Gomega) {
			ec, err := inVSphereNow(vm)()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ec.ExtraConfig).To(HaveKeyWithValue("guestinfo.role", "db"))
			g.Expect(ec.ExtraConfig).NotTo(HaveKey("guestinfo.tier"))
		}).Should(Succeed())
		Eventually(func() corev1.ConditionStatus { return metadataReady(vm).Status }).Should(Equal(corev1.ConditionTrue))
		Expect(inVSphere(vm).MoID).To(Equal(get(vm).Status.UniqueID), "reconfigured in place, not re-created")
	})

	It("hands a Secret's user data to cloud-init with the VM's identity and address, and never shows its values", func() {
		const secretValue = "s3cr3t-token-in-user-data"
		userData := "#cloud-config\nwrite_files:\n  - path: /etc/token\n    content: " + secretValue + "\n"
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cloud"},
			StringData: map[string]string{"user-data": userData}})).To(Succeed())
		vm := objects.VM(ns, "cloud-init", class, ubuntu.Name)
		vm.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{SecretName: "cloud", Transport: vmopv1.VirtualMachineMetadataCloudInitTransport}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		got := poweredOn(vm)

		ec := inVSphere(vm).ExtraConfig
		Expect(ec).To(HaveKeyWithValue("guestinfo.userdata.encoding", "base64"))
		Expect(decoded(ec["guestinfo.userdata"])).To(Equal(userData))
		var meta cloudInitMetadata
		Expect(json.Unmarshal([]byte(decoded(ec["guestinfo.metadata"])), &meta)).To(Succeed())
		Expect(meta.InstanceID).To(Equal(string(got.UID)))
		Expect(meta.Hostname).To(Equal("cloud-init"))
		Expect(meta.Network.Ethernets["eth0"].Addresses).To(ConsistOf(got.Status.VmIp + "/24"))
		Expect(got.Status.NetworkInterfaces).To(HaveLen(1))
		Expect(meta.Network.Ethernets["eth0"].Match).To(HaveKeyWithValue("macaddress", strings.ToLower(got.Status.NetworkInterfaces[0].MacAddress)),
			"the guest finds its NIC by the MAC vSphere gave it")
		Expect(metadataReady(vm).Status).To(Equal(corev1.ConditionTrue))

		status, err := json.Marshal(get(vm).Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(status)).NotTo(ContainSubstring(secretValue))
		Expect(strings.Join(eventsFor(vm), "\n")).NotTo(ContainSubstring(secretValue))
	})

	It("gives ssh-public-keys alone to the image's default user", func() {
		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"},
			Data: map[string]string{"ssh-public-keys": "ssh-ed25519 AAAAC3Nza dev@example"}})).To(Succeed())
		vm := objects.VM(ns, "keys-only", class, ubuntu.Name)
		vm.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "keys", Transport: vmopv1.VirtualMachineMetadataCloudInitTransport}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		poweredOn(vm)
		Expect(decoded(inVSphere(vm).ExtraConfig["guestinfo.userdata"])).To(Equal(
			"#cloud-config\nssh_authorized_keys:\n  - ssh-ed25519 AAAAC3Nza dev@example\n"))
	})

	It("sets a ConfigMap's keys as the image's vApp properties, names the keys it does not declare, and follows edits", func() {
		const undeclaredValue = "value-of-a-key-the-image-lacks"
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "props"},
			Data: map[string]string{"hostname": "web-1", "user-data": "I2Nsb3VkLWNvbmZpZw==", "seedfrom": undeclaredValue}}
		Expect(k8s.Create(ctx, cm)).To(Succeed())
		vm := objects.VM(ns, "ovf-env", class, ubuntu.Name)
		vm.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "props", Transport: vmopv1.VirtualMachineMetadataOvfEnvTransport}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		poweredOn(vm)

		got := inVSphere(vm)
		Expect(got.Properties).To(Equal(map[string]string{"hostname": "web-1", "user-data": "I2Nsb3VkLWNvbmZpZw=="}),
			"declared keys are set; no property is added for the other")
		Expect(got.ExtraConfig).NotTo(HaveKey("hostname"), "OvfEnv sets no ExtraConfig key")
		Eventually(metadataReady).WithArguments(vm).Should(And(
			HaveField("Reason", vmopv1.VirtualMachineMetadataPropertiesNotDeclaredReason),
			HaveField("Severity", vmopv1.ConditionSeverityWarning),
			HaveField("Message", ContainSubstring("seedfrom")),
			HaveField("Message", Not(ContainSubstring(undeclaredValue)))))

		By("editing the ConfigMap: a changed value, a removed key, and the undeclared key gone")
		cm.Data = map[string]string{"hostname": "web-2"}
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		Eventually(func(g Gomega) {
			got, err := inVSphereNow(vm)()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.Properties).To(Equal(map[string]string{"hostname": "web-2", "user-data": ""}),
				"a removed key leaves its property without a value: the guest sees the OVF default")
		}).Should(Succeed())
		Eventually(func() corev1.ConditionStatus { return metadataReady(vm).Status }).Should(Equal(corev1.ConditionTrue))
		Expect(inVSphere(vm).MoID).To(Equal(get(vm).Status.UniqueID), "reconfigured in place, not re-created")
	})

	It("waits for a missing ConfigMap, naming it, and deploys by itself once it appears", func() {
		vm := objects.VM(ns, "waits", class, ubuntu.Name)
		vm.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "later"}
		Expect(k8s.Create(ctx, vm)).To(Succeed())
		Eventually(metadataReady).WithArguments(vm).Should(And(
			HaveField("Reason", vmopv1.VirtualMachineMetadataNotFoundReason),
			HaveField("Message", ContainSubstring(fmt.Sprintf(`ConfigMap "later" not found in namespace %q`, ns)))))
		Consistently(vmsNamed("waits"), "1s").Should(BeZero(), "nothing is made in vSphere without its guest data")
		Expect(get(vm).Status.ObservedGeneration).To(Equal(get(vm).Generation), "a waiting pass is a successful one")

		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"},
			Data: map[string]string{"guestinfo.ready": "yes"}})).To(Succeed())
		poweredOn(vm)
		Expect(inVSphere(vm).ExtraConfig).To(HaveKeyWithValue("guestinfo.ready", "yes"))
	})
})
