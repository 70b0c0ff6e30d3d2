package sources

import (
	"context"
	"net/http"
	"time"
)

// ProbeConfig configures the active health probe; an empty Path turns it off.
type ProbeConfig struct {
	Path     string
	Interval time.Duration
	Timeout  time.Duration
	// Failures marks an endpoint unhealthy after this many failed probes in a row; Successes marks it healthy again.
	Failures  int
	Successes int
}

// probeLoop checks every endpoint's probe path each interval until Close. An endpoint whose probe fails
// Failures times in a row leaves rotation; Successes passing probes bring it back.
func (h *HTTP) probeLoop() {
	defer close(h.probeDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.stopProbe
		cancel()
	}()
	fails := make([]int, len(h.pool.endpoints))
	oks := make([]int, len(h.pool.endpoints))
	t := time.NewTicker(h.cfg.Health.Interval)
	defer t.Stop()
	client := &http.Client{Transport: h.transport, Timeout: h.cfg.Health.Timeout, CheckRedirect: RedirectPolicy(h.cfg.Redirects, h.cfg.RedirectHosts)}
	for {
		for i, ep := range h.pool.endpoints {
			ok := probe(ctx, client, endpointURL(ep, h.cfg.Health.Path, "").String())
			if ctx.Err() != nil {
				return
			}
			if ok {
				fails[i], oks[i] = 0, oks[i]+1
				if oks[i] >= h.cfg.Health.Successes {
					ep.probeOK.Store(true)
				}
			} else {
				fails[i], oks[i] = fails[i]+1, 0
				if fails[i] >= h.cfg.Health.Failures {
					ep.probeOK.Store(false)
				}
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func probe(ctx context.Context, client *http.Client, u string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	drain(resp.Body)
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
