// Apollo Client (4.x) runs a subscription over GraphQLWsLink (the graphql-ws client, graphql-transport-ws) and
// reports each event's data; it unsubscribes after EVENTS events.
// Usage: node apollo-ws.mjs ws://…/graphql SUBSCRIPTION [VARIABLES_JSON] [EVENTS]
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { args, finish, line } from './report.mjs';

const { url, query, variables, count } = args();
const ws = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
const client = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
let seen = 0;
const sub = client.subscribe({ query: gql(query), variables }).subscribe({
  next(result) {
    if (result.error) {
      finish(result.error);
      return;
    }
    line({ data: result.data });
    if (++seen === count) {
      sub.unsubscribe();
      client.stop();
      ws.dispose().then(() => finish(), finish);
    }
  },
  error: finish,
  complete() {
    ws.dispose().then(() => finish(new Error(`completed after ${seen} of ${count} events`)), finish);
  },
});
