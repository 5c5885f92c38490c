package browsertest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// The load of BenchmarkConsoleUnderLoad; go test passes these flags on:
//
//	go test -run XXX -bench Console -benchtime 1x ./backend/browsertest/ -console.load 60s
var (
	loadDuration = flag.Duration("console.load", 20*time.Second, "how long BenchmarkConsoleUnderLoad sends updates")
	loadRate     = flag.Int("console.rate", 200, "updates a second BenchmarkConsoleUnderLoad sends")
	loadCalls    = flag.Int("console.calls", 2000, "live calls BenchmarkConsoleUnderLoad creates")
	loadRuns     = flag.Int("console.runs", 1, "runs of BenchmarkConsoleUnderLoad reported together (median and spread)")
	loadOut      = flag.String("console.out", "", "markdown report whose console section BenchmarkConsoleUnderLoad rewrites (docs/benchmarks.md)")
)

// batchSize is how many notifications one POST carries, so the load
// generator stays light next to the browser and the server.
const batchSize = 20

// BenchmarkConsoleUnderLoad opens the console on a server holding
// *loadCalls live calls and, for *loadDuration, sends *loadRate updates a
// second (calls going on hold and back, each with a unique subject). It
// measures in Chromium, with the Performance API, the time from each
// update's websocket frame reaching the page to the DOM showing it, the
// long tasks of the page, the bytes of app.wasm transferred on a cold
// load and how long that load takes, and reports them with a markdown
// table for docs/benchmarks.md.
func BenchmarkConsoleUnderLoad(b *testing.B) {
	for range b.N {
		var runs []*loadResult
		for i := range max(1, *loadRuns) {
			b.Logf("run %d of %d: %d live calls, %d updates a second for %s", i+1, max(1, *loadRuns), *loadCalls, *loadRate, *loadDuration)
			runs = append(runs, runConsoleLoad(b))
		}
		report(b, runs)
	}
}

// loadResult is what one run measured.
type loadResult struct {
	calls, sent, seen, onScreen int
	rate                        float64       // updates a second actually sent
	window                      time.Duration // how long updates were sent
	wireToDOM, wireToRow, e2e   []float64     // milliseconds, one per update
	longTasks, loadLongTasks    []float64     // durations in ms: under load, while loading
	wasm                        wasmTransfer
	loadMS                      float64 // navigation start → the console showing every call
	chromium                    string
	// memory is the page's memory with the whole view loaded (loaded) and
	// at the end of the load (end).
	loaded, end pageMemory
}

// pageMemory is what the console holds in Chromium: the WebAssembly
// instance's linear memory (the Go heap of the console; it never shrinks,
// so it is the high-water mark) and the JavaScript heap in use.
type pageMemory struct {
	Wasm   float64 `json:"wasm"`
	JSHeap float64 `json:"jsHeap"`
}

func runConsoleLoad(b *testing.B) *loadResult {
	web := brotliWebDir(b)
	s := startStack(b, stackOptions{webDir: web})
	ids := seedCalls(b, s, *loadCalls)
	p := openPage(b)
	p.signIn(s, "alice")
	res := &loadResult{calls: len(ids), chromium: chromiumVersion()}
	p.coldReload(s)
	res.loadMS, res.wasm = p.measureLoad(b, s, web, len(ids))
	p.settle()
	res.loaded = p.memory()

	var start, end float64
	p.eval(`performance.now()`, &start)
	updates := sendUpdates(b, s, ids, *loadRate, *loadDuration)
	p.eval(`performance.now()`, &end)
	res.sent, res.window = len(updates.sent), updates.took
	res.rate = float64(res.sent) / updates.took.Seconds()
	last := s.srv().View().Seq()
	p.waitJS("the page to catch up with the server", fmt.Sprintf(`window.__switchboard?.seq >= %d`, last), time.Minute)
	res.end = p.memory()

	data := p.collect()
	res.measure(data, updates, ids)
	for _, lt := range data.LongTasks {
		if lt[0] >= start {
			res.longTasks = append(res.longTasks, lt[1])
		} else {
			res.loadLongTasks = append(res.loadLongTasks, lt[1])
		}
	}
	return res
}

// seedCalls creates n live, established calls by posting signed
// notifications to the webhook, and waits for the view to hold them.
func seedCalls(tb testing.TB, s *stack, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	var notes []notification
	for k := range ids {
		ids[k] = fmt.Sprintf("b0a7d000-0000-4000-8000-%012d", k)
		notes = append(notes, created(ids[k], fmt.Sprintf("load %04d", k)))
	}
	for k := range ids {
		notes = append(notes, stateChange(ids[k], "established", fmt.Sprintf("load %04d", k)))
	}
	ctx := context.Background()
	for batch := range slices.Chunk(notes, 50) {
		if err := s.post(ctx, http.DefaultClient, envelope(batch)); err != nil {
			tb.Fatalf("seed the calls: %v", err)
		}
	}
	want, err := s.srv().Log().LastSeq(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	waitFor(tb, "the view to hold the seeded calls", time.Minute, func() bool { return s.srv().View().Seq() >= want })
	if got := len(s.srv().View().Calls()); got != n {
		tb.Fatalf("the view holds %d calls, want %d", got, n)
	}
	return ids
}

// notification is one entry of a commsNotifications body.
type notification map[string]any

func created(id, subject string) notification {
	return notification{"changeType": "created", "resourceUrl": "/communications/calls/" + id, "resource": "/app/calls/" + id,
		"resourceData": map[string]any{"@odata.type": "#microsoft.graph.call", "state": "incoming", "direction": "incoming",
			"subject": subject, "requestedModalities": []string{"audio"},
			"source":  map[string]any{"identity": map[string]any{"user": map[string]any{"displayName": "Caller " + id[len(id)-4:], "id": "u-" + id}}},
			"targets": []any{map[string]any{"identity": map[string]any{"application": map[string]any{"displayName": "Calling Bot", "id": "client-1"}}}}}}
}

func stateChange(id, state, subject string) notification {
	return notification{"changeType": "updated", "resourceUrl": "/communications/calls/" + id, "resource": "/app/calls/" + id,
		"resourceData": map[string]any{"@odata.type": "#microsoft.graph.call", "state": state, "subject": subject}}
}

func envelope(notes []notification) []byte {
	body, _ := json.Marshal(map[string]any{"@odata.type": "#microsoft.graph.commsNotifications", "value": notes})
	return body
}

// sentUpdates is what the load generator sent: update u (its number in the
// call's subject, "load KKKK uU") went to call calls[u] at sent[u].
type sentUpdates struct {
	calls []int
	sent  []time.Time
	took  time.Duration
}

// sendUpdates sends rate updates a second for d, in batches of batchSize
// on a fixed schedule (a late batch goes at once, so the rate holds unless
// the server cannot take it). Calls alternate between hold and established.
func sendUpdates(tb testing.TB, s *stack, ids []string, rate int, d time.Duration) *sentUpdates {
	tb.Helper()
	rnd := rand.New(rand.NewPCG(1, 2))
	held := make([]bool, len(ids))
	every := time.Duration(float64(time.Second) * batchSize / float64(rate))
	out := &sentUpdates{}
	ctx := context.Background()
	client := &http.Client{Timeout: 10 * time.Second}
	begin := time.Now()
	for next := begin; time.Since(begin) < d; next = next.Add(every) {
		time.Sleep(time.Until(next))
		notes := make([]notification, batchSize)
		at := time.Now()
		for i := range notes {
			k := rnd.IntN(len(ids))
			held[k] = !held[k]
			state := "established"
			if held[k] {
				state = "hold"
			}
			notes[i] = stateChange(ids[k], state, fmt.Sprintf("load %04d u%d", k, len(out.calls)))
			out.calls, out.sent = append(out.calls, k), append(out.sent, at)
		}
		if err := s.post(ctx, client, envelope(notes)); err != nil {
			tb.Fatalf("send updates: %v", err)
		}
	}
	out.took = time.Since(begin)
	return out
}

// probeScript runs in the page before its own scripts. It records, with
// performance.now():
//
//   - frames: every websocket message, as it reaches the page (the listener
//     is added before the console's own);
//   - flushes: every render the console reports (window.__switchboard.seq
//     is set once the DOM shows that sequence, see package ui's probe);
//   - rows: every row the console reports redrawn, with its call sequence;
//   - longTasks: every long task (over 50 ms) of the main thread.
const probeScript = `(() => {
	const bench = {frames: [], flushes: [], rows: [], longTasks: []};
	Object.defineProperty(window, "__bench", {value: bench});
	const NativeWebSocket = window.WebSocket;
	window.WebSocket = class extends NativeWebSocket {
		constructor(...args) {
			super(...args);
			this.addEventListener("message", e => bench.frames.push([performance.now(), typeof e.data === "string" ? e.data : ""]));
		}
	};
	let probe;
	Object.defineProperty(window, "__switchboard", {configurable: true, get() { return probe; }, set(obj) {
		probe = obj;
		let seq = obj.seq;
		Object.defineProperty(obj, "seq", {enumerable: true, get() { return seq; },
			set(v) { seq = v; bench.flushes.push([v, performance.now()]); }});
		obj.rows.set = function (id, v) { bench.rows.push([id, v.seq, v.at]); return Map.prototype.set.call(this, id, v); };
	}});
	new PerformanceObserver(list => {
		for (const e of list.getEntries()) bench.longTasks.push([e.startTime, e.duration]);
	}).observe({type: "longtask", buffered: true});
	// The console's WebAssembly instance, to read its memory.
	for (const name of ["instantiateStreaming", "instantiate"]) {
		const orig = WebAssembly[name];
		if (!orig) continue;
		WebAssembly[name] = async (...args) => {
			const r = await orig.apply(WebAssembly, args);
			if (r && r.instance) bench.wasm = r.instance;
			return r;
		};
	}
})()`

// memory reads the console's memory in the page.
func (p *page) memory() pageMemory {
	p.tb.Helper()
	var m pageMemory
	p.eval(`({wasm: window.__bench.wasm?.exports?.mem?.buffer?.byteLength ?? 0,
		jsHeap: performance.memory?.usedJSHeapSize ?? 0})`, &m)
	return m
}

// coldReload makes the next load of the console a first visit with a
// session: no HTTP cache, no service worker, no cached files. Then it
// installs the probe and loads the console.
func (p *page) coldReload(s *stack) {
	p.tb.Helper()
	p.do("forget the cache and the service worker", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: s.url,
			StorageTypes: "service_workers,cache_storage"})
		return err
	}))
	p.do("install the probe", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: probeScript})
		return err
	}))
	p.navigate(s.url + "/")
}

// wasmTransfer is what the browser downloaded for app.wasm.
type wasmTransfer struct {
	Transfer, Encoded, Decoded float64 // bytes: on the wire with headers, body, decoded
	Encoding                   string
}

// measureLoad waits for the console to show all n calls and returns the
// time from navigation start to that render, and app.wasm's transfer.
func (p *page) measureLoad(tb testing.TB, s *stack, web string, n int) (float64, wasmTransfer) {
	tb.Helper()
	seq := s.srv().View().Seq()
	// A view of tens of thousands of calls takes its time to decode.
	wait := loadTimeout + time.Duration(n/1000)*time.Second
	p.waitJS("the console with every call", fmt.Sprintf(`window.__switchboard?.seq >= %d &&
		document.querySelector("#live-range")?.textContent.endsWith(" of %s") && window.__switchboard.state === "live"`, seq, count(n)), wait)
	var got struct {
		Loaded float64
		Wasm   wasmTransfer
	}
	p.eval(fmt.Sprintf(`(() => {
		const e = performance.getEntriesByType("resource").find(e => new URL(e.name).pathname.endsWith("app.wasm"));
		return {loaded: window.__bench.flushes.find(f => f[0] >= %d)[1],
			wasm: {transfer: e?.transferSize ?? 0, encoded: e?.encodedBodySize ?? 0, decoded: e?.decodedBodySize ?? 0}};
	})()`, seq), &got)
	got.Wasm.Encoding = encodingOf(web, int64(got.Wasm.Encoded))
	return got.Loaded, got.Wasm
}

// encodingOf names the copy of app.wasm whose size the browser received.
func encodingOf(web string, size int64) string {
	for _, c := range []struct{ file, name string }{{"app.wasm.br", "brotli"}, {"app.wasm.gz", "gzip"}, {"app.wasm", "none"}} {
		if fi, err := os.Stat(filepath.Join(web, c.file)); err == nil && fi.Size() == size {
			return c.name
		}
	}
	return fmt.Sprintf("unknown (%d bytes)", size)
}

// settle lets the first visit's background work end (the service worker
// installs and caches app.wasm) so that it does not count as load.
func (p *page) settle() {
	p.tb.Helper()
	var ok bool
	p.eval(`navigator.serviceWorker.ready.then(() => true)`, &ok)
	time.Sleep(2 * time.Second) // not an assertion: quiet time before measuring
}

// pageData is what the probe recorded.
type pageData struct {
	Updates   [][3]float64 // update number, sequence, arrival (ms)
	Flushes   [][2]float64 // sequence, DOM time (ms)
	Rows      map[string][][2]float64
	LongTasks [][2]float64 // start, duration (ms)
	Origin    float64      // performance.timeOrigin (ms since the Unix epoch)
}

// collect reads the probe's records, decoding the frames in the page
// after the run (so that it costs nothing while measuring).
func (p *page) collect() pageData {
	p.tb.Helper()
	var d pageData
	p.eval(`(() => {
		const b = window.__bench, updates = [], rows = {};
		for (const [at, frame] of b.frames) {
			for (const line of frame.split("\n")) {
				if (!line.startsWith('{"type":"call"')) continue;
				const m = JSON.parse(line), u = / u(\d+)$/.exec(m.call.subject ?? "");
				if (u) updates.push([Number(u[1]), m.seq, at]);
			}
		}
		for (const [id, seq, at] of b.rows) (rows[id] ??= []).push([seq, at]);
		return {updates, flushes: b.flushes, rows, longTasks: b.longTasks, origin: performance.timeOrigin};
	})()`, &d)
	return d
}

// measure turns the records into one latency per update.
func (r *loadResult) measure(d pageData, sent *sentUpdates, ids []string) {
	seen := make([]bool, len(sent.calls))
	for _, u := range d.Updates {
		n, seq, arrived := int(u[0]), u[1], u[2]
		if n < 0 || n >= len(seen) || seen[n] {
			continue
		}
		seen[n] = true
		r.seen++
		shown, ok := firstAtOrAfter(d.Flushes, seq)
		if !ok {
			continue // never rendered: counted as seen but not shown; see report
		}
		r.wireToDOM = append(r.wireToDOM, shown-arrived)
		r.e2e = append(r.e2e, d.Origin+shown-float64(sent.sent[n].UnixNano())/1e6)
		if at, ok := firstAtOrAfter(d.Rows[ids[sent.calls[n]]], seq); ok {
			r.onScreen++
			r.wireToRow = append(r.wireToRow, at-arrived)
		}
	}
}

// firstAtOrAfter returns the time of the first record (sequence, time)
// whose sequence is at least seq; records are in time order.
func firstAtOrAfter(records [][2]float64, seq float64) (float64, bool) {
	for _, rec := range records {
		if rec[0] >= seq {
			return rec[1], true
		}
	}
	return 0, false
}

// chromiumVersion asks the browser for its version.
func chromiumVersion() string {
	path, err := chromiumPath()
	if err != nil {
		return "unknown"
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// count formats n with thousands separators, as the console does.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// percentile is the nearest-rank percentile p (0–100) of values.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	v := slices.Clone(values)
	slices.Sort(v)
	i := int(float64(len(v))*p/100+0.999999) - 1
	return v[max(0, min(i, len(v)-1))]
}

// Goals of issue 3, item 8.
const (
	goalP99MS        = 100.0
	goalLongTaskMS   = 50.0
	goalWasmBytes    = 2.5 * 1000 * 1000
	bytesPerMegabyte = 1000 * 1000
)

// report records the median run's metrics, prints the console's section
// of docs/benchmarks.md and, with -console.out, writes it there.
func report(b *testing.B, runs []*loadResult) {
	med := func(f func(*loadResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[(len(v)-1)/2]
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(med(func(r *loadResult) float64 { return percentile(r.wireToDOM, 50) }), "p50_ms")
	b.ReportMetric(med(func(r *loadResult) float64 { return percentile(r.wireToDOM, 99) }), "p99_ms")
	b.ReportMetric(med(func(r *loadResult) float64 { return float64(len(r.longTasks)) }), "longtasks_over_50ms")
	b.ReportMetric(med(func(r *loadResult) float64 { return slices.Max(append([]float64{0}, r.longTasks...)) }), "max_longtask_ms")
	b.ReportMetric(med(func(r *loadResult) float64 { return r.loadMS }), "load_ms")
	b.ReportMetric(med(func(r *loadResult) float64 { return r.end.Wasm }), "wasm_memory_bytes")
	md := consoleMarkdown(runs)
	fmt.Print(md)
	if *loadOut != "" {
		if err := writeSection(*loadOut, "console", md); err != nil {
			b.Fatal(err)
		}
		b.Logf("wrote the console's section of %s", *loadOut)
	}
}

// consoleMarkdown is the console's section of docs/benchmarks.md: every
// run, the median, the goals.
func consoleMarkdown(runs []*loadResult) string {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	first := runs[0]
	w("## Console in Chromium")
	w("")
	w("Measured by `BenchmarkConsoleUnderLoad` in `backend/browsertest` (`make bench` runs it after `swbench`): the console (the go-app WebAssembly build "+
		"of the current source, served with its brotli and gzip copies as `make build` ships them) in headless Chromium, against one replica on loopback "+
		"holding **%s live calls**, while a load generator sends **%d updates a second for %s**, %d times.", count(first.calls), *loadRate, *loadDuration, len(runs))
	w("")
	w("```")
	w("go test -run XXX -bench Console -benchtime 1x ./backend/browsertest/ -console.calls %d -console.rate %d -console.load %s -console.runs %d -console.out docs/benchmarks.md",
		*loadCalls, *loadRate, *loadDuration, len(runs))
	w("```")
	w("")
	w("| | |")
	w("|---|---|")
	w("| Machine | %d CPUs (%s), load average %s at the end |", runtime.NumCPU(), cpuModel(), loadAverage())
	w("| Go | %s |", runtime.Version())
	w("| Chromium | %s, headless, fresh profile |", first.chromium)
	w("| Date | %s |", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	w("")
	head := "| Figure | Goal |"
	rule := "|---|---|"
	for i := range runs {
		head += fmt.Sprintf(" Run %d |", i+1)
		rule += "---|"
	}
	w("%s Median | Result |", head)
	w("%s---|---|", rule)
	type row struct {
		label, goal string
		value       func(*loadResult) float64
		cell        func(*loadResult) string
		unit        string
		ok          func(median float64) bool
	}
	ms := func(f func(*loadResult) float64) func(*loadResult) string {
		return func(r *loadResult) string { return fmt.Sprintf("%.1f ms", f(r)) }
	}
	mib := func(v float64) string { return fmt.Sprintf("%.0f MiB", v/(1<<20)) }
	rows := []row{
		{"Update: websocket frame reaches the page → DOM shows it, p99", fmt.Sprintf("≤ %.0f ms", goalP99MS),
			func(r *loadResult) float64 { return percentile(r.wireToDOM, 99) }, nil, "ms", func(m float64) bool { return m <= goalP99MS }},
		{"Same, p50 / max", "—", func(r *loadResult) float64 { return percentile(r.wireToDOM, 50) },
			func(r *loadResult) string {
				return fmt.Sprintf("%.1f / %.1f ms", percentile(r.wireToDOM, 50), percentile(r.wireToDOM, 100))
			}, "ms", nil},
		{"Same, updates whose row was on screen, p50 / p99", "—", func(r *loadResult) float64 { return percentile(r.wireToRow, 99) },
			func(r *loadResult) string {
				return fmt.Sprintf("%.1f / %.1f ms (%d)", percentile(r.wireToRow, 50), percentile(r.wireToRow, 99), r.onScreen)
			}, "ms", nil},
		{"Update: webhook POST sent → DOM shows it, p50 / p99", "—", func(r *loadResult) float64 { return percentile(r.e2e, 99) },
			func(r *loadResult) string {
				return fmt.Sprintf("%.1f / %.1f ms", percentile(r.e2e, 50), percentile(r.e2e, 99))
			}, "ms", nil},
		{"Updates sent / reached the page / rendered", "all", func(r *loadResult) float64 { return float64(r.sent - len(r.wireToDOM)) },
			func(r *loadResult) string {
				return fmt.Sprintf("%s / %s / %s (%.0f/s)", count(r.sent), count(r.seen), count(len(r.wireToDOM)), r.rate)
			}, "", func(m float64) bool { return m == 0 }},
		{"Long tasks while under load: longest", fmt.Sprintf("none over %.0f ms", goalLongTaskMS),
			func(r *loadResult) float64 { return slices.Max(append([]float64{0}, r.longTasks...)) },
			func(r *loadResult) string {
				return fmt.Sprintf("%.0f ms (%d)", slices.Max(append([]float64{0}, r.longTasks...)), len(r.longTasks))
			}, "ms", func(m float64) bool { return m <= goalLongTaskMS }},
		{"Long tasks while loading: longest (count)", "—", func(r *loadResult) float64 { return slices.Max(append([]float64{0}, r.loadLongTasks...)) },
			func(r *loadResult) string {
				return fmt.Sprintf("%.0f ms (%d)", slices.Max(append([]float64{0}, r.loadLongTasks...)), len(r.loadLongTasks))
			}, "ms", nil},
		{fmt.Sprintf("Cold load with a session → console showing %s calls", count(first.calls)), "—", func(r *loadResult) float64 { return r.loadMS },
			func(r *loadResult) string { return fmt.Sprintf("%.0f ms", r.loadMS) }, "ms", nil},
		{"Console memory with the whole view: WebAssembly memory (the Go heap's high-water mark)", "—",
			func(r *loadResult) float64 { return r.loaded.Wasm }, func(r *loadResult) string { return mib(r.loaded.Wasm) }, "MiB", nil},
		{"Same, at the end of the load", "—", func(r *loadResult) float64 { return r.end.Wasm }, func(r *loadResult) string { return mib(r.end.Wasm) }, "MiB", nil},
		{"JavaScript heap in use at the end of the load (the probe's records included)", "—",
			func(r *loadResult) float64 { return r.end.JSHeap }, func(r *loadResult) string { return mib(r.end.JSHeap) }, "MiB", nil},
		{"app.wasm transferred on a cold load", fmt.Sprintf("≤ %.1f MB", goalWasmBytes/bytesPerMegabyte),
			func(r *loadResult) float64 { return r.wasm.Transfer },
			func(r *loadResult) string {
				return fmt.Sprintf("%.2f MB (%s)", r.wasm.Transfer/bytesPerMegabyte, r.wasm.Encoding)
			}, "MB",
			func(m float64) bool { return m > 0 && m <= goalWasmBytes }},
	}
	for _, rw := range rows {
		line := fmt.Sprintf("| %s | %s |", rw.label, rw.goal)
		vals := make([]float64, len(runs))
		for i, r := range runs {
			vals[i] = rw.value(r)
			cell := ""
			if rw.cell != nil {
				cell = rw.cell(r)
			} else {
				cell = ms(rw.value)(r)
			}
			line += " " + cell + " |"
		}
		sorted := slices.Clone(vals)
		slices.Sort(sorted)
		median := sorted[(len(sorted)-1)/2]
		medCell := fmt.Sprintf("%.1f ms", median)
		switch rw.unit {
		case "MiB":
			medCell = mib(median)
		case "MB":
			medCell = fmt.Sprintf("%.2f MB", median/bytesPerMegabyte)
		case "":
			medCell = fmt.Sprintf("%.0f missing", median)
		}
		result := "—"
		if rw.ok != nil {
			result = met(rw.ok(median))
		}
		w("%s %s | %s |", line, medCell, result)
	}
	w("")
	w("How the figures are taken:")
	w("")
	w("- **Calls** are created by posting signed `commsNotifications` to the webhook (`created` incoming, then `updated` established, 50 per POST), "+
		"each with a subject marking it. **Updates** are `updated` notifications that put a random call on hold or take it back, %d per POST on a fixed schedule "+
		"from one sender; each carries a unique subject (`load KKKK uN`) so that every feed message names the update it carries.", batchSize)
	w("- **In the page**, a script installed before the console's own (`Page.addScriptToEvaluateOnNewDocument`) records with `performance.now()` every websocket " +
		"message as it reaches the page (its listener runs before the console's), every render the console reports through its test probe " +
		"(`window.__switchboard`, set once the DOM shows a feed sequence), every row the probe reports redrawn, and every `longtask` entry of a " +
		"`PerformanceObserver`; it also keeps the console's WebAssembly instance, to read its memory. The frames are decoded after the run, not while measuring.")
	w("- **Frame → DOM** for an update is the time of the first render showing a sequence at or past the update's, minus the arrival of the frame carrying it. " +
		"The console renders a page of rows, so most updated calls have no row on screen: for those the DOM shows the update through the page's counts and state " +
		"summary; the on-screen row is measured separately from the probe's row records. The console renders the feed at most every 50 ms, and the server " +
		"writes a busy feed at most every 20 ms: most of the p50 is that coalescing.")
	w("- **POST → DOM** adds the server (JetStream, the view, the feed) to the above: the sender's wall clock when the POST left against `performance.timeOrigin` plus the render time.")
	w("- **Cold load**: after signing in through the development provider's form, the browser's HTTP cache, service worker and cache storage are cleared and " +
		"the console is loaded again with the session; the load time runs from navigation start to the render that shows every call at the server's sequence. " +
		"The long tasks of that load (compiling and starting the WebAssembly, decoding the snapshot) are counted apart from those under load.")
	w("- **Memory**: the WebAssembly instance's linear memory (`exports.mem.buffer.byteLength`), which holds the console's Go heap and never shrinks, read once " +
		"the whole view is shown and again at the end of the load; and Chromium's `performance.memory.usedJSHeapSize`, which also holds the probe's records of every frame.")
	return sb.String()
}

// writeSection replaces, in the markdown file at path, the section between
// "<!-- begin name -->" and "<!-- end name -->" with content, or adds it at
// the end: the marked sections the load tool (cmd/swbench) keeps when it
// rewrites the rest of docs/benchmarks.md.
func writeSection(path, name, content string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	begin, end := "<!-- begin "+name+" -->\n", "<!-- end "+name+" -->\n"
	wrapped := begin + strings.TrimRight(content, "\n") + "\n" + end
	md := string(old)
	if i, j := strings.Index(md, begin), strings.Index(md, end); i >= 0 && j > i {
		md = md[:i] + wrapped + md[j+len(end):]
	} else {
		if k := strings.Index(md, "\n## Console in Chromium"); k >= 0 && i < 0 {
			md = md[:k+1] // the section as it was before it was marked
		}
		md = strings.TrimRight(md, "\n") + "\n\n" + wrapped
	}
	return os.WriteFile(path, []byte(md), 0o644)
}

// loadAverage reads the machine's load average (Linux).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel reads the CPU's model name (Linux).
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return runtime.GOARCH
}
