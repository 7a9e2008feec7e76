package virtualmachine

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/utils/ptr"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

func TestVirtualMachineWebhook(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "VirtualMachine webhook suite")
}

var _ = Describe("specErrors on update", func() {
	It("refuses an unsupported field only when the update changes it", func() {
		stored := objects.VM("ns", "old", "c", "i")
		stored.Spec.AdvancedOptions = &vmopv1.VirtualMachineAdvancedOptions{}
		edited := stored.DeepCopy()
		edited.Spec.PowerState = vmopv1.VirtualMachinePoweredOff
		Expect(specErrors(stored, edited)).To(BeEmpty(), "an unrelated edit of an object stored before is admitted")

		edited.Spec.AdvancedOptions = &vmopv1.VirtualMachineAdvancedOptions{ChangeBlockTracking: ptr.To(true)}
		Expect(specErrors(stored, edited)).To(HaveLen(1))
		Expect(specErrors(nil, edited)).To(HaveLen(1), "a create is always checked")
	})
})

var _ = Describe("networkErrors on a deployed VM", func() {
	deployed := func(nics ...vmopv1.VirtualMachineNetworkInterface) *vmopv1.VirtualMachine {
		vm := objects.VM("ns", "vm", "c", "i")
		vm.Spec.NetworkInterfaces = nics
		vm.Status.UniqueID = "vm-42"
		return vm
	}
	namespaceNIC := vmopv1.VirtualMachineNetworkInterface{}
	portGroup := vmopv1.VirtualMachineNetworkInterface{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0"}

	DescribeTable("checks the edited interfaces as it checks new ones",
		func(before, after []vmopv1.VirtualMachineNetworkInterface, wantFields ...string) {
			old := deployed(before...)
			edited := old.DeepCopy()
			edited.Spec.NetworkInterfaces = after
			var fields []string
			for _, e := range specErrors(old, edited) {
				fields = append(fields, e.Field)
			}
			Expect(fields).To(ConsistOf(wantFields))
		},
		Entry("a NIC moved to a port group", []vmopv1.VirtualMachineNetworkInterface{namespaceNIC},
			[]vmopv1.VirtualMachineNetworkInterface{portGroup}),
		Entry("a NIC added", []vmopv1.VirtualMachineNetworkInterface{namespaceNIC},
			[]vmopv1.VirtualMachineNetworkInterface{namespaceNIC, portGroup}),
		Entry("a NIC removed", []vmopv1.VirtualMachineNetworkInterface{namespaceNIC, portGroup},
			[]vmopv1.VirtualMachineNetworkInterface{namespaceNIC}),
		Entry("a card type changed", []vmopv1.VirtualMachineNetworkInterface{namespaceNIC},
			[]vmopv1.VirtualMachineNetworkInterface{{EthernetCardType: "e1000e"}}),
		Entry("interfaces listed for a VM made with the image's NICs", nil,
			[]vmopv1.VirtualMachineNetworkInterface{portGroup}),
		Entry("a malformed NIC", []vmopv1.VirtualMachineNetworkInterface{namespaceNIC},
			[]vmopv1.VirtualMachineNetworkInterface{{NetworkType: "nsx-t", NetworkName: "n"}}, "spec.networkInterfaces[0].networkType"),
		Entry("every NIC removed, which would leave the VM's NICs unmanaged", []vmopv1.VirtualMachineNetworkInterface{portGroup},
			nil, "spec.networkInterfaces"),
	)

	It("lets a VM not yet deployed drop its interfaces", func() {
		old := deployed(portGroup)
		old.Status.UniqueID = ""
		edited := old.DeepCopy()
		edited.Spec.NetworkInterfaces = nil
		Expect(specErrors(old, edited)).To(BeEmpty())
	})
})

var _ = DescribeTable("metadataErrors admits every transport the API names",
	func(transport vmopv1.VirtualMachineMetadataTransport, wantErrors int) {
		errs := metadataErrors(&vmopv1.VirtualMachineMetadata{ConfigMapName: "data", Transport: transport})
		Expect(errs).To(HaveLen(wantErrors))
	},
	Entry("none (ExtraConfig)", vmopv1.VirtualMachineMetadataTransport(""), 0),
	Entry("ExtraConfig", vmopv1.VirtualMachineMetadataExtraConfigTransport, 0),
	Entry("CloudInit", vmopv1.VirtualMachineMetadataCloudInitTransport, 0),
	Entry("OvfEnv", vmopv1.VirtualMachineMetadataOvfEnvTransport, 0),
	Entry("an unknown one", vmopv1.VirtualMachineMetadataTransport("Floppy"), 1),
)

var _ = Describe("specErrors on the cluster module annotation", func() {
	It("refuses a cluster module group without a resource policy, naming the annotation", func() {
		vm := objects.VM("ns", "vm", "c", "i")
		vm.Annotations = map[string]string{vmopv1.ClusterModuleGroupAnnotation: "control-plane-group"}
		errs := specErrors(nil, vm)
		Expect(errs).To(HaveLen(1))
		Expect(errs[0].Field).To(Equal("metadata.annotations[vsphere-cluster-module-group]"))

		vm.Spec.ResourcePolicyName = "tkc-1"
		Expect(specErrors(nil, vm)).To(BeEmpty())
	})
})
