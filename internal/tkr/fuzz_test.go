package tkr

import (
	"testing"
)

// FuzzParse checks that no input makes Parse, Compare or the hint rules panic, and that what
// Parse accepts is stable: it prints back to itself and re-parses to an equal version.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"v1.20.2+vmware.1-tkg.2.3e10706", "1.20.2", "v1.20", "v1.21.0-rc.1+vmware.1-tkg.1",
		"v1.23.8+vmware.2-tkg.2-zshippable", "v1..2", "v1.20.2+vmware.", "v1.20.2+vmware.1-tkg",
		"v99999999999999999999.0.0", "", "v", "v1.20.2-", "+", "-tkg.", "v1.20.2-01",
	} {
		f.Add(seed)
	}
	base, err := Parse("v1.20.2+vmware.1-tkg.2.3e10706")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseHint(s)
		_ = Matches(s, base.String())
		v, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(v.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, v, err)
		}
		if again.String() != v.String() || again.Compare(v) != 0 {
			t.Fatalf("Parse(%q) = %q, re-parsed as %q", s, v, again)
		}
		if v.Compare(v) != 0 || v.Newer(v) {
			t.Fatalf("%q is not equal to itself", v)
		}
		if c := v.Compare(base); c != -base.Compare(v) {
			t.Fatalf("Compare(%q, %q) = %d is not antisymmetric", v, base, c)
		}
		// Every accepted version is its own full-version hint.
		if !Matches(s, v.String()) {
			t.Fatalf("%q does not match itself", s)
		}
		_ = v.KubernetesVersion()
	})
}
