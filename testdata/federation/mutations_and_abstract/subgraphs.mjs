// mutations_and_abstract: mutations across subgraphs, and abstract types whose members span subgraphs (the
// patterns of the gateway audit's mutations, abstract-types, non-resolvable-interface-object and
// override-type-interface suites).
//
// - Mutations: orders places and cancels orders, wallet charges them, catalog renames items. Every mutation
//   takes the next number of one counter shared by all subgraphs (seq), so an answer shows the order the
//   gateway ran them in; each returns entities whose fields live in other subgraphs. reset() restores the
//   data and the counter.
// - Abstract types: catalog has the interface Item (Book, Magazine); books and magazines add the interface
//   Priced that catalog does not know; magazines has the union Reading = Book | Magazine.
// - kitchen has the entity interface Dish (Soup, Salad) and no root field; menu sees Dish as an
//   @interfaceObject with @key(resolvable: false) and has the only root fields returning Dish. (With a root
//   field of kitchen returning Dish, composition refuses: menu's chefNote could not be reached from it.)
// - timeline has the interface Entry (Photo, Note); media moved Photo.postedAt to itself with @override
//   (timeline keeps a stale resolver answering "NEVER"), where Photo implements another interface,
//   Attachment. Entry.postedAt on a Photo must come from media.

const initialOrders = [{ id: 'o1', itemId: 'b1', qty: 1, status: 'PAID', seq: 0 }];
const items = [
  { __typename: 'Book', id: 'b1', title: 'Dune', pages: 412, price: 12 },
  { __typename: 'Book', id: 'b2', title: 'Emma', pages: 320, price: 7 },
  { __typename: 'Magazine', id: 'm1', title: 'Wired', issue: 42, price: 5 },
  { __typename: 'Magazine', id: 'm2', title: 'Byte', issue: 7, price: 4 },
];
const initialTitles = Object.fromEntries(items.map((i) => [i.id, i.title]));
const dishes = [
  { __typename: 'Soup', id: 'd1', name: 'Borscht', spicy: false, note: 'Serve cold in summer.' },
  { __typename: 'Salad', id: 'd2', name: 'Caesar', leafy: true, note: 'No anchovies on request.' },
  { __typename: 'Soup', id: 'd3', name: 'Tom yum', spicy: true, note: 'Very hot.' },
];
const entries = [
  { __typename: 'Photo', id: 'e1', caption: 'Harbour', postedAt: '2024-05-01', pixels: 12 },
  { __typename: 'Note', id: 'e2', text: 'Back soon', postedAt: '2024-05-02' },
  { __typename: 'Photo', id: 'e3', caption: 'Snow', postedAt: '2024-05-03', pixels: 48 },
];

let seq = 0;
let orders = [];
let payments = [];
export function reset() {
  seq = 0;
  orders = initialOrders.map((o) => ({ ...o }));
  payments = [];
  for (const i of items) i.title = initialTitles[i.id];
}
reset();

const find = (list, key, value) => list.find((x) => x[key] === value) ?? null;
const item = (id) => find(items, 'id', id);
const order = (id) => find(orders, 'id', id);
const byType = (t) => (x) => (x && x.__typename === t ? x : null);
const stub = (i) => i && { __typename: i.__typename, id: i.id };

export const subgraphs = [
  {
    name: 'catalog',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        items: [Item!]!
        item(id: ID!): Item
      }

      type Mutation {
        renameItem(id: ID!, title: String!): Item
      }

      interface Item {
        id: ID!
        title: String!
      }

      type Book implements Item @key(fields: "id") {
        id: ID!
        title: String!
      }

      type Magazine implements Item @key(fields: "id") {
        id: ID!
        title: String!
      }
    `,
    resolvers: {
      Query: { items: () => items, item: (_, { id }) => item(id) },
      Mutation: {
        renameItem: (_, { id, title }) => {
          seq++;
          const i = item(id);
          if (i) i.title = title;
          return i;
        },
      },
      Item: { __resolveType: (i) => i.__typename },
      Book: { __resolveReference: (ref) => byType('Book')(item(ref.id)) },
      Magazine: { __resolveReference: (ref) => byType('Magazine')(item(ref.id)) },
    },
  },
  {
    name: 'books',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      interface Priced {
        price: Int!
      }

      type Book implements Priced @key(fields: "id") {
        id: ID!
        pages: Int!
        price: Int!
      }
    `,
    resolvers: {
      Priced: { __resolveType: () => 'Book' },
      Book: { __resolveReference: (ref) => byType('Book')(item(ref.id)) },
    },
  },
  {
    name: 'magazines',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        readingList: [Reading!]!
      }

      interface Priced {
        price: Int!
      }

      type Magazine implements Priced @key(fields: "id") {
        id: ID!
        issue: Int!
        price: Int!
      }

      type Book @key(fields: "id") {
        id: ID!
      }

      union Reading = Book | Magazine
    `,
    resolvers: {
      Query: { readingList: () => [item('m2'), stub(item('b2')), item('m1')] },
      Priced: { __resolveType: () => 'Magazine' },
      Reading: { __resolveType: (x) => x.__typename },
      Magazine: { __resolveReference: (ref) => byType('Magazine')(item(ref.id)) },
      Book: { __resolveReference: (ref) => ({ id: ref.id }) },
    },
  },
  {
    name: 'orders',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        orders: [Order!]!
      }

      type Mutation {
        placeOrder(itemId: ID!, qty: Int!): Order!
        "Fails for an unknown order (the field is nullable)."
        cancelOrder(id: ID!): Order
      }

      type Order @key(fields: "id") {
        id: ID!
        "The counter value of the last mutation of orders that changed it."
        seq: Int!
        qty: Int!
        status: String!
        item: Item!
      }

      interface Item {
        id: ID!
      }

      type Book implements Item @key(fields: "id") {
        id: ID!
      }

      type Magazine implements Item @key(fields: "id") {
        id: ID!
      }
    `,
    resolvers: {
      Query: { orders: () => orders },
      Mutation: {
        placeOrder: (_, { itemId, qty }) => {
          const o = { id: `o${orders.length + 1}`, itemId, qty, status: 'OPEN', seq: ++seq };
          orders.push(o);
          return o;
        },
        cancelOrder: (_, { id }) => {
          const n = ++seq;
          const o = order(id);
          if (!o) throw new Error(`no order ${id}`);
          o.status = 'CANCELLED';
          o.seq = n;
          return o;
        },
      },
      Item: { __resolveType: (i) => i.__typename },
      Order: {
        __resolveReference: (ref) => order(ref.id),
        item: (o) => stub(item(o.itemId)),
      },
      Book: { __resolveReference: (ref) => ({ id: ref.id }) },
      Magazine: { __resolveReference: (ref) => ({ id: ref.id }) },
    },
  },
  {
    name: 'wallet',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Mutation {
        charge(orderId: ID!): Payment!
      }

      type Payment {
        seq: Int!
        amount: Int!
        order: Order!
      }

      type Order @key(fields: "id") {
        id: ID!
        paid: Int!
      }
    `,
    resolvers: {
      Mutation: {
        // The order lives in orders' data; the charge marks it paid there, as a shared database would.
        charge: (_, { orderId }) => {
          const o = order(orderId);
          if (!o) throw new Error(`no order ${orderId}`);
          const p = { seq: ++seq, amount: o.qty * item(o.itemId).price, orderId };
          payments.push(p);
          o.status = 'PAID';
          return p;
        },
      },
      Payment: { order: (p) => ({ id: p.orderId }) },
      Order: {
        __resolveReference: (ref) => ({ id: ref.id }),
        paid: (o) => payments.filter((p) => p.orderId === o.id).reduce((a, p) => a + p.amount, 0),
      },
    },
  },
  {
    name: 'kitchen',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      interface Dish @key(fields: "id") {
        id: ID!
        name: String!
      }

      type Soup implements Dish @key(fields: "id") {
        id: ID!
        name: String!
        spicy: Boolean!
      }

      type Salad implements Dish @key(fields: "id") {
        id: ID!
        name: String!
        leafy: Boolean!
      }
    `,
    resolvers: {
      Dish: { __resolveType: (d) => d.__typename, __resolveReference: (ref) => find(dishes, 'id', ref.id) },
      Soup: { __resolveReference: (ref) => byType('Soup')(find(dishes, 'id', ref.id)) },
      Salad: { __resolveReference: (ref) => byType('Salad')(find(dishes, 'id', ref.id)) },
    },
  },
  {
    name: 'menu',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@interfaceObject"])

      type Query {
        special: Dish
        specials: [Dish!]!
      }

      type Dish @key(fields: "id", resolvable: false) @interfaceObject {
        id: ID!
        chefNote: String!
      }
    `,
    resolvers: {
      Query: {
        special: () => ({ id: 'd3' }),
        specials: () => [{ id: 'd2' }, { id: 'd1' }],
      },
      Dish: { chefNote: (d) => find(dishes, 'id', d.id).note },
    },
  },
  {
    name: 'timeline',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

      type Query {
        timeline: [Entry!]!
      }

      interface Entry {
        id: ID!
        postedAt: String!
      }

      type Photo implements Entry @key(fields: "id") {
        id: ID!
        caption: String!
        "Overridden by media: this stale resolver answers NEVER."
        postedAt: String!
      }

      type Note implements Entry @key(fields: "id") {
        id: ID!
        text: String!
        postedAt: String!
      }
    `,
    resolvers: {
      Query: { timeline: () => entries },
      Entry: { __resolveType: (e) => e.__typename },
      Photo: { __resolveReference: (ref) => byType('Photo')(find(entries, 'id', ref.id)), postedAt: () => 'NEVER' },
      Note: { __resolveReference: (ref) => byType('Note')(find(entries, 'id', ref.id)) },
    },
  },
  {
    name: 'media',
    typeDefs: `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@override"])

      type Query {
        attachments: [Attachment!]!
      }

      interface Attachment {
        id: ID!
        postedAt: String!
      }

      type Photo implements Attachment @key(fields: "id") {
        id: ID!
        postedAt: String! @override(from: "timeline")
        pixels: Int!
      }
    `,
    resolvers: {
      Query: { attachments: () => entries.filter((e) => e.__typename === 'Photo') },
      Attachment: { __resolveType: () => 'Photo' },
      Photo: { __resolveReference: (ref) => byType('Photo')(find(entries, 'id', ref.id)) },
    },
  },
];
