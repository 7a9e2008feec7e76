package tkr

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
)

// Sentinel problems a *VersionError wraps, for callers that branch on the kind of failure
// (errors.Is) rather than on message text. ErrInvalidVersion (see Parse) is the fifth.
var (
	// ErrVersionRequired means neither a version hint nor a full version was given.
	ErrVersionRequired = errors.New("a version is required, such as v1.20 or v1.20.2")
	// ErrNoMatch means a well-formed hint matches no release.
	ErrNoMatch = errors.New("no TanzuKubernetesRelease matches the version")
	// ErrUnknownRelease means a full version names no release.
	ErrUnknownRelease = errors.New("no TanzuKubernetesRelease has the full version")
	// ErrMismatch means the full version and the hint name different releases.
	ErrMismatch = errors.New("the full version does not agree with the version")
)

// VersionError explains why a cluster's distribution cannot be resolved. Its message is written
// for the person who applied the manifest: it says what was wrong and lists the versions that
// exist, newest first, so a webhook can return it as is.
type VersionError struct {
	// Field is the spec.distribution field at fault: "version" or "fullVersion".
	Field string
	// Value is that field's value.
	Value string
	// Problem is ErrVersionRequired, ErrNoMatch, ErrUnknownRelease, ErrMismatch, or an error
	// wrapping ErrInvalidVersion.
	Problem error
	// Available are the release versions that exist, newest first.
	Available []string

	msg string
}

func (e *VersionError) Error() string {
	var b strings.Builder
	b.WriteString(e.msg)
	if len(e.Available) == 0 {
		b.WriteString("; no TanzuKubernetesReleases are available")
	} else {
		b.WriteString("; available versions (newest first): ")
		b.WriteString(strings.Join(e.Available, ", "))
	}
	return b.String()
}

// Unwrap exposes Problem to errors.Is.
func (e *VersionError) Unwrap() error { return e.Problem }

// Resolve returns the newest release that the hint matches. The hint matches a release when it
// is a prefix of the release's version that ends at a component boundary (".", "-", "+" or the
// end), with the leading "v" optional on both: v1.20 matches every v1.20.x build, v1.20.2 matches
// v1.20.2+vmware.1-tkg.2.3e10706 but not v1.20.20+vmware.1-tkg.1.xxx, and a full version matches
// only itself. Releases whose spec.version does not parse are ignored (their Compatible
// condition says why). The result points into releases.
//
// An empty hint wraps ErrVersionRequired; a malformed one, ErrInvalidVersion; a hint matching
// nothing, ErrNoMatch. All are *VersionError listing the available versions.
func Resolve(hint string, releases []runv1.TanzuKubernetesRelease) (*runv1.TanzuKubernetesRelease, error) {
	p, err := parseHint(hint)
	if err != nil {
		return nil, hintError(hint, err, releases)
	}
	var best *runv1.TanzuKubernetesRelease
	var bestV Version
	for i := range releases {
		s := VersionOf(&releases[i])
		// Match the text before parsing: an admission parses only the few releases the hint
		// selects, not every release in the cache.
		if !p.matchesText(strings.TrimPrefix(s, "v")) {
			continue
		}
		v, err := Parse(s)
		if err != nil {
			continue
		}
		if best == nil || v.Newer(bestV) {
			best, bestV = &releases[i], v
		}
	}
	if best == nil {
		return nil, &VersionError{
			Field: "version", Value: hint, Problem: ErrNoMatch, Available: Versions(releases),
			msg: fmt.Sprintf("no TanzuKubernetesRelease matches version %q", hint),
		}
	}
	return best, nil
}

// CheckFullVersion checks a cluster's spec.distribution.fullVersion: it must be the version of
// an existing release (leading "v" optional) and, when a hint is given too, the hint must match
// it by Resolve's rule. The full version need not be the newest match: a cluster may pin an
// older build. An empty fullVersion is not an error here, because the mutating webhook fills it
// from the hint with Resolve; both empty wraps ErrVersionRequired.
func CheckFullVersion(hint, fullVersion string, releases []runv1.TanzuKubernetesRelease) error {
	if fullVersion == "" {
		if hint == "" {
			return hintError(hint, ErrVersionRequired, releases)
		}
		return nil
	}
	want, err := Parse(fullVersion)
	found := err == nil && find(fullVersion, releases) != nil
	if !found {
		problem := ErrUnknownRelease
		msg := fmt.Sprintf("fullVersion %q names no TanzuKubernetesRelease", fullVersion)
		if err != nil {
			problem = err
			msg = fmt.Sprintf("fullVersion %q names no TanzuKubernetesRelease: %v", fullVersion, err)
		}
		return &VersionError{
			Field: "fullVersion", Value: fullVersion, Problem: problem, Available: Versions(releases), msg: msg,
		}
	}
	if hint == "" {
		return nil
	}
	p, err := parseHint(hint)
	if err != nil {
		return hintError(hint, err, releases)
	}
	if !p.matches(want) {
		return &VersionError{
			Field: "fullVersion", Value: fullVersion, Problem: ErrMismatch, Available: Versions(releases),
			msg: fmt.Sprintf("fullVersion %q does not agree with version %q: %q is not a version of %q; "+
				"change one of them or leave fullVersion empty", fullVersion, hint, fullVersion, hint),
		}
	}
	return nil
}

// Matches reports whether a version hint selects the given release version, by Resolve's rule.
// A malformed hint or version matches nothing.
func Matches(hint, version string) bool {
	p, err := parseHint(hint)
	if err != nil {
		return false
	}
	v, err := Parse(version)
	return err == nil && p.matches(v)
}

// Versions lists the distinct versions of the releases, newest first, skipping those that do not
// parse: the list error messages offer the user.
func Versions(releases []runv1.TanzuKubernetesRelease) []string {
	parsed := make([]Version, 0, len(releases))
	seen := make(map[string]bool, len(releases))
	for i := range releases {
		s := VersionOf(&releases[i])
		v, err := Parse(s)
		if err != nil || seen[v.canonical] {
			continue
		}
		seen[v.canonical] = true
		parsed = append(parsed, v)
	}
	sort.Slice(parsed, func(i, j int) bool { return parsed[i].Newer(parsed[j]) })
	out := make([]string, len(parsed))
	for i, v := range parsed {
		out[i] = v.canonical
	}
	return out
}

// VersionOf is a release's version: spec.version, or, when that is empty (an object written by
// hand), the version its name encodes (ReleaseName in reverse).
func VersionOf(r *runv1.TanzuKubernetesRelease) string {
	if r.Spec.Version != "" {
		return r.Spec.Version
	}
	return strings.ReplaceAll(r.Name, "---", "+")
}

// hint is a validated version hint without its leading "v".
type hint string

// parseHint accepts [v]MAJOR[.MINOR[.PATCH[(-|+)MORE]]], where MORE is any text a release
// version may contain after its patch number. Number components are checked so that a typo such
// as v1.020 or v1..20 is reported as malformed rather than as "no release matches".
func parseHint(s string) (hint, error) {
	if s == "" {
		return "", ErrVersionRequired
	}
	invalid := func(why string) (hint, error) {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidVersion, s, why)
	}
	body := strings.TrimPrefix(s, "v")
	if body == "" {
		return invalid(`nothing after "v"`)
	}
	// A full version is always a valid hint (it matches itself), even where semver allows what
	// the component checks below refuse, such as the prerelease identifier "-" in v1.0.0--.
	if _, err := Parse(s); err == nil {
		return hint(body), nil
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !isIdentChar(c) && c != '.' && c != '+' {
			return invalid(fmt.Sprintf("character %q not allowed", c))
		}
		if isSeparator(c) && (i == 0 || i == len(body)-1 || isSeparator(body[i-1])) {
			return invalid("empty component")
		}
	}
	end := strings.IndexAny(body, "-+")
	core := body
	if end >= 0 {
		core = body[:end]
	}
	nums := strings.Split(core, ".")
	if len(nums) > 3 {
		return invalid("more than MAJOR.MINOR.PATCH")
	}
	if end >= 0 && len(nums) < 3 {
		return invalid("a prerelease or build needs MAJOR.MINOR.PATCH before it")
	}
	for _, n := range nums {
		if _, err := number(n); err != nil {
			return invalid(err.Error())
		}
	}
	return hint(body), nil
}

// matches is the prefix-at-a-boundary rule; comparing text rather than numbers is sound because
// both sides have been checked to hold canonical numbers (no leading zeros).
func (h hint) matches(v Version) bool {
	return h.matchesText(v.canonical[1:]) // canonical always starts with "v"
}

// matchesText applies the rule to a version's text without its leading "v".
func (h hint) matchesText(rel string) bool {
	if !strings.HasPrefix(rel, string(h)) {
		return false
	}
	return len(rel) == len(h) || isSeparator(rel[len(h)])
}

func isSeparator(c byte) bool { return c == '.' || c == '-' || c == '+' }

// hintError wraps a parseHint failure in a *VersionError for the version field.
func hintError(value string, problem error, releases []runv1.TanzuKubernetesRelease) error {
	msg := problem.Error()
	if errors.Is(problem, ErrInvalidVersion) {
		msg = fmt.Sprintf("%v (want a version such as v1.20, v1.20.2 or v1.20.2+vmware.1-tkg.2.3e10706)", problem)
	}
	return &VersionError{Field: "version", Value: value, Problem: problem, Available: Versions(releases), msg: msg}
}
