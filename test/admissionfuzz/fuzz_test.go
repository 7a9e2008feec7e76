package admissionfuzz_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/test/admissionfuzz"
	"github.com/vm-service/vm-service/test/objects"
	tkcwebhook "github.com/vm-service/vm-service/webhooks/tanzukubernetescluster"
	vmwebhook "github.com/vm-service/vm-service/webhooks/virtualmachine"
	classwebhook "github.com/vm-service/vm-service/webhooks/virtualmachineclass"
	bindingwebhook "github.com/vm-service/vm-service/webhooks/virtualmachineclassbinding"
	vmservicewebhook "github.com/vm-service/vm-service/webhooks/virtualmachineservice"
	policywebhook "github.com/vm-service/vm-service/webhooks/virtualmachinesetresourcepolicy"
)

// The targets live here, outside the webhooks' packages, so a failing seed under `make test`
// (Ginkgo in parallel) is reported with its output: Ginkgo drops the output of plain tests in
// a package that also holds a Ginkgo suite.

// FuzzVirtualMachineAdmission sends fuzzed AdmissionReviews to the VirtualMachine webhook.
func FuzzVirtualMachineAdmission(f *testing.F) {
	vm := objects.VM(admissionfuzz.Namespace, "vm", admissionfuzz.Class, "photon")
	withNIC := vm.DeepCopy()
	withNIC.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{NetworkType: "vsphere-distributed", NetworkName: "DC0_DVPG0"}}
	validator := &vmwebhook.Validator{ClassPolicy: enforcement.ClassPolicy{Readers: admissionfuzz.Readers(), Mode: enforcement.Deny}}
	admissionfuzz.Fuzz(f, vmopv1.GroupVersion.WithKind("VirtualMachine"),
		[][]byte{admissionfuzz.Seed(f, vm), admissionfuzz.Seed(f, withNIC)},
		admission.WithValidator(scheme.New(), validator))
}

// FuzzVirtualMachineClassAdmission sends fuzzed AdmissionReviews to the VirtualMachineClass
// webhook, deletes included (the guard that reads who uses the class).
func FuzzVirtualMachineClassAdmission(f *testing.F) {
	admissionfuzz.Fuzz(f, vmopv1.GroupVersion.WithKind(vmopv1.VirtualMachineClassKind),
		[][]byte{
			admissionfuzz.Seed(f, objects.BestEffortClass(admissionfuzz.Class, 2, "4Gi")),
			admissionfuzz.Seed(f, objects.GuaranteedClass("guaranteed-large", 4, "16Gi")),
		},
		admission.WithValidator(scheme.New(), &classwebhook.Validator{Readers: admissionfuzz.Readers()}))
}

// FuzzVirtualMachineClassBindingAdmission sends fuzzed AdmissionReviews to both binding
// webhooks, the defaulting one and the validating one.
func FuzzVirtualMachineClassBindingAdmission(f *testing.F) {
	w := &bindingwebhook.Webhook{Readers: admissionfuzz.Readers()}
	s := scheme.New()
	missingClass := objects.Binding(admissionfuzz.Namespace, "missing", "no-such-class")
	missingClass.ClassRef.APIVersion = ""
	admissionfuzz.Fuzz(f, vmopv1.GroupVersion.WithKind("VirtualMachineClassBinding"),
		[][]byte{
			admissionfuzz.Seed(f, objects.Binding(admissionfuzz.Namespace, admissionfuzz.Class, admissionfuzz.Class)),
			admissionfuzz.Seed(f, missingClass),
		},
		admission.WithDefaulter(s, w), admission.WithValidator(s, w))
}

// FuzzTanzuKubernetesClusterAdmission sends fuzzed AdmissionReviews to both cluster webhooks,
// the defaulter that resolves the version hint and the validator.
func FuzzTanzuKubernetesClusterAdmission(f *testing.F) {
	readers := admissionfuzz.Readers()
	s := scheme.New()
	cluster := objects.Cluster(admissionfuzz.Namespace, "tkc", admissionfuzz.Class, admissionfuzz.Class)
	pinned := cluster.DeepCopy()
	pinned.Spec.Distribution.FullVersion = admissionfuzz.Release
	admissionfuzz.Fuzz(f, runv1.GroupVersion.WithKind("TanzuKubernetesCluster"),
		[][]byte{admissionfuzz.Seed(f, cluster), admissionfuzz.Seed(f, pinned)},
		admission.WithDefaulter(s, &tkcwebhook.Defaulter{Readers: readers}),
		admission.WithValidator(s, &tkcwebhook.Validator{ClassPolicy: enforcement.ClassPolicy{Readers: readers, Mode: enforcement.Deny}}))
}

// FuzzVirtualMachineServiceAdmission sends fuzzed AdmissionReviews to the VirtualMachineService
// webhook.
func FuzzVirtualMachineServiceAdmission(f *testing.F) {
	lb := objects.VMService(admissionfuzz.Namespace, "web", "web")
	lb.Spec.Type = vmopv1.VirtualMachineServiceTypeLoadBalancer
	external := &vmopv1.VirtualMachineService{ObjectMeta: metav1.ObjectMeta{Namespace: admissionfuzz.Namespace, Name: "ext"},
		Spec: vmopv1.VirtualMachineServiceSpec{Type: vmopv1.VirtualMachineServiceTypeExternalName, ExternalName: "db.example.com"}}
	admissionfuzz.Fuzz(f, vmopv1.GroupVersion.WithKind("VirtualMachineService"),
		[][]byte{admissionfuzz.Seed(f, objects.VMService(admissionfuzz.Namespace, "web", "web")), admissionfuzz.Seed(f, lb), admissionfuzz.Seed(f, external)},
		admission.WithValidator(scheme.New(), &vmservicewebhook.Validator{}))
}

// FuzzVirtualMachineSetResourcePolicyAdmission sends fuzzed AdmissionReviews to the resource
// policy webhook, deletes included (the guard that reads which VMs name the policy).
func FuzzVirtualMachineSetResourcePolicyAdmission(f *testing.F) {
	policy := &vmopv1.VirtualMachineSetResourcePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: admissionfuzz.Namespace, Name: "tkc"},
		Spec: vmopv1.VirtualMachineSetResourcePolicySpec{
			ResourcePool: vmopv1.ResourcePoolSpec{Name: "tkc",
				Reservations: vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("1"), Memory: resource.MustParse("1Gi")},
				Limits:       vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("2"), Memory: resource.MustParse("2Gi")}},
			Folder:         vmopv1.FolderSpec{Name: "tkc"},
			ClusterModules: []vmopv1.ClusterModuleSpec{{GroupName: "control-plane"}, {GroupName: "workers"}},
		}}
	admissionfuzz.Fuzz(f, vmopv1.GroupVersion.WithKind("VirtualMachineSetResourcePolicy"),
		[][]byte{admissionfuzz.Seed(f, policy)},
		admission.WithValidator(scheme.New(), &policywebhook.Validator{Readers: admissionfuzz.Readers()}))
}
