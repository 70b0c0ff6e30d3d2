package respcache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Lifetime is how long one backend answer may be cached, and by whom.
type Lifetime struct {
	TTL time.Duration
	// Private: the answer is for the credentials it was asked with alone; it is kept only in this process, only
	// under a key that includes those credentials, and never in the shared level.
	Private bool
}

// Policy decides the Lifetime of a backend answer from its headers: with HonorCacheControl, from Cache-Control
// (no-store and no-cache: not cached, nor with Vary: *; private; s-maxage, preferred as Conflux is a shared
// cache, else max-age, less Age) or Expires (less Date), with TTL as the default and the cap; without, TTL.
type Policy struct {
	TTL               time.Duration
	HonorCacheControl bool
}

// Lifetime returns how long the answer with header h may be cached; ok is false when it must not be.
func (p Policy) Lifetime(h http.Header, now time.Time) (l Lifetime, ok bool) {
	if !p.HonorCacheControl {
		return Lifetime{TTL: p.TTL}, p.TTL > 0
	}
	for _, line := range h.Values("Vary") {
		for v := range strings.SplitSeq(line, ",") {
			if strings.TrimSpace(v) == "*" {
				return Lifetime{}, false // the answer varies with more than the request (RFC 9110 12.5.5)
			}
		}
	}
	ttl, have := time.Duration(0), false
	var maxAge, sMaxAge time.Duration
	var haveMax, haveS bool
	for _, line := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return Lifetime{}, false
			case "private":
				l.Private = true
			case "max-age":
				maxAge, haveMax = seconds(val)
			case "s-maxage":
				sMaxAge, haveS = seconds(val)
			}
		}
	}
	switch {
	case haveS:
		ttl, have = sMaxAge, true
	case haveMax:
		ttl, have = maxAge, true
	}
	if have {
		if age, ok := seconds(h.Get("Age")); ok {
			ttl -= age
		}
	} else if exp := h.Get("Expires"); exp != "" {
		t, err := http.ParseTime(exp)
		if err != nil {
			return Lifetime{}, false // an invalid Expires means already expired (RFC 9111 5.3)
		}
		base := now
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			base = d
		}
		ttl, have = t.Sub(base), true
	}
	if !have {
		ttl = p.TTL
	}
	if p.TTL > 0 && ttl > p.TTL {
		ttl = p.TTL
	}
	l.TTL = ttl
	return l, ttl > 0
}

func seconds(s string) (time.Duration, bool) {
	n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(s), `"`), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if n > int64(365*24*time.Hour/time.Second) {
		n = int64(365 * 24 * time.Hour / time.Second)
	}
	return time.Duration(n) * time.Second, true
}
