package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// row is one measured run of one server in one scenario.
type row struct {
	scenario string
	server   string
	clients  int
	out      outcome
	upstream float64       // upstream requests per client request
	cpu      time.Duration // the gateway's CPU time per request
	alloc    float64       // the gateway's Go heap bytes allocated per request
	rss      int64         // the gateway's peak resident memory, bytes
	items    int           // list items per request (lists scenario), 0 otherwise
}

// target is one performance target of the benchmark issue, checked against this run.
type target struct {
	name     string
	measured string
	met      bool
}

// fact is a figure that is not a load run (the critical path, an in-process benchmark).
type fact struct{ name, value string }

type bench struct {
	o       options
	root    string // the module's directory
	bins    map[string]string
	dir     string
	log     io.Writer
	cmp     *checkout // -compare's checkout, built; nil without it
	rows    []row
	ratios  [][2]string // scenario, "server/baseline: …"
	targets []target
	facts   []fact
}

// measure runs l against s and reads s's CPU, memory and allocations and the backends' request count at the
// edges of the measured window.
func (b *bench) measure(scenario string, s *server, l load, upstream func() int64) (row, error) {
	rows, err := b.measureAll(scenario, []*server{s}, l, upstream)
	if err != nil {
		return row{}, err
	}
	return rows[0], nil
}

// interleaveRounds is how many windows the measured time d of each of several servers measured together is cut
// into: windows of about half a second, so noise that comes and goes on the machine falls on both, but at least
// 4 and at most 20; even, so that with the order reversed every round each server goes first as often as last.
func interleaveRounds(d time.Duration) int {
	n := int(d / (500 * time.Millisecond))
	return min(max(n-n%2, 4), 20)
}

// measureAll measures each of servers under l, and reads its CPU, memory and allocations and the backends'
// request count at the edges of each measured window. With more than one server the runs are interleaved, so
// that whatever else the machine does in the meantime falls on all of them alike: each warms up, one after the
// other, then the measured time (l.duration per server) is cut into rounds (interleaveRounds) in which every
// server gets its window in turn, in an order reversed every round (A B, B A, A B, B A), so a drift over the run
// (the machine's other load, the backends' state) weighs on each the same. Only one server is under load at any
// time: the backends' request count during a window is that server's. The rows are appended in servers' order.
func (b *bench) measureAll(scenario string, servers []*server, l load, upstream func() int64) ([]row, error) {
	rounds := 1
	if len(servers) > 1 {
		rounds = interleaveRounds(l.duration)
	}
	for _, s := range servers {
		l.warm(s.url)
	}
	type tally struct {
		m        vegeta.Metrics
		out      outcome
		cpu      time.Duration
		alloc    float64
		upstream int64
		rss      int64
	}
	ts := make([]tally, len(servers))
	for i := range rounds {
		for k := range servers {
			j := k
			if i%2 == 1 {
				j = len(servers) - 1 - k
			}
			s, t := servers[j], &ts[j]
			u0, err0 := s.usage()
			c0 := upstream()
			l.attack(s.url, l.duration/time.Duration(rounds), &t.m, &t.out)
			u1, err1 := s.usage()
			c1 := upstream()
			if err0 != nil || err1 != nil {
				return nil, fmt.Errorf("%s: %v %v", s.name, err0, err1)
			}
			t.cpu += u1.cpu - u0.cpu
			t.alloc += u1.alloc - u0.alloc
			t.upstream += c1 - c0
			t.rss = u1.peakRSS
		}
	}
	rows := make([]row, len(servers))
	for j, s := range servers {
		t := &ts[j]
		t.out.done(&t.m)
		out := t.out
		r := row{scenario: scenario, server: s.name, clients: l.clients, out: out, rss: t.rss}
		if out.requests > 0 {
			n := float64(out.requests)
			r.upstream = float64(t.upstream) / n
			r.cpu = time.Duration(float64(t.cpu) / n)
			r.alloc = t.alloc / n
		}
		if out.errors > 0 {
			fmt.Fprintf(b.log, "  %s: %d errors, first: %s\n", s.name, out.errors, out.firstErr)
		}
		fmt.Fprintf(b.log, "  %-22s %8.0f req/s  p50 %-9s p99 %-9s cpu/req %s\n", s.name, out.rate(), ms(out.p50), ms(out.p99), us(r.cpu))
		b.rows = append(b.rows, r)
		rows[j] = r
	}
	return rows, nil
}

// compare records the ratios of a to base (the baseline) of the same scenario.
func (b *bench) compare(a, base row) {
	b.ratios = append(b.ratios, [2]string{a.scenario, fmt.Sprintf("%s / %s: req/s %.2f×, p50 %.2f, p99 %.2f, CPU/req %.2f, alloc/req %.2f, peak RSS %.2f",
		a.server, base.server, a.out.rate()/base.out.rate(), ratio(a.out.p50, base.out.p50), ratio(a.out.p99, base.out.p99),
		ratio(a.cpu, base.cpu), a.alloc/base.alloc, float64(a.rss)/float64(base.rss))})
}

func (b *bench) target(name string, met bool, format string, args ...any) {
	b.targets = append(b.targets, target{name: name, measured: fmt.Sprintf(format, args...), met: met})
}

// report renders the run as Markdown.
func (b *bench) report(machine, command string, took time.Duration) string {
	var s strings.Builder
	fmt.Fprintf(&s, "## %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&s, "- machine: %s\n- command: `%s`\n- took: %s; each load run: %s warm-up, then %s measured (lists and planning: half each)\n\n",
		machine, strings.TrimSpace(command), took.Round(time.Second), b.o.warmup, b.o.duration)
	tw := tabwriter.NewWriter(&s, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| scenario\t server\t clients\t req/s\t p50\t p99\t errors\t upstream/req\t CPU/req\t alloc/req\t peak RSS\t")
	fmt.Fprintln(tw, "|---\t---\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t---:\t")
	for _, r := range b.rows {
		fmt.Fprintf(tw, "| %s\t %s\t %d\t %.0f\t %s\t %s\t %d/%d\t %.2f\t %s\t %s\t %.0f MiB\t\n", r.scenario, r.server, r.clients,
			r.out.rate(), ms(r.out.p50), ms(r.out.p99), r.out.errors, r.out.requests, r.upstream, us(r.cpu),
			bytesOf(r.alloc), float64(r.rss)/(1<<20))
	}
	tw.Flush()
	// tabwriter's Debug flag separates columns with '|'; the header's leading "| " keeps Markdown's table shape.
	if len(b.ratios) > 0 {
		s.WriteString("\nRatios (same run):\n\n")
		for _, r := range b.ratios {
			fmt.Fprintf(&s, "- %s: %s\n", r[0], r[1])
		}
	}
	if len(b.facts) > 0 {
		s.WriteString("\nOther figures:\n\n")
		for _, f := range b.facts {
			fmt.Fprintf(&s, "- %s: %s\n", f.name, f.value)
		}
	}
	if len(b.targets) > 0 {
		s.WriteString("\nTargets:\n\n")
		for _, t := range b.targets {
			mark := "met"
			if !t.met {
				mark = "MISSED"
			}
			fmt.Fprintf(&s, "- %s — %s: %s\n", t.name, mark, t.measured)
		}
	}
	return s.String()
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func us(d time.Duration) string { return fmt.Sprintf("%.1fµs", float64(d)/1e3) }

func bytesOf(n float64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}
