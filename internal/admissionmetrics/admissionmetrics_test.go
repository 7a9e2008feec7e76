package admissionmetrics_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vm-service/vm-service/internal/admissionmetrics"
)

func TestAdmissionMetrics(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Admission metrics suite")
}

var _ = DescribeTable("Decision reads the verdict and reason of an answer",
	func(resp *admissionv1.AdmissionResponse, verdict, reason string) {
		v, r := admissionmetrics.Decision(resp)
		Expect(v).To(Equal(verdict))
		Expect(r).To(Equal(reason))
	},
	Entry("allowed", &admissionv1.AdmissionResponse{Allowed: true}, admissionmetrics.Allowed, ""),
	Entry("warned: the warned field, indexes dropped",
		&admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{field.Invalid(field.NewPath("spec", "topology", "workers").Index(0).Child("class"), "x", "not bound").Error()}},
		admissionmetrics.Warned, "spec.topology.workers.class"),
	Entry("warned without a field", &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{"something to know"}},
		admissionmetrics.Warned, "Warning"),
	Entry("denied: the first refused field",
		denied(apierrors.NewInvalid(schema.GroupKind{Kind: "VirtualMachine"}, "vm", field.ErrorList{
			field.Invalid(field.NewPath("spec", "className"), "x", "not bound"),
			field.Required(field.NewPath("spec", "storageClass"), ""),
		})), admissionmetrics.Denied, "spec.className"),
	Entry("denied with a map key in the field",
		denied(apierrors.NewInvalid(schema.GroupKind{Kind: "VirtualMachine"}, "vm", field.ErrorList{
			field.Forbidden(field.NewPath("metadata", "labels").Key("vmoperator.vmware.com/x"), "the manager's"),
		})), admissionmetrics.Denied, "metadata.labels"),
	Entry("denied without a field: the status reason",
		denied(apierrors.NewServiceUnavailable("cannot check now")), admissionmetrics.Denied, "ServiceUnavailable"),
)

func denied(err *apierrors.StatusError) *admissionv1.AdmissionResponse {
	st := err.Status()
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &st}
}
