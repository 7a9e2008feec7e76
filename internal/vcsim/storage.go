package vcsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/vmware/govmomi/vapi/namespace"
)

// VSANDefaultPolicyID is the id of the "vSAN Default Storage Policy" that govmomi's PBM simulator
// serves, whose Kubernetes name is vsan-default-storage-policy.
const VSANDefaultPolicyID = "aa6d5a82-1c88-45da-85d3-3d74b91a5bad"

// namespacesPath is where vCenter serves namespace instances.
const namespacesPath = "/api/vcenter/namespaces/instances"

// namespaceStorage completes govmomi's namespace simulator, which drops a namespace's storage
// specs: it records them from create and update requests and adds them to the namespace's
// info, as vCenter does. Everything else goes through to the simulator, sessions included.
type namespaceStorage struct {
	next http.Handler
	// defaultPolicy is given to a namespace created without storage specs; none when empty.
	defaultPolicy string

	mu    sync.Mutex
	specs map[string][]namespace.StorageSpec
}

// serveNamespaceStorage puts a namespaceStorage in front of the simulator's namespace endpoints.
func serveNamespaceStorage(mux *http.ServeMux, defaultPolicy string) {
	next, _ := mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: namespacesPath}})
	h := &namespaceStorage{next: next, defaultPolicy: defaultPolicy, specs: map[string][]namespace.StorageSpec{}}
	mux.Handle(namespacesPath, h)
	mux.Handle(namespacesPath+"/", h)
}

func (h *namespaceStorage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, action, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, namespacesPath), "/"), "/")
	switch {
	case r.Method == http.MethodPost && name == "":
		var spec namespace.NamespacesInstanceCreateSpec
		body := h.decode(r, &spec)
		if h.forward(w, r, body) && spec.Namespace != "" {
			specs := spec.StorageSpecs
			if len(specs) == 0 && h.defaultPolicy != "" {
				specs = []namespace.StorageSpec{{Policy: h.defaultPolicy}}
			}
			h.set(spec.Namespace, specs)
		}
	case r.Method == http.MethodPatch && name != "" && action == "":
		var spec namespace.NamespacesInstanceUpdateSpec
		body := h.decode(r, &spec)
		if spec.StorageSpecs != nil && len(spec.VmServiceSpec.VmClasses) == 0 && len(spec.VmServiceSpec.ContentLibraries) == 0 {
			// An update of storage alone (govc namespace.update -storage) leaves the VM service
			// spec as it is in vCenter; the simulator would empty it.
			body = h.keepVMService(r, spec)
		}
		// As in vCenter, an update without storage specs leaves them as they are.
		if h.forward(w, r, body) && spec.StorageSpecs != nil {
			h.set(name, spec.StorageSpecs)
		}
	case r.Method == http.MethodDelete && name != "" && action == "":
		if h.forward(w, r, nil) {
			h.set(name, nil)
		}
	case r.Method == http.MethodGet && name != "" && action == "":
		h.getWithStorage(w, r, name)
	default:
		h.next.ServeHTTP(w, r)
	}
}

// decode reads the request body into v and returns it, so it can be sent on.
func (h *namespaceStorage) decode(r *http.Request, v any) []byte {
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, v) // the simulator answers malformed bodies itself
	return body
}

// forward sends the request on with body and copies the answer; it says whether that was a
// success.
func (h *namespaceStorage) forward(w http.ResponseWriter, r *http.Request, body []byte) bool {
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	copyResponse(w, rec, rec.Body.Bytes())
	return rec.Code < http.StatusMultipleChoices
}

// keepVMService is spec's body with the namespace's current VM service spec, read through the
// simulator with the request's own session.
func (h *namespaceStorage) keepVMService(r *http.Request, spec namespace.NamespacesInstanceUpdateSpec) []byte {
	get := r.Clone(r.Context())
	get.Method, get.Body = http.MethodGet, http.NoBody
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, get)
	var info namespace.NamespacesInstanceInfo
	if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &info) == nil {
		spec.VmServiceSpec = info.VmServiceSpec
	}
	body, _ := json.Marshal(spec)
	return body
}

// getWithStorage answers a namespace read with its recorded storage specs added.
func (h *namespaceStorage) getWithStorage(w http.ResponseWriter, r *http.Request, name string) {
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	var info map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &info) != nil {
		copyResponse(w, rec, rec.Body.Bytes())
		return
	}
	h.mu.Lock()
	if specs := h.specs[name]; len(specs) > 0 {
		info["storage_specs"] = specs
	}
	h.mu.Unlock()
	body, _ := json.Marshal(info)
	copyResponse(w, rec, body)
}

func (h *namespaceStorage) set(name string, specs []namespace.StorageSpec) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(specs) == 0 {
		delete(h.specs, name)
		return
	}
	h.specs[name] = specs
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder, body []byte) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}
