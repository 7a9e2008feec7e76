package virtualmachine

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

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
		stored.Spec.ResourcePolicyName = "set-before-this-release"
		edited := stored.DeepCopy()
		edited.Spec.PowerState = vmopv1.VirtualMachinePoweredOff
		Expect(specErrors(stored, edited)).To(BeEmpty(), "an unrelated edit of an object stored before is admitted")

		edited.Spec.ResourcePolicyName = "another"
		Expect(specErrors(stored, edited)).To(HaveLen(1))
		Expect(specErrors(nil, edited)).To(HaveLen(1), "a create is always checked")
	})
})
