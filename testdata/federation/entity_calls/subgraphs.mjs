// entity_calls: entity hops the planner must chain or route (the patterns of the gateway audit's
// parent-entity-call(-complex), complex-entity-call, keys-mashup, null-keys, entity-and-no-entity,
// circular-reference-interface, corrupted-supergraph-node-id and fed2-external-extends / extension suites).
//
// Product has three keys across subgraphs: catalog knows id and "id pid", merch only "id pid", pricing id and
// sku, warehouse only sku (so catalog -> pricing -> warehouse), labels only ean, which is null for p3.
// pricing does not know p4 (its reference resolves to null), which cuts the hop to warehouse for it.
// labels' reference resolver answers null for a null ean (@apollo/gateway sends such a representation).
// Category is an entity in catalog and a plain value type in merch, whose details are reachable only through
// merch's Product (a parent entity call). Warehouse has a composite, nested key "code region { id }".
// recs has the interface Listing whose alsoBought field returns Listing again (a circular reference through
// an interface). accounts and threads share Query.node; in accounts Chat_Room's id is @external and its
// resolver answers a wrong one ("never"), which a gateway must not use; both resolve every node id. reviews extends Product with
// `extend type` and an @external key; ratings does the same with @extends.

const products = [
  { id: 'p1', pid: 'A', sku: 'SKU-1', ean: '400-1', name: 'Desk', categoryId: 'c1', price: 250, whCode: 'W1' },
  { id: 'p2', pid: 'B', sku: 'SKU-2', ean: '400-2', name: 'Chair', categoryId: 'c1', price: 90, whCode: 'W2' },
  { id: 'p3', pid: 'C', sku: 'SKU-3', ean: null, name: 'Lamp', categoryId: 'c2', price: 35, whCode: 'W1' },
  { id: 'p4', pid: 'D', sku: 'SKU-4', ean: '400-4', name: 'Plant', categoryId: 'c3', price: 15, whCode: 'W2' },
];
const categories = [
  { id: 'c1', name: 'Furniture', details: { productCount: 2, featured: true } },
  { id: 'c2', name: 'Lighting', details: { productCount: 1, featured: false } },
  { id: 'c3', name: 'Garden', details: null },
];
const stock = { 'SKU-1': 4, 'SKU-2': 0, 'SKU-3': 17, 'SKU-4': 8 };
const warehouses = [
  { code: 'W1', regionId: 'eu', capacity: 1000 },
  { code: 'W2', regionId: 'us', capacity: 250 },
];
const regions = { eu: 'Europe', us: 'United States' };
const labels = { '400-1': 'FSC wood', '400-2': 'Ergonomic', '400-4': 'Live plant' };
const alsoBought = { p1: 'p2', p2: 'p3', p3: 'p1', p4: 'p4' };
const accountsData = [
  { id: 'a1', handle: 'ada' },
  { id: 'a2', handle: 'alan' },
];
const rooms = [
  { id: 't1', title: 'general', members: 12, accountId: 'a1' },
  { id: 't2', title: 'random', members: 3, accountId: 'a2' },
];
const reviews = [
  { id: 'r1', productId: 'p1', body: 'Sturdy.' },
  { id: 'r2', productId: 'p1', body: 'Scratches easily.' },
  { id: 'r3', productId: 'p3', body: 'Bright.' },
];
const stars = { p1: [5, 3], p2: [4], p3: [], p4: [2, 2, 5] };
const find = (list, key, value) => list.find((x) => x[key] === value) ?? null;
const product = (id) => find(products, 'id', id);

export const subgraphs = [
  {
    name: 'catalog',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        products: [Product!]!
        product(id: ID!): Product
      }

      type Product @key(fields: "id") @key(fields: "id pid") {
        id: ID!
        pid: ID!
        name: String!
        ean: String @shareable
        category: Category @shareable
      }

      type Category @key(fields: "id") {
        id: ID!
        name: String! @shareable
      }
    `,
    resolvers: {
      Query: { products: () => products, product: (_, { id }) => product(id) },
      Product: {
        __resolveReference: (ref) => product(ref.id),
        category: (p) => find(categories, 'id', p.categoryId),
      },
      Category: { __resolveReference: (ref) => find(categories, 'id', ref.id) },
    },
  },
  {
    name: 'merch',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Product @key(fields: "id pid") {
        id: ID!
        pid: ID!
        category: Category @shareable
      }

      "Not an entity here: details can only be reached through Product."
      type Category {
        details: CategoryDetails
      }

      type CategoryDetails {
        productCount: Int!
        featured: Boolean!
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => {
          const p = product(ref.id);
          return p && p.pid === ref.pid ? p : null;
        },
        category: (p) => find(categories, 'id', p.categoryId),
      },
    },
  },
  {
    name: 'pricing',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Product @key(fields: "id") @key(fields: "sku") {
        id: ID!
        sku: ID!
        price: Int
      }
    `,
    resolvers: {
      Product: {
        // pricing does not know p4.
        __resolveReference: (ref) => {
          const p = ref.id !== undefined ? product(ref.id) : find(products, 'sku', ref.sku);
          return p && p.id !== 'p4' ? p : null;
        },
      },
    },
  },
  {
    name: 'warehouse',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Product @key(fields: "sku") {
        sku: ID!
        stock: Int
        "Non-null: for p4, which pricing does not know, the gateway cannot reach it."
        binCode: String!
        warehouse: Warehouse
      }

      type Warehouse @key(fields: "code region { id }") {
        code: ID!
        region: Region!
      }

      type Region @shareable {
        id: ID!
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => find(products, 'sku', ref.sku),
        stock: (p) => stock[p.sku],
        binCode: (p) => `${p.whCode}-${p.sku.slice(4)}`,
        warehouse: (p) => find(warehouses, 'code', p.whCode),
      },
      Warehouse: {
        __resolveReference: (ref) => find(warehouses, 'code', ref.code),
        region: (w) => ({ id: w.regionId }),
      },
    },
  },
  {
    name: 'logistics',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        warehouses: [Warehouse!]!
      }

      type Warehouse @key(fields: "code region { id }") {
        code: ID!
        region: Region!
        capacity: Int!
        regionName: String!
      }

      type Region @shareable {
        id: ID!
      }
    `,
    resolvers: {
      Query: { warehouses: () => warehouses },
      Warehouse: {
        __resolveReference: (ref) => {
          const w = find(warehouses, 'code', ref.code);
          return w && w.regionId === ref.region.id ? w : null;
        },
        region: (w) => ({ id: w.regionId }),
        regionName: (w) => regions[w.regionId],
      },
    },
  },
  {
    name: 'labels',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Product @key(fields: "ean") {
        ean: String
        label: String
      }
    `,
    resolvers: {
      Product: {
        // A representation with a null ean (@apollo/gateway sends one for p3) resolves to null.
        __resolveReference: (ref) => (ref.ean == null ? null : { ean: ref.ean }),
        label: (p) => labels[p.ean] ?? null,
      },
    },
  },
  {
    name: 'recs',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        topPick: Listing
      }

      interface Listing {
        id: ID!
        alsoBought: Listing
      }

      type Product implements Listing @key(fields: "id") {
        id: ID!
        alsoBought: Listing
      }
    `,
    resolvers: {
      Query: { topPick: () => ({ __typename: 'Product', id: 'p1' }) },
      Listing: { __resolveType: () => 'Product' },
      Product: {
        __resolveReference: (ref) => ({ id: ref.id }),
        alsoBought: (p) => ({ __typename: 'Product', id: alsoBought[p.id] }),
      },
    },
  },
  {
    name: 'accounts',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external"])

      type Query {
        node(id: ID!): Node @shareable
        account(id: ID!): Account
      }

      interface Node {
        id: ID!
      }

      type Account implements Node @key(fields: "id") {
        id: ID!
        handle: String!
      }

      "The id is @external here: this subgraph's value for it must not be used."
      type Chat_Room implements Node @key(fields: "id") {
        id: ID! @external
        owner_Account: Account!
      }
    `,
    resolvers: {
      Query: {
        node: (_, { id }) => {
          const a = find(accountsData, 'id', id);
          if (a) return { __typename: 'Account', ...a };
          const r = find(rooms, 'id', id);
          return r && { __typename: 'Chat_Room', id: 'never', accountId: r.accountId };
        },
        account: (_, { id }) => find(accountsData, 'id', id),
      },
      Node: { __resolveType: (n) => n.__typename },
      Account: { __resolveReference: (ref) => find(accountsData, 'id', ref.id) },
      Chat_Room: {
        __resolveReference: (ref) => find(rooms, 'id', ref.id),
        owner_Account: (r) => find(accountsData, 'id', r.accountId),
      },
    },
  },
  {
    name: 'threads',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        node(id: ID!): Node @shareable
      }

      interface Node {
        id: ID!
      }

      type Chat_Room implements Node @key(fields: "id") {
        id: ID!
        _title: String!
        member_count_2: Int!
      }

      type Account implements Node @key(fields: "id") {
        id: ID!
      }
    `,
    resolvers: {
      Query: {
        node: (_, { id }) => {
          const r = find(rooms, 'id', id);
          if (r) return { __typename: 'Chat_Room', ...r };
          const a = find(accountsData, 'id', id);
          return a && { __typename: 'Account', id: a.id };
        },
      },
      Node: { __resolveType: (n) => n.__typename },
      Chat_Room: {
        __resolveReference: (ref) => find(rooms, 'id', ref.id),
        _title: (r) => r.title,
        member_count_2: (r) => r.members,
      },
      Account: { __resolveReference: (ref) => find(accountsData, 'id', ref.id) && { id: ref.id } },
    },
  },
  {
    name: 'reviews',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external"])

      type Review {
        id: ID!
        body: String!
      }

      extend type Product @key(fields: "id") {
        id: ID! @external
        reviews: [Review!]!
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ({ id: ref.id }),
        reviews: (p) => reviews.filter((r) => r.productId === p.id),
      },
    },
  },
  {
    name: 'ratings',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@extends"])

      type Product @extends @key(fields: "id") {
        id: ID! @external
        ratingCount: Int!
        averageRating: Float
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ({ id: ref.id }),
        ratingCount: (p) => stars[p.id].length,
        averageRating: (p) => (stars[p.id].length ? stars[p.id].reduce((a, b) => a + b, 0) / stars[p.id].length : null),
      },
    },
  },
];
