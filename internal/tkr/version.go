// Package tkr owns TanzuKubernetesRelease arithmetic: parsing release versions such as
// v1.20.2+vmware.1-tkg.2.3e10706, ordering them, resolving a cluster's version hint
// (spec.distribution.version) to the newest matching release, checking a given fullVersion,
// computing which releases are updates of another, and building the Compatible and
// UpdatesAvailable conditions that releases and clusters report.
//
// Everything here is a pure function of its arguments: no client, no clock, no I/O. Webhooks and
// controllers list the releases themselves (from the informer cache) and pass them in, so the
// same rules answer at admission time and at reconcile time and are tested without a cluster.
package tkr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidVersion is wrapped by every error Parse returns, and by the error for a version hint
// that is not a version prefix, so callers can tell "malformed" from "no such release".
var ErrInvalidVersion = errors.New("invalid version")

// Version is a parsed release version:
//
//	[v]MAJOR.MINOR.PATCH[-PRERELEASE][+vmware.N[-tkg.M][(.|-)SUFFIX]]
//
// MAJOR.MINOR.PATCH[-PRERELEASE] is the Kubernetes version (semantic versioning, no leading
// zeros); vmware.N is VMware's build of it and tkg.M the Tanzu packaging of that build. SUFFIX
// (the commit hash in v1.20.2+vmware.1-tkg.2.3e10706) identifies a build but does not order it.
// The zero Version is not valid; obtain one from Parse.
type Version struct {
	major, minor, patch uint64
	pre                 []string // prerelease identifiers, compared as semver says
	vmware, tkg         uint64   // 0 when absent, so v1.20.2 sorts before v1.20.2+vmware.1
	canonical           string   // the parsed text with its leading "v" ensured
}

// Parse parses a release version; the leading "v" is optional. The text must be exactly a
// version: no spaces, no leading zeros in numbers, and build metadata, when present, must start
// with vmware.N, because vmware.N and tkg.M are what order two builds of one Kubernetes version.
func Parse(s string) (Version, error) {
	invalid := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("%w %q: %s", ErrInvalidVersion, s, why)
	}
	body := strings.TrimPrefix(s, "v")
	if body == "" {
		return invalid("empty")
	}
	rest, build, hasBuild := strings.Cut(body, "+")
	// The numeric core never contains "-", so the first "-" starts the prerelease.
	core, pre, hasPre := strings.Cut(rest, "-")

	var v Version
	nums := strings.Split(core, ".")
	if len(nums) != 3 {
		return invalid("want MAJOR.MINOR.PATCH, such as v1.20.2")
	}
	for i, dst := range []*uint64{&v.major, &v.minor, &v.patch} {
		n, err := number(nums[i])
		if err != nil {
			return invalid(err.Error())
		}
		*dst = n
	}
	if hasPre {
		ids, err := identifiers(pre)
		if err != nil {
			return invalid("prerelease: " + err.Error())
		}
		for _, id := range ids {
			// Numeric identifiers compare as numbers, so they must be canonical numbers.
			if allDigits(id) {
				if _, err := number(id); err != nil {
					return invalid("prerelease: " + err.Error())
				}
			}
		}
		v.pre = ids
	}
	if hasBuild {
		if err := v.parseBuild(build); err != nil {
			return invalid("build metadata: " + err.Error())
		}
	}
	v.canonical = "v" + body
	return v, nil
}

// parseBuild reads vmware.N[-tkg.M][(.|-)SUFFIX].
func (v *Version) parseBuild(build string) error {
	rest, ok := strings.CutPrefix(build, "vmware.")
	if !ok {
		return errors.New(`must start with "vmware.N", such as vmware.1-tkg.2.3e10706`)
	}
	n, rest, err := leadingNumber(rest)
	if err != nil {
		return fmt.Errorf("vmware.N: %w", err)
	}
	v.vmware = n
	// "-tkg" always introduces tkg.M: accepting "-tkg" or "-tkgx" as a suffix would let a typo
	// order a build below the one it was meant to supersede.
	if strings.HasPrefix(rest, "-tkg") {
		after, ok := strings.CutPrefix(rest, "-tkg.")
		if !ok {
			return errors.New(`"-tkg" must be followed by ".M", such as -tkg.2`)
		}
		if v.tkg, rest, err = leadingNumber(after); err != nil {
			return fmt.Errorf("tkg.M: %w", err)
		}
	}
	if rest == "" {
		return nil
	}
	if rest[0] != '.' && rest[0] != '-' {
		return fmt.Errorf("unexpected %q after the build numbers", rest)
	}
	if _, err := identifiers(rest[1:]); err != nil {
		return fmt.Errorf("suffix: %w", err)
	}
	return nil
}

// leadingNumber splits s into the number it starts with and the rest.
func leadingNumber(s string) (uint64, string, error) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	n, err := number(s[:i])
	return n, s[i:], err
}

// number parses a semver numeric identifier: digits only, no leading zero, fits in 64 bits.
func number(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("missing number")
	}
	if !allDigits(s) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

// identifiers splits dot-separated semver identifiers ([0-9A-Za-z-], non-empty).
func identifiers(s string) ([]string, error) {
	ids := strings.Split(s, ".")
	for _, id := range ids {
		if id == "" {
			return nil, errors.New("empty identifier")
		}
		for i := 0; i < len(id); i++ {
			if !isIdentChar(id[i]) {
				return nil, fmt.Errorf("character %q not allowed", id[i])
			}
		}
	}
	return ids, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isIdentChar(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-'
}

// String is the version as parsed, always with its leading "v".
func (v Version) String() string { return v.canonical }

// Major is the Kubernetes major version.
func (v Version) Major() uint64 { return v.major }

// Minor is the Kubernetes minor version.
func (v Version) Minor() uint64 { return v.minor }

// Patch is the Kubernetes patch version.
func (v Version) Patch() uint64 { return v.patch }

// VMware is N in vmware.N, or 0 when the version has no build metadata.
func (v Version) VMware() uint64 { return v.vmware }

// TKG is M in tkg.M, or 0 when absent.
func (v Version) TKG() uint64 { return v.tkg }

// KubernetesVersion is the upstream Kubernetes version, such as v1.20.2 (with its prerelease).
func (v Version) KubernetesVersion() string {
	s := fmt.Sprintf("v%d.%d.%d", v.major, v.minor, v.patch)
	if len(v.pre) > 0 {
		s += "-" + strings.Join(v.pre, ".")
	}
	return s
}

// SameMinor reports whether both versions are builds of the same Kubernetes MAJOR.MINOR, the
// unit within which one release is an update of another.
func (v Version) SameMinor(o Version) bool { return v.major == o.major && v.minor == o.minor }

// Compare orders releases: by Kubernetes version (semver precedence, so a prerelease comes
// before its release), then vmware.N, then tkg.M, numerically. It returns -1, 0 or +1. Builds
// that differ only in their suffix compare equal; see Newer for a total order.
func (v Version) Compare(o Version) int {
	for _, p := range [][2]uint64{{v.major, o.major}, {v.minor, o.minor}, {v.patch, o.patch}} {
		if c := cmpUint(p[0], p[1]); c != 0 {
			return c
		}
	}
	if c := comparePrerelease(v.pre, o.pre); c != 0 {
		return c
	}
	if c := cmpUint(v.vmware, o.vmware); c != 0 {
		return c
	}
	return cmpUint(v.tkg, o.tkg)
}

// Newer reports whether v sorts before o when listing newest first. It is Compare made total:
// ties are broken on the text, so the chosen release and every listed order are deterministic
// whatever order the cache returned the releases in.
func (v Version) Newer(o Version) bool {
	if c := v.Compare(o); c != 0 {
		return c > 0
	}
	return v.canonical > o.canonical
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// comparePrerelease follows semver 2.0 §11: no prerelease beats any prerelease; numeric
// identifiers compare numerically and below alphanumeric ones; a longer list wins a tie.
func comparePrerelease(a, b []string) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return 1
	case len(b) == 0:
		return -1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		an, aErr := number(a[i])
		bn, bErr := number(b[i])
		aNum, bNum := aErr == nil, bErr == nil
		switch {
		case aNum && bNum:
			if c := cmpUint(an, bn); c != 0 {
				return c
			}
		case aNum:
			return -1
		case bNum:
			return 1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return cmpUint(uint64(len(a)), uint64(len(b)))
}
