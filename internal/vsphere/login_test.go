package vsphere_test

import (
	"context"
	"net"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/internal/vsphere"
)

var _ = Describe("The vCenter login readiness check", func() {
	var (
		ctx = context.Background()
		cfg vsphere.Config
	)

	BeforeEach(func() {
		sim, err := vcsim.StartWith(vcsim.Options{Login: url.UserPassword("administrator@vsphere.local", "right")})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
		u := sim.URL()
		u.User = nil
		cfg = vsphere.Config{URL: u.String(), Username: "administrator@vsphere.local", Password: "right", Insecure: true, Cluster: vcsim.ClusterName, ContentLibrary: libraryName}
	})

	// check lists the images, which logs in, and returns what the readiness check says then.
	check := func(cfg vsphere.Config) error {
		p, err := vsphere.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(p.CheckLogin(nil)).To(Succeed(), "nothing tried yet")
		_, _ = p.ListImages(ctx)
		return p.CheckLogin(nil)
	}

	It("fails while vCenter rejects the credentials, saying to fix the Secret", func() {
		cfg.Password = "wrong"
		Expect(check(cfg)).To(MatchError(ContainSubstring("fix the username and password in the Secret mounted at --vcenter-credentials-dir")))
	})

	It("fails while vCenter's certificate is not trusted, saying how to trust it", func() {
		cfg.Insecure = false
		Expect(check(cfg)).To(MatchError(ContainSubstring("or set --vcenter-insecure")))
	})

	It("passes once a login succeeds", func() {
		Expect(check(cfg)).To(Succeed())
	})

	It("passes while vCenter is unreachable, which may be an outage that must not take admission down", func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		closed := l.Addr().String()
		Expect(l.Close()).To(Succeed())
		cfg.URL = "https://" + closed + "/sdk"
		Expect(check(cfg)).To(Succeed())
	})
})
