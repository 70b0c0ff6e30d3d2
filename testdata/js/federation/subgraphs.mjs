// Serves every subgraph of one federation case on one loopback port, for golden.mjs and the Go tests
// (federation_fixture_test.go).
//
//   node subgraphs.mjs <case-dir> [port]     (port 0 or none: any free port)
//
// Prints one JSON line {"port": N, "down": [names]} on stdout once listening, then serves:
//   POST|GET /<subgraph>    GraphQL over HTTP (graphql-http) for the subgraph's schema (buildSubgraphSchema)
//   GET /_calls             {"<subgraph>": requests since the last reset, ...} (every subgraph listed)
//   POST /_calls/reset      zeroes the counters, forgets the recorded requests, and calls the case's reset()
//   GET /_requests          {"<subgraph>": [the last 20 request bodies, oldest first], ...}
// It exits when its stdin closes, so a test that dies does not leave it running.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { createHandler } from 'graphql-http';
import { loadCase, schemas } from './case.mjs';

const KEEP = 20;

// startSubgraphs serves the case's subgraphs and resolves to {server, port, down} once listening.
export async function startSubgraphs(caseDir, port = 0) {
  const c = await loadCase(caseDir);
  const handlers = new Map();
  for (const [name, schema] of schemas(c)) handlers.set(name, createHandler({ schema }));
  const calls = {};
  const requests = {};
  const reset = () => {
    for (const s of c.subgraphs) {
      calls[s.name] = 0;
      requests[s.name] = [];
    }
    c.reset();
  };
  reset();

  const server = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url, 'http://localhost');
      const name = url.pathname.slice(1);
      if (url.pathname === '/_calls' && req.method === 'GET') return json(res, 200, calls);
      if (url.pathname === '/_calls/reset' && req.method === 'POST') {
        reset();
        return json(res, 200, calls);
      }
      if (url.pathname === '/_requests' && req.method === 'GET') return json(res, 200, requests);
      const handler = handlers.get(name);
      if (!handler) return json(res, 404, { error: `no subgraph at ${url.pathname}` });
      calls[name]++;
      const recorded = requests[name];
      recorded.push(parseOr(body) ?? Object.fromEntries(url.searchParams));
      if (recorded.length > KEEP) recorded.shift();
      const [out, init] = await handler({
        method: req.method,
        url: req.url,
        headers: { get: (key) => req.headers[key.toLowerCase()] ?? null },
        body: () => body,
        raw: req,
        context: undefined,
      });
      res.writeHead(init.status, init.statusText, init.headers).end(out);
    } catch (err) {
      json(res, 500, { error: String(err?.stack ?? err) });
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const down = c.subgraphs.filter((s) => s.down).map((s) => s.name);
  return { server, port: server.address().port, down, subgraphs: c.subgraphs };
}

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

function parseOr(body) {
  if (body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [caseDir, port = '0'] = process.argv.slice(2);
  if (!caseDir) {
    console.error('usage: node subgraphs.mjs <case-dir> [port]');
    process.exit(2);
  }
  const { port: listening, down } = await startSubgraphs(caseDir, Number(port));
  process.stdout.write(JSON.stringify({ port: listening, down }) + '\n');
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
