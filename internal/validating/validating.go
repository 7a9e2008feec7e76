// Package validating serves the product's validating webhooks. It decodes an admission
// request's objects straight into their Go type and answers with the validator's verdict, as
// controller-runtime's typed validators do, but in one pass over each object where those take
// two (one to read the object's kind, one to decode it): the apiserver sends the kind and
// version the webhook is registered for, so the decoded kind is checked instead.
package validating

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	kjson "sigs.k8s.io/json"
)

// Object is a pointer to an API type E.
type Object[E any] interface {
	*E
	runtime.Object
}

// Register serves v on mgr's webhook server at the path kubebuilder's webhook markers give E's
// kind: /validate-<group with dashes>-<version>-<kind in lower case>.
func Register[E any, T Object[E]](mgr ctrl.Manager, v admission.Validator[T]) error {
	wh, gvk, err := Webhook[E, T](mgr.GetScheme(), v)
	if err != nil {
		return err
	}
	mgr.GetWebhookServer().Register(Path(gvk), wh)
	return nil
}

// Webhook is the admission webhook that answers with v's verdicts on E.
func Webhook[E any, T Object[E]](scheme *runtime.Scheme, v admission.Validator[T]) (*admission.Webhook, schema.GroupVersionKind, error) {
	gvk, err := apiutil.GVKForObject(T(new(E)), scheme)
	if err != nil {
		return nil, gvk, fmt.Errorf("validating webhook: %w", err)
	}
	return &admission.Webhook{Handler: handler[E, T]{gvk: gvk, validator: v}}, gvk, nil
}

// Path is where the validating webhook of gvk's kind is served.
func Path(gvk schema.GroupVersionKind) string {
	return "/validate-" + strings.ReplaceAll(gvk.Group, ".", "-") + "-" + gvk.Version + "-" + strings.ToLower(gvk.Kind)
}

type handler[E any, T Object[E]] struct {
	gvk       schema.GroupVersionKind
	validator admission.Validator[T]
}

// Handle decodes what the operation concerns and asks the validator. An error that is an API
// status answers with that status (its code, reason and causes), any other refuses with its
// message, as controller-runtime's validators answer.
func (h handler[E, T]) Handle(ctx context.Context, req admission.Request) admission.Response {
	ctx = admission.NewContextWithRequest(ctx, req)
	var warnings admission.Warnings
	var err error
	switch req.Operation {
	case admissionv1.Create:
		obj, derr := h.decode(req.Object)
		if derr != nil {
			return admission.Errored(http.StatusBadRequest, derr)
		}
		warnings, err = h.validator.ValidateCreate(ctx, obj)
	case admissionv1.Update:
		obj, derr := h.decode(req.Object)
		old, oerr := h.decode(req.OldObject)
		if derr := errors.Join(derr, oerr); derr != nil {
			return admission.Errored(http.StatusBadRequest, derr)
		}
		warnings, err = h.validator.ValidateUpdate(ctx, old, obj)
	case admissionv1.Delete:
		old, derr := h.decode(req.OldObject) // a delete's object is its old object
		if derr != nil {
			return admission.Errored(http.StatusBadRequest, derr)
		}
		warnings, err = h.validator.ValidateDelete(ctx, old)
	case admissionv1.Connect:
		return admission.Allowed("")
	default:
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("unknown operation %q", req.Operation))
	}
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &status):
		result := status.Status()
		return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Result: &result}}.WithWarnings(warnings...)
	case err != nil:
		return admission.Denied(err.Error()).WithWarnings(warnings...)
	}
	return admission.Allowed("").WithWarnings(warnings...)
}

// decode reads raw, case-sensitively as the apiserver does, into a new E, which must say it is
// of the webhook's kind and version.
func (h handler[E, T]) decode(raw runtime.RawExtension) (T, error) {
	if len(raw.Raw) == 0 {
		return nil, fmt.Errorf("no %s to decode in the request", h.gvk.Kind)
	}
	obj := T(new(E))
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw.Raw, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", h.gvk.Kind, err)
	}
	if got := obj.GetObjectKind().GroupVersionKind(); got != h.gvk {
		return nil, fmt.Errorf("expected a %s, got kind %q of %q", h.gvk.Kind, got.Kind, got.GroupVersion())
	}
	return obj, nil
}
