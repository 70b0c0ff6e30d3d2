// Apollo Client (4.x) runs a query with @defer over HttpLink (multipart/mixed, deferSpec=20220824) and reports
// each result its watchQuery observable delivers: the initial one without the deferred fields ("streaming"),
// then the complete one. Usage: node apollo-defer.mjs http://…/graphql QUERY [VARIABLES_JSON]
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { args, finish, line } from './report.mjs';

const { url, query, variables } = args();
const client = new ApolloClient({
  link: new HttpLink({ uri: url }),
  cache: new InMemoryCache(),
  incrementalHandler: new Defer20220824Handler(),
});
const sub = client.watchQuery({ query: gql(query), variables, fetchPolicy: 'network-only' }).subscribe({
  next(result) {
    if (result.error) {
      finish(result.error);
      return;
    }
    if (result.dataState === 'empty') {
      return; // the loading state before the first payload
    }
    line({ dataState: result.dataState, data: result.data });
    if (result.dataState === 'complete') {
      sub.unsubscribe();
      client.stop();
      finish();
    }
  },
  error: finish,
});
