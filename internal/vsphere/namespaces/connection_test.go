package namespaces_test

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
)

var _ = Describe("A vCenter Connection", func() {
	const secret = "Distinctive-C0nnection-Pa55word"
	conn := namespaces.ConnectionFromURL(&url.URL{
		Scheme: "https", Host: "vcenter.example.com", Path: "/sdk", User: url.UserPassword("administrator@vsphere.local", secret),
	}, true)

	It("formats without its password, however it is printed", func() {
		Expect(conn.Password).To(Equal(secret), "the spec must hold a password to hide")
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			for _, v := range []any{conn, &conn, struct{ C namespaces.Connection }{conn}} {
				out := fmt.Sprintf(verb, v)
				Expect(out).NotTo(ContainSubstring(secret), "%s of %T", verb, v)
				Expect(out).To(ContainSubstring("vcenter.example.com"), "%s of %T", verb, v)
			}
		}
		Expect(fmt.Sprint(conn)).To(ContainSubstring("administrator@vsphere.local"))
		out, err := json.Marshal(conn)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).NotTo(ContainSubstring(secret))
	})

	It("logs without its password through logr, even with user info left in its URL", func() {
		leaky := conn
		leaky.URL = &url.URL{Scheme: "https", Host: "vcenter.example.com", Path: "/sdk", User: url.UserPassword("root", secret)}
		var lines []string
		logger := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{})
		logger.Info("connecting", "connection", conn, "leaky", leaky, "pointer", &conn)
		Expect(lines).To(HaveLen(1))
		Expect(lines[0]).NotTo(ContainSubstring(secret))
		Expect(lines[0]).To(ContainSubstring(`"url"="https://vcenter.example.com/sdk"`))
		Expect(lines[0]).To(ContainSubstring(`"username"="administrator@vsphere.local"`))
		Expect(fmt.Sprint(leaky)).NotTo(ContainSubstring(secret))
	})
})
