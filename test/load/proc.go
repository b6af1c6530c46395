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
	pgStart  float64
	genStart float64
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
	w := &procWatch{pid: pid, cpuStart: cpuSeconds(pid), dbStart: machineBusySeconds(), pgStart: postgresCPU(),
		genStart: cpuSeconds(os.Getpid()), start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
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

// usage is what a procWatch saw: cores used on average (CPU seconds per
// wall second) and the server's peak RSS in bytes.
type usage struct {
	server, postgres, generator, machine float64
	peakRSS                              int64
}

// finish stops sampling. The generator's share is this process's own CPU
// plus extCPU seconds spent by an external generator (wrk).
func (w *procWatch) finish(extCPU float64) usage {
	close(w.stop)
	<-w.done
	w.sample()
	wall := time.Since(w.start).Seconds()
	pg := postgresCPU() - w.pgStart
	w.mu.Lock()
	defer w.mu.Unlock()
	return usage{
		server:    (cpuSeconds(w.pid) - w.cpuStart) / wall,
		postgres:  pg / wall,
		generator: (cpuSeconds(os.Getpid()) - w.genStart + extCPU) / wall,
		machine:   (machineBusySeconds() - w.dbStart) / wall,
		peakRSS:   w.peakRSS,
	}
}

// postgresCPU is the CPU seconds of every running postgres process and of
// the children they reaped: a backend whose connection closed during a run
// has its time in the postmaster's cutime and cstime.
func postgresCPU() float64 {
	out := 0.0
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			out += cpuSeconds(pid) + childCPUSeconds(pid)
		}
	}
	return out
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
	f := statFields(pid)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// childCPUSeconds is cutime+cstime of pid: its reaped children's CPU.
func childCPUSeconds(pid int) float64 {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	cu, _ := strconv.ParseFloat(f[13], 64)
	cs, _ := strconv.ParseFloat(f[14], 64)
	return (cu + cs) / clockTicks
}

// statFields are the fields of /proc/<pid>/stat after the command name
// (which may contain spaces), starting with the state.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
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
