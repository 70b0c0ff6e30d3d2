// Package model holds the Customer 360 backends' JSON shapes, which gqlgen binds the schema's types to (autobind
// in ../gqlgen.yml): a backend answer decodes straight into what the resolvers return.
package model

// Customer is a customer as the CRM answers it.
type Customer struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Email   *string `json:"email"`
	Segment string  `json:"segment"`
}

// Money is an amount in a currency.
type Money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// Order is an order as the orders service answers it.
type Order struct {
	ID         string       `json:"id"`
	CustomerID string       `json:"customerId"`
	Status     string       `json:"status"`
	Total      Money        `json:"total"`
	Lines      []*OrderLine `json:"lines"`
}

// OrderLine is one line of an order.
type OrderLine struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// Product is a product as the catalog answers it.
type Product struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Price      Money  `json:"price"`
	CategoryID string `json:"categoryId"`
}

// Category is a catalog category.
type Category struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Recommendation is one answer of the recommendations service.
type Recommendation struct {
	ForProductID string  `json:"forProductId"`
	ProductID    string  `json:"productId"`
	Score        float64 `json:"score"`
	Reason       *string `json:"reason"`
}

// Invoice is an invoice as billing answers it.
type Invoice struct {
	ID         string `json:"id"`
	CustomerID string `json:"customerId"`
	Amount     Money  `json:"amount"`
	Status     string `json:"status"`
}

// Loyalty is a customer's loyalty standing (the loyalty subgraph).
type Loyalty struct {
	Points int    `json:"points"`
	Tier   string `json:"tier"`
}
