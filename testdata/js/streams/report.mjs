// The output side shared by the stream clients: one JSON object per line on stdout, which the Go test
// (streams_js_test.go) reads as the client receives results, so it can act between two of them.

// line writes one result line.
export function line(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// finish writes the last line and exits once stdout has taken it; a failure exits 1 with the error as a line,
// so the test shows what the client saw.
export function finish(err) {
  const last = err ? { error: String(err && err.stack ? err.stack : JSON.stringify(err)) } : { done: true };
  process.stdout.write(JSON.stringify(last) + '\n', () => process.exit(err ? 1 : 0));
}

// args reads the command line: the URL, the GraphQL document, its variables (JSON) and, for subscriptions,
// how many events to take before unsubscribing.
export function args() {
  const [url, query, variables = '{}', count = '1'] = process.argv.slice(2);
  if (!url || !query) {
    finish(new Error('usage: node <script> URL QUERY [VARIABLES_JSON] [EVENTS]'));
  }
  return { url, query, variables: JSON.parse(variables), count: Number(count) };
}

// A client whose work ended without finish (nothing left to wait for) says so rather than exiting silently.
process.on('beforeExit', () => finish(new Error('the client stopped without a result or an error')));

// Nothing may hang the test: a client that neither finishes nor fails within 20 s reports it and exits.
setTimeout(() => finish(new Error('timed out after 20s')), 20000).unref();
