// requires: @requires (simple, a nested field set, a chain where the required field is itself @requires in
// another subgraph, a field with arguments that requires, and a required field with arguments), @provides and
// @external.
//
// products owns price, weight and dimensions; shipping computes from them; tax requires shipping's estimate
// (a requires-requires chain); reviews provides the author's username (accounts owns it) on one path only.

const products = [
  { upc: 'p1', name: 'Kettle', price: 40, weight: 2, dimensions: { size: 'small', unit: 'cm' } },
  { upc: 'p2', name: 'Fridge', price: 700, weight: 60, dimensions: { size: 'large', unit: 'cm' } },
  { upc: 'p3', name: 'Toaster', price: 30, weight: 3, dimensions: { size: 'small', unit: 'in' } },
  { upc: 'p4', name: 'Oven', price: 450, weight: 35, dimensions: { size: 'medium', unit: 'cm' } },
];
const users = [
  { id: 'u1', username: 'ada', name: 'Ada Lovelace' },
  { id: 'u2', username: 'alan', name: 'Alan Turing' },
  { id: 'u3', username: 'grace', name: 'Grace Hopper' },
];
const reviews = [
  { id: 'r1', upc: 'p1', authorId: 'u1', body: 'Boils fast.' },
  { id: 'r2', upc: 'p2', authorId: 'u2', body: 'Quiet.' },
  { id: 'r3', upc: 'p2', authorId: 'u3', body: 'Huge.' },
  { id: 'r4', upc: 'p3', authorId: 'u1', body: 'Burns toast.' },
];
const rates = { EUR: 100, USD: 110 };
const product = (upc) => products.find((p) => p.upc === upc) ?? null;
const user = (id) => users.find((u) => u.id === id) ?? null;
// need throws when a @requires field did not arrive in the representation: a gateway bug, not a null.
const need = (obj, ...fields) => {
  for (const f of fields) if (obj[f] === undefined) throw new Error(`representation lacks required field ${f}`);
  return obj;
};

export const subgraphs = [
  {
    name: 'products',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        products: [Product!]!
        product(upc: ID!): Product
      }

      type Product @key(fields: "upc") {
        upc: ID!
        name: String!
        price(currency: String = "EUR"): Int!
        weight: Int!
        dimensions: Dimensions!
      }

      type Dimensions @shareable {
        size: String!
        unit: String!
      }
    `,
    resolvers: {
      Query: { products: () => products, product: (_, { upc }) => product(upc) },
      Product: {
        __resolveReference: (ref) => product(ref.upc),
        price: (p, { currency }) => Math.round((p.price * (rates[currency] ?? 100)) / 100),
      },
    },
  },
  {
    name: 'shipping',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external", "@requires"])

      type Product @key(fields: "upc") {
        upc: ID!
        price(currency: String = "EUR"): Int! @external
        weight: Int! @external
        dimensions: Dimensions! @external
        "Simple: requires two scalar fields of products."
        shippingEstimate: Int! @requires(fields: "price weight")
        "Nested field set."
        packaging: String! @requires(fields: "dimensions { size unit }")
        "A field with arguments that requires."
        shippingTo(zone: Int!): Int! @requires(fields: "weight")
        "A required field with arguments."
        usdInsurance: Int! @requires(fields: "price(currency: \\"USD\\")")
      }

      type Dimensions @shareable {
        size: String!
        unit: String!
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ref,
        shippingEstimate: (p) => {
          need(p, 'price', 'weight');
          return p.price > 500 ? 0 : p.weight * 5;
        },
        packaging: (p) => {
          need(p, 'dimensions');
          return `${p.dimensions.size} box (${p.dimensions.unit})`;
        },
        shippingTo: (p, { zone }) => need(p, 'weight').weight * zone,
        usdInsurance: (p) => Math.ceil(need(p, 'price').price / 10),
      },
    },
  },
  {
    name: 'tax',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@requires"])

      type Product @key(fields: "upc") {
        upc: ID!
        price(currency: String = "EUR"): Int! @external
        shippingEstimate: Int! @external
        "A chain: requires shipping's shippingEstimate, which itself requires products' price and weight."
        totalWithTax: Int! @requires(fields: "price shippingEstimate")
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ref,
        totalWithTax: (p) => {
          need(p, 'price', 'shippingEstimate');
          return Math.round((p.price + p.shippingEstimate) * 1.2);
        },
      },
    },
  },
  {
    name: 'reviews',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@provides"])

      type Query {
        reviews: [Review!]!
      }

      type Review @key(fields: "id") {
        id: ID!
        body: String!
        "Provides username: no accounts hop for it on this path."
        author: User! @provides(fields: "username")
        "The same user without @provides: username needs accounts."
        editor: User!
        product: Product!
      }

      type User @key(fields: "id") {
        id: ID!
        username: String! @external
      }

      type Product @key(fields: "upc") {
        upc: ID!
        reviews: [Review!]!
      }
    `,
    resolvers: {
      Query: { reviews: () => reviews },
      Review: {
        __resolveReference: (ref) => reviews.find((r) => r.id === ref.id) ?? null,
        author: (r) => ({ id: r.authorId, username: user(r.authorId).username }),
        editor: () => ({ id: 'u3' }),
        product: (r) => ({ upc: r.upc }),
      },
      Product: {
        __resolveReference: (ref) => ref,
        reviews: (p) => reviews.filter((r) => r.upc === p.upc),
      },
    },
  },
  {
    name: 'accounts',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        users: [User!]!
      }

      type User @key(fields: "id") {
        id: ID!
        "Shareable: reviews provides it on Review.author."
        username: String! @shareable
        name: String!
      }
    `,
    resolvers: {
      Query: { users: () => users },
      User: { __resolveReference: (ref) => user(ref.id) },
    },
  },
];
