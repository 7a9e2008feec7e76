package reliability_test

import (
	"fmt"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/vm-service/vm-service/test/testenv"
)

// figuresFile collects one line per measured figure, which `make reliability` prints at the end;
// RELIABILITY_FIGURES overrides where it is.
func figuresFile() string {
	if f := os.Getenv("RELIABILITY_FIGURES"); f != "" {
		return f
	}
	return filepath.Join(testenv.RepoRoot(), "bin", "reliability", "figures.txt")
}

// reportFigure shows a spec's figure in its report and appends it to figuresFile, where specs
// running in parallel processes each add their own line.
func reportFigure(format string, args ...any) {
	GinkgoHelper()
	line := fmt.Sprintf(format, args...)
	AddReportEntry("figure", line)
	GinkgoWriter.Println(line)
	Expect(os.MkdirAll(filepath.Dir(figuresFile()), 0o755)).To(Succeed())
	f, err := os.OpenFile(figuresFile(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	_, err = fmt.Fprintln(f, line)
	Expect(err).NotTo(HaveOccurred())
}
