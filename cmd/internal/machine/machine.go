// Package machine describes the machine a measurement was taken on (CPU
// model and count, memory, OS, load, the Go versions and the revision the
// measured binary was built from), for the reports of the load and
// fault-injection tools.
package machine

import (
	"bufio"
	"debug/buildinfo"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Machine describes where the figures were taken.
type Machine struct {
	CPUs     int
	CPUModel string
	Memory   string
	OS       string
	// GoBench is the measuring tool's Go version; GoServer the server binary's.
	GoBench, GoServer string
	// ServerRevision is the commit the server was built from, when the
	// binary records it ("+ changes" when the tree was modified).
	ServerRevision string
	// LoadAverage is /proc/loadavg's 1, 5 and 15 minute figures at the start.
	LoadAverage string
}

// Unknown stands for a fact the machine would not tell.
const Unknown = "unknown"

// Read gathers the machine's description, with the Go version and VCS
// revision of the binary at serverPath; what cannot be read is "unknown",
// never an error: the report is still worth writing.
func Read(serverPath string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), CPUModel: Unknown, Memory: Unknown, OS: runtime.GOOS + "/" + runtime.GOARCH,
		GoBench: runtime.Version(), GoServer: Unknown, LoadAverage: LoadAverage()}
	if v, ok := procField("/proc/cpuinfo", "model name", ":"); ok {
		m.CPUModel = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal", ":"); ok {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			m.Memory = fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	if v, ok := procField("/etc/os-release", "PRETTY_NAME", "="); ok {
		m.OS = strings.Trim(v, `"`) + ", " + m.OS
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", Linux " + strings.TrimSpace(string(data))
	}
	if info, err := buildinfo.ReadFile(serverPath); err == nil {
		m.GoServer = info.GoVersion
		m.ServerRevision = revision(info.Settings)
	}
	return m
}

// LoadAverage reads the 1, 5 and 15 minute load averages.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return Unknown
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return Unknown
	}
	return strings.Join(f[:3], " ")
}

// procField returns the value of the first "key<sep>value" line of path.
func procField(path, key, sep string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// revision reads the VCS stamp of a binary's build settings.
func revision(settings []debug.BuildSetting) string {
	var rev, modified string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return Unknown
	}
	rev = rev[:min(len(rev), 12)]
	if modified == "true" {
		rev += " + changes"
	}
	return rev
}
