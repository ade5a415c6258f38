// Command report turns the raw files run.sh leaves in a results directory into
// the comparison table: medians per contestant, ratios of one contestant (the
// subject, weft by default) to each peer, and the targets of issue 6.
//
//	report -dir results/20261125T110000Z [-subject weft]
//
// Files it reads, one set per contestant, test and run:
//
//	NAME.TEST.RUN.wrk   wrk --latency output (TEST is plain or pipe)
//	NAME.TEST.RUN.cpu   "TICKS CLK_TCK [BUSY TOTAL WRK]": the server's utime+stime
//	                    over the wrk run; optionally the busy and total ticks of
//	                    the two CPUs used and wrk's own CPU ticks, from which the
//	                    share of those CPUs taken by other processes follows
//	NAME.idle.RUN.tsv   idleconns output: rss_before_kib rss_after_kib conns bytes_per_conn
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

type wrkRun struct {
	rps       float64
	p99us     float64
	requests  float64
	errs      int
	cpuPerReq float64 // microseconds of server CPU per request; NaN if unknown
	otherPct  float64 // % of the two CPUs' time used by neither server nor wrk; NaN if unknown
}

type stats struct {
	plain, pipe []wrkRun
	idle        []float64 // bytes per idle connection
	idleOpen    []int     // connections still open when measured
}

func main() {
	dir := flag.String("dir", "", "results directory written by run.sh")
	subject := flag.String("subject", "weft", "contestant whose ratios to every peer are shown; if absent from the results, every pair is shown")
	order := flag.String("order", "", "comma-separated contestant order for the table (default: as found)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "report: -dir is required")
		os.Exit(2)
	}
	all, names, err := load(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if *order != "" {
		names = reorder(names, strings.Split(*order, ","))
	}
	printTable(os.Stdout, all, names)
	if _, ok := all[*subject]; ok {
		printRatios(os.Stdout, all, names, []string{*subject})
		printTargets(os.Stdout, all, *subject)
	} else {
		printRatios(os.Stdout, all, names, names)
	}
}

var fileRE = regexp.MustCompile(`^([A-Za-z0-9_-]+)\.(plain|pipe|idle)\.(\d+)\.(wrk|tsv)$`)

func load(dir string) (map[string]*stats, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	all := map[string]*stats{}
	var names []string
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		name, test := m[1], m[2]
		st := all[name]
		if st == nil {
			st = &stats{}
			all[name] = st
			names = append(names, name)
		}
		path := filepath.Join(dir, e.Name())
		switch test {
		case "idle":
			per, open, err := readIdle(path)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			st.idle = append(st.idle, per)
			st.idleOpen = append(st.idleOpen, open)
		default:
			r, err := readWrk(path)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			r.cpuPerReq, r.otherPct = math.NaN(), math.NaN()
			if c, err := readCPU(strings.TrimSuffix(path, ".wrk") + ".cpu"); err == nil {
				if r.requests > 0 {
					r.cpuPerReq = c.server / c.hz * 1e6 / r.requests
				}
				if c.total > 0 {
					r.otherPct = max(0, c.busy-c.server-c.wrk) / c.total * 100
				}
			}
			if test == "plain" {
				st.plain = append(st.plain, r)
			} else {
				st.pipe = append(st.pipe, r)
			}
		}
	}
	if len(names) == 0 {
		return nil, nil, errors.New("no result files in " + dir)
	}
	return all, names, nil
}

func reorder(found, want []string) []string {
	var out []string
	for _, w := range want {
		if slices.Contains(found, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	for _, f := range found {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

var (
	rpsRE      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	totalRE    = regexp.MustCompile(`(?m)^\s*(\d+) requests in`)
	p99RE      = regexp.MustCompile(`(?m)^\s+99%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	batchP99RE = regexp.MustCompile(`(?m)^Batch p99 latency: (\d+)us$`)
	sockErrRE  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	non2xxRE   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	unitMicros = map[string]float64{"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}
)

func readWrk(path string) (wrkRun, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return wrkRun{}, err
	}
	s := string(b)
	var r wrkRun
	m := rpsRE.FindStringSubmatch(s)
	if m == nil {
		return r, errors.New("no Requests/sec line (did wrk fail?)")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m = totalRE.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.ParseFloat(m[1], 64)
	}
	r.p99us = math.NaN()
	// pipeline.lua prints the batch p99 with wrk's coordinated-omission
	// correction undone; wrk's own figure is wrong when pipelining, often 0.
	if m = batchP99RE.FindStringSubmatch(s); m != nil {
		r.p99us, _ = strconv.ParseFloat(m[1], 64)
	} else if m = p99RE.FindStringSubmatch(s); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		if v > 0 {
			r.p99us = v * unitMicros[m[2]]
		}
	}
	if m = sockErrRE.FindStringSubmatch(s); m != nil {
		for _, x := range m[1:] {
			n, _ := strconv.Atoi(x)
			r.errs += n
		}
	}
	if m = non2xxRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.errs += n
	}
	return r, nil
}

type cpuTicks struct{ server, hz, busy, total, wrk float64 }

func readCPU(path string) (cpuTicks, error) {
	var c cpuTicks
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 && len(f) != 5 {
		return c, errors.New("want \"TICKS CLK_TCK [BUSY TOTAL WRK]\"")
	}
	dst := []*float64{&c.server, &c.hz, &c.busy, &c.total, &c.wrk}
	for i, x := range f {
		if *dst[i], err = strconv.ParseFloat(x, 64); err != nil {
			return c, err
		}
	}
	if c.hz <= 0 {
		return c, errors.New("CLK_TCK must be positive")
	}
	return c, nil
}

func readIdle(path string) (perConn float64, open int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, errors.New("empty (did idleconns fail?)")
	}
	fields := strings.Fields(sc.Text())
	if len(fields) != 4 {
		return 0, 0, errors.New("want 4 fields")
	}
	open, err = strconv.Atoi(fields[2])
	if err == nil {
		perConn, err = strconv.ParseFloat(fields[3], 64)
	}
	return perConn, open, err
}

func median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func pick(rs []wrkRun, f func(wrkRun) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return median(xs)
}

// The metrics of one contestant, medians over its runs.
type row struct {
	rps, p99, cpu             float64
	pipeRPS, pipeP99, pipeCPU float64
	idle                      float64
	other                     float64 // median % of the two CPUs taken by other processes
	runs, errs, minOpen       int
}

func summarize(st *stats) row {
	rps := func(r wrkRun) float64 { return r.rps }
	p99 := func(r wrkRun) float64 { return r.p99us }
	cpu := func(r wrkRun) float64 { return r.cpuPerReq }
	out := row{
		rps: pick(st.plain, rps), p99: pick(st.plain, p99), cpu: pick(st.plain, cpu),
		pipeRPS: pick(st.pipe, rps), pipeP99: pick(st.pipe, p99), pipeCPU: pick(st.pipe, cpu),
		idle:    median(st.idle),
		other:   pick(append(slices.Clone(st.plain), st.pipe...), func(r wrkRun) float64 { return r.otherPct }),
		runs:    max(len(st.plain), len(st.pipe), len(st.idle)),
		minOpen: -1,
	}
	for _, r := range append(slices.Clone(st.plain), st.pipe...) {
		out.errs += r.errs
	}
	for _, o := range st.idleOpen {
		if out.minOpen < 0 || o < out.minOpen {
			out.minOpen = o
		}
	}
	return out
}

func num(x float64, prec int) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

func lat(us float64) string {
	switch {
	case math.IsNaN(us):
		return "-"
	case us >= 1e4:
		return num(us/1e3, 1) + "ms"
	case us >= 1e3:
		return num(us/1e3, 2) + "ms"
	default:
		return num(us, 0) + "us"
	}
}

func printTable(w *os.File, all map[string]*stats, names []string) {
	fmt.Fprintln(w, "Medians per contestant (plain: one request per write; pipe: pipelined batches; idle: keep-alive connections held open)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\truns\tplain req/s\tplain p99\tplain CPU us/req\tpipe req/s\tpipe p99\tpipe CPU us/req\tidle B/conn\tidle conns\twrk errors\tother CPU %\t")
	worst := 0.0
	for _, n := range names {
		r := summarize(all[n])
		open := "-"
		if r.minOpen >= 0 {
			open = strconv.Itoa(r.minOpen)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", n, r.runs,
			num(r.rps, 0), lat(r.p99), num(r.cpu, 2),
			num(r.pipeRPS, 0), lat(r.pipeP99), num(r.pipeCPU, 2),
			num(r.idle, 0), open, r.errs, num(r.other, 0))
		if !math.IsNaN(r.other) {
			worst = max(worst, r.other)
		}
	}
	tw.Flush()
	if worst > 10 {
		fmt.Fprintf(w, "WARNING: other processes took up to %.0f%% (median per contestant) of the two benchmark CPUs;\n"+
			"req/s and p99 are skewed by it, CPU/req and B/conn much less. Rerun on a quiet machine to quote them.\n", worst)
	}
	fmt.Fprintln(w)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "-"
	}
	return num(a/b, 2) + "x"
}

func printRatios(w *os.File, all map[string]*stats, names, subjects []string) {
	fmt.Fprintln(w, "Ratios subject/peer (req/s: higher is better; p99, CPU/req, B/conn: lower is better)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subject / peer\tplain req/s\tplain p99\tplain CPU/req\tpipe req/s\tpipe p99\tpipe CPU/req\tidle B/conn\t")
	for _, s := range subjects {
		a := summarize(all[s])
		for _, p := range names {
			if p == s {
				continue
			}
			b := summarize(all[p])
			fmt.Fprintf(tw, "%s / %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s, p,
				ratio(a.rps, b.rps), ratio(a.p99, b.p99), ratio(a.cpu, b.cpu),
				ratio(a.pipeRPS, b.pipeRPS), ratio(a.pipeP99, b.pipeP99), ratio(a.pipeCPU, b.pipeCPU),
				ratio(a.idle, b.idle))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// printTargets checks the bars issue 6 sets for weft against the same run's peers.
func printTargets(w *os.File, all map[string]*stats, subject string) {
	s := summarize(all[subject])
	peer := func(name string) (row, bool) {
		st, ok := all[name]
		if !ok {
			return row{}, false
		}
		return summarize(st), true
	}
	fmt.Fprintf(w, "Targets of issue 6, for %s\n", subject)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	check := func(what string, got, bound float64, atLeast bool) {
		verdict := "FAIL"
		switch {
		case math.IsNaN(got) || math.IsNaN(bound):
			verdict = "n/a"
		case atLeast && got >= bound, !atLeast && got <= bound:
			verdict = "PASS"
		}
		op := "<="
		if atLeast {
			op = ">="
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s %s\t%s\n", what, num(got, 2), op, num(bound, 2), verdict)
	}
	for _, t := range []struct {
		peer string
		min  float64
	}{{"gnet", 1.0}, {"fasthttp", 1.3}, {"nethttp", 10}} {
		if p, ok := peer(t.peer); ok {
			check("pipe req/s / "+t.peer, s.pipeRPS/p.pipeRPS, t.min, true)
		}
	}
	for _, t := range []struct {
		peer string
		max  float64
	}{{"gnet", 0.8}, {"nethttp", 0.45}} {
		if p, ok := peer(t.peer); ok {
			check("plain CPU/req / "+t.peer, s.cpu/p.cpu, t.max, false)
		}
	}
	if p, ok := peer("nethttp"); ok {
		check("plain p99 / nethttp", s.p99/p.p99, 1, false)
		check("pipe p99 / nethttp", s.pipeP99/p.pipeP99, 1, false)
	}
	check("idle B/conn", s.idle, 1024, false)
	tw.Flush()
	fmt.Fprintln(w)
}
