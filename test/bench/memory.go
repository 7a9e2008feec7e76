package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vm-service/vm-service/test/testenv"
)

// After a collection, the idle manager's RSS is read every second until stableReadings readings in
// a row are within 1% of one another (the runtime has returned to the system what it freed), for
// at most rssWatch; the figure is the last reading.
const (
	stableReadings = 10
	rssWatch       = 120 * time.Second
)

// managerRSS leaves cfg.VMs VirtualMachines in the cluster, starts cmd/manager as a process of its
// own (no vCenter), waits until it has listed everything and is idle, and returns
// its resident memory in MiB once it is stable.
func managerRSS(ctx context.Context, env *testenv.Env, dir, token string, cfg ScaleConfig) (mib float64, err error) {
	if err := seedFillerVMs(ctx, env.Client, env.ControlPlane.Etcd.URL, cfg); err != nil {
		return 0, err
	}
	pprof := cfg.PprofAddr
	if pprof == "" {
		if pprof, err = freeLoopbackAddr(); err != nil {
			return 0, err
		}
	}
	mgr, err := startManager(ctx, env, dir, productManager, token, "--pprof-bind-address", pprof)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, mgr.stop()) }()
	if err := mgr.waitIdle(ctx, 0); err != nil {
		return 0, err
	}
	before, err := residentKiB(mgr.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	stats, err := collectGarbage(ctx, pprof)
	if err != nil {
		return 0, err
	}
	if err := saveHeapProfile(ctx, pprof, filepath.Join(dir, heapProfile)); err != nil {
		return 0, err
	}
	var readings []int64
	deadline := time.Now().Add(rssWatch)
	for !stable(readings) && time.Now().Before(deadline) {
		if len(readings) > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Second):
			}
		}
		kib, err := residentKiB(mgr.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		readings = append(readings, kib)
	}
	fmt.Fprintf(os.Stderr, "bench: manager RSS %d MiB when idle, %d MiB %d s after a collection that left %d MiB of live heap "+
		"(heap kept from the system %d MiB, of it free %d MiB; stacks %d MiB; runtime %d MiB)\n",
		before>>10, readings[len(readings)-1]>>10, len(readings)-1, stats["HeapAlloc"]>>20,
		(stats["HeapSys"]-stats["HeapReleased"])>>20, (stats["HeapIdle"]-stats["HeapReleased"])>>20,
		stats["StackSys"]>>20, (stats["GCSys"]+stats["OtherSys"]+stats["MSpanSys"]+stats["MCacheSys"]+stats["BuckHashSys"])>>20)
	return float64(readings[len(readings)-1]) / 1024, nil
}

// stable says whether the last stableReadings readings are within 1% of one another.
func stable(readings []int64) bool {
	if len(readings) < stableReadings {
		return false
	}
	last := readings[len(readings)-stableReadings:]
	return float64(slices.Max(last)) <= 1.01*float64(slices.Min(last))
}

// collectGarbage has the manager's Go runtime collect now, through its profiling endpoint (a heap
// profile taken with gc=1), rather than at its own next forced collection, up to two minutes away
// in an idle process: the figure is the memory it keeps, not the garbage the initial list and the
// reconciles left behind. It returns the runtime's memory statistics after the collection, in
// bytes by name (HeapAlloc is the live heap).
func collectGarbage(ctx context.Context, pprofAddr string) (map[string]int64, error) {
	stats := map[string]int64{}
	err := readHeapProfile(ctx, pprofAddr, "?gc=1&debug=1", func(body io.Reader) error {
		s := bufio.NewScanner(body)
		s.Buffer(nil, 1<<20)
		for s.Scan() {
			name, value, ok := strings.Cut(strings.TrimPrefix(s.Text(), "# "), " = ")
			if n, err := strconv.ParseInt(value, 10, 64); ok && err == nil && strings.HasPrefix(s.Text(), "# ") {
				stats[name] = n
			}
		}
		if _, ok := stats["HeapAlloc"]; !ok {
			return fmt.Errorf("no HeapAlloc in the manager's heap profile: %v", s.Err())
		}
		return nil
	})
	return stats, err
}

// heapProfile is the file, in the bench directory, that keeps the measured manager's heap profile
// after the collection, for go tool pprof: what the live heap is made of.
const heapProfile = "manager-heap.pb.gz"

// saveHeapProfile writes the manager's heap profile, as its profiling endpoint serves it, to path.
func saveHeapProfile(ctx context.Context, pprofAddr, path string) error {
	return readHeapProfile(ctx, pprofAddr, "", func(body io.Reader) error {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("keep the manager's heap profile: %w", err)
		}
		_, err = io.Copy(f, body)
		return errors.Join(err, f.Close())
	})
}

// readHeapProfile asks the manager's profiling endpoint for its heap profile (query as the
// endpoint takes it) and hands the answer to read.
func readHeapProfile(ctx context.Context, pprofAddr, query string, read func(io.Reader) error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+pprofAddr+"/debug/pprof/heap"+query, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("read the manager's heap profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("read the manager's heap profile: %s", resp.Status)
	}
	return read(resp.Body)
}

// residentKiB reads VmRSS, in KiB, from /proc/<pid>/status.
func residentKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("manager status: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status: %w", pid, s.Err())
}
