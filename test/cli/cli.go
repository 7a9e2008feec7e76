// Package cli runs the real kubectl and govc the way the walkthrough's users do: kubectl with
// the kubeconfig the local supervisor writes, govc after sourcing the environment file it writes.
package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Session is one user's shell against a local supervisor.
type Session struct {
	// Kubeconfig is what KUBECONFIG points at.
	Kubeconfig string
	// GovcEnv is the file `source`d before govc runs.
	GovcEnv string
	// GovcBin is the govc binary.
	GovcBin string
}

// Kubectl runs kubectl with args and returns stdout and stderr together, as a terminal shows
// them (kubectl prints "No resources found" and warnings on stderr).
func (s Session) Kubectl(ctx context.Context, args ...string) (string, error) {
	return s.KubectlIn(ctx, "", args...)
}

// KubectlIn is Kubectl with stdin as its standard input, for `apply -f -`.
func (s Session) KubectlIn(ctx context.Context, stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	err := s.kubectl(ctx, stdin, &out, &out, args...)
	return out.String(), err
}

// KubectlStreams is KubectlIn with stdout and stderr kept apart, for specs that parse one of
// them; a failure's error carries stderr.
func (s Session) KubectlStreams(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	if err = s.kubectl(ctx, stdin, &out, &errOut, args...); err != nil {
		err = fmt.Errorf("kubectl %v: %w: %s", args, err, errOut.String())
	}
	return out.String(), errOut.String(), err
}

func (s Session) kubectl(ctx context.Context, stdin string, stdout, stderr io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	// A discovery cache of its own: another control plane may have served this port before.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig, "KUBECACHEDIR="+filepath.Join(filepath.Dir(s.Kubeconfig), "kubectl-cache"))
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}

// Govc runs a shell command line after sourcing the govc environment file; `govc` in it is the
// session's binary, as an admin's vCenter actions in the walkthrough.
func (s Session) Govc(ctx context.Context, commandLine string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", "-c", `source "$GOVC_ENV_FILE" && govc() { "$GOVC_BIN" "$@"; } && `+commandLine)
	cmd.Env = append(os.Environ(), "GOVC_ENV_FILE="+s.GovcEnv, "GOVC_BIN="+s.GovcBin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Table splits kubectl's tabular output into rows of whitespace-separated fields.
func Table(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows = append(rows, f)
		}
	}
	return rows
}

// Columns splits one line of kubectl's tabular output into cells, which are separated by two or
// more spaces, so a cell may hold single spaces ("CONTROL PLANE") and may be empty at the end.
func Columns(line string) []string {
	var cells []string
	for _, c := range strings.Split(strings.TrimRight(line, " "), "  ") {
		if c = strings.TrimSpace(c); c != "" {
			cells = append(cells, c)
		}
	}
	return cells
}

// GovcPassword is the GOVC_PASSWORD a govc environment file exports.
func GovcPassword(govcEnv string) (string, error) {
	data, err := os.ReadFile(govcEnv)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^export GOVC_PASSWORD='([^']+)'$`).FindStringSubmatch(string(data))
	if len(m) != 2 {
		return "", fmt.Errorf("%s exports no GOVC_PASSWORD", govcEnv)
	}
	return m[1], nil
}
