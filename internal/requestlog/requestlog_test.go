package requestlog_test

import (
	"errors"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/vm-service/vm-service/internal/requestlog"
)

func TestRequestLog(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Request log suite")
}

var _ = Describe("Deferred", func() {
	var (
		lines  []string
		built  int
		base   logr.Logger
		req    *admission.Request
		logger func(*admission.Request) logr.Logger
	)
	BeforeEach(func() {
		lines, built = nil, 0
		base = funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) },
			funcr.Options{LogCaller: funcr.All, Verbosity: 1})
		req = &admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "uid-1", Name: "vm-1", Namespace: "ns"}}
		construct := requestlog.Deferred(func(base logr.Logger, req *admission.Request) logr.Logger {
			built++
			if req == nil {
				return base
			}
			return base.WithValues("requestID", req.UID)
		})
		logger = func(r *admission.Request) logr.Logger { return construct(base, r) }
	})

	It("builds the request's logger only when a line is written, once", func() {
		log := logger(req)
		Expect(log.V(2).Enabled()).To(BeFalse())
		log.V(2).Info("not written")
		Expect(built).To(BeZero())

		log.Info("written", "k", "v")
		log.Error(errors.New("boom"), "failed")
		Expect(built).To(Equal(1))
		Expect(lines).To(HaveLen(2))
		Expect(lines[0]).To(And(ContainSubstring(`"requestID"="uid-1"`), ContainSubstring(`"msg"="written"`), ContainSubstring(`"k"="v"`)))
		Expect(lines[1]).To(And(ContainSubstring(`"requestID"="uid-1"`), ContainSubstring(`"error"="boom"`)))
	})

	It("reports the caller's line, not its own", func() {
		logger(req).Info("here")
		Expect(lines).To(ContainElement(ContainSubstring(`"file"="requestlog_test.go"`)))
	})

	It("keeps the request's values under added values and names", func() {
		logger(req).WithName("vm").WithValues("extra", 1).Info("named")
		Expect(lines).To(ConsistOf(And(ContainSubstring(`"requestID"="uid-1"`), ContainSubstring(`"extra"=1`), HavePrefix("vm "))))
	})

	It("builds at once without a request", func() {
		logger(nil)
		Expect(built).To(Equal(1))
	})
})
