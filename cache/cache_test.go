package cache

import "testing"

func TestLRU_Bounds(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int
		maxBytes   int64
		adds       []int64 // sizes of keys 0, 1, 2, …
		wantKeys   []int
		wantBytes  int64
	}{
		{name: "under both bounds", maxEntries: 10, maxBytes: 100, adds: []int64{10, 20, 30}, wantKeys: []int{0, 1, 2}, wantBytes: 60},
		{name: "bytes evict the oldest", maxEntries: 10, maxBytes: 50, adds: []int64{10, 20, 30}, wantKeys: []int{1, 2}, wantBytes: 50},
		{name: "entries evict the oldest", maxEntries: 2, maxBytes: 1000, adds: []int64{10, 20, 30}, wantKeys: []int{1, 2}, wantBytes: 50},
		{name: "too big for the cache is not stored", maxEntries: 10, maxBytes: 50, adds: []int64{10, 60}, wantKeys: []int{0}, wantBytes: 10},
		{name: "no byte bound", maxEntries: 10, maxBytes: 0, adds: []int64{1 << 40, 1 << 40}, wantKeys: []int{0, 1}, wantBytes: 2 << 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New[int, string](tt.maxEntries, tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			for k, size := range tt.adds {
				c.Add(k, "v", size)
			}
			if c.Len() != len(tt.wantKeys) {
				t.Errorf("Len = %d, want %d", c.Len(), len(tt.wantKeys))
			}
			for _, k := range tt.wantKeys {
				if _, ok := c.Get(k); !ok {
					t.Errorf("key %d was evicted", k)
				}
			}
			if c.Bytes() != tt.wantBytes {
				t.Errorf("Bytes = %d, want %d", c.Bytes(), tt.wantBytes)
			}
		})
	}
}

func TestLRU_ReplaceAndResize(t *testing.T) {
	c, _ := New[string, int](10, 100)
	c.Add("a", 1, 40)
	c.Add("a", 2, 30) // replacing must not count the old size
	if c.Bytes() != 30 {
		t.Fatalf("after replace: Bytes = %d, want 30", c.Bytes())
	}
	c.Add("b", 3, 30)
	c.Get("a") // b is now the least recently used
	c.Resize("a", 90)
	if _, ok := c.Get("b"); ok {
		t.Error("b should have been evicted when a grew")
	}
	if v, ok := c.Get("a"); !ok || v != 2 || c.Bytes() != 90 {
		t.Errorf("a = %v, %v; Bytes = %d; want 2, true, 90", v, ok, c.Bytes())
	}
	c.Resize("missing", 10)
	if c.Len() != 1 {
		t.Errorf("Resize of a missing key added it")
	}
}

// TestLRU_GrowPastBound: an entry that grows (Add again, or Resize) past the whole byte bound is dropped, and its
// old size leaves the count once: counted twice, Bytes would go below the true sum and the bound would no longer
// hold.
func TestLRU_GrowPastBound(t *testing.T) {
	for _, grow := range []struct {
		name string
		do   func(c *LRU[string, int])
	}{
		{"Resize", func(c *LRU[string, int]) { c.Resize("a", 200) }},
		{"Add", func(c *LRU[string, int]) { c.Add("a", 2, 200) }},
	} {
		t.Run(grow.name, func(t *testing.T) {
			c, _ := New[string, int](10, 100)
			c.Add("a", 1, 40)
			c.Add("b", 1, 40)
			grow.do(c)
			if _, ok := c.Get("a"); ok {
				t.Error("a is still cached although it is larger than the whole bound")
			}
			if c.Len() != 1 || c.Bytes() != 40 {
				t.Fatalf("Len = %d, Bytes = %d; want 1, 40 (b alone)", c.Len(), c.Bytes())
			}
			// The bound still holds: 40 + 70 > 100 evicts b.
			c.Add("c", 1, 70)
			if _, ok := c.Get("b"); ok || c.Bytes() != 70 {
				t.Errorf("after adding 70 bytes: b cached %v, Bytes = %d; want false, 70", ok, c.Bytes())
			}
		})
	}
}
