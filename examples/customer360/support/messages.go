package support

import (
	"errors"
	"fmt"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/conflux-gql/conflux/examples/customer360/support/generated"
)

// The built-in faults (see the package comment).
const (
	faultySubjectCustomer  = "13"
	faultyMessagesCustomer = "16"
)

// subject is the subject field of both ticket types.
func subject(customerID, subject string) (string, error) {
	if customerID == faultySubjectCustomer {
		// A fresh error each time: gqlgen sets the path on the error it is given.
		return "", errors.New("subject unavailable for customer 13")
	}
	return subject, nil
}

// messages is the messages field of both ticket types: the last `last` of the ticket's three deterministic
// messages (all of them when last is null or over three).
func messages(ticketID, customerID string, last *int) ([]*generated.Message, error) {
	if customerID == faultyMessagesCustomer {
		return nil, &gqlerror.Error{
			Message:    "messages unavailable for customer 16",
			Extensions: map[string]any{"code": "MESSAGES_DOWN"},
		}
	}
	all := []*generated.Message{
		{At: "2026-03-02T09:00:00Z", Text: fmt.Sprint("Opened ticket ", ticketID), AuthorID: customerID},
		{At: "2026-03-02T09:05:00Z", Text: fmt.Sprint("Looking into ticket ", ticketID), AuthorID: "agent-1"},
		{At: "2026-03-02T09:10:00Z", Text: fmt.Sprint("Any news on ticket ", ticketID, "?"), AuthorID: customerID},
	}
	if last == nil || *last >= len(all) {
		return all, nil
	}
	if *last < 0 {
		return nil, fmt.Errorf("messages: last must not be negative, got %d", *last)
	}
	return all[len(all)-*last:], nil
}
