package validating_test

import (
	"context"
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	kjson "sigs.k8s.io/json"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/internal/validating"
	"github.com/vm-service/vm-service/test/objects"
)

// capture keeps the object a create asked about.
type capture[T runtime.Object] struct{ got T }

func (c *capture[T]) ValidateCreate(_ context.Context, obj T) (admission.Warnings, error) {
	c.got = obj
	return nil, nil
}
func (c *capture[T]) ValidateUpdate(context.Context, T, T) (admission.Warnings, error) {
	return nil, nil
}
func (c *capture[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) { return nil, nil }

// decodesAsTheAPIServer checks that the webhook hands its validator what the apiserver's own
// decoder (sigs.k8s.io/json, case-sensitive) makes of obj's JSON.
func decodesAsTheAPIServer[E any, T validating.Object[E]](obj T) {
	obj.GetObjectKind().SetGroupVersionKind(mustGVK(obj))
	meta := any(obj).(metav1.Object)
	now := metav1.Now().Rfc3339Copy()
	meta.SetUID("6a1e1c9e-0d7e-4a53-9c56-1f0b8a6f7d11")
	meta.SetCreationTimestamp(now)
	meta.SetLabels(map[string]string{"app": "web"})
	meta.SetAnnotations(map[string]string{"note": "ü ✓ \"quoted\""})
	meta.SetFinalizers([]string{"example.com/keep"})
	meta.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "u", Controller: ptr.To(true)}})
	meta.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1",
		Time: &now, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}`)}}})
	raw, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())

	c := &capture[T]{}
	wh, _, err := validating.Webhook[E](scheme.New(), c)
	Expect(err).NotTo(HaveOccurred())
	resp := wh.Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}}})
	Expect(resp.Allowed).To(BeTrue(), "%+v", resp.Result)

	want := T(new(E))
	Expect(kjson.UnmarshalCaseSensitivePreserveInts(raw, want)).To(Succeed())
	Expect(c.got).To(Equal(want))
}

func mustGVK(obj runtime.Object) schema.GroupVersionKind {
	kinds, _, err := scheme.New().ObjectKinds(obj)
	Expect(err).NotTo(HaveOccurred())
	return kinds[0]
}

var _ = DescribeTable("Every kind the product validates decodes as the apiserver decodes it",
	func(check func()) { check() },
	Entry("VirtualMachine", func() {
		vm := objects.VM("ns", "vm", "small", "ubuntu")
		vm.Spec.Ports = []vmopv1.VirtualMachinePort{{Port: 22, Ip: "0.0.0.0", Name: "ssh", Protocol: corev1.ProtocolTCP}}
		vm.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "user-data", Transport: "OvfEnv"}
		vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{NetworkType: "vsphere-distributed", NetworkName: "primary"}}
		vm.Spec.ReadinessProbe = &vmopv1.Probe{TCPSocket: &vmopv1.TCPSocketAction{Port: intstr.FromString("ssh")}, PeriodSeconds: 10}
		vm.Status = vmopv1.VirtualMachineStatus{Phase: vmopv1.Created, UniqueID: "vm-42", ObservedGeneration: 1,
			Class: &vmopv1.AppliedClass{Name: "small", Generation: 1, Spec: objects.GuaranteedClass("x", 2, "4Gi").Spec}}
		decodesAsTheAPIServer[vmopv1.VirtualMachine](vm)
	}),
	Entry("VirtualMachineClass", func() {
		class := objects.GuaranteedClass("big", 4, "16Gi")
		class.Spec.Policies.Resources.Limits = vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("8"), Memory: resource.MustParse("32Gi")}
		class.Spec.Hardware.Devices.VGPUDevices = []vmopv1.VGPUDevice{{ProfileName: "grid_p100-8q"}}
		class.Spec.Hardware.Devices.DynamicDirectPathIODevices = []vmopv1.DynamicDirectPathIODevice{{VendorID: 4318, DeviceID: 7864, CustomLabel: "nic"}}
		decodesAsTheAPIServer[vmopv1.VirtualMachineClass](class)
	}),
	Entry("VirtualMachineClassBinding", func() {
		decodesAsTheAPIServer[vmopv1.VirtualMachineClassBinding](objects.Binding("ns", "b", "small"))
	}),
	Entry("VirtualMachineService", func() {
		decodesAsTheAPIServer[vmopv1.VirtualMachineService](objects.VMService("ns", "svc", "web"))
	}),
	Entry("TanzuKubernetesCluster", func() {
		decodesAsTheAPIServer[runv1.TanzuKubernetesCluster](objects.Cluster("ns", "tkc", "small", "large"))
	}),
	Entry("VirtualMachineSetResourcePolicy", func() {
		decodesAsTheAPIServer[vmopv1.VirtualMachineSetResourcePolicy](&vmopv1.VirtualMachineSetResourcePolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "policy"},
			Spec: vmopv1.VirtualMachineSetResourcePolicySpec{
				ResourcePool: vmopv1.ResourcePoolSpec{Name: "pool", Reservations: vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("1"), Memory: resource.MustParse("1Gi")}},
				Folder:       vmopv1.FolderSpec{Name: "folder"},
			},
		})
	}),
)
