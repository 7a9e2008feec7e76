package vcsim_test

import (
	"context"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vmware/govmomi"

	"github.com/vm-service/vm-service/internal/vcsim"
)

var _ = Describe("A simulator given a login", func() {
	ctx := context.Background()
	var sim *vcsim.Simulator
	BeforeEach(func() {
		var err error
		sim, err = vcsim.StartWith(vcsim.Options{Login: url.UserPassword("administrator@vsphere.local", "s3cret-for-this-run")})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
	})

	It("hands it out in its URL and accepts it, over SOAP and REST", func() {
		password, _ := sim.URL().User.Password()
		Expect(password).To(Equal("s3cret-for-this-run"))
		rc, err := sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(rc.Logout(ctx)).To(Succeed())
	})

	It("refuses any other password, vcsim's default included", func() {
		for _, password := range []string{"pass", "wrong"} {
			u := sim.URL()
			u.User = url.UserPassword("administrator@vsphere.local", password)
			_, err := govmomi.NewClient(ctx, u, true)
			Expect(err).To(MatchError(ContainSubstring("Login failure")), "password %q", password)
		}
	})
})
