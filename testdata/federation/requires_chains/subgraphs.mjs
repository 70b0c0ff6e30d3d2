// requires_chains: @requires beyond the simple case (the patterns of the gateway audit's requires-requires,
// nested-requires, override-with-requires, interface-object-with-requires and requires-with-argument suites).
//
// catalog owns Product (basePrice, weight, parts). pricing computes discount from basePrice; deals computes
// finalPrice from basePrice and discount (requires-requires); loyalty computes points from finalPrice (a third
// level). assembly requires a nested field set with inline fragments on the Part interface. shipping took
// shippingCost from catalog with @override and requires weight for it (catalog keeps a stale resolver that
// answers -1, so asking the wrong subgraph shows). accounts has the entity interface Account; risk sees it as
// an @interfaceObject whose handle requires the interface's name.

const products = [
  {
    id: 'p1', name: 'Drill', basePrice: 120, weight: 3,
    parts: [{ kind: 'Battery', sku: 'b-18', volts: 18 }, { kind: 'Cable', sku: 'c-2', meters: 2 }],
  },
  { id: 'p2', name: 'Lamp', basePrice: 40, weight: 1, parts: [{ kind: 'Cable', sku: 'c-3', meters: 3 }] },
  {
    id: 'p3', name: 'Radio', basePrice: 75, weight: 2,
    parts: [{ kind: 'Battery', sku: 'b-9', volts: 9 }, { kind: 'Battery', sku: 'b-1', volts: 1 }],
  },
  { id: 'p4', name: 'Bench', basePrice: 300, weight: 25, parts: [] },
];
const accounts = [
  { kind: 'Person', id: 'a1', name: 'Ada Lovelace', age: 36 },
  { kind: 'Company', id: 'a2', name: 'Analytical Engines', employees: 12 },
  { kind: 'Person', id: 'a3', name: 'Grace Hopper', age: 85 },
];
const rates = { EUR: 100, USD: 110, GBP: 85 };
const product = (id) => products.find((p) => p.id === id) ?? null;
const account = (id) => accounts.find((a) => a.id === id) ?? null;
// need throws when a @requires field did not arrive in the representation: a gateway bug, not a null.
const need = (obj, ...fields) => {
  for (const f of fields) if (obj[f] === undefined) throw new Error(`representation lacks required field ${f}`);
  return obj;
};
const partType = (p) => p.kind;

const partTypes = `
  interface Part {
    sku: ID!
  }

  type Battery implements Part @shareable {
    sku: ID!
    volts: Int!
  }

  type Cable implements Part @shareable {
    sku: ID!
    meters: Int!
  }
`;

export const subgraphs = [
  {
    name: 'catalog',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        products: [Product!]!
        product(id: ID!): Product
      }

      type Product @key(fields: "id") {
        id: ID!
        name: String!
        basePrice: Int!
        weight: Int!
        parts: [Part!]!
        "Overridden by shipping: this stale resolver answers -1."
        shippingCost: Int!
      }
      ${partTypes}
    `,
    resolvers: {
      Query: { products: () => products, product: (_, { id }) => product(id) },
      Product: { __resolveReference: (ref) => product(ref.id), shippingCost: () => -1 },
      Part: { __resolveType: partType },
    },
  },
  {
    name: 'pricing',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@requires"])

      enum Currency {
        EUR
        USD
        GBP
      }

      type Product @key(fields: "id") {
        id: ID!
        basePrice: Int! @external
        "Level 1: requires catalog's basePrice."
        discount: Int! @requires(fields: "basePrice")
        "A field with an argument that requires."
        priceIn(currency: Currency!): Int! @requires(fields: "basePrice")
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ref,
        discount: (p) => (need(p, 'basePrice').basePrice >= 100 ? 20 : 5),
        priceIn: (p, { currency }) => Math.round((need(p, 'basePrice').basePrice * rates[currency]) / 100),
      },
    },
  },
  {
    name: 'deals',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@requires"])

      enum Currency {
        EUR
        USD
        GBP
      }

      type Product @key(fields: "id") {
        id: ID!
        basePrice: Int! @external
        discount: Int! @external
        priceIn(currency: Currency!): Int! @external
        "Level 2 (requires-requires): discount is itself @requires in pricing."
        finalPrice: Int! @requires(fields: "basePrice discount")
        "Requires a field with an argument, itself @requires in pricing."
        usdLabel: String! @requires(fields: "priceIn(currency: USD)")
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ref,
        finalPrice: (p) => {
          need(p, 'basePrice', 'discount');
          return p.basePrice - p.discount;
        },
        usdLabel: (p) => `$${need(p, 'priceIn').priceIn}`,
      },
    },
  },
  {
    name: 'loyalty',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@requires"])

      type Product @key(fields: "id") {
        id: ID!
        finalPrice: Int! @external
        "Level 3: finalPrice requires discount, which requires basePrice."
        points: Int! @requires(fields: "finalPrice")
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ref,
        points: (p) => Math.floor(need(p, 'finalPrice').finalPrice / 10),
      },
    },
  },
  {
    name: 'assembly',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@requires", "@shareable"])

      type Product @key(fields: "id") {
        id: ID!
        parts: [Part!]! @external
        "A nested field set with an inline fragment on an interface member."
        powerRating: String! @requires(fields: "parts { sku ... on Battery { volts } }")
        "A nested field set with only a fragment."
        cableMeters: Int! @requires(fields: "parts { ... on Cable { meters } }")
      }
      ${partTypes}
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ref,
        powerRating: (p) => {
          const volts = need(p, 'parts').parts.map((x) => x.volts ?? 0).reduce((a, b) => a + b, 0);
          return volts === 0 ? 'unpowered' : `${volts}V from ${p.parts.filter((x) => x.volts !== undefined).map((x) => x.sku).join('+')}`;
        },
        cableMeters: (p) => need(p, 'parts').parts.map((x) => x.meters ?? 0).reduce((a, b) => a + b, 0),
      },
      Part: { __resolveType: (p) => p.__typename ?? partType(p) },
    },
  },
  {
    name: 'shipping',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@requires", "@override"])

      type Product @key(fields: "id") {
        id: ID!
        weight: Int! @external
        "Taken over from catalog, and here it requires weight."
        shippingCost: Int! @override(from: "catalog") @requires(fields: "weight")
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ref,
        shippingCost: (p) => 5 + 2 * need(p, 'weight').weight,
      },
    },
  },
  {
    name: 'accounts',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        accounts: [Account!]!
      }

      interface Account @key(fields: "id") {
        id: ID!
        name: String!
      }

      type Person implements Account @key(fields: "id") {
        id: ID!
        name: String!
        age: Int!
      }

      type Company implements Account @key(fields: "id") {
        id: ID!
        name: String!
        employees: Int!
      }
    `,
    resolvers: {
      Query: { accounts: () => accounts },
      Account: {
        __resolveType: (a) => a.kind,
        // risk (an @interfaceObject) sends {__typename: "Account", id}: answer the concrete object.
        __resolveReference: (ref) => account(ref.id),
      },
      Person: { __resolveReference: (ref) => account(ref.id) },
      Company: { __resolveReference: (ref) => account(ref.id) },
    },
  },
  {
    name: 'risk',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@requires", "@interfaceObject"])

      type Query {
        riskiest: Account
      }

      type Account @key(fields: "id") @interfaceObject {
        id: ID!
        name: String! @external
        "Requires the interface's name, which only accounts (with the concrete types) resolves."
        handle: String! @requires(fields: "name")
        score: Int!
      }
    `,
    resolvers: {
      Query: { riskiest: () => ({ id: 'a2' }) },
      Account: {
        __resolveReference: (ref) => ref,
        handle: (a) => '@' + need(a, 'name').name.toLowerCase().replaceAll(' ', '-'),
        score: (a) => ({ a1: 10, a2: 70, a3: 25 })[a.id] ?? 0,
      },
    },
  },
];
