// abstract: interfaces and unions across subgraphs, and @interfaceObject.
//
// search returns Media (an interface) and SearchResult (a union) whose members are entities owned by books
// and movies; movies also has Series, a Media implementation search does not know. catalog has the
// interface Item with @key and its implementations; ratings sees Item only as an @interfaceObject.

const books = [
  { id: 'b1', title: 'Dune', author: 'Frank Herbert', pages: 412 },
  { id: 'b2', title: 'Neuromancer', author: 'William Gibson', pages: 271 },
  { id: 'b3', title: 'Hyperion', author: 'Dan Simmons', pages: 482 },
];
const movies = [
  { id: 'm1', title: 'Alien', director: 'Ridley Scott', minutes: 117 },
  { id: 'm2', title: 'Arrival', director: 'Denis Villeneuve', minutes: 116 },
  { id: 'm3', title: 'Dune', director: 'Denis Villeneuve', minutes: 155 },
];
const series = [{ id: 's1', title: 'Foundation', seasons: 2 }];
// The media search lists, in its own order: ids and typenames only.
const shelf = [
  { __typename: 'Book', id: 'b1' },
  { __typename: 'Movie', id: 'm1' },
  { __typename: 'Book', id: 'b2' },
  { __typename: 'Movie', id: 'm3' },
  { __typename: 'Book', id: 'b3' },
  { __typename: 'Movie', id: 'm2' },
];
const items = [
  { __typename: 'Tool', id: 'i1', name: 'Hammer', weight: 600 },
  { __typename: 'Toy', id: 'i2', name: 'Kite', minAge: 6 },
  { __typename: 'Tool', id: 'i3', name: 'Saw', weight: 900 },
  { __typename: 'Toy', id: 'i4', name: 'Yo-yo', minAge: 4 },
];
const stars = { i1: 4, i2: 5, i3: 3, i4: 2 };
const find = (list, id) => list.find((x) => x.id === id) ?? null;

export const subgraphs = [
  {
    name: 'search',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        media: [Media!]!
        search(term: String!): [SearchResult!]!
        featured: SearchResult
      }

      interface Media {
        id: ID!
      }

      type Book implements Media @key(fields: "id") {
        id: ID!
      }

      type Movie implements Media @key(fields: "id") {
        id: ID!
      }

      union SearchResult = Book | Movie
    `,
    resolvers: {
      Query: {
        media: () => shelf,
        search: (_, { term }) => {
          const t = term.toLowerCase();
          return [
            ...books.filter((b) => b.title.toLowerCase().includes(t)).map((b) => ({ __typename: 'Book', id: b.id })),
            ...movies.filter((m) => m.title.toLowerCase().includes(t)).map((m) => ({ __typename: 'Movie', id: m.id })),
          ];
        },
        featured: () => ({ __typename: 'Movie', id: 'm2' }),
      },
      Media: { __resolveType: (m) => m.__typename },
      SearchResult: { __resolveType: (m) => m.__typename },
      Book: { __resolveReference: (ref) => ({ id: ref.id }) },
      Movie: { __resolveReference: (ref) => ({ id: ref.id }) },
    },
  },
  {
    name: 'books',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      interface Media {
        id: ID!
        title: String!
      }

      type Book implements Media @key(fields: "id") {
        id: ID!
        title: String!
        author: String!
        pages: Int!
      }
    `,
    resolvers: {
      Media: { __resolveType: () => 'Book' },
      Book: { __resolveReference: (ref) => find(books, ref.id) },
    },
  },
  {
    name: 'movies',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        "Movies and series: Series is a Media implementation only this subgraph knows."
        watchlist: [Media!]!
      }

      interface Media {
        id: ID!
        title: String!
      }

      type Movie implements Media @key(fields: "id") {
        id: ID!
        title: String!
        director: String!
        minutes: Int!
      }

      type Series implements Media {
        id: ID!
        title: String!
        seasons: Int!
      }
    `,
    resolvers: {
      Query: {
        watchlist: () => [
          { __typename: 'Movie', ...movies[1] },
          { __typename: 'Series', ...series[0] },
          { __typename: 'Movie', ...movies[0] },
        ],
      },
      Media: { __resolveType: (m) => m.__typename },
      Movie: { __resolveReference: (ref) => find(movies, ref.id) },
    },
  },
  {
    name: 'catalog',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        items: [Item!]!
      }

      interface Item @key(fields: "id") {
        id: ID!
        name: String!
      }

      type Tool implements Item @key(fields: "id") {
        id: ID!
        name: String!
        weight: Int!
      }

      type Toy implements Item @key(fields: "id") {
        id: ID!
        name: String!
        minAge: Int!
      }
    `,
    resolvers: {
      Query: { items: () => items },
      Item: {
        __resolveType: (i) => i.__typename,
        // An @interfaceObject subgraph sends {__typename: "Item", id}: answer the concrete object.
        __resolveReference: (ref) => find(items, ref.id),
      },
      Tool: { __resolveReference: (ref) => find(items, ref.id) },
      Toy: { __resolveReference: (ref) => find(items, ref.id) },
    },
  },
  {
    name: 'ratings',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@interfaceObject"])

      type Query {
        "Items, best first: ratings does not know which concrete type each one is."
        topRated: [Item!]!
      }

      type Item @key(fields: "id") @interfaceObject {
        id: ID!
        stars: Int!
        reviewCount: Int!
      }
    `,
    resolvers: {
      Query: {
        topRated: () =>
          Object.entries(stars)
            .sort((a, b) => b[1] - a[1])
            .map(([id]) => ({ id })),
      },
      Item: {
        __resolveReference: (ref) => ({ id: ref.id }),
        stars: (i) => stars[i.id],
        reviewCount: (i) => Number(i.id.slice(1)) * 3,
      },
    },
  },
];
