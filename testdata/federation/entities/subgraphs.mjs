// entities: products, reviews, accounts and inventory. Entity hops by @key, a @shareable field, a nested key
// (Seller), two keys on Product where reviews knows only upc and inventory only sku (an intermediate hop
// through products), a @key(resolvable: false) stub (accounts' Product), lists of lists, and arguments on
// entity fields.

const products = [
  { upc: '1', sku: 'TBL-1', name: 'Table', price: 899, sellerId: 's1' },
  { upc: '2', sku: 'CHR-2', name: 'Couch', price: 1299, sellerId: 's2' },
  { upc: '3', sku: 'LMP-3', name: 'Lamp', price: 54, sellerId: 's1' },
  { upc: '4', sku: 'RUG-4', name: 'Rug', price: 210, sellerId: 's3' },
  { upc: '5', sku: 'SHF-5', name: 'Shelf', price: 120, sellerId: 's2' },
];
const sellers = [
  { id: 's1', organization: { id: 'org1' }, name: 'Acme Furniture', rating: 4.5 },
  { id: 's2', organization: { id: 'org1' }, name: 'Acme Outlet', rating: 3.9 },
  { id: 's3', organization: { id: 'org2' }, name: 'Rugs & Co', rating: 4.8 },
];
const users = [
  { id: 'u1', email: 'ada@example.com', name: 'Ada Lovelace', username: '@ada' },
  { id: 'u2', email: 'alan@example.com', name: 'Alan Turing', username: '@alan' },
  { id: 'u3', email: 'grace@example.com', name: 'Grace Hopper', username: '@grace' },
];
const reviews = [
  { id: 'r1', upc: '1', authorId: 'u1', body: 'Love it!', rating: 5 },
  { id: 'r2', upc: '1', authorId: 'u2', body: 'Too heavy to move.', rating: 3 },
  { id: 'r3', upc: '2', authorId: 'u3', body: 'Comfy.', rating: 4 },
  { id: 'r4', upc: '3', authorId: 'u1', body: 'Bright enough.', rating: 4 },
  { id: 'r5', upc: '3', authorId: 'u3', body: 'Flickers.', rating: 2 },
  { id: 'r6', upc: '3', authorId: 'u2', body: 'Fine lamp.', rating: 3 },
  { id: 'r7', upc: '4', authorId: 'u2', body: 'Soft.', rating: 5 },
];
const favorites = { u1: '3', u2: '1', u3: '5' };
const stock = { 'TBL-1': 3, 'CHR-2': 0, 'LMP-3': 12, 'RUG-4': 1, 'SHF-5': 7 };
// Exchange rates for Product.price(currency:), in percent of EUR.
const rates = { EUR: 100, USD: 110, GBP: 85 };

const byUpc = (upc) => products.find((p) => p.upc === upc) ?? null;
const bySku = (sku) => products.find((p) => p.sku === sku) ?? null;
const userBy = (ref) => users.find((u) => (ref.id !== undefined ? u.id === ref.id : u.email === ref.email)) ?? null;
const sellerBy = (ref) => sellers.find((s) => s.id === ref.id && s.organization.id === ref.organization.id) ?? null;
const first = (list, n) => (n === undefined || n === null ? list : list.slice(0, n));

export const subgraphs = [
  {
    name: 'products',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        topProducts(first: Int = 5): [Product!]!
        product(upc: String!): Product
        "The products in rows of two: a list of lists."
        productGrid: [[Product!]!]!
      }

      type Product @key(fields: "upc") @key(fields: "sku") {
        upc: String!
        sku: String!
        name: String! @shareable
        "The price in cents of currency."
        price(currency: String = "EUR"): Int!
        seller: Seller!
      }

      type Seller @key(fields: "id organization { id }") {
        id: ID!
        organization: Organization!
        name: String!
      }

      type Organization @shareable {
        id: ID!
      }
    `,
    resolvers: {
      Query: {
        topProducts: (_, { first: n }) => first(products, n),
        product: (_, { upc }) => byUpc(upc),
        productGrid: () => [products.slice(0, 2), products.slice(2, 4), products.slice(4)],
      },
      Product: {
        __resolveReference: (ref) => (ref.upc !== undefined ? byUpc(ref.upc) : bySku(ref.sku)),
        price: (p, { currency }) => Math.round((p.price * (rates[currency] ?? 100)) / 100),
        seller: (p) => sellers.find((s) => s.id === p.sellerId),
      },
      Seller: { __resolveReference: sellerBy },
    },
  },
  {
    name: 'reviews',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        topReviews(first: Int = 10): [Review!]!
      }

      type Review @key(fields: "id") {
        id: ID!
        body: String!
        rating: Int!
        author: User!
        product: Product!
      }

      type Product @key(fields: "upc") {
        upc: String!
        reviews(first: Int, minRating: Int = 0): [Review!]!
        "Ratings grouped by star count, highest first: a list of lists on an entity."
        ratingsByStars: [[Int!]!]!
      }

      type User @key(fields: "id") {
        id: ID!
        username: String! @shareable
        reviews: [Review!]!
      }

      type Seller @key(fields: "id organization { id }") {
        id: ID!
        organization: Organization!
        rating: Float!
      }

      type Organization @shareable {
        id: ID!
      }
    `,
    resolvers: {
      Query: { topReviews: (_, { first: n }) => first(reviews, n) },
      Review: {
        __resolveReference: (ref) => reviews.find((r) => r.id === ref.id) ?? null,
        author: (r) => ({ id: r.authorId }),
        product: (r) => ({ upc: r.upc }),
      },
      Product: {
        __resolveReference: (ref) => ({ upc: ref.upc }),
        reviews: (p, { first: n, minRating }) => first(reviews.filter((r) => r.upc === p.upc && r.rating >= minRating), n),
        ratingsByStars: (p) => {
          const rs = reviews.filter((r) => r.upc === p.upc).map((r) => r.rating);
          return [5, 4, 3, 2, 1].map((stars) => rs.filter((x) => x === stars)).filter((g) => g.length > 0);
        },
      },
      User: {
        __resolveReference: (ref) => ({ id: ref.id }),
        username: (u) => users.find((x) => x.id === u.id)?.username,
        reviews: (u) => reviews.filter((r) => r.authorId === u.id),
      },
      Seller: { __resolveReference: (ref) => ({ ...ref, rating: sellerBy(ref)?.rating }) },
    },
  },
  {
    name: 'accounts',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        me: User
        users: [User!]!
      }

      type User @key(fields: "id") @key(fields: "email") {
        id: ID!
        email: String!
        name: String!
        username: String! @shareable
        favoriteProduct: Product
      }

      "A stub: accounts can name a Product but never resolves one (no _entities for Product here)."
      type Product @key(fields: "upc", resolvable: false) {
        upc: String!
      }
    `,
    resolvers: {
      Query: { me: () => users[0], users: () => users },
      User: {
        __resolveReference: userBy,
        favoriteProduct: (u) => ({ upc: favorites[u.id] ?? null }),
      },
    },
  },
  {
    name: 'inventory',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Product @key(fields: "sku") {
        sku: String!
        inStock: Boolean!
        quantity: Int!
        "Days to deliver to a post code (arguments on an entity field)."
        deliveryDays(zip: String!, express: Boolean = false): Int!
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ({ sku: ref.sku }),
        inStock: (p) => (stock[p.sku] ?? 0) > 0,
        quantity: (p) => stock[p.sku] ?? 0,
        deliveryDays: (p, { zip, express }) => (express ? 1 : 2 + (zip.length % 3)) + ((stock[p.sku] ?? 0) > 0 ? 0 : 14),
      },
    },
  },
];
