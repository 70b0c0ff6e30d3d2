// errors: resolvers that throw at the root and inside an entity, an entity reviews does not know (its
// __resolveReference returns null), a nullable and a non-null field failing, a subgraph that is down
// (ledger: `down: true`, the supergraph sends it to a closed port), and a mutation sequence across two
// subgraphs (products creates, reviews adds a review to the created product; reset() restores the data).

const initialProducts = [
  { id: 'p1', name: 'Anvil' },
  { id: 'p2', name: 'Bellows' },
  { id: 'p3', name: 'Crucible' },
  { id: 'p4', name: 'Dowel' },
];
const initialReviews = [
  { id: 'r1', productId: 'p1', body: 'Heavy.' },
  { id: 'r2', productId: 'p1', body: 'Loud.' },
  { id: 'r3', productId: 'p3', body: 'Hot.' },
];
let products;
let reviews;
export function reset() {
  products = initialProducts.map((p) => ({ ...p }));
  reviews = initialReviews.map((r) => ({ ...r }));
}
reset();

// fail throws an error with extensions, as a subgraph reporting a backend failure would.
function fail(message, code) {
  const err = new Error(message);
  err.extensions = { code };
  throw err;
}
const product = (id) => products.find((p) => p.id === id) ?? null;

export const subgraphs = [
  {
    name: 'products',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        products: [Product!]!
        product(id: ID!): Product
        "Always fails; nullable."
        failingRoot: String
        "Always fails; non-null, so the whole data is null."
        failingRootNonNull: String!
      }

      type Mutation {
        createProduct(name: String!): Product!
      }

      type Product @key(fields: "id") {
        id: ID!
        name: String!
      }
    `,
    resolvers: {
      Query: {
        products: () => products,
        product: (_, { id }) => product(id),
        failingRoot: () => fail('the products database is read-only today', 'DB_READONLY'),
        failingRootNonNull: () => fail('the products database is read-only today', 'DB_READONLY'),
      },
      Mutation: {
        createProduct: (_, { name }) => {
          const p = { id: `p${products.length + 1}`, name };
          products.push(p);
          return p;
        },
      },
      Product: { __resolveReference: (ref) => product(ref.id) },
    },
  },
  {
    name: 'reviews',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Mutation {
        addReview(productId: ID!, body: String!): Review!
      }

      type Review {
        id: ID!
        body: String!
        product: Product!
      }

      type Product @key(fields: "id") {
        id: ID!
        "Fails for p2."
        reviews: [Review!]
        "Fails for p3 (nullable)."
        ratingOrNull: Int
        "Fails for p3 (non-null)."
        rating: Int!
      }
    `,
    resolvers: {
      Mutation: {
        addReview: (_, { productId, body }) => {
          const r = { id: `r${reviews.length + 1}`, productId, body };
          reviews.push(r);
          return r;
        },
      },
      Review: { product: (r) => ({ id: r.productId }) },
      Product: {
        // p4 is unknown here: its entity is null.
        __resolveReference: (ref) => (ref.id === 'p4' ? null : { id: ref.id }),
        reviews: (p) => {
          if (p.id === 'p2') fail('reviews of p2 are being moderated', 'MODERATION');
          return reviews.filter((r) => r.productId === p.id);
        },
        ratingOrNull: (p) => (p.id === 'p3' ? fail('no rating for p3', 'NO_RATING') : Number(p.id.slice(1)) + 1),
        rating: (p) => (p.id === 'p3' ? fail('no rating for p3', 'NO_RATING') : Number(p.id.slice(1)) + 1),
      },
    },
  },
  {
    name: 'ledger',
    down: true,
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Product @key(fields: "id") {
        id: ID!
        price: Int
      }
    `,
    resolvers: { Product: { __resolveReference: (ref) => ({ id: ref.id, price: 100 }) } },
  },
];
