// Package bench owns the product's cost figures (make bench): each one measured in one run side
// by side with its floor, interleaved, and reported as a ratio, since the machines that run it are
// shared and noisy; and the goal each figure must meet. docs/performance.md explains every figure.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
)

// Goal is the bound a figure must stay under (or at).
type Goal struct {
	Key  string
	Max  float64
	What string
}

// Goals are the figures of make bench, in the order the table prints them.
var Goals = []Goal{
	{"webhook_cost_p50", 1.15, "(create through our webhooks - no webhook) / (allow-all webhook - no webhook), median"},
	{"webhook_cost_p99", 1.15, "the same at the 99th percentile"},
	{"access_usable_ratio", 1.5, "access check, usable class: 100,000 bindings / 10"},
	{"access_refusal_ratio", 1.5, "access check, refusal: 100 bindings in the namespace / 1"},
	{"vms_1000_ratio", 2.0, "1,000 VMs to poweredOn / (apiserver creates + raw govmomi deploys)"},
	{"api_writes_per_vm", 3, "apiserver writes by the manager per VM, create to poweredOn"},
	{"binding_to_running_s", 5, "seconds from a binding to a failed 3+5 cluster running"},
	{"rss_mib_10k_vms", 300, "manager RSS with 10,000 VMs, 100,000 bindings, 1,000 namespaces"},
	{"admission_p99_ms_under_load", 5, "p99 of the VM webhook's handling time, 8 clients creating"},
}

// Results are measured figures by key; a figure not measured is absent, never estimated.
type Results map[string]float64

// Met says whether every measured figure meets its goal.
func (r Results) Met() bool {
	for _, g := range Goals {
		if v, ok := r[g.Key]; ok && !(v <= g.Max) {
			return false
		}
	}
	return true
}

// WriteTable prints key, value, goal and met for every goal; an unmeasured figure shows as such.
func (r Results) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "key\tvalue\tgoal\tmet")
	for _, g := range Goals {
		v, ok := r[g.Key]
		switch {
		case !ok:
			fmt.Fprintf(tw, "%s\t-\t<= %g\tnot measured\n", g.Key, g.Max)
		default:
			fmt.Fprintf(tw, "%s\t%.3f\t<= %g\t%s\n", g.Key, v, g.Max, yesNo(v <= g.Max))
		}
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

// WriteJSON writes the figures as one flat JSON object of numbers, creating the directory.
func (r Results) WriteJSON(path string) error {
	for k, v := range r {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("figure %s is %v, not a number JSON can hold", k, v)
		}
	}
	data, err := json.MarshalIndent(map[string]float64(r), "", "  ")
	if err != nil {
		return fmt.Errorf("encode figures: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write figures: %w", err)
	}
	return nil
}

// quantile is the q-th quantile (0..1) of samples by nearest rank; it sorts a copy.
func quantile[T ~int64 | ~float64](samples []T, q float64) T {
	if len(samples) == 0 {
		return 0
	}
	s := append([]T(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
