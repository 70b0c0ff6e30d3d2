// override: User.balance moved from accounts to billing with @override (accounts still has a stale
// resolver, so asking the wrong subgraph shows); @inaccessible on a field, a type, an argument and an enum
// value (an inaccessible field still feeds a @requires); Query.plans @shareable in both subgraphs.

const users = [
  { id: 'u1', name: 'Ada', internalScore: 91, deleted: false },
  { id: 'u2', name: 'Alan', internalScore: 40, deleted: false },
  { id: 'u3', name: 'Grace', internalScore: 77, deleted: false },
  { id: 'u4', name: 'Old account', internalScore: 0, deleted: true },
];
const balances = { u1: 120, u2: -15, u3: 0, u4: 5 };
const plans = [
  { id: 'free', name: 'Free', tier: 'FREE', price: 0 },
  { id: 'pro', name: 'Pro', tier: 'PRO', price: 20 },
  { id: 'team', name: 'Team', tier: 'PRO', price: 50 },
];
const user = (id) => users.find((u) => u.id === id) ?? null;

export const subgraphs = [
  {
    name: 'accounts',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@inaccessible"])

      type Query {
        users(includeDeleted: Boolean = false @inaccessible): [User!]!
        user(id: ID!): User
        plans: [Plan!]! @shareable
        auditLog: [AuditEntry!]! @inaccessible
      }

      type User @key(fields: "id") {
        id: ID!
        name: String!
        "Moved to billing (@override there): this resolver answers a stale -1."
        balance: Int!
        internalScore: Int! @inaccessible
      }

      type Plan @shareable {
        id: ID!
        name: String!
        tier: Tier!
      }

      enum Tier {
        FREE
        PRO
        LEGACY @inaccessible
      }

      type AuditEntry @inaccessible {
        id: ID!
        action: String!
      }
    `,
    resolvers: {
      Query: {
        users: (_, { includeDeleted }) => users.filter((u) => includeDeleted || !u.deleted),
        user: (_, { id }) => user(id),
        plans: () => plans,
        auditLog: () => [{ id: 'a1', action: 'login' }],
      },
      User: { __resolveReference: (ref) => user(ref.id), balance: () => -1 },
    },
  },
  {
    name: 'billing',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@override", "@external", "@requires"])

      type Query {
        plans: [Plan!]! @shareable
        plansByTier(tier: Tier!): [Plan!]!
      }

      type User @key(fields: "id") {
        id: ID!
        balance: Int! @override(from: "accounts")
        internalScore: Int! @external
        "Requires a field the public schema does not show."
        creditLimit: Int! @requires(fields: "internalScore")
      }

      type Plan @shareable {
        id: ID!
        name: String!
        tier: Tier!
        "Only billing has it."
        price: Int!
      }

      enum Tier {
        FREE
        PRO
        LEGACY
      }
    `,
    resolvers: {
      Query: {
        plans: () => plans,
        plansByTier: (_, { tier }) => plans.filter((p) => p.tier === tier),
      },
      User: {
        __resolveReference: (ref) => ref,
        balance: (u) => balances[u.id],
        creditLimit: (u) => {
          if (u.internalScore === undefined) throw new Error('representation lacks internalScore');
          return u.internalScore * 10;
        },
      },
    },
  },
];
