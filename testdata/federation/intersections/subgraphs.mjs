// intersections: types defined differently by several subgraphs, and how a gateway merges them (the patterns
// of the gateway audit's enum-intersection, input-object-intersection, union-intersection,
// child-type-mismatch, union-interface-distributed, typename, include-skip and shared-root suites).
//
// - Tier (output only) is FREE PRO LEGACY in users, LEGACY @inaccessible, and FREE PRO ENTERPRISE in
//   billing: the supergraph has their union, without LEGACY for clients. u3's previousTier is LEGACY, which
//   the gateway cannot answer (@apollo/gateway nulls it and reports it in extensions.valueCompletion).
// - Region (input only) is EU US APAC in users and EU US in billing: the supergraph has EU US.
// - Filter (input) has prefix, limit and secret in users, prefix and limit in billing: secret is dropped.
// - SearchHit is User | Admin in users and User | Invoice in billing: the supergraph has all three.
// - User.id is ID! in users and ID in people, User.name String! and String: the supergraph has the nullable
//   ones, so { ... on User { id } ... on Admin { id } } is valid for a client but, sent as is to users (where
//   Admin.id is ID), is not: the gateway must alias.
// - Node is implemented by User (users, and people) and Invoice (billing); billing's nodes returns both.
// - Query.product and Query.products are @shareable in names, prices and categories, each with its own
//   fields of the value type Product (no key): a query for all of them needs the three.

const users = [
  { id: 'u1', name: 'Ada', tier: 'PRO', previousTier: 'FREE', email: 'ada@example.com' },
  { id: 'u2', name: 'Alan', tier: 'FREE', previousTier: null, email: null },
  { id: 'u3', name: 'Grace', tier: 'PRO', previousTier: 'LEGACY', email: 'grace@example.com' },
];
const admins = [
  { id: 'a1', name: 'Root' },
  { id: null, name: 'Ghost' },
];
const invoices = [
  { id: 'i1', amount: 120, tier: 'ENTERPRISE', customerId: 'u1', region: 'EU' },
  { id: 'i2', amount: 15, tier: 'FREE', customerId: 'u2', region: 'US' },
  { id: 'i3', amount: 60, tier: 'PRO', customerId: 'u1', region: 'US' },
];
const products = [
  { id: 'p1', name: 'Pen', price: 2, category: 'office' },
  { id: 'p2', name: 'Mug', price: 8, category: 'kitchen' },
  { id: 'p3', name: 'Lamp', price: 30, category: 'home' },
];
const regions = { u1: 'EU', u2: 'US', u3: 'APAC' };
const find = (list, key, value) => list.find((x) => x[key] === value) ?? null;
const user = (id) => find(users, 'id', id);
const filtered = (list, key, filter) => {
  let out = list.filter((x) => !filter?.prefix || String(x[key]).startsWith(filter.prefix));
  if (filter?.limit != null) out = out.slice(0, filter.limit);
  return out;
};
const typed = (t) => (x) => ({ __typename: t, ...x });
// shared-root: one subgraph's view of a product, with only its own fields.
const view = (fields) => (p) => p && Object.fromEntries(['id', ...fields].map((f) => [f, p[f]]));
const sharedRoot = (name, fields, typeDefs) => ({
  name,
  typeDefs: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@shareable"])

    type Query {
      product(id: ID!): Product @shareable
      products: [Product!]! @shareable
    }

    type Product @shareable {
      id: ID!
      ${typeDefs}
    }
  `,
  resolvers: {
    Query: {
      product: (_, { id }) => view(fields)(find(products, 'id', id)),
      products: () => products.map(view(fields)),
    },
  },
});

export const subgraphs = [
  {
    name: 'users',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@inaccessible"])

      type Query {
        users: [User!]!
        accounts: [Account!]!
        usersIn(region: Region!): [User!]!
        findUsers(filter: Filter): [User!]!
        searchUsers: [SearchHit!]!
      }

      enum Tier {
        FREE
        PRO
        LEGACY @inaccessible
      }

      enum Region {
        EU
        US
        APAC
      }

      input Filter {
        prefix: String
        limit: Int
        secret: String
      }

      interface Node {
        id: ID!
      }

      type User implements Node @key(fields: "id") {
        id: ID!
        name: String! @shareable
        tier: Tier!
        previousTier: Tier
        similarAccounts: [Account!]!
      }

      type Admin {
        id: ID
        name: String
      }

      union Account = User | Admin

      union SearchHit = User | Admin
    `,
    resolvers: {
      Query: {
        users: () => users,
        accounts: () => [...users.slice(0, 2).map(typed('User')), ...admins.map(typed('Admin'))],
        usersIn: (_, { region }) => users.filter((u) => regions[u.id] === region),
        findUsers: (_, { filter }) => filtered(users, 'name', filter),
        searchUsers: () => [typed('Admin')(admins[0]), typed('User')(users[1])],
      },
      Account: { __resolveType: (x) => x.__typename },
      SearchHit: { __resolveType: (x) => x.__typename },
      Node: { __resolveType: () => 'User' },
      User: {
        __resolveReference: (ref) => user(ref.id),
        similarAccounts: (u) => [typed('Admin')(admins[0]), typed('User')(users.find((x) => x.id !== u.id))],
      },
    },
  },
  {
    name: 'people',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      interface Node {
        id: ID
      }

      type User implements Node @key(fields: "id") {
        id: ID
        name: String @shareable
        email: String
      }
    `,
    resolvers: {
      Node: { __resolveType: () => 'User' },
      User: { __resolveReference: (ref) => user(ref.id) },
    },
  },
  {
    name: 'billing',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        invoicesIn(region: Region!): [Invoice!]!
        invoices(filter: Filter): [Invoice!]!
        searchBilling: [SearchHit!]!
        nodes: [Node!]!
      }

      enum Tier {
        FREE
        PRO
        ENTERPRISE
      }

      enum Region {
        EU
        US
      }

      input Filter {
        prefix: String
        limit: Int
      }

      interface Node {
        id: ID!
      }

      type Invoice implements Node @key(fields: "id") {
        id: ID!
        amount: Int!
        tier: Tier!
        customer: User!
      }

      type User implements Node @key(fields: "id") {
        id: ID!
        invoices: [Invoice!]!
      }

      union SearchHit = User | Invoice
    `,
    resolvers: {
      Query: {
        invoicesIn: (_, { region }) => invoices.filter((i) => i.region === region),
        invoices: (_, { filter }) => filtered(invoices, 'id', filter),
        searchBilling: () => [typed('Invoice')(invoices[2]), typed('User')({ id: 'u3' })],
        nodes: () => [typed('User')({ id: 'u2' }), typed('Invoice')(invoices[0])],
      },
      SearchHit: { __resolveType: (x) => x.__typename },
      Node: { __resolveType: (x) => x.__typename },
      Invoice: {
        __resolveReference: (ref) => find(invoices, 'id', ref.id),
        customer: (i) => ({ id: i.customerId }),
      },
      User: {
        __resolveReference: (ref) => ({ id: ref.id }),
        invoices: (u) => invoices.filter((i) => i.customerId === u.id),
      },
    },
  },
  sharedRoot('names', ['name'], 'name: String!'),
  sharedRoot('prices', ['price'], 'price: Int!'),
  sharedRoot('categories', ['category'], 'category: String!'),
];
