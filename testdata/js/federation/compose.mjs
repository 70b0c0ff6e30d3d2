// Composes one federation case's subgraphs into its supergraph with @apollo/composition.
//
//   node compose.mjs <case-dir> [url-base]
//
// Writes <case-dir>/supergraph.graphql. Each join__graph url is <url-base>/<subgraph name>, by default
// http://subgraphs.invalid/<name>: tests replace the host with the running subgraphs' (see case.mjs).
// Fails, printing composition's errors, when the subgraphs do not compose.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { composeServices } from '@apollo/composition';
import { loadCase, URL_BASE } from './case.mjs';

// compose returns the supergraph SDL of the case's subgraphs, each at `${urlBase}/${name}`.
export async function compose(caseDir, urlBase = URL_BASE) {
  const c = await loadCase(caseDir);
  const result = composeServices(c.subgraphs.map((s) => ({ name: s.name, typeDefs: s.typeDefs, url: `${urlBase}/${s.name}` })));
  if (result.errors) {
    throw new Error(`${caseDir}: composition failed:\n` + result.errors.map((e) => `  ${e.message}`).join('\n'));
  }
  return result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : result.supergraphSdl + '\n';
}

// writeSupergraph composes the case and writes <case-dir>/supergraph.graphql (with the default url base).
export async function writeSupergraph(caseDir) {
  const sdl = await compose(caseDir);
  fs.writeFileSync(path.join(caseDir, 'supergraph.graphql'), sdl);
  return sdl;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [caseDir, urlBase] = process.argv.slice(2);
  if (!caseDir) {
    console.error('usage: node compose.mjs <case-dir> [url-base]');
    process.exit(2);
  }
  try {
    if (urlBase) process.stdout.write(await compose(caseDir, urlBase));
    else await writeSupergraph(caseDir);
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
