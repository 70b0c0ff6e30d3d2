// A graphql-ws client (graphql-transport-ws over the ws package) subscribes and reports each `next` payload as
// it came; it stops after EVENTS events (which sends `complete`, the unsubscribe).
// Usage: node graphql-ws.mjs ws://…/graphql SUBSCRIPTION [VARIABLES_JSON] [EVENTS]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { args, finish, line } from './report.mjs';

const { url, query, variables, count } = args();
const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
let seen = 0;
try {
  for await (const result of client.iterate({ query, variables })) {
    line(result);
    if (++seen === count) {
      break;
    }
  }
  await client.dispose();
  finish(seen === count ? undefined : new Error(`completed after ${seen} of ${count} events`));
} catch (err) {
  finish(err);
}
