// provides_paths: @provides on different paths (the patterns of the gateway audit's simple-requires-provides,
// nested-provides, provides-on-interface, provides-on-union and mysterious-external suites).
//
// catalog owns Product and Category (name, parent); accounts owns User. reviews provides the author's
// username; inventory requires price and weight. storefront provides a product's name and its category's
// name and parent's name (three levels) on Shelf.products only, not on Shelf.featured. library owns Book and
// Movie; feeds provides title on an interface field (Books only) and on a union field (both). deals extends
// Product with an @external key, Federation 1 style.
//
// A subgraph that provides a field answers it from its own copy, equal to the owner's (as a @shareable field
// must be): where a field comes from shows in the subgraph calls, not in the data.

const categories = [
  { id: 'c1', name: 'Home', slug: 'home', parentId: null },
  { id: 'c2', name: 'Kitchen', slug: 'kitchen', parentId: 'c1' },
  { id: 'c3', name: 'Garden', slug: 'garden', parentId: 'c1' },
  { id: 'c4', name: 'Knives', slug: 'knives', parentId: 'c2' },
];
const products = [
  { upc: 'p1', name: 'Chef knife', price: 80, weight: 1, categoryId: 'c4' },
  { upc: 'p2', name: 'Wok', price: 45, weight: 3, categoryId: 'c2' },
  { upc: 'p3', name: 'Hose', price: 25, weight: 4, categoryId: 'c3' },
  { upc: 'p4', name: 'Rake', price: 30, weight: 2, categoryId: 'c3' },
];
const users = [
  { id: 'u1', username: 'ada', name: 'Ada Lovelace' },
  { id: 'u2', username: 'alan', name: 'Alan Turing' },
  { id: 'u3', username: 'grace', name: 'Grace Hopper' },
];
const reviews = [
  { id: 'r1', upc: 'p1', authorId: 'u1', body: 'Sharp.' },
  { id: 'r2', upc: 'p2', authorId: 'u2', body: 'Heavy.' },
  { id: 'r3', upc: 'p3', authorId: 'u3', body: 'Leaks.' },
];
const books = [
  { id: 'b1', title: 'Dune', author: 'Frank Herbert' },
  { id: 'b2', title: 'Solaris', author: 'Stanislaw Lem' },
];
const movies = [
  { id: 'm1', title: 'Alien', director: 'Ridley Scott' },
  { id: 'm2', title: 'Stalker', director: 'Andrei Tarkovsky' },
];
const shelves = [
  { label: 'Cooking', upcs: ['p1', 'p2'], featured: 'p2' },
  { label: 'Outdoor', upcs: ['p3', 'p4'], featured: 'p4' },
];
const find = (list, key, value) => list.find((x) => x[key] === value) ?? null;
const product = (upc) => find(products, 'upc', upc);
const category = (id) => find(categories, 'id', id);
// need throws when a @requires field did not arrive in the representation: a gateway bug, not a null.
const need = (obj, ...fields) => {
  for (const f of fields) if (obj[f] === undefined) throw new Error(`representation lacks required field ${f}`);
  return obj;
};
// storefront's copy of a category, with the provided name and parent (recursively).
const providedCategory = (id) => {
  const c = category(id);
  return c && { id: c.id, name: c.name, parent: c.parentId && providedCategory(c.parentId) };
};
const media = [...books.map((b) => ({ ...b, __typename: 'Book' })), ...movies.map((m) => ({ ...m, __typename: 'Movie' }))];

export const subgraphs = [
  {
    name: 'catalog',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type Query {
        topProducts: [Product!]!
      }

      type Product @key(fields: "upc") {
        upc: ID!
        name: String! @shareable
        price: Int!
        weight: Int!
        category: Category @shareable
      }

      type Category @key(fields: "id") {
        id: ID!
        name: String! @shareable
        slug: String!
        parent: Category @shareable
      }
    `,
    resolvers: {
      Query: { topProducts: () => products },
      Product: {
        __resolveReference: (ref) => product(ref.upc),
        category: (p) => category(p.categoryId),
      },
      Category: {
        __resolveReference: (ref) => category(ref.id),
        parent: (c) => c.parentId && category(c.parentId),
      },
    },
  },
  {
    name: 'accounts',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      type User @key(fields: "id") {
        id: ID!
        username: String! @shareable
        name: String!
      }
    `,
    resolvers: { User: { __resolveReference: (ref) => find(users, 'id', ref.id) } },
  },
  {
    name: 'reviews',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@provides"])

      type Query {
        latestReviews: [Review!]!
      }

      type Review @key(fields: "id") {
        id: ID!
        body: String!
        author: User! @provides(fields: "username")
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
      Query: { latestReviews: () => reviews },
      Review: {
        __resolveReference: (ref) => find(reviews, 'id', ref.id),
        author: (r) => ({ id: r.authorId, username: find(users, 'id', r.authorId).username }),
        product: (r) => ({ upc: r.upc }),
      },
      Product: {
        __resolveReference: (ref) => ref,
        reviews: (p) => reviews.filter((r) => r.upc === p.upc),
      },
    },
  },
  {
    name: 'inventory',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@requires"])

      type Product @key(fields: "upc") {
        upc: ID!
        price: Int! @external
        weight: Int! @external
        inStock: Boolean!
        shippingEstimate: Int! @requires(fields: "price weight")
      }
    `,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ref,
        inStock: (p) => p.upc !== 'p3',
        shippingEstimate: (p) => {
          need(p, 'price', 'weight');
          return p.price > 50 ? 0 : p.weight * 2;
        },
      },
    },
  },
  {
    name: 'storefront',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@provides"])

      type Query {
        shelves: [Shelf!]!
      }

      type Shelf {
        label: String!
        "Provides three levels: the product's name, its category's name, and that category's parent's name."
        products: [Product!]! @provides(fields: "name category { name parent { name } }")
        "The same type without @provides: name and category come from catalog."
        featured: Product!
      }

      type Product @key(fields: "upc") {
        upc: ID!
        name: String! @external
        category: Category @external
      }

      type Category @key(fields: "id") {
        id: ID!
        name: String! @external
        parent: Category @external
      }
    `,
    resolvers: {
      Query: { shelves: () => shelves },
      Shelf: {
        products: (s) => s.upcs.map((upc) => ({ upc, name: product(upc).name, category: providedCategory(product(upc).categoryId) })),
        featured: (s) => ({ upc: s.featured }),
      },
      Product: { __resolveReference: (ref) => ({ upc: ref.upc }) },
      Category: { __resolveReference: (ref) => ({ id: ref.id }) },
    },
  },
  {
    name: 'library',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

      interface Media {
        id: ID!
        title: String!
      }

      type Book implements Media @key(fields: "id") {
        id: ID!
        title: String! @shareable
        author: String!
      }

      type Movie implements Media @key(fields: "id") {
        id: ID!
        title: String! @shareable
        director: String!
      }
    `,
    resolvers: {
      Media: { __resolveType: (m) => m.__typename },
      Book: { __resolveReference: (ref) => find(books, 'id', ref.id) },
      Movie: { __resolveReference: (ref) => find(movies, 'id', ref.id) },
    },
  },
  {
    name: 'feeds',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external", "@provides"])

      type Query {
        "Provides title on an interface field, for Books only."
        recommended: [Media!]! @provides(fields: "... on Book { title }")
        "Provides title on a union field, for both members."
        trending: [Trend!]! @provides(fields: "... on Book { title } ... on Movie { title }")
        "The same union without @provides."
        archive: [Trend!]!
      }

      interface Media {
        id: ID!
        title: String!
      }

      union Trend = Book | Movie

      type Book implements Media @key(fields: "id") {
        id: ID!
        title: String! @external
      }

      type Movie implements Media @key(fields: "id") {
        id: ID!
        title: String! @external
      }
    `,
    resolvers: {
      Query: {
        recommended: () => [media[2], media[0], media[1]].map((m) => ({ __typename: m.__typename, id: m.id, title: m.title })),
        trending: () => [media[3], media[1]].map((m) => ({ __typename: m.__typename, id: m.id, title: m.title })),
        archive: () => [media[0], media[2], media[3]].map((m) => ({ __typename: m.__typename, id: m.id })),
      },
      Media: { __resolveType: (m) => m.__typename },
      Trend: { __resolveType: (m) => m.__typename },
      Book: { __resolveReference: (ref) => ({ id: ref.id }) },
      Movie: { __resolveReference: (ref) => ({ id: ref.id }) },
    },
  },
  {
    name: 'deals',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@external"])

      type Query {
        bestDeal: Product
        deals: [Product!]!
      }

      # Federation 1 style: an extension whose key field is @external.
      extend type Product @key(fields: "upc") {
        upc: ID! @external
        discount: Int!
      }
    `,
    resolvers: {
      Query: { bestDeal: () => ({ upc: 'p2' }), deals: () => [{ upc: 'p4' }, { upc: 'p1' }] },
      Product: {
        __resolveReference: (ref) => ({ upc: ref.upc }),
        discount: (p) => ({ p1: 10, p2: 15, p3: 0, p4: 5 })[p.upc],
      },
    },
  },
];
