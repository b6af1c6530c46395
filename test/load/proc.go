package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// 100 on every Linux this runs on.
const clockTicks = 100

// procWatch samples one process's CPU time and resident memory while a
// scenario runs, from the kernel's own accounting.
type procWatch struct {
	pid      int
	cpuStart float64
	dbStart  float64
	start    time.Time
	stop     chan struct{}
	done     chan struct{}

	mu      sync.Mutex
	peakRSS int64
}

// watchProc resets the process's high-water mark (where the kernel allows
// it) and starts sampling its RSS every 50 ms.
func watchProc(pid int) *procWatch {
	// "5" resets VmHWM to the current RSS (Linux >= 4.0), so each scenario
	// reports its own peak rather than the process's lifetime one.
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	w := &procWatch{pid: pid, cpuStart: cpuSeconds(pid), dbStart: machineBusySeconds(), start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *procWatch) sample() {
	rss, hwm := memory(w.pid)
	w.mu.Lock()
	w.peakRSS = max(w.peakRSS, rss, hwm)
	w.mu.Unlock()
}

// finish returns the cores used on average (CPU seconds per wall second)
// by the process and by the whole machine, and the peak RSS in bytes.
func (w *procWatch) finish() (cores, dbCores float64, peak int64) {
	close(w.stop)
	<-w.done
	w.sample()
	wall := time.Since(w.start).Seconds()
	cpu := cpuSeconds(w.pid) - w.cpuStart
	db := machineBusySeconds() - w.dbStart
	w.mu.Lock()
	defer w.mu.Unlock()
	return cpu / wall, db / wall, w.peakRSS
}

// machineBusySeconds is the CPU time all cores spent not idle, from
// /proc/stat: with the server's own share it shows whether the machine
// (client, Postgres, anything else running) was the limit.
func machineBusySeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	busy := 0.0
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		// user nice system idle iowait irq softirq steal guest guest_nice;
		// guest time is already counted in user.
		if i != 3 && i != 4 && i < 8 {
			busy += n
		}
	}
	return busy / clockTicks
}

// cpuSeconds is utime+stime of pid, or 0 when unreadable.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may contain spaces; fields start after its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// memory reads VmRSS and VmHWM of pid in bytes.
func memory(pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm
}
