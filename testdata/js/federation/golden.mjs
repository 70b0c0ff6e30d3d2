// Regenerates one federation case's goldens: what Apollo's gateway (@apollo/gateway) answers.
//
//   node golden.mjs <case-dir>...
//
// For each case: composes <case-dir>/supergraph.graphql (compose.mjs), starts its subgraphs (subgraphs.mjs),
// serves the supergraph with @apollo/gateway inside @apollo/server on loopback, and for every
// <case-dir>/queries/<name>.graphql (variables from <name>.variables.json when present) resets the subgraphs,
// POSTs the query and writes <case-dir>/queries/<name>.expected.json:
//   {"status": <HTTP status>, "response": <the gateway's JSON answer>, "calls": {"<subgraph>": requests, ...}}
// and <name>.plan.txt, the gateway's query plan (for reading; tests do not assert it).
// Down subgraphs (`down: true`) are sent to a closed port (case.mjs DOWN_BASE).
import fs from 'node:fs';
import path from 'node:path';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { QueryPlanner, prettyFormatQueryPlan } from '@apollo/query-planner';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { parse } from 'graphql';
import { startStandaloneServer } from '@apollo/server/standalone';
import { writeSupergraph } from './compose.mjs';
import { startSubgraphs } from './subgraphs.mjs';
import { URL_BASE, DOWN_BASE } from './case.mjs';

const quiet = { debug() {}, info() {}, warn: console.warn, error: console.error };

async function golden(caseDir) {
  const sdl = await writeSupergraph(caseDir);
  const subs = await startSubgraphs(caseDir, 0);
  const base = `http://127.0.0.1:${subs.port}`;
  let supergraphSdl = sdl;
  for (const s of subs.subgraphs) {
    supergraphSdl = supergraphSdl.replaceAll(`"${URL_BASE}/${s.name}"`, `"${s.down ? DOWN_BASE : base}/${s.name}"`);
  }
  const gateway = new ApolloGateway({ supergraphSdl, logger: quiet });
  const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false, logger: quiet });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  const supergraph = Supergraph.build(sdl);
  const planner = new QueryPlanner(supergraph);
  const dir = path.join(caseDir, 'queries');
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.graphql')).map((f) => f.slice(0, -'.graphql'.length)).sort();
  try {
    for (const name of names) {
      const query = fs.readFileSync(path.join(dir, `${name}.graphql`), 'utf8');
      const varsFile = path.join(dir, `${name}.variables.json`);
      const body = { query };
      if (fs.existsSync(varsFile)) body.variables = JSON.parse(fs.readFileSync(varsFile, 'utf8'));
      await fetch(`${base}/_calls/reset`, { method: 'POST' });
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
      const response = await res.json();
      const calls = await (await fetch(`${base}/_calls`)).json();
      const expected = { status: res.status, response, calls };
      fs.writeFileSync(path.join(dir, `${name}.expected.json`), JSON.stringify(expected, null, 2) + '\n');
      fs.writeFileSync(path.join(dir, `${name}.plan.txt`), plan(supergraph, planner, query));
      const verdict = response.errors ? `errors: ${response.errors.map((e) => e.message).join(' | ')}` : 'data ok';
      console.log(`${path.basename(caseDir)}/${name}: ${res.status} ${verdict} calls=${JSON.stringify(calls)}`);
    }
  } finally {
    await server.stop();
    subs.server.closeAllConnections();
    await new Promise((resolve) => subs.server.close(resolve));
  }
}

// plan is the gateway's query plan for the query, for a reader comparing fetches (not asserted by tests).
function plan(supergraph, planner, query) {
  try {
    const op = operationFromDocument(supergraph.apiSchema(), parse(query), { validate: true });
    return prettyFormatQueryPlan(planner.buildQueryPlan(op)) + '\n';
  } catch (err) {
    return `no plan: ${err.message}\n`;
  }
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node golden.mjs <case-dir>...');
  process.exit(2);
}
for (const dir of dirs) await golden(dir);
