// Apollo Client (4.x) runs a subscription over HttpLink: Apollo's multipart subscriptions (one POST with
// Accept: multipart/mixed;subscriptionSpec=1.0, one part per event); it reports each event's data and
// unsubscribes after EVENTS events. Usage: node apollo-http.mjs http://…/graphql SUBSCRIPTION [VARIABLES_JSON] [EVENTS]
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { args, finish, line } from './report.mjs';

const { url, query, variables, count } = args();
const client = new ApolloClient({ link: new HttpLink({ uri: url }), cache: new InMemoryCache() });
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
      finish();
    }
  },
  error: finish,
  complete() {
    finish(new Error(`completed after ${seen} of ${count} events`));
  },
});
