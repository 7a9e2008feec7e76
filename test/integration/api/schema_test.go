package api_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
	"github.com/vm-service/vm-service/test/testenv"
)

var _ = Describe("Schema validation", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// expectInvalid creates obj and expects the apiserver to refuse it, naming the field.
	expectInvalid := func(obj client.Object, field string) {
		err := k8s.Create(ctx, obj)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring(field))
	}

	It("refuses a class with zero CPUs", func() {
		c := objects.BestEffortClass("zero-cpus", 0, "2Gi")
		expectInvalid(c, "spec.hardware.cpus")
	})

	It("refuses a class with no hardware", func() {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "vmoperator.vmware.com/v1alpha1", "kind": "VirtualMachineClass",
			"metadata": map[string]any{"name": "no-hardware"}, "spec": map[string]any{"policies": map[string]any{}},
		}}
		expectInvalid(u, "spec.hardware")
	})

	It("refuses a class whose devices cannot work, naming each field and its bounds", func() {
		c := objects.BestEffortClass("bad-devices", 2, "8Gi")
		c.Spec.Hardware.Devices = vmopv1.VirtualDevices{
			VGPUDevices: []vmopv1.VGPUDevice{{ProfileName: "grid_t4-4q"}, {ProfileName: ""}},
			DynamicDirectPathIODevices: []vmopv1.DynamicDirectPathIODevice{
				{VendorID: 0x10de, DeviceID: 0x1eb8},
				{VendorID: 0, DeviceID: 0x10000},
			},
		}
		err := k8s.Create(ctx, c)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(And(
			ContainSubstring("spec.hardware.devices.vgpuDevices[1].profileName: Invalid value: \"\": spec.hardware.devices.vgpuDevices[1].profileName in body should be at least 1 chars long"),
			ContainSubstring("spec.hardware.devices.dynamicDirectPathIODevices[1].vendorID: Invalid value: 0: spec.hardware.devices.dynamicDirectPathIODevices[1].vendorID in body should be greater than or equal to 1"),
			ContainSubstring("spec.hardware.devices.dynamicDirectPathIODevices[1].deviceID: Invalid value: 65536: spec.hardware.devices.dynamicDirectPathIODevices[1].deviceID in body should be less than or equal to 65535"),
		))
		Expect(err.Error()).NotTo(ContainSubstring("[0]"), "the valid entries are not named")
	})

	It("accepts a class with a vGPU and a DirectPath I/O device at the ends of the PCI id range", func() {
		c := objects.BestEffortClass("schema-devices", 4, "16Gi")
		c.Spec.Hardware.Devices = vmopv1.VirtualDevices{
			VGPUDevices:                []vmopv1.VGPUDevice{{ProfileName: "grid_t4-4q"}},
			DynamicDirectPathIODevices: []vmopv1.DynamicDirectPathIODevice{{VendorID: 1, DeviceID: 0xFFFF, CustomLabel: "t4"}},
		}
		want := c.Spec.DeepCopy()
		Expect(k8s.Create(ctx, c)).To(Succeed())
		DeferCleanup(k8s.Delete, ctx, c)
		got := &vmopv1.VirtualMachineClass{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(c), got)).To(Succeed())
		Expect(got.Spec.Hardware.Devices).To(Equal(want.Hardware.Devices))
	})

	It("refuses a binding without classRef.name", func() {
		b := objects.Binding(ns, "nameless", "")
		expectInvalid(b, "classRef.name")
	})

	It("refuses a binding whose classRef kind is not VirtualMachineClass", func() {
		b := objects.Binding(ns, "wrong-kind", "guaranteed-small")
		b.ClassRef.Kind = "ConfigMap"
		expectInvalid(b, "classRef.kind")
	})

	It("refuses a cluster with a negative worker count", func() {
		c := objects.Cluster(ns, "negative", "guaranteed-small", "best-effort-small")
		c.Spec.Topology.Workers.Count = -1
		expectInvalid(c, "spec.topology.workers.count")
	})

	It("refuses a cluster with a negative control plane count", func() {
		c := objects.Cluster(ns, "negative-cp", "guaranteed-small", "best-effort-small")
		c.Spec.Topology.ControlPlane.Count = -3
		expectInvalid(c, "spec.topology.controlPlane.count")
	})

	It("refuses a VM with an unknown power state and no class", func() {
		vm := objects.VM(ns, "bad-vm", "", "ubuntu")
		vm.Spec.PowerState = "suspended"
		err := k8s.Create(ctx, vm)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(And(ContainSubstring("spec.powerState"), ContainSubstring("spec.className")))
	})

	It("accepts the walkthrough's cluster manifest unchanged", func() {
		data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "run_v1alpha1_tanzukubernetescluster.yaml"))
		Expect(err).NotTo(HaveOccurred())
		u := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal(data, &u.Object)).To(Succeed())
		u.SetNamespace(ns)
		Expect(k8s.Create(ctx, u)).To(Succeed())
		Expect(u.Object["spec"]).To(HaveKeyWithValue("distribution", HaveKeyWithValue("version", "v1.20.2")))
	})

	It("accepts a well-formed guaranteed class", func() {
		c := objects.GuaranteedClass("schema-guaranteed", 2, "8Gi")
		Expect(k8s.Create(ctx, c)).To(Succeed())
		DeferCleanup(k8s.Delete, ctx, c)
		got := &vmopv1.VirtualMachineClass{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(c), got)).To(Succeed())
		Expect(got.Spec.Policies.Resources.Requests.Memory.Cmp(resource.MustParse("8Gi"))).To(BeZero())
	})
})
