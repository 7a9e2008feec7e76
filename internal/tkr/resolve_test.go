package tkr_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/internal/tkr"
)

var _ = Describe("Resolve", func() {
	DescribeTable("picks the newest release the hint is a prefix of, at component boundaries",
		func(hint, want string) {
			got, err := tkr.Resolve(hint, catalog)
			Expect(err).NotTo(HaveOccurred())
			Expect(got.Spec.Version).To(Equal(want))
		},
		Entry("the walkthrough: v1.20.2 is the newer of its two tkg builds", "v1.20.2", "v1.20.2+vmware.1-tkg.2.3e10706"),
		Entry("the leading v is optional", "1.20.2", "v1.20.2+vmware.1-tkg.2.3e10706"),
		Entry("a minor matches every patch; v1.20.20 is the newest", "v1.20", "v1.20.20+vmware.1-tkg.1.abcdef0"),
		Entry("a minor without v", "1.19", "v1.19.7+vmware.1-tkg.1.fc82c41"),
		Entry("a major matches every minor", "v1", "v1.21.6+vmware.1-tkg.1.b3d708a"),
		Entry("v1.20.20 is not mistaken for v1.20.2", "v1.20.20", "v1.20.20+vmware.1-tkg.1.abcdef0"),
		Entry("a build hint", "v1.20.8+vmware.1", "v1.20.8+vmware.1-tkg.2"),
		Entry("a tkg hint selects that build, not the newest", "v1.20.2+vmware.1-tkg.1", "v1.20.2+vmware.1-tkg.1.1d4f79a"),
		Entry("a tkg hint with no hash", "v1.20.8+vmware.1-tkg.1", "v1.20.8+vmware.1-tkg.1.1234567"),
		Entry("a full version matches itself", "v1.20.2+vmware.1-tkg.1.1d4f79a", "v1.20.2+vmware.1-tkg.1.1d4f79a"),
		Entry("a full version without v", "1.20.2+vmware.1-tkg.1.1d4f79a", "v1.20.2+vmware.1-tkg.1.1d4f79a"),
	)

	DescribeTable("matches only at component boundaries",
		func(hint, version string, want bool) {
			Expect(tkr.Matches(hint, version)).To(Equal(want))
		},
		Entry("v1.20.2 matches its vmware.1 build", "v1.20.2", "v1.20.2+vmware.1-tkg.2.3e10706", true),
		Entry("v1.20.2 matches its vmware.2 build", "v1.20.2", "v1.20.2+vmware.2-tkg.1.abc1234", true),
		Entry("v1.20.2 does not match v1.20.20", "v1.20.2", "v1.20.20+vmware.1-tkg.1.abc1234", false),
		Entry("v1.2 does not match v1.20", "v1.2", "v1.20.2+vmware.1-tkg.1.abc1234", false),
		Entry("v1 does not match v10", "v1", "v10.0.0+vmware.1-tkg.1.abc1234", false),
		Entry("vmware.1 does not match vmware.10", "v1.20.2+vmware.1", "v1.20.2+vmware.10-tkg.1.abc1234", false),
		Entry("tkg.1 does not match tkg.10", "v1.20.2+vmware.1-tkg.1", "v1.20.2+vmware.1-tkg.10.abc1234", false),
		Entry("a partial hash is not a component", "v1.20.2+vmware.1-tkg.2.3e107", "v1.20.2+vmware.1-tkg.2.3e10706", false),
		Entry("a full version does not match a sibling build", "v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2+vmware.1-tkg.2.4f00000", false),
		Entry("a patch matches its prerelease", "v1.21.0", "v1.21.0-rc.1+vmware.1-tkg.1", true),
		Entry("a longer hint never matches a shorter version", "v1.20.2+vmware.1-tkg.2", "v1.20.2+vmware.1", false),
		Entry("the release may omit the v", "v1.20", "1.20.2+vmware.1-tkg.2.3e10706", true),
		Entry("a malformed hint matches nothing", "v1..20", "v1.20.2+vmware.1-tkg.2.3e10706", false),
		Entry("a malformed version matches nothing", "v1.20", "v1.20.2+build.1", false),
	)

	It("ignores the order the releases come in", func() {
		reversed := make([]runv1.TanzuKubernetesRelease, len(catalog))
		for i := range catalog {
			reversed[len(catalog)-1-i] = catalog[i]
		}
		for _, list := range [][]runv1.TanzuKubernetesRelease{catalog, reversed} {
			got, err := tkr.Resolve("v1.20.2", list)
			Expect(err).NotTo(HaveOccurred())
			Expect(got.Spec.Version).To(Equal("v1.20.2+vmware.1-tkg.2.3e10706"))
		}
	})

	It("orders vmware.N before tkg.M across builds", func() {
		list := releases("v1.20.2+vmware.1-tkg.9.aaaaaaa", "v1.20.2+vmware.2-tkg.1.bbbbbbb", "v1.20.2+vmware.10-tkg.1.ccccccc")
		got, err := tkr.Resolve("v1.20.2", list)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Spec.Version).To(Equal("v1.20.2+vmware.10-tkg.1.ccccccc"))
	})

	It("returns the release from the given slice, not a copy", func() {
		got, err := tkr.Resolve("v1.21", catalog)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(BeIdenticalTo(&catalog[1]))
	})

	It("skips releases whose version does not parse, and uses the name when spec.version is empty", func() {
		list := releases("v1.20.9+custom.1", "v1.20.2+vmware.1-tkg.2.3e10706")
		list[0].Spec.Version = "v1.20.9+custom.1"
		noSpec := list[1]
		noSpec.Spec.Version = ""
		got, err := tkr.Resolve("v1.20", []runv1.TanzuKubernetesRelease{list[0], noSpec})
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Name).To(Equal("v1.20.2---vmware.1-tkg.2.3e10706"))
	})

	Context("when it cannot resolve", func() {
		DescribeTable("lists the available versions, newest first, for the user",
			func(hint string, problem error, says string) {
				_, err := tkr.Resolve(hint, catalog)
				Expect(err).To(MatchError(problem))
				Expect(err.Error()).To(ContainSubstring(says))
				Expect(err.Error()).To(HaveSuffix("available versions (newest first): " + strings.Join(newestFirst, ", ")))
				var verr *tkr.VersionError
				Expect(err).To(BeAssignableToTypeOf(verr))
				verr = err.(*tkr.VersionError)
				Expect(verr.Field).To(Equal("version"))
				Expect(verr.Value).To(Equal(hint))
				Expect(verr.Available).To(Equal(newestFirst))
			},
			Entry("an unknown minor", "v1.17", tkr.ErrNoMatch, `no TanzuKubernetesRelease matches version "v1.17"`),
			Entry("an unknown patch", "v1.20.3", tkr.ErrNoMatch, `matches version "v1.20.3"`),
			Entry("a prefix that is not at a boundary", "v1.2", tkr.ErrNoMatch, `matches version "v1.2"`),
			Entry("an unknown build", "v1.20.2+vmware.3", tkr.ErrNoMatch, `matches version "v1.20.2+vmware.3"`),
			Entry("an empty hint", "", tkr.ErrVersionRequired, "a version is required"),
			Entry("an empty component", "v1..20", tkr.ErrInvalidVersion, "empty component"),
			Entry("a trailing dot", "v1.20.", tkr.ErrInvalidVersion, "empty component"),
			Entry("a leading zero", "v1.020", tkr.ErrInvalidVersion, "leading zero"),
			Entry("a space", "v1.20 ", tkr.ErrInvalidVersion, "not allowed"),
			Entry("a word", "latest", tkr.ErrInvalidVersion, "not a number"),
			Entry("only v", "v", tkr.ErrInvalidVersion, `nothing after "v"`),
			Entry("a build without a patch", "v1.20+vmware.1", tkr.ErrInvalidVersion, "needs MAJOR.MINOR.PATCH"),
			Entry("too many numbers", "v1.20.2.1", tkr.ErrInvalidVersion, "more than MAJOR.MINOR.PATCH"),
		)

		It("says so when there are no releases at all", func() {
			_, err := tkr.Resolve("v1.20", nil)
			Expect(err).To(MatchError(tkr.ErrNoMatch))
			Expect(err.Error()).To(HaveSuffix("no TanzuKubernetesReleases are available"))
		})
	})
})

var _ = Describe("CheckFullVersion", func() {
	DescribeTable("accepts a full version that exists and agrees with the hint",
		func(hint, full string) {
			Expect(tkr.CheckFullVersion(hint, full, catalog)).To(Succeed())
		},
		Entry("the walkthrough's pair", "v1.20.2", "v1.20.2+vmware.1-tkg.2.3e10706"),
		Entry("an older build than the hint's newest (a pinned cluster)", "v1.20", "v1.20.2+vmware.1-tkg.1.1d4f79a"),
		Entry("no hint", "", "v1.21.6+vmware.1-tkg.1.b3d708a"),
		Entry("leading v optional on both", "1.21", "1.21.6+vmware.1-tkg.1.b3d708a"),
		Entry("identical", "v1.20.8+vmware.1-tkg.2", "v1.20.8+vmware.1-tkg.2"),
		Entry("no full version yet: the mutating webhook fills it", "v1.20", ""),
	)

	DescribeTable("rejects a full version that is missing, unknown or contradicts the hint",
		func(hint, full string, problem error, field string, says ...string) {
			err := tkr.CheckFullVersion(hint, full, catalog)
			Expect(err).To(MatchError(problem))
			Expect(err.(*tkr.VersionError).Field).To(Equal(field))
			for _, s := range says {
				Expect(err.Error()).To(ContainSubstring(s))
			}
			Expect(err.Error()).To(ContainSubstring("available versions (newest first): " + newestFirst[0]))
		},
		Entry("another minor", "v1.20", "v1.21.6+vmware.1-tkg.1.b3d708a", tkr.ErrMismatch, "fullVersion",
			`fullVersion "v1.21.6+vmware.1-tkg.1.b3d708a" does not agree with version "v1.20"`),
		Entry("v1.20.20 is not a v1.20.2", "v1.20.2", "v1.20.20+vmware.1-tkg.1.abcdef0", tkr.ErrMismatch, "fullVersion",
			`"v1.20.20+vmware.1-tkg.1.abcdef0"`, `version "v1.20.2"`),
		Entry("another build", "v1.20.2+vmware.1-tkg.2", "v1.20.2+vmware.1-tkg.1.1d4f79a", tkr.ErrMismatch, "fullVersion",
			`version "v1.20.2+vmware.1-tkg.2"`),
		Entry("an unknown full version", "v1.20", "v1.20.2+vmware.1-tkg.3.0000000", tkr.ErrUnknownRelease, "fullVersion",
			`fullVersion "v1.20.2+vmware.1-tkg.3.0000000" names no TanzuKubernetesRelease`),
		Entry("a hint is not a full version", "", "v1.20.2", tkr.ErrUnknownRelease, "fullVersion",
			`fullVersion "v1.20.2" names no TanzuKubernetesRelease`),
		Entry("a malformed full version", "v1.20", "v1.20.2+foo", tkr.ErrInvalidVersion, "fullVersion",
			`fullVersion "v1.20.2+foo" names no TanzuKubernetesRelease`, "vmware.N"),
		Entry("a malformed hint", "v1.20.", "v1.20.2+vmware.1-tkg.2.3e10706", tkr.ErrInvalidVersion, "version",
			"empty component"),
		Entry("neither", "", "", tkr.ErrVersionRequired, "version", "a version is required"),
	)
})

var _ = Describe("Versions", func() {
	It("lists distinct parseable versions newest first", func() {
		list := append(releases("v1.20.9+custom.1"), catalog...)
		dup := catalog[0]
		dup.Name = "copy"
		list = append(list, dup)
		Expect(tkr.Versions(list)).To(Equal(newestFirst))
	})
})
