// Package posts is the smallest example: a JSONPlaceholder-shaped API (100 posts, 10 users, 5 comments per
// post) served by one in-process mock backend.
package posts

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/conflux-gql/conflux/examples/mock"
)

// DefaultAddr is where examples/posts/conflux.yaml expects the backend.
const DefaultAddr = "127.0.0.1:9201"

// Post, User and Comment are the JSONPlaceholder shapes (ids are JSON numbers).
type (
	Post struct {
		UserID int    `json:"userId"`
		ID     int    `json:"id"`
		Title  string `json:"title"`
		Body   string `json:"body"`
	}
	User struct {
		ID       int     `json:"id"`
		Name     string  `json:"name"`
		Username string  `json:"username"`
		Email    string  `json:"email"`
		Address  Address `json:"address"`
		Company  Company `json:"company"`
	}
	Address struct {
		Street string `json:"street"`
		City   string `json:"city"`
	}
	Company struct {
		Name string `json:"name"`
	}
	Comment struct {
		PostID int    `json:"postId"`
		ID     int    `json:"id"`
		Name   string `json:"name"`
		Email  string `json:"email"`
		Body   string `json:"body"`
	}
)

var userNames = [][2]string{{"Leanne Graham", "Bret"}, {"Ervin Howell", "Antonette"}, {"Clementine Bauch", "Samantha"},
	{"Patricia Lebsack", "Karianne"}, {"Chelsey Dietrich", "Kamren"}, {"Dennis Schulist", "Leopoldo_Corkery"},
	{"Kurtis Weissnat", "Elwyn.Skiles"}, {"Nicholas Runolfsdottir V", "Maxime_Nienow"}, {"Glenna Reichert", "Delphine"},
	{"Clementina DuBuque", "Moriah.Stanton"}}

// Dataset is the example's data.
type Dataset struct {
	Posts    []Post
	Users    []User
	Comments []Comment
}

// NewDataset builds 10 users, 100 posts (10 each) and 5 comments per post.
func NewDataset() *Dataset {
	d := &Dataset{}
	for i, n := range userNames {
		id := i + 1
		d.Users = append(d.Users, User{ID: id, Name: n[0], Username: n[1], Email: fmt.Sprintf("%s@example.com", n[1]),
			Address: Address{Street: fmt.Sprintf("%d Kulas Light", id), City: "Gwenborough"},
			Company: Company{Name: fmt.Sprintf("Company %d", id)}})
	}
	for id := 1; id <= 100; id++ {
		d.Posts = append(d.Posts, Post{UserID: (id-1)/10 + 1, ID: id, Title: fmt.Sprintf("post %d", id), Body: fmt.Sprintf("body of post %d", id)})
		for c := 1; c <= 5; c++ {
			cid := (id-1)*5 + c
			d.Comments = append(d.Comments, Comment{PostID: id, ID: cid, Name: fmt.Sprintf("comment %d", cid),
				Email: fmt.Sprintf("reader%d@example.com", cid%17), Body: "nice"})
		}
	}
	return d
}

// Options configure the backend.
type Options struct {
	Latency time.Duration
}

// Start serves the API on addr ("127.0.0.1:0" for a free port).
func Start(opts Options, addr string) (*mock.Backend, error) {
	b := NewBackend(NewDataset())
	b.SetLatency(opts.Latency)
	if err := b.Start(addr); err != nil {
		return nil, err
	}
	return b, nil
}

func ints(r *http.Request, name string) (map[int]bool, bool) {
	vals := mock.Values(r, name)
	out := map[int]bool{}
	for _, v := range vals {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, false
		}
		out[n] = true
	}
	return out, true
}

// NewBackend returns the API backend (named "api") over d, not yet listening.
func NewBackend(d *Dataset) *mock.Backend {
	mux := http.NewServeMux()
	filter := func(w http.ResponseWriter, r *http.Request, param string) (map[int]bool, bool) {
		ids, ok := ints(r, param)
		if !ok {
			mock.Fail(w, http.StatusBadRequest, param+" must be integers")
		}
		return ids, ok
	}
	mux.HandleFunc("GET /posts", func(w http.ResponseWriter, r *http.Request) {
		ids, ok := filter(w, r, "userId")
		if !ok {
			return
		}
		out := []Post{}
		for _, p := range d.Posts {
			if len(ids) == 0 || ids[p.UserID] {
				out = append(out, p)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /posts/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || id < 1 || id > len(d.Posts) {
			mock.Fail(w, http.StatusNotFound, "not found")
			return
		}
		mock.WriteJSON(w, http.StatusOK, d.Posts[id-1])
	})
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, r *http.Request) {
		ids, ok := filter(w, r, "id")
		if !ok {
			return
		}
		out := []User{}
		for _, u := range d.Users {
			if len(ids) == 0 || ids[u.ID] {
				out = append(out, u)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || id < 1 || id > len(d.Users) {
			mock.Fail(w, http.StatusNotFound, "not found")
			return
		}
		mock.WriteJSON(w, http.StatusOK, d.Users[id-1])
	})
	mux.HandleFunc("GET /comments", func(w http.ResponseWriter, r *http.Request) {
		ids, ok := filter(w, r, "postId")
		if !ok {
			return
		}
		out := []Comment{}
		for _, c := range d.Comments {
			if len(ids) == 0 || ids[c.PostID] {
				out = append(out, c)
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	return mock.NewBackend("api", mux)
}
