// Command testsummary reads a Ginkgo JSON report and prints one closing line,
// "N passed, N failed, N skipped", so a run's outcome is plain to any reader of the log.
// It exits non-zero when a spec failed or none ran.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/onsi/ginkgo/v2/types"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: testsummary REPORT.json")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary: read report:", err)
		os.Exit(2)
	}
	var passed, failed, skipped int
	for _, r := range reports {
		if !r.SuiteSucceeded && len(r.SpecReports) == 0 {
			failed++ // a suite that failed before running specs (setup, compile) counts once
		}
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				if s.State.Is(types.SpecStateFailureStates) {
					failed++ // a failed BeforeSuite or AfterSuite
				}
				continue
			}
			switch {
			case s.State == types.SpecStatePassed:
				passed++
			case s.State.Is(types.SpecStateFailureStates):
				failed++
			default:
				skipped++
			}
		}
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || passed == 0 {
		os.Exit(1)
	}
}
