package tkr_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/internal/tkr"
)

var _ = Describe("Parse", func() {
	It("splits a release version into Kubernetes version, vmware.N and tkg.M", func() {
		v, err := tkr.Parse("v1.20.2+vmware.1-tkg.2.3e10706")
		Expect(err).NotTo(HaveOccurred())
		Expect([]uint64{v.Major(), v.Minor(), v.Patch(), v.VMware(), v.TKG()}).To(Equal([]uint64{1, 20, 2, 1, 2}))
		Expect(v.KubernetesVersion()).To(Equal("v1.20.2"))
		Expect(v.String()).To(Equal("v1.20.2+vmware.1-tkg.2.3e10706"))
	})

	DescribeTable("accepts release versions, with or without the leading v",
		func(in, canonical, kubernetes string, vmware, tkg uint64) {
			v, err := tkr.Parse(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.String()).To(Equal(canonical))
			Expect(v.KubernetesVersion()).To(Equal(kubernetes))
			Expect(v.VMware()).To(Equal(vmware))
			Expect(v.TKG()).To(Equal(tkg))
		},
		Entry("no leading v", "1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", uint64(1), uint64(2)),
		Entry("no hash", "v1.20.8+vmware.1-tkg.2", "v1.20.8+vmware.1-tkg.2", "v1.20.8", uint64(1), uint64(2)),
		Entry("no tkg", "v1.20.8+vmware.3", "v1.20.8+vmware.3", "v1.20.8", uint64(3), uint64(0)),
		Entry("dash suffix", "v1.23.8+vmware.2-tkg.2-zshippable", "v1.23.8+vmware.2-tkg.2-zshippable", "v1.23.8", uint64(2), uint64(2)),
		Entry("bare Kubernetes version", "v1.20.2", "v1.20.2", "v1.20.2", uint64(0), uint64(0)),
		Entry("prerelease", "v1.21.0-rc.1+vmware.1-tkg.1", "v1.21.0-rc.1+vmware.1-tkg.1", "v1.21.0-rc.1", uint64(1), uint64(1)),
		Entry("large numbers", "v10.200.3000+vmware.40-tkg.500.x", "v10.200.3000+vmware.40-tkg.500.x", "v10.200.3000", uint64(40), uint64(500)),
	)

	DescribeTable("rejects what is not a release version, saying why",
		func(in, why string) {
			_, err := tkr.Parse(in)
			Expect(err).To(MatchError(tkr.ErrInvalidVersion))
			Expect(err.Error()).To(ContainSubstring(why))
		},
		Entry("empty", "", "empty"),
		Entry("only v", "v", "empty"),
		Entry("two components", "v1.20", "MAJOR.MINOR.PATCH"),
		Entry("four components", "v1.20.2.1", "MAJOR.MINOR.PATCH"),
		Entry("empty component", "v1..2", "missing number"),
		Entry("leading zero", "v1.020.2", "leading zero"),
		Entry("letters in a number", "v1.2x.2", "not a number"),
		Entry("overflow", "v1.20.99999999999999999999", "too large"),
		Entry("space", " v1.20.2", "not a number"),
		Entry("empty prerelease", "v1.20.2-", "empty identifier"),
		Entry("prerelease leading zero", "v1.20.2-rc.01", "leading zero"),
		Entry("foreign build metadata", "v1.20.2+build.5", "vmware.N"),
		Entry("vmware without number", "v1.20.2+vmware.", "missing number"),
		Entry("tkg without number", "v1.20.2+vmware.1-tkg", "-tkg.2"),
		Entry("tkg leading zero", "v1.20.2+vmware.1-tkg.02", "leading zero"),
		Entry("garbage after numbers", "v1.20.2+vmware.1x", "unexpected"),
		Entry("empty suffix", "v1.20.2+vmware.1-tkg.2.", "empty identifier"),
		Entry("bad suffix character", "v1.20.2+vmware.1-tkg.2.3e1_706", "not allowed"),
		Entry("two plus signs", "v1.20.2+vmware.1+x", "unexpected"),
	)
})

var _ = Describe("Compare", func() {
	DescribeTable("orders by Kubernetes semver, then vmware.N, then tkg.M, numerically",
		func(older, newer string) {
			o, err := tkr.Parse(older)
			Expect(err).NotTo(HaveOccurred())
			n, err := tkr.Parse(newer)
			Expect(err).NotTo(HaveOccurred())
			Expect(o.Compare(n)).To(Equal(-1))
			Expect(n.Compare(o)).To(Equal(1))
			Expect(n.Newer(o)).To(BeTrue())
			Expect(o.Newer(n)).To(BeFalse())
		},
		Entry("patch, numerically not textually", "v1.20.9+vmware.1-tkg.1.a", "v1.20.10+vmware.1-tkg.1.a"),
		Entry("minor beats every build number", "v1.19.7+vmware.9-tkg.9.a", "v1.20.0+vmware.1-tkg.1.a"),
		Entry("major", "v1.99.99+vmware.1-tkg.1.a", "v2.0.0+vmware.1-tkg.1.a"),
		Entry("vmware.N beats tkg.M", "v1.20.2+vmware.1-tkg.9.a", "v1.20.2+vmware.2-tkg.1.a"),
		Entry("vmware.N numerically", "v1.20.2+vmware.9-tkg.1.a", "v1.20.2+vmware.10-tkg.1.a"),
		Entry("tkg.M numerically", "v1.20.2+vmware.1-tkg.9.a", "v1.20.2+vmware.1-tkg.10.a"),
		Entry("the Kubernetes version beats the build", "v1.20.2+vmware.9-tkg.9.a", "v1.20.3+vmware.1-tkg.1.a"),
		Entry("a build beats no build", "v1.20.2", "v1.20.2+vmware.1"),
		Entry("a prerelease comes before its release", "v1.21.0-rc.1+vmware.9-tkg.9", "v1.21.0+vmware.1-tkg.1"),
		Entry("prerelease numbers numerically", "v1.21.0-rc.2", "v1.21.0-rc.10"),
		Entry("numeric prerelease identifiers before alphanumeric", "v1.21.0-1", "v1.21.0-alpha"),
		Entry("longer prerelease wins a tie", "v1.21.0-rc", "v1.21.0-rc.1"),
	)

	It("treats builds differing only in their suffix as equal, yet orders them deterministically", func() {
		a, _ := tkr.Parse("v1.20.2+vmware.1-tkg.2.aaaaaaa")
		b, _ := tkr.Parse("1.20.2+vmware.1-tkg.2.bbbbbbb")
		Expect(a.Compare(b)).To(Equal(0))
		Expect(b.Newer(a)).NotTo(Equal(a.Newer(b)))
	})

	It("says which versions share a Kubernetes minor", func() {
		a, _ := tkr.Parse("v1.20.2+vmware.1-tkg.2.3e10706")
		b, _ := tkr.Parse("v1.20.20+vmware.1-tkg.1.x")
		c, _ := tkr.Parse("v1.21.2+vmware.1-tkg.1.x")
		Expect(a.SameMinor(b)).To(BeTrue())
		Expect(a.SameMinor(c)).To(BeFalse())
	})
})
