package virtualmachinesetresourcepolicy

import (
	"errors"
	"fmt"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/vsphere"
)

var _ = DescribeTable("readyCondition",
	func(in statusInput, status corev1.ConditionStatus, reason, message string) {
		c := readyCondition(in)
		Expect(c.Type).To(Equal(vmopv1.ReadyCondition))
		Expect(c.Status).To(Equal(status))
		Expect(c.Reason).To(Equal(reason))
		Expect(c.Message).To(ContainSubstring(message))
	},
	Entry("made in vSphere", statusInput{State: &vsphere.ResourcePolicyState{}}, corev1.ConditionTrue, "", ""),
	Entry("vCenter down", statusInput{VSphereErr: fmt.Errorf("ensure: %w", syscall.ECONNREFUSED)},
		corev1.ConditionFalse, vmopv1.VCenterUnreachableReason, "cannot be reached"),
	Entry("vCenter refused", statusInput{VSphereErr: errors.New("create resource pool: invalid argument")},
		corev1.ConditionFalse, vmopv1.ResourcePolicyCreationFailedReason, "invalid argument"),
	Entry("deleted while seven VMs name it", statusInput{Deleting: true, Users: []string{"a", "b", "c", "d", "e", "f", "g"}},
		corev1.ConditionFalse, vmopv1.ResourcePolicyInUseReason, "7 VirtualMachine(s) that name it to be deleted: a, b, c, d, e and 2 more"),
	Entry("deleted while VMs are in its folder", statusInput{Deleting: true, InUseErr: vsphere.ErrResourcePolicyInUse},
		corev1.ConditionFalse, vmopv1.ResourcePolicyInUseReason, "nothing is removed while VMs are in its pool or folder"),
)
