package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// KeepVersions is how many configuration versions Redis keeps for history and rollback.
const KeepVersions = 50

// MaxVersionBytes bounds one stored version (its JSON): a larger one is not published, and one read from Redis
// (which may be shared with others, or hold anything under the prefix) is refused without being read whole.
const MaxVersionBytes = 8 << 20

// Version is one configuration version as replicas share it: the whole configuration (the YAML file and every
// SDL or supergraph file it read), numbered in the order Redis accepted it.
type Version struct {
	// Seq is the version's number in the cluster: 1, 2, 3… in the order the versions were published.
	Seq int64 `json:"seq"`
	// ID is the content hash of the configuration (schema.Supergraph.Version).
	ID string `json:"id"`
	// Config is the configuration file's content.
	Config []byte `json:"config"`
	// Files are the SDL and supergraph files, by path relative to the configuration's directory.
	Files map[string][]byte `json:"files,omitempty"`
	// Origin names the replica that published the version; At is when.
	Origin string    `json:"origin"`
	At     time.Time `json:"at"`
}

// ErrConflict is returned by Publish when another version was published since the base the change was made
// on: the change was not stored and must be made again on top of the newest version.
var ErrConflict = errors.New("another configuration change won")

// ConflictError is a refused Publish: the cluster's newest version is Newest, not the base the change was made
// on. It matches ErrConflict with errors.Is.
type ConflictError struct {
	Base, Newest int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("another configuration change won (cluster version %d, this change was made on %d): retry on top of it", e.Newest, e.Base)
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ErrUnavailable is returned when Redis is known to be unreachable, without asking it.
var ErrUnavailable = errors.New("redis is unreachable")

// Head names the newest version: its number and content hash. The zero Head is an empty cluster.
type Head struct {
	Seq int64
	ID  string
}

func (h Head) String() string {
	if h.Seq == 0 {
		return ""
	}
	return strconv.FormatInt(h.Seq, 10) + " " + h.ID
}

// maxHeadBytes bounds the head as read: a number and a content hash.
const maxHeadBytes = 256

func parseHead(s string) (Head, error) {
	n, id, ok := strings.Cut(s, " ")
	seq, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || seq < 1 || len(s) > maxHeadBytes {
		return Head{}, fmt.Errorf("malformed configuration head %q", s)
	}
	return Head{Seq: seq, ID: id}, nil
}

// Versions stores the cluster's configuration versions in Redis (issue 15). Keys, under the client's prefix:
// config:head (the newest version's number and content hash), config:v:<seq> (a version as JSON; the last
// KeepVersions are kept) and the channel config:changed, which announces each new number. Publishing is a
// compare-and-set on config:head, in one Lua script, so two replicas changing the configuration at once cannot
// lose one another. The head holds the hash as well as the number so that a replica notices when Redis lost its
// data and numbers start again at 1 with another content.
//
// Versions is safe for concurrent use and owns no goroutine; every call takes a context and should carry a
// deadline (the client's CallTimeout applies to each round trip).
type Versions struct {
	c *Client
}

// NewVersions returns the configuration store of c's cluster.
func NewVersions(c *Client) *Versions { return &Versions{c: c} }

// Healthy reports whether Redis answered the last probe.
func (s *Versions) Healthy() bool { return s.c.Healthy() }

func (s *Versions) headKey() string { return s.c.Key("config", "head") }
func (s *Versions) versionKey(n int64) string {
	return s.c.Key("config", "v", strconv.FormatInt(n, 10))
}
func (s *Versions) channel() string { return s.c.Key("config", "changed") }

// fail records a failed call on the client (so that others stop asking Redis until it answers) and returns err.
func (s *Versions) fail(err error) error {
	s.c.Failed(err)
	return err
}

// check refuses at once while Redis is known to be unreachable, so that nothing waits on a dead connection.
func (s *Versions) check() error {
	if !s.c.Healthy() {
		return ErrUnavailable
	}
	return nil
}

// publishScript stores ARGV[2] as the version after the head ARGV[1] unless the head moved, drops the version
// KeepVersions older, and announces the new number. KEYS: head, new version, expired version, channel;
// ARGV: expected head ("" for none), version JSON, new head.
var publishScript = redis.NewScript(`
local head = redis.call('GET', KEYS[1]) or ''
if head ~= ARGV[1] then
  return {0, tonumber(string.match(head, '^(%d+)') or '0')}
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[1], ARGV[3])
local n = tonumber(string.match(ARGV[3], '^(%d+)'))
redis.call('PUBLISH', KEYS[4], n)
return {1, n}
`)

// Publish stores v as the version after base (the head of the version the change was made on; the zero Head
// when the cluster has none) and announces it. It returns the new head, or a *ConflictError when the newest
// version is no longer base. v.Seq is ignored.
func (s *Versions) Publish(ctx context.Context, base Head, v Version) (Head, error) {
	if err := s.check(); err != nil {
		return Head{}, err
	}
	v.Seq = base.Seq + 1
	if v.At.IsZero() {
		v.At = time.Now()
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Head{}, fmt.Errorf("encode configuration version: %w", err)
	}
	if len(data) > MaxVersionBytes {
		return Head{}, fmt.Errorf("the configuration is %d bytes, more than the %d a cluster version may hold", len(data), MaxVersionBytes)
	}
	next := Head{Seq: v.Seq, ID: v.ID}
	keys := []string{s.headKey(), s.versionKey(v.Seq), s.versionKey(v.Seq - KeepVersions), s.channel()}
	res, err := publishScript.Run(ctx, s.c.rdb, keys, base.String(), data, next.String()).Int64Slice()
	if err != nil {
		return Head{}, s.fail(fmt.Errorf("publish configuration version: %w", err))
	}
	if len(res) != 2 {
		return Head{}, fmt.Errorf("publish configuration version: unexpected answer %v", res)
	}
	if res[0] == 0 {
		return Head{}, &ConflictError{Base: base.Seq, Newest: res[1]}
	}
	return next, nil
}

// Head returns the newest version's head; the zero Head when the cluster has none.
func (s *Versions) Head(ctx context.Context) (Head, error) {
	if err := s.check(); err != nil {
		return Head{}, err
	}
	// GETRANGE reads maxHeadBytes+1 bytes at most; a missing key reads as "".
	str, err := s.c.rdb.GetRange(ctx, s.headKey(), 0, maxHeadBytes).Result()
	if err != nil {
		return Head{}, s.fail(fmt.Errorf("read configuration head: %w", err))
	}
	if str == "" {
		return Head{}, nil
	}
	return parseHead(str)
}

// Get returns version n; ok is false when Redis does not keep it (too old, or never published).
func (s *Versions) Get(ctx context.Context, n int64) (v Version, ok bool, err error) {
	if err := s.check(); err != nil {
		return Version{}, false, err
	}
	// GETRANGE reads MaxVersionBytes+1 bytes at most; a missing key reads as "".
	str, err := s.c.rdb.GetRange(ctx, s.versionKey(n), 0, MaxVersionBytes).Result()
	if err != nil {
		return Version{}, false, s.fail(fmt.Errorf("read configuration version %d: %w", n, err))
	}
	if str == "" {
		return Version{}, false, nil
	}
	v, err = decodeVersion(n, str)
	return v, err == nil, err
}

// decodeVersion decodes version n as read from Redis, which is checked like input: a value too large, that does
// not decode, or that is not version n is an error.
func decodeVersion(n int64, str string) (Version, error) {
	if len(str) > MaxVersionBytes {
		return Version{}, fmt.Errorf("configuration version %d is over %d bytes", n, MaxVersionBytes)
	}
	var v Version
	if err := json.Unmarshal([]byte(str), &v); err != nil {
		return Version{}, fmt.Errorf("decode configuration version %d: %w", n, err)
	}
	if v.Seq != n {
		return Version{}, fmt.Errorf("configuration version %d is malformed (it says it is version %d)", n, v.Seq)
	}
	return v, nil
}

// Latest returns the newest version; ok is false when the cluster has none.
func (s *Versions) Latest(ctx context.Context) (v Version, ok bool, err error) {
	h, err := s.Head(ctx)
	if err != nil || h.Seq == 0 {
		return Version{}, false, err
	}
	return s.Get(ctx, h.Seq)
}

// List returns the versions Redis keeps, oldest first (at most KeepVersions).
func (s *Versions) List(ctx context.Context) ([]Version, error) {
	h, err := s.Head(ctx)
	if err != nil || h.Seq == 0 {
		return nil, err
	}
	n := h.Seq
	first := max(n-KeepVersions+1, 1)
	keys := make([]string, 0, n-first+1)
	for i := first; i <= n; i++ {
		keys = append(keys, s.versionKey(i))
	}
	pipe := s.c.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.GetRange(ctx, k, 0, MaxVersionBytes)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.fail(fmt.Errorf("read configuration history: %w", err))
	}
	out := make([]Version, 0, len(cmds))
	for i, cmd := range cmds {
		str := cmd.Val()
		if str == "" {
			continue // expired between the two reads
		}
		v, err := decodeVersion(first+int64(i), str)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Subscribe announces, on the returned channel, the number of each version published by any replica, until ctx
// is done; then the subscription is closed and so is the channel (its goroutine has ended once the channel is
// closed). Announcements are dropped when the receiver is behind (it only needs the newest) and while Redis is
// unreachable: callers also poll Head. The subscription reconnects by itself.
func (s *Versions) Subscribe(ctx context.Context) <-chan int64 {
	out := make(chan int64, 1)
	ps := s.c.rdb.Subscribe(ctx, s.channel())
	go func() {
		defer close(out)
		defer ps.Close()
		msgs := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				n, err := strconv.ParseInt(m.Payload, 10, 64)
				if err != nil {
					continue
				}
				select {
				case out <- n:
				default:
					// The receiver has an announcement pending; it reads the newest number itself.
				}
			}
		}
	}()
	return out
}

// SyncStatus is how a replica stands with the cluster's configuration, for the admin API and /metrics.
type SyncStatus struct {
	// Connected: Redis answered the last probe.
	Connected bool
	// Seq is the cluster version number of the configuration the replica serves; 0 before its first sync.
	Seq int64
	// Newest is the newest cluster version number the replica has seen; above Seq when it could not apply it.
	Newest int64
	// LastSync is when the replica last agreed with Redis (a version published, applied or found current).
	LastSync time.Time
	// Pending: the running configuration was changed on this replica while Redis was unreachable and will be
	// published when it answers again.
	Pending bool
	// Errors counts failed synchronisations (Redis calls, versions that did not load); LastError is the last.
	Errors    int64
	LastError string
}
