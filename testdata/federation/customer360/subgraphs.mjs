// customer360: the loyalty and support backends of examples/customer360 as Federation 2 subgraphs, with
// the example's data (25 customers, ids "1" to "25"; the same tickets, messages and faults), so a Conflux
// config can take loyalty and support from this supergraph and bind the example's REST sources (crm,
// orders, catalog, billing, recommendations) beside it.
//
// Customer is an entity keyed by id in both: loyalty adds loyalty { points tier }, support adds tickets.
// Beyond the example's upstream SDL, support's Ticket has customer: Customer! and Message has
// author: Customer (null for an agent), so answers from support hop to loyalty (and to crm in Conflux).
// Faults, as in the example: every ticket subject of customer 13 fails, every ticket's messages of
// customer 16 fail with extensions {code: "MESSAGES_DOWN"}.

const CUSTOMERS = 25;
const SUBJECTS = ['Login fails', 'Refund request', 'Late delivery', 'Wrong size', 'Invoice copy'];

// The example's ticket formula (examples/customer360/data.go NewDataset, newTicket).
function newTicket(n, customerId, subject, email, closed) {
  const t = { id: `t${n}`, customerId, subject, status: closed ? 'CLOSED' : 'OPEN' };
  if (email) return { ...t, __typename: 'EmailTicket', fromAddress: `customer${customerId}@example.com` };
  return { ...t, __typename: 'ChatTicket', transcriptUrl: `https://support.example/t/${n}` };
}
function initialTickets() {
  const out = [];
  for (let i = 1; i <= CUSTOMERS; i++) {
    for (let k = 0; k < (i + 1) % 3; k++) {
      const n = out.length + 1;
      out.push(newTicket(n, String(i), SUBJECTS[n % SUBJECTS.length], n % 2 === 0, n % 3 === 0));
    }
  }
  return out;
}
let tickets;
export function reset() {
  tickets = initialTickets();
}
reset();

// loyalty as in examples/customer360/loyalty: points id*100 for a decimal id from 1 while they fit an Int.
function customer(id) {
  const n = /^[0-9]+$/.test(id) ? Number(id) : NaN;
  if (!(n >= 1 && n <= Math.floor(2147483647 / 100))) return { id, loyalty: null };
  const points = n * 100;
  return { id, loyalty: { points, tier: points < 500 ? 'BRONZE' : points < 1500 ? 'SILVER' : 'GOLD' } };
}

function fail(message, code) {
  const err = new Error(message);
  if (code) err.extensions = { code };
  throw err;
}
const subject = (t) => (t.customerId === '13' ? fail('subject unavailable for customer 13') : t.subject);
function messages(t, { last }) {
  if (t.customerId === '16') fail('messages unavailable for customer 16', 'MESSAGES_DOWN');
  const all = [
    { at: '2026-03-02T09:00:00Z', text: `Opened ticket ${t.id}`, authorId: t.customerId },
    { at: '2026-03-02T09:05:00Z', text: `Looking into ticket ${t.id}`, authorId: 'agent-1' },
    { at: '2026-03-02T09:10:00Z', text: `Any news on ticket ${t.id}?`, authorId: t.customerId },
  ];
  if (last === null || last === undefined || last >= all.length) return all;
  if (last < 0) fail(`messages: last must not be negative, got ${last}`);
  return all.slice(all.length - last);
}
function byCustomers(ids) {
  return [...new Set(ids)].flatMap((id) => tickets.filter((t) => t.customerId === id));
}
const ticketFields = { subject, messages, customer: (t) => ({ id: t.customerId }) };

export const subgraphs = [
  {
    name: 'loyalty',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

      type Customer @key(fields: "id") {
        id: ID!
        loyalty: Loyalty
      }

      type Loyalty {
        points: Int!
        tier: Tier!
      }

      enum Tier {
        BRONZE
        SILVER
        GOLD
      }

      type Query {
        topLoyal(limit: Int = 5): [Customer!]!
      }
    `,
    resolvers: {
      Query: {
        topLoyal: (_, { limit }) => {
          if (limit !== null && limit < 0) fail(`topLoyal: limit must not be negative, got ${limit}`);
          const n = limit === null ? CUSTOMERS : Math.min(CUSTOMERS, limit);
          return Array.from({ length: n }, (_, k) => customer(String(CUSTOMERS - k)));
        },
      },
      Customer: { __resolveReference: (ref) => customer(ref.id) },
    },
  },
  {
    name: 'support',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

      type Query {
        ticketsByCustomer(customerId: ID!): [Ticket]!
        ticketsByCustomers(customerIds: [ID!]!): [Ticket]!
        ticket(id: ID!): Ticket
      }

      type Mutation {
        openTicket(input: NewTicket!): Ticket!
      }

      type Customer @key(fields: "id") {
        id: ID!
        "Support tickets, email or chat; a ticket the service fails on is null."
        tickets: [Ticket]
      }

      input NewTicket {
        customerId: ID!
        subject: String!
        channel: Channel = EMAIL
      }

      enum Channel {
        EMAIL
        CHAT
      }

      enum TicketStatus {
        OPEN
        CLOSED
      }

      interface Ticket {
        id: ID!
        customerId: ID!
        customer: Customer!
        subject: String!
        status: TicketStatus!
        messages(last: Int = 2): [Message!]
      }

      type EmailTicket implements Ticket {
        id: ID!
        customerId: ID!
        customer: Customer!
        subject: String!
        status: TicketStatus!
        messages(last: Int = 2): [Message!]
        fromAddress: String!
      }

      type ChatTicket implements Ticket {
        id: ID!
        customerId: ID!
        customer: Customer!
        subject: String!
        status: TicketStatus!
        messages(last: Int = 2): [Message!]
        transcriptUrl: String!
      }

      type Message {
        at: String!
        text: String!
        authorId: ID!
        "The customer who wrote it; null for an agent."
        author: Customer
      }
    `,
    resolvers: {
      Query: {
        ticketsByCustomer: (_, { customerId }) => byCustomers([customerId]),
        ticketsByCustomers: (_, { customerIds }) => byCustomers(customerIds),
        ticket: (_, { id }) => tickets.find((t) => t.id === id) ?? null,
      },
      Mutation: {
        openTicket: (_, { input }) => {
          let n = tickets.length + 1;
          while (tickets.some((t) => t.id === `t${n}`)) n++;
          const t = newTicket(n, input.customerId, input.subject, input.channel !== 'CHAT', false);
          tickets.push(t);
          return t;
        },
      },
      Customer: {
        __resolveReference: (ref) => ({ id: ref.id }),
        tickets: (c) => byCustomers([c.id]),
      },
      Ticket: { __resolveType: (t) => t.__typename },
      EmailTicket: ticketFields,
      ChatTicket: ticketFields,
      Message: { author: (m) => (m.authorId.startsWith('agent-') ? null : { id: m.authorId }) },
    },
  },
];
