// Loads one federation case: testdata/federation/<case>/subgraphs.mjs.
//
// A case module exports `subgraphs`, a list of {name, typeDefs, resolvers, down?}: typeDefs is the subgraph's
// Federation 2 SDL (a string with `extend schema @link(...)`), resolvers its graphql-tools style resolver map
// (with `__resolveReference` for entities). `down: true` marks a subgraph the supergraph sends to a closed port
// (the server still serves it, so its SDL can be checked). An optional `reset()` restores the case's mutable
// data; the server calls it on POST /_calls/reset so every query starts from the same data.
//
// Case modules import nothing from node_modules (they live outside testdata/js); a resolver that must fail
// throws a plain Error, with an `extensions` property when it wants error extensions.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';

// The host the committed supergraphs name in join__graph(url:): http://subgraphs.invalid/<name>. Tests replace
// it with the loopback address of the running subgraphs (and down subgraphs with DOWN_BASE).
export const URL_BASE = 'http://subgraphs.invalid';
// Where a down subgraph's url points: port 1 on loopback, which nothing listens on, so a gateway gets a
// connection refused with the same message every run.
export const DOWN_BASE = 'http://127.0.0.1:1';

export async function loadCase(caseDir) {
  const mod = await import(pathToFileURL(path.resolve(caseDir, 'subgraphs.mjs')).href);
  const subgraphs = mod.subgraphs.map((s) => ({
    name: s.name,
    down: Boolean(s.down),
    sdl: s.typeDefs,
    typeDefs: parse(s.typeDefs),
    resolvers: s.resolvers ?? {},
  }));
  const seen = new Set();
  for (const s of subgraphs) {
    if (!/^[a-z][a-z0-9_]*$/.test(s.name) || seen.has(s.name)) {
      throw new Error(`${caseDir}: bad or repeated subgraph name ${JSON.stringify(s.name)}`);
    }
    seen.add(s.name);
  }
  return { subgraphs, reset: mod.reset ?? (() => {}) };
}

// schemas builds each subgraph's executable schema.
export function schemas(c) {
  return new Map(c.subgraphs.map((s) => [s.name, buildSubgraphSchema([{ typeDefs: s.typeDefs, resolvers: s.resolvers }])]));
}
