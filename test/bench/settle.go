package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Settle waits, at most timeout, for the machine to be quiet before a group of figures is
// measured: it flushes what the previous group wrote to disk, returns this process's free heap,
// and waits for the CPUs to be at least 85% idle over one second. A group that followed the
// tear-down of the 100,000-binding cluster could otherwise time its floor against etcd's
// leftover work (the provisioning floor read 51 s after it, 42 s in another run). It reports
// what it waited to log.
func Settle(ctx context.Context, timeout time.Duration, log io.Writer) {
	start := time.Now()
	syscall.Sync()
	runtime.GC()
	debug.FreeOSMemory()
	idle := 0.0
	for time.Since(start) < timeout && ctx.Err() == nil {
		var err error
		if idle, err = idleOver(ctx, time.Second); err != nil || idle >= 0.85 {
			break
		}
	}
	fmt.Fprintf(log, "bench: settled in %s (CPUs %.0f%% idle)\n", time.Since(start).Round(100*time.Millisecond), idle*100)
}

// idleOver is the fraction of CPU time the machine spent idle (waiting for I/O counts as busy)
// over d, from /proc/stat.
func idleOver(ctx context.Context, d time.Duration) (float64, error) {
	idle0, total0, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	idle1, total1, err := cpuTimes()
	if err != nil || total1 == total0 {
		return 0, err
	}
	return float64(idle1-idle0) / float64(total1-total0), nil
}

// cpuTimes reads the machine's idle and total CPU time, in ticks, from /proc/stat's cpu line.
func cpuTimes() (idle, total uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("read CPU times: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("read CPU times: unexpected first line %q", line)
	}
	for i, f := range fields[1:] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("read CPU times: %w", err)
		}
		total += n
		if i == 3 { // user nice system idle ...
			idle = n
		}
	}
	return idle, total, nil
}
