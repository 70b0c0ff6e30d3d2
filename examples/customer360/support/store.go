package support

import (
	"fmt"
	"slices"
	"sync"

	"github.com/conflux-gql/conflux/examples/customer360/support/generated"
)

// Ticket is one support ticket as NewHandler takes it: the fields of the Customer 360 dataset's ticket.
// Channel "chat" makes a ChatTicket (with TranscriptURL); any other channel an EmailTicket (with FromAddress).
// Status is "OPEN" or "CLOSED".
type Ticket struct {
	ID, CustomerID, Subject, Status, Channel, FromAddress, TranscriptURL string
}

// store is the in-memory ticket list. Safe for concurrent use: reads share mu, openTicket holds it alone.
type store struct {
	mu         sync.RWMutex
	tickets    []Ticket
	byID       map[string]int   // ticket id → index in tickets
	byCustomer map[string][]int // customer id → indexes in tickets, in opening order
}

// newStore copies tickets, so the caller keeps ownership of its slice.
func newStore(tickets []Ticket) *store {
	s := &store{byID: make(map[string]int, len(tickets)), byCustomer: make(map[string][]int)}
	for _, t := range tickets {
		s.add(t)
	}
	return s
}

// add appends t; the caller holds mu (or owns s alone).
func (s *store) add(t Ticket) {
	i := len(s.tickets)
	s.tickets = append(s.tickets, t)
	s.byID[t.ID] = i
	s.byCustomer[t.CustomerID] = append(s.byCustomer[t.CustomerID], i)
}

// ticket returns the ticket with id, or nil.
func (s *store) ticket(id string) generated.Ticket {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.byID[id]
	if !ok {
		return nil
	}
	return toGraphQL(s.tickets[i])
}

// byCustomers returns the tickets of each customer id in turn, each customer's in opening order; a repeated id
// counts once. Never nil, so an unknown customer gets [] rather than a null list.
func (s *store) byCustomers(customerIDs ...string) []generated.Ticket {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []generated.Ticket{}
	for i, id := range customerIDs {
		if slices.Contains(customerIDs[:i], id) {
			continue
		}
		for _, j := range s.byCustomer[id] {
			out = append(out, toGraphQL(s.tickets[j]))
		}
	}
	return out
}

// open appends a new OPEN ticket with the first free id "t<n>", n counting on from the number of tickets.
func (s *store) open(in generated.NewTicket) generated.Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.tickets) + 1
	for ; ; n++ {
		if _, taken := s.byID[fmt.Sprint("t", n)]; !taken {
			break
		}
	}
	t := Ticket{ID: fmt.Sprint("t", n), CustomerID: in.CustomerID, Subject: in.Subject, Status: "OPEN"}
	if in.Channel != nil && *in.Channel == generated.ChannelChat {
		t.Channel, t.TranscriptURL = "chat", fmt.Sprintf("https://support.example/t/%d", n)
	} else {
		t.Channel, t.FromAddress = "email", fmt.Sprintf("customer%s@example.com", in.CustomerID)
	}
	s.add(t)
	return toGraphQL(t)
}

// toGraphQL returns a fresh model for t; resolvers may not share models across requests.
func toGraphQL(t Ticket) generated.Ticket {
	if t.Channel == "chat" {
		return &generated.ChatTicket{ID: t.ID, CustomerID: t.CustomerID, Subject: t.Subject,
			Status: generated.TicketStatus(t.Status), TranscriptURL: t.TranscriptURL}
	}
	return &generated.EmailTicket{ID: t.ID, CustomerID: t.CustomerID, Subject: t.Subject,
		Status: generated.TicketStatus(t.Status), FromAddress: t.FromAddress}
}
