// Package admissionfuzz sends fuzzed admission requests to the product's webhooks the way the
// apiserver does, as the bytes of an AdmissionReview over HTTP, and checks every answer.
package admissionfuzz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/vm-service/vm-service/internal/confirm"
	"github.com/vm-service/vm-service/internal/scheme"
	"github.com/vm-service/vm-service/test/fakeclient"
	"github.com/vm-service/vm-service/test/objects"
)

// uid identifies every fuzzed request; the answer must carry it back.
const uid = "00000000-0000-0000-0000-000000000001"

// operations are what a fuzzed operation byte picks from, CONNECT included: an apiserver
// configured by hand could send it.
var operations = []admissionv1.Operation{admissionv1.Create, admissionv1.Update, admissionv1.Delete, admissionv1.Connect}

// Request is one fuzzed admission request: the operation, picked by a byte, and the raw bytes of
// the object and of the old object (the one an update replaces or a delete removes).
type Request struct {
	Operation byte
	Object    []byte
	OldObject []byte
}

// Body is the AdmissionReview the apiserver would POST for r on kind. The object bytes are
// spliced in as they are, so malformed ones make a malformed review, as a broken client would.
func (r Request) Body(kind schema.GroupVersionKind) []byte {
	op := operations[int(r.Operation)%len(operations)]
	gvk, _ := json.Marshal(map[string]string{"group": kind.Group, "version": kind.Version, "kind": kind.Kind})
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":%q,"kind":%s,"operation":%q,"userInfo":{"username":"fuzz"}`, uid, gvk, op)
	for _, f := range []struct {
		name string
		raw  []byte
	}{{"object", r.Object}, {"oldObject", r.OldObject}} {
		if len(f.raw) > 0 {
			fmt.Fprintf(&b, ",%q:%s", f.name, f.raw)
		}
	}
	b.WriteString("}}")
	return b.Bytes()
}

// Check posts r to each webhook, which must answer without panicking (panics are not recovered
// here, so the fuzzer reports them with their stack) and either admit it or refuse it with a
// 4xx code and a message. 5xx answers are failures: they mean the webhook broke, not the request.
func Check(t *testing.T, kind schema.GroupVersionKind, r Request, webhooks ...*admission.Webhook) {
	t.Helper()
	body := r.Body(kind)
	for _, wh := range webhooks {
		resp := post(t, wh, body)
		if resp.UID != uid && resp.Result != nil && resp.Result.Code != http.StatusBadRequest {
			t.Fatalf("answer for UID %q, want %q (result %+v)", resp.UID, uid, resp.Result)
		}
		if resp.Allowed {
			continue
		}
		if resp.Result == nil {
			t.Fatalf("refused without a status: %s", body)
		}
		if code := resp.Result.Code; code < 400 || code > 499 {
			t.Fatalf("refused with code %d (%q), want a 4xx, for %s", code, resp.Result.Message, body)
		}
		if resp.Result.Message == "" {
			t.Fatalf("refused with code %d and no message, for %s", resp.Result.Code, body)
		}
	}
}

// post sends body to wh over its HTTP handler and decodes the AdmissionReview it answers.
func post(t *testing.T, wh *admission.Webhook, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/admit", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	wh.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d from the webhook: %s", rec.Code, rec.Body)
	}
	review := admissionv1.AdmissionReview{}
	if err := json.Unmarshal(rec.Body.Bytes(), &review); err != nil {
		t.Fatalf("answer is not an AdmissionReview: %v: %s", err, rec.Body)
	}
	if review.Response == nil {
		t.Fatalf("AdmissionReview without a response: %s", rec.Body)
	}
	return review.Response
}

// Namespace is where Readers' namespaced objects live; seeds put their objects there, so the
// fuzzer starts from requests that reach the checks behind the readers.
const Namespace = "fuzz"

// Class, Storage and Release name what Readers holds: a class bound in Namespace, a storage
// class assigned to it, and a release.
const (
	Class   = "best-effort-small"
	Storage = "vsan-default-storage-policy"
	Release = "v1.20.2+vmware.1-tkg.2.3e10706"
)

// Readers answers the webhooks' reads from a fake client holding a bound class, an assigned
// storage class and a release, with no apiserver to confirm against.
func Readers() confirm.Readers {
	return confirm.Readers{Cache: fakeclient.New(
		objects.BestEffortClass(Class, 2, "4Gi"),
		objects.Binding(Namespace, Class, Class),
		objects.StorageClass(Storage, "policy-1"),
		objects.StorageQuota(Namespace, Storage),
		objects.Release(Release, "v1.20.2", "photon-3-k8s-v1.20.2"),
	)}
}

// Seed is obj as the apiserver would send it in a review: JSON with its apiVersion and kind.
func Seed(f *testing.F, obj client.Object) []byte {
	f.Helper()
	gvk, err := apiutil.GVKForObject(obj, scheme.New())
	if err != nil {
		f.Fatal(err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	data, err := json.Marshal(obj)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// Fuzz runs the fuzz target f: each seed object is sent as a create, an update of itself and a
// delete, and the fuzzer's requests of kind go to the webhooks in turn, checked by Check.
func Fuzz(f *testing.F, kind schema.GroupVersionKind, seeds [][]byte, webhooks ...*admission.Webhook) {
	f.Helper()
	for _, wh := range webhooks {
		wh.RecoverPanic = new(bool)
	}
	for _, seed := range seeds {
		f.Add(opIndex(admissionv1.Create), seed, []byte(nil))
		f.Add(opIndex(admissionv1.Update), seed, seed)
		f.Add(opIndex(admissionv1.Delete), []byte(nil), seed)
	}
	f.Fuzz(func(t *testing.T, op byte, object, oldObject []byte) {
		Check(t, kind, Request{Operation: op, Object: object, OldObject: oldObject}, webhooks...)
	})
}

// opIndex is the byte that picks op.
func opIndex(op admissionv1.Operation) byte {
	return byte(slices.Index(operations, op))
}
