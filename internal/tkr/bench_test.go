package tkr_test

import (
	"fmt"
	"testing"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	"github.com/vm-service/vm-service/internal/tkr"
)

// BenchmarkResolve measures one admission's work: resolving a hint against 1,000 releases (10
// majors x 10 minors x 10 patches, each with a build), which is far more than any supervisor
// holds. It reports ns per release so the cost per release can be compared across sizes.
func BenchmarkResolve(b *testing.B) {
	list := make([]runv1.TanzuKubernetesRelease, 0, 1000)
	for major := 1; major <= 10; major++ {
		for minor := 0; minor < 10; minor++ {
			for patch := 0; patch < 10; patch++ {
				v := fmt.Sprintf("v%d.%d.%d+vmware.%d-tkg.%d.%07x", major, 10+minor, patch, patch%3+1, minor%4+1, major*1000+minor*10+patch)
				list = append(list, releases(v)...)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := tkr.Resolve("v5.15", list)
		if err != nil || got.Spec.Version[:6] != "v5.15." {
			b.Fatalf("Resolve = %v, %v", got, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(list)), "ns/release")
}
