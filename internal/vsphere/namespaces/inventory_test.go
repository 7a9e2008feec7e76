package namespaces

import (
	"context"
	"errors"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi/vapi/namespace"
)

var _ = Describe("Reading vCenter's namespace-management API", func() {
	It("returns no inventory at all when one listing fails", func() {
		api := &fakeNamespaceAPI{
			namespaces: []namespace.NamespacesInstanceSummary{{Namespace: "a"}, {Namespace: "b"}},
			failGet:    "b",
		}
		inv, err := readInventory(context.Background(), api, nil)
		Expect(err).To(MatchError(ContainSubstring("get vCenter namespace b")))
		Expect(inv).To(BeNil())
	})

	It("never treats two sessions with different credentials as one", func() {
		a := Connection{URL: mustParse("https://vc/sdk"), Username: "u", Password: "p"}
		b := a
		b.Password = "rotated"
		Expect(a.sameAs(a)).To(BeTrue())
		Expect(a.sameAs(b)).To(BeFalse())
		Expect(ConnectionFromURL(mustParse("https://u:p@vc/sdk"), false).sameAs(a)).To(BeTrue())
		Expect(ConnectionFromURL(mustParse("https://u:p@vc/sdk"), false).URL.User).To(BeNil())
	})
})

type fakeNamespaceAPI struct {
	namespaces []namespace.NamespacesInstanceSummary
	failGet    string
}

func (f *fakeNamespaceAPI) ListNamespaces(context.Context) ([]namespace.NamespacesInstanceSummary, error) {
	return f.namespaces, nil
}

func (f *fakeNamespaceAPI) GetNamespace(_ context.Context, name string) (namespace.NamespacesInstanceInfo, error) {
	if name == f.failGet {
		return namespace.NamespacesInstanceInfo{}, errors.New("500 Internal Server Error")
	}
	return namespace.NamespacesInstanceInfo{}, nil
}

func (f *fakeNamespaceAPI) ListVmClasses(context.Context) ([]namespace.VirtualMachineClassInfo, error) {
	return nil, nil
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	Expect(err).NotTo(HaveOccurred())
	return u
}
