package tkr_test

import (
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

// The tkr suite checks release arithmetic with no cluster: parsing and ordering versions,
// resolving hints, checking full versions, computing updates and the conditions built from them.
func TestTKR(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "tkr suite")
}

// releases builds release objects as the cache would return them, from their versions.
func releases(versions ...string) []runv1.TanzuKubernetesRelease {
	out := make([]runv1.TanzuKubernetesRelease, 0, len(versions))
	for _, v := range versions {
		k8s, _, _ := strings.Cut(v, "+")
		out = append(out, *objects.Release(v, k8s, "photon-3-k8s-"+k8s))
	}
	return out
}

// catalog is a realistic set of releases, deliberately unsorted, with two builds of v1.20.2,
// a v1.20.20 that a careless prefix match would confuse with v1.20.2, and other minors.
var catalog = releases(
	"v1.20.2+vmware.1-tkg.2.3e10706",
	"v1.21.6+vmware.1-tkg.1.b3d708a",
	"v1.20.7+vmware.1-tkg.1.7fb9067",
	"v1.18.15+vmware.1-tkg.2.ebf6117",
	"v1.20.2+vmware.1-tkg.1.1d4f79a",
	"v1.20.20+vmware.1-tkg.1.abcdef0",
	"v1.19.7+vmware.1-tkg.1.fc82c41",
	"v1.20.8+vmware.1-tkg.2",
	"v1.20.8+vmware.1-tkg.1.1234567",
)

// newestFirst is catalog's versions as Versions must list them.
var newestFirst = []string{
	"v1.21.6+vmware.1-tkg.1.b3d708a",
	"v1.20.20+vmware.1-tkg.1.abcdef0",
	"v1.20.8+vmware.1-tkg.2",
	"v1.20.8+vmware.1-tkg.1.1234567",
	"v1.20.7+vmware.1-tkg.1.7fb9067",
	"v1.20.2+vmware.1-tkg.2.3e10706",
	"v1.20.2+vmware.1-tkg.1.1d4f79a",
	"v1.19.7+vmware.1-tkg.1.fc82c41",
	"v1.18.15+vmware.1-tkg.2.ebf6117",
}
