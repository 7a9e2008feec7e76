package virtualmachine_test

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/controllers/virtualmachine"
	"github.com/vm-service/vm-service/internal/conditions"
	"github.com/vm-service/vm-service/internal/ippool"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/test/fakeclient"
	"github.com/vm-service/vm-service/test/objects"
)

// recordingProvider answers like vSphere for a VM that exists, and records what it was asked.
type recordingProvider struct {
	ensured []vsphere.VMSpec
}

func (p *recordingProvider) EnsureVM(_ context.Context, spec vsphere.VMSpec) (vsphere.VMState, error) {
	p.ensured = append(p.ensured, spec)
	return vsphere.VMState{MoID: "vm-7", InstanceUUID: spec.InstanceUUID, PowerState: spec.PowerState, IP: "192.168.128.2"}, nil
}

func (p *recordingProvider) DeleteVM(context.Context, vsphere.VMRef) error { return nil }

func (p *recordingProvider) ListImages(context.Context) ([]vsphere.Image, error) { return nil, nil }

// unreachableProvider is a vCenter that cannot be reached.
type unreachableProvider struct{ deletes int }

func (p *unreachableProvider) EnsureVM(context.Context, vsphere.VMSpec) (vsphere.VMState, error) {
	return vsphere.VMState{}, fmt.Errorf("%w: connection refused", vsphere.ErrUnreachable)
}

func (p *unreachableProvider) DeleteVM(context.Context, vsphere.VMRef) error {
	p.deletes++
	return fmt.Errorf("%w: connection refused", vsphere.ErrUnreachable)
}

func (p *unreachableProvider) ListImages(context.Context) ([]vsphere.Image, error) { return nil, nil }

var _ = Describe("The VirtualMachine reconciler without a cluster", func() {
	It("keeps managing an existing VM whose class was deleted, with its applied size", func() {
		vm := objects.VM("ns", "orphan", "gone-class", "ubuntu")
		vm.Finalizers = []string{vmopv1.VirtualMachineFinalizer}
		applied := objects.GuaranteedClass("gone-class", 2, "4Gi")
		applied.Spec.Hardware.Devices.VGPUDevices = []vmopv1.VGPUDevice{{ProfileName: "grid_t4-4q"}}
		vm.Status = vmopv1.VirtualMachineStatus{UniqueID: "vm-7", Phase: vmopv1.Created,
			Class: &vmopv1.AppliedClass{Name: applied.Name, Spec: applied.Spec}}
		c := fakeclient.New(vm)
		provider := &recordingProvider{}
		r := &virtualmachine.Reconciler{Client: c, Provider: provider, Recorder: record.NewFakeRecorder(10)}

		_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(vm)})
		Expect(err).NotTo(HaveOccurred())
		Expect(provider.ensured).To(HaveLen(1))
		Expect(provider.ensured[0].Sizing).To(Equal(vsphere.SizingFromClass(applied.Spec)))
		Expect(provider.ensured[0].Sizing.VGPUProfiles).To(Equal([]string{"grid_t4-4q"}), "the applied class's devices reach the provider")

		got := &vmopv1.VirtualMachine{}
		Expect(c.Get(context.Background(), client.ObjectKeyFromObject(vm), got)).To(Succeed())
		Expect(got.Status.Phase).To(Equal(vmopv1.Created))
		prereq := conditions.Get(got.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)
		Expect(prereq).NotTo(BeNil())
		Expect(prereq.Reason).To(Equal(vmopv1.VirtualMachineClassNotFoundReason))
		Expect(prereq.Severity).To(Equal(vmopv1.ConditionSeverityWarning))
	})

	It("keeps the finalizer of a VM whose deploy may have reached vSphere while vCenter cannot be reached, even after its address ran out", func() {
		ctx := context.Background()
		full, err := ippool.New("10.1.0.0/30") // one address, which another VM holds
		Expect(err).NotTo(HaveOccurred())
		_, err = full.Allocate("another-vm")
		Expect(err).NotTo(HaveOccurred())
		onFullNetwork := func(name string) *vmopv1.VirtualMachine {
			vm := objects.VM("ns", name, "best-effort-small", "ubuntu")
			vm.UID, vm.Finalizers = types.UID("uid-"+name), []string{vmopv1.VirtualMachineFinalizer}
			vm.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{NetworkName: "full", NetworkType: virtualmachine.NetworkTypeDistributed}}
			return vm
		}
		// half-made began its deploy and was interrupted before it finished; then its NIC was moved
		// to a network whose pool is empty. never-made never got an address.
		halfMade, neverMade := onFullNetwork("half-made"), onFullNetwork("never-made")
		halfMade.Status.Conditions = vmopv1.Conditions{conditions.Unknown(vmopv1.VirtualMachineProvisionedCondition, vmopv1.DeployingReason, "deploying")}
		c := fakeclient.New(halfMade, neverMade, objects.BestEffortClass("best-effort-small", 2, "4Gi"),
			objects.Binding("ns", "best-effort-small", "best-effort-small"), objects.Image("ubuntu"),
			objects.StorageClass(halfMade.Spec.StorageClass, "policy-1"), objects.StorageQuota("ns", halfMade.Spec.StorageClass))
		provider := &unreachableProvider{}
		r := &virtualmachine.Reconciler{Client: c, Live: c, Provider: provider, Recorder: record.NewFakeRecorder(100),
			Networks: ippool.Networks{"full": full}}
		reconcile := func(vm *vmopv1.VirtualMachine) {
			_, _ = r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(vm)})
		}

		for _, vm := range []*vmopv1.VirtualMachine{halfMade, neverMade} {
			reconcile(vm)
			Expect(c.Get(ctx, client.ObjectKeyFromObject(vm), vm)).To(Succeed())
			Expect(conditions.Get(vm.Status.Conditions, vmopv1.VirtualMachineProvisionedCondition)).To(HaveField("Reason", vmopv1.IPAddressUnavailableReason))
			Expect(c.Delete(ctx, vm)).To(Succeed())
			reconcile(vm)
		}
		Expect(provider.deletes).To(Equal(2), "vCenter was asked about both")

		Expect(c.Get(ctx, client.ObjectKeyFromObject(halfMade), halfMade)).To(Succeed(), "the half-made VM waits for vCenter")
		Expect(halfMade.Finalizers).To(ContainElement(vmopv1.VirtualMachineFinalizer))
		Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(neverMade), neverMade))).To(BeTrue(),
			"a VM that provably never reached vSphere goes without it")
	})

	It("confirms with the apiserver what its cache lacks before reporting a class, binding, storage class or image missing", func() {
		vm := objects.VM("ns", "fresh", "best-effort-small", "ubuntu")
		vm.Finalizers = []string{vmopv1.VirtualMachineFinalizer}
		cache := fakeclient.New(vm) // has seen the VM, not yet its class, binding, storage or image
		live := fakeclient.New(objects.BestEffortClass("best-effort-small", 2, "4Gi"),
			objects.Binding("ns", "best-effort-small", "best-effort-small"), objects.Image("ubuntu"),
			objects.StorageClass(vm.Spec.StorageClass, "policy-1"), objects.StorageQuota("ns", vm.Spec.StorageClass))
		recorder := record.NewFakeRecorder(10)
		r := &virtualmachine.Reconciler{Client: cache, Live: live, Provider: &recordingProvider{}, Recorder: recorder}

		_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(vm)})
		Expect(err).NotTo(HaveOccurred())
		got := &vmopv1.VirtualMachine{}
		Expect(cache.Get(context.Background(), client.ObjectKeyFromObject(vm), got)).To(Succeed())
		Expect(conditions.IsTrue(got.Status.Conditions, vmopv1.VirtualMachinePrereqReadyCondition)).To(BeTrue(),
			"conditions: %+v", got.Status.Conditions)
		Expect(recorder.Events).NotTo(Receive(HavePrefix("Warning")))
	})
})
