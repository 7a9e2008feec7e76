package virtualmachine

import (
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/classaccess"
	"github.com/vm-service/vm-service/internal/storageaccess"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/objects"
)

var _ = Describe("computeStatus", func() {
	class := objects.GuaranteedClass("guaranteed-small", 2, "4Gi")
	usable := classaccess.Decision{Verdict: classaccess.Usable, Class: class.Name, Found: class}
	notBound := classaccess.Decision{Verdict: classaccess.NotBound, Namespace: "ns", Class: class.Name, Found: class}
	on := &vmStateOn
	applied := &vmopv1.AppliedClass{Name: class.Name, Spec: class.Spec}

	// want is a condition's status and reason; "" for a condition left as it was.
	type want struct {
		phase                      vmopv1.VMStatusPhase
		prereq, provisioned, ready string
		prereqSeverity             vmopv1.ConditionSeverity
	}
	show := func(c *vmopv1.Condition) string {
		if c == nil {
			return ""
		}
		return string(c.Status) + " " + c.Reason
	}

	DescribeTable("from plain inputs",
		func(in statusInput, w want) {
			in.Image = "ubuntu"
			out := computeStatus(in)
			Expect(out.Phase).To(Equal(w.phase))
			Expect(show(out.PrereqReady)).To(Equal(w.prereq))
			Expect(show(out.Provisioned)).To(Equal(w.provisioned))
			Expect(show(out.Ready)).To(Equal(w.ready))
			if w.prereqSeverity != "" {
				Expect(out.PrereqReady.Severity).To(Equal(w.prereqSeverity))
			}
		},
		Entry("a new VM whose class is not bound waits, with an Error",
			statusInput{Checked: true, Access: notBound, ImageFound: true},
			want{phase: vmopv1.Creating, prereq: "False VirtualMachineClassBindingNotFound", prereqSeverity: vmopv1.ConditionSeverityError,
				provisioned: "False WaitingForPrereqs", ready: "False NotProvisioned"}),
		Entry("a new VM whose storage class is not assigned to its namespace waits, with an Error",
			statusInput{Checked: true, Access: usable, ImageFound: true, Storage: storageaccess.Decision{StorageClass: "gold", Refused: true}},
			want{phase: vmopv1.Creating, prereq: "False StorageClassNotFound", prereqSeverity: vmopv1.ConditionSeverityError,
				provisioned: "False WaitingForPrereqs", ready: "False NotProvisioned"}),
		Entry("a VM that exists keeps running when its storage class is no longer assigned",
			statusInput{Existed: true, Checked: true, Access: usable, ImageFound: true, State: on, Applied: applied, Class: class,
				Storage: storageaccess.Decision{StorageClass: "gold", Refused: true}},
			want{phase: vmopv1.Created, prereq: "True ", provisioned: "True ", ready: "True "}),
		Entry("a new VM whose image is missing waits",
			statusInput{Checked: true, Access: usable},
			want{phase: vmopv1.Creating, prereq: "False VirtualMachineImageNotFound", provisioned: "False WaitingForPrereqs", ready: "False NotProvisioned"}),
		Entry("a deploy that started and was interrupted stays Deploying, never back to waiting",
			statusInput{Checked: true, Access: usable, DeployStarted: true},
			want{phase: vmopv1.Creating, prereq: "False VirtualMachineImageNotFound", provisioned: "Unknown Deploying", ready: "False NotProvisioned"}),
		Entry("a new VM whose name another vSphere VM has waits, with an Error",
			statusInput{Checked: true, Access: usable, ImageFound: true, DeployStarted: true, NameErr: vsphere.ErrNameTaken},
			want{phase: vmopv1.Creating, prereq: "True ", provisioned: "False VirtualMachineNameTaken", ready: "False NotProvisioned"}),
		Entry("a new VM without a free address waits, with an Error",
			statusInput{Checked: true, Access: usable, ImageFound: true, AddressErr: errors.New("no free address")},
			want{phase: vmopv1.Creating, prereq: "True ", provisioned: "False IPAddressUnavailable", ready: "False NotProvisioned"}),
		Entry("a VM whose deploy began stays known as started when its address runs out",
			statusInput{Checked: true, Access: usable, ImageFound: true, DeployStarted: true, AddressErr: errors.New("no free address")},
			want{phase: vmopv1.Creating, prereq: "True ", provisioned: "Unknown IPAddressUnavailable", ready: "False NotProvisioned"}),
		Entry("a deployed VM that is on with an address is ready",
			statusInput{Checked: true, Access: usable, ImageFound: true, DeployStarted: true, State: on, Applied: applied, Class: class},
			want{phase: vmopv1.Created, prereq: "True ", provisioned: "True ", ready: "True "}),
		Entry("a deployed VM still without an address waits for it",
			statusInput{Checked: true, Access: usable, ImageFound: true, State: &vmStateNoIP},
			want{phase: vmopv1.Created, prereq: "True ", provisioned: "True ", ready: "False WaitingForAddress"}),
		Entry("a powered off VM is not ready",
			statusInput{Checked: true, Access: usable, ImageFound: true, State: &vmStateOff},
			want{phase: vmopv1.Created, prereq: "True ", provisioned: "True ", ready: "False PoweredOff"}),
		Entry("a VM that passes its readiness probe is ready",
			statusInput{Checked: true, Access: usable, ImageFound: true, State: on, Readiness: &readiness{ready: true}},
			want{phase: vmopv1.Created, prereq: "True ", provisioned: "True ", ready: "True "}),
		Entry("a VM on with an address that fails its readiness probe is not",
			statusInput{Checked: true, Access: usable, ImageFound: true, State: on, Readiness: &readiness{message: "refused"}},
			want{phase: vmopv1.Created, prereq: "True ", provisioned: "True ", ready: "False ReadinessProbeFailed"}),
		Entry("revocation only warns about a VM that exists",
			statusInput{Existed: true, Checked: true, Access: notBound, ImageFound: true, State: on},
			want{phase: vmopv1.Created, prereq: "False VirtualMachineClassBindingNotFound", prereqSeverity: vmopv1.ConditionSeverityWarning,
				provisioned: "True ", ready: "True "}),
		Entry("a VM gone from vSphere whose class is no longer bound waits like a new one, with an Error",
			statusInput{Existed: true, Missing: true, DeployStarted: true, Checked: true, Access: notBound, ImageFound: true, Applied: applied},
			want{phase: vmopv1.Creating, prereq: "False VirtualMachineClassBindingNotFound", prereqSeverity: vmopv1.ConditionSeverityError,
				provisioned: "False WaitingForPrereqs", ready: "False NotProvisioned"}),
		Entry("an unreachable vCenter is reported; readiness of an existing VM is left as it was",
			statusInput{Existed: true, Checked: true, Access: usable, ImageFound: true, VSphereErr: errors.New("connection refused")},
			want{phase: vmopv1.Created, prereq: "True ", provisioned: "False ProvisioningFailed"}),
		Entry("a deleting VM reports only its deletion",
			statusInput{Deleting: true, Existed: true},
			want{phase: vmopv1.Deleting}),
		Entry("a deleted VM",
			statusInput{Deleting: true, Gone: true, Existed: true},
			want{phase: vmopv1.Deleted}),
	)

	DescribeTable("heartbeat against its threshold",
		func(threshold vmopv1.GuestHeartbeatStatus, got string, want bool) {
			Expect(heartbeat(threshold, got).ready).To(Equal(want))
		},
		Entry("green passes green", vmopv1.GuestHeartbeatStatus("green"), "green", true),
		Entry("yellow fails green", vmopv1.GuestHeartbeatStatus("green"), "yellow", false),
		Entry("the default threshold is green", vmopv1.GuestHeartbeatStatus(""), "yellow", false),
		Entry("yellow passes yellow", vmopv1.GuestHeartbeatStatus("yellow"), "yellow", true),
		Entry("green passes yellow", vmopv1.GuestHeartbeatStatus("yellow"), "green", true),
		Entry("no Tools never pass", vmopv1.GuestHeartbeatStatus("yellow"), "", false),
		Entry("red never passes", vmopv1.GuestHeartbeatStatus("yellow"), "red", false),
	)

	DescribeTable("VirtualMachineMetadataReady with transport OvfEnv",
		func(state *vsphere.VMState, existed bool, want string) {
			ovfEnv := &vmopv1.VirtualMachineMetadata{ConfigMapName: "props", Transport: vmopv1.VirtualMachineMetadataOvfEnvTransport}
			out := computeStatus(statusInput{Checked: true, Access: usable, ImageFound: true, Existed: existed, State: state,
				Metadata: ovfEnv, Namespace: "ns", GuestData: &guestData{source: `ConfigMap "props"`, data: map[string]string{"hostname": "h"}}})
			Expect(show(out.MetadataReady)).To(Equal(want))
		},
		Entry("is True when the VM declares every key", on, false, "True "),
		Entry("names the keys the VM does not declare",
			&vsphere.VMState{MoID: "vm-1", UndeclaredProperties: []string{"seedfrom"}}, true, "False VirtualMachineMetadataPropertiesNotDeclared"),
		Entry("is Unknown until a new VM is deployed, since only vSphere knows the properties", nil, false, "Unknown VirtualMachineMetadataPropertiesPending"),
		Entry("is kept as it was when vSphere was not reached for an existing VM", nil, true, ""),
	)

	It("tells a class edited after the VM was made", func() {
		edited := class.DeepCopy()
		edited.Spec.Hardware.Cpus, edited.Generation = 4, 2
		out := computeStatus(statusInput{Checked: true, Access: usable, ImageFound: true, State: on, Class: edited, Applied: applied})
		Expect(out.ClassInSync.Status).To(Equal(corev1.ConditionFalse))
		Expect(out.ClassInSync.Reason).To(Equal(vmopv1.VirtualMachineClassChangedReason))
		Expect(out.ClassInSync.Message).To(ContainSubstring("the VM keeps 2 CPUs and 4Gi of memory"))
	})
})

var (
	vmStateOn   = vsphere.VMState{MoID: "vm-1", PowerState: vmopv1.VirtualMachinePoweredOn, IP: "10.0.0.2"}
	vmStateNoIP = vsphere.VMState{MoID: "vm-1", PowerState: vmopv1.VirtualMachinePoweredOn}
	vmStateOff  = vsphere.VMState{MoID: "vm-1", PowerState: vmopv1.VirtualMachinePoweredOff}
)
