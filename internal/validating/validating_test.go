package validating_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/internal/validating"
)

func TestValidating(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Validating webhook suite")
}

// recorder remembers what it was asked and answers with err and warnings.
type recorder struct {
	created, deleted, oldVM, newVM *vmopv1.VirtualMachine
	err                            error
	warnings                       admission.Warnings
}

func (r *recorder) ValidateCreate(_ context.Context, vm *vmopv1.VirtualMachine) (admission.Warnings, error) {
	r.created = vm
	return r.warnings, r.err
}

func (r *recorder) ValidateUpdate(_ context.Context, old, vm *vmopv1.VirtualMachine) (admission.Warnings, error) {
	r.oldVM, r.newVM = old, vm
	return r.warnings, r.err
}

func (r *recorder) ValidateDelete(_ context.Context, vm *vmopv1.VirtualMachine) (admission.Warnings, error) {
	r.deleted = vm
	return r.warnings, r.err
}

func vmJSON(class string) runtime.RawExtension {
	vm := &vmopv1.VirtualMachine{
		TypeMeta:   metav1.TypeMeta{APIVersion: vmopv1.GroupVersion.String(), Kind: "VirtualMachine"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "vm"},
		Spec:       vmopv1.VirtualMachineSpec{ClassName: class, ImageName: "image"},
	}
	raw, err := json.Marshal(vm)
	Expect(err).NotTo(HaveOccurred())
	return runtime.RawExtension{Raw: raw}
}

var _ = Describe("A validating webhook", func() {
	var (
		v      *recorder
		handle func(admissionv1.AdmissionRequest) admission.Response
	)
	BeforeEach(func() {
		v = &recorder{}
		wh, gvk, err := validating.Webhook[vmopv1.VirtualMachine](scheme.New(), v)
		Expect(err).NotTo(HaveOccurred())
		Expect(gvk).To(Equal(vmopv1.GroupVersion.WithKind("VirtualMachine")))
		handle = func(req admissionv1.AdmissionRequest) admission.Response {
			return wh.Handle(context.Background(), admission.Request{AdmissionRequest: req})
		}
	})

	It("is served where the kubebuilder marker says", func() {
		Expect(validating.Path(vmopv1.GroupVersion.WithKind("VirtualMachine"))).To(Equal("/validate-vmoperator-vmware-com-v1alpha1-virtualmachine"))
	})

	It("decodes a create's object and allows what the validator allows, with its warnings", func() {
		v.warnings = admission.Warnings{"heads up"}
		resp := handle(admissionv1.AdmissionRequest{Operation: admissionv1.Create, Object: vmJSON("small")})
		Expect(resp.Allowed).To(BeTrue())
		Expect(resp.Warnings).To(ConsistOf("heads up"))
		Expect(v.created.Spec.ClassName).To(Equal("small"))
		Expect(v.created.Name).To(Equal("vm"))
	})

	It("decodes both objects of an update, and the old object of a delete", func() {
		Expect(handle(admissionv1.AdmissionRequest{Operation: admissionv1.Update, Object: vmJSON("new"), OldObject: vmJSON("old")}).Allowed).To(BeTrue())
		Expect(v.oldVM.Spec.ClassName).To(Equal("old"))
		Expect(v.newVM.Spec.ClassName).To(Equal("new"))
		Expect(handle(admissionv1.AdmissionRequest{Operation: admissionv1.Delete, OldObject: vmJSON("gone")}).Allowed).To(BeTrue())
		Expect(v.deleted.Spec.ClassName).To(Equal("gone"))
	})

	It("answers an API status error with that status, causes included", func() {
		v.err = apierrors.NewInvalid(vmopv1.GroupVersion.WithKind("VirtualMachine").GroupKind(), "vm",
			field.ErrorList{field.Invalid(field.NewPath("spec", "className"), "small", "not bound")})
		resp := handle(admissionv1.AdmissionRequest{Operation: admissionv1.Create, Object: vmJSON("small")})
		Expect(resp.Allowed).To(BeFalse())
		Expect(resp.Result.Code).To(BeEquivalentTo(http.StatusUnprocessableEntity))
		Expect(resp.Result.Reason).To(Equal(metav1.StatusReasonInvalid))
		Expect(resp.Result.Details.Causes).To(ConsistOf(HaveField("Field", "spec.className")))
	})

	It("refuses with the message of any other error", func() {
		v.err = errors.New("no")
		resp := handle(admissionv1.AdmissionRequest{Operation: admissionv1.Create, Object: vmJSON("small")})
		Expect(resp.Allowed).To(BeFalse())
		Expect(resp.Result.Code).To(BeEquivalentTo(http.StatusForbidden))
		Expect(resp.Result.Message).To(Equal("no"))
	})

	DescribeTable("answers 400 to a request it cannot read, without asking the validator",
		func(req admissionv1.AdmissionRequest, message string) {
			resp := handle(req)
			Expect(resp.Allowed).To(BeFalse())
			Expect(resp.Result.Code).To(BeEquivalentTo(http.StatusBadRequest))
			Expect(resp.Result.Message).To(ContainSubstring(message))
			Expect(v.created).To(BeNil())
			Expect(v.newVM).To(BeNil())
		},
		Entry("no object", admissionv1.AdmissionRequest{Operation: admissionv1.Create}, "no VirtualMachine to decode"),
		Entry("malformed JSON", admissionv1.AdmissionRequest{Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(`{"spec":`)}}, "decode VirtualMachine"),
		Entry("a field of the wrong type", admissionv1.AdmissionRequest{Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(`{"kind":"VirtualMachine","apiVersion":"vmoperator.vmware.com/v1alpha1","spec":{"className":7}}`)}}, "decode VirtualMachine"),
		Entry("another kind", admissionv1.AdmissionRequest{Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(`{"kind":"VirtualMachineClass","apiVersion":"vmoperator.vmware.com/v1alpha1"}`)}}, `expected a VirtualMachine, got kind "VirtualMachineClass"`),
		Entry("no kind", admissionv1.AdmissionRequest{Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}}, "expected a VirtualMachine"),
		Entry("an update without its old object", admissionv1.AdmissionRequest{Operation: admissionv1.Update, Object: vmJSON("new")}, "no VirtualMachine to decode"),
		Entry("an unknown operation", admissionv1.AdmissionRequest{Operation: "PATCH", Object: vmJSON("x")}, `unknown operation "PATCH"`),
	)

	It("reads field names case-sensitively, as the apiserver does", func() {
		raw := []byte(`{"kind":"VirtualMachine","apiVersion":"vmoperator.vmware.com/v1alpha1","spec":{"className":"lower","ClassName":"upper"}}`)
		Expect(handle(admissionv1.AdmissionRequest{Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}}).Allowed).To(BeTrue())
		Expect(v.created.Spec.ClassName).To(Equal("lower"))
	})

	It("allows a connect without asking", func() {
		Expect(handle(admissionv1.AdmissionRequest{Operation: admissionv1.Connect}).Allowed).To(BeTrue())
	})
})
