package support

import (
	"context"
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
	watchers   map[*watcher]struct{}
}

// watcher is one ticketUpdates subscription: the tickets opened for its customer are queued for it.
type watcher struct {
	customerID string
	queue      chan Ticket
}

// watchQueue is how many opened tickets a subscriber may be behind before the oldest queued ones are dropped.
const watchQueue = 64

// newStore copies tickets, so the caller keeps ownership of its slice.
func newStore(tickets []Ticket) *store {
	s := &store{byID: make(map[string]int, len(tickets)), byCustomer: make(map[string][]int), watchers: map[*watcher]struct{}{}}
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
	for w := range s.watchers {
		if w.customerID != t.CustomerID {
			continue
		}
		for {
			select {
			case w.queue <- t:
			default:
				select { // full: the subscriber is too slow; drop its oldest ticket rather than block openTicket
				case <-w.queue:
				default:
				}
				continue
			}
			break
		}
	}
	return toGraphQL(t)
}

// watch serves the ticketUpdates subscription: the customer's open tickets at the time of the call, then each
// ticket opened for the customer, until ctx is done, when the channel is closed and the watcher removed. The
// channel is unbuffered: gqlgen's transport reads it at the pace of its client.
func (s *store) watch(ctx context.Context, customerID string) <-chan generated.Ticket {
	w := &watcher{customerID: customerID, queue: make(chan Ticket, watchQueue)}
	s.mu.Lock()
	var open []Ticket
	for _, i := range s.byCustomer[customerID] {
		if s.tickets[i].Status == "OPEN" {
			open = append(open, s.tickets[i])
		}
	}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()

	out := make(chan generated.Ticket)
	go func() {
		defer func() {
			s.mu.Lock()
			delete(s.watchers, w)
			s.mu.Unlock()
			close(out)
		}()
		send := func(t Ticket) bool {
			select {
			case out <- toGraphQL(t):
				return true
			case <-ctx.Done():
				return false
			}
		}
		for _, t := range open {
			if !send(t) {
				return
			}
		}
		for {
			select {
			case t := <-w.queue:
				if !send(t) {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
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
