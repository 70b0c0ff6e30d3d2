// Package model holds the posts backend's JSON shapes, which gqlgen binds the schema's types to (autobind in
// ../gqlgen.yml): a backend answer decodes straight into what the resolvers return.
package model

// Post is a post as GET /posts answers it.
type Post struct {
	ID     int    `json:"id"`
	UserID int    `json:"userId"`
	Title  string `json:"title"`
	Body   string `json:"body"`
}

// User is a user as GET /users answers it. The schema's company is a string, the backend's an object: a
// resolver reads Employer.Name.
type User struct {
	ID       int      `json:"id"`
	Name     string   `json:"name"`
	Username string   `json:"username"`
	Email    string   `json:"email"`
	Employer Employer `json:"company"`
}

// Employer is the company object of a user.
type Employer struct {
	Name string `json:"name"`
}

// Comment is a comment as GET /comments answers it.
type Comment struct {
	ID     int    `json:"id"`
	PostID int    `json:"postId"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Body   string `json:"body"`
}
