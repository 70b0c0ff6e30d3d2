// A graphql-sse client (distinct connections mode: one POST with Accept: text/event-stream per operation)
// subscribes and reports each `next` payload as it came; it stops after EVENTS events (closing the stream).
// Usage: node graphql-sse.mjs http://…/graphql SUBSCRIPTION [VARIABLES_JSON] [EVENTS]
import { createClient } from 'graphql-sse';
import { args, finish, line } from './report.mjs';

const { url, query, variables, count } = args();
const client = createClient({ url, retryAttempts: 0 });
let seen = 0;
try {
  for await (const result of client.iterate({ query, variables })) {
    line(result);
    if (++seen === count) {
      break;
    }
  }
  client.dispose();
  finish(seen === count ? undefined : new Error(`completed after ${seen} of ${count} events`));
} catch (err) {
  finish(err);
}
