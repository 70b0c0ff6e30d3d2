// reintrospect.js: does graphql-js re-introspect Conflux's introspection identically?
//
//   node reintrospect.js http://127.0.0.1:8080/graphql
//
// Fetches the full introspection (getIntrospectionQuery with every option graphql-js 16 has that the GraphQL spec
// also has: descriptions, specifiedByURL, isRepeatable, the schema description, deprecated input values, isOneOf),
// builds a client schema from it (buildClientSchema), introspects that schema again (introspectionFromSchema, same
// options) and compares the two answers deeply. Prints every difference as a JSON path and exits 1 when there is
// one, 2 when the answer could not be fetched or built; prints "identical" and exits 0 otherwise.
//
// Not compared: graphql-js's experimental directive deprecation (__Schema.directives(includeDeprecated:),
// __Directive.isDeprecated/deprecationReason), which is not in the GraphQL spec, so that option stays off; but
// buildClientSchema replaces the introspection types (__Schema, __Type, ...) with its own, so those two
// experimental additions are dropped from its side before comparing (see experimental below).
'use strict';

const {
  getIntrospectionQuery,
  buildClientSchema,
  introspectionFromSchema,
} = require('graphql');

const options = {
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
  experimentalDirectiveDeprecation: false, // introspectionFromSchema turns it on unless told
};

// experimental lists what graphql-js 16 adds to its introspection types beyond the GraphQL spec: removed from the
// re-introspected answer, and nothing else.
const experimental = {
  __Schema: { fields: { directives: { args: ['includeDeprecated'] } } },
  __Directive: { fields: ['isDeprecated', 'deprecationReason'] },
};

function dropExperimental(answer) {
  for (const type of answer.__schema.types) {
    const drop = experimental[type.name];
    if (!drop || !type.fields) continue;
    if (Array.isArray(drop.fields)) {
      type.fields = type.fields.filter((f) => !drop.fields.includes(f.name));
      continue;
    }
    for (const field of type.fields) {
      const args = drop.fields[field.name] && drop.fields[field.name].args;
      if (args) field.args = field.args.filter((a) => !args.includes(a.name));
    }
  }
  return answer;
}

// diff appends to out every path where a and b differ.
function diff(a, b, path, out) {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      out.push(`${path}: length ${a.length} != ${b.length}: ${JSON.stringify(names(a))} != ${JSON.stringify(names(b))}`);
      return;
    }
    a.forEach((x, i) => diff(x, b[i], `${path}[${label(x, i)}]`, out));
    return;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (!(k in a)) out.push(`${path}.${k}: missing from Conflux's answer`);
      else if (!(k in b)) out.push(`${path}.${k}: missing from the re-introspection`);
      else diff(a[k], b[k], `${path}.${k}`, out);
    }
    return;
  }
  if (a !== b) out.push(`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
}

function label(x, i) {
  return x && typeof x === 'object' && typeof x.name === 'string' ? x.name : String(i);
}

function names(list) {
  return list.map((x, i) => label(x, i));
}

async function main() {
  const url = process.argv[2];
  if (!url) {
    console.error('usage: node reintrospect.js <graphql endpoint URL>');
    process.exit(2);
  }
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: getIntrospectionQuery(options) }),
  });
  const body = await res.json();
  if (res.status !== 200 || body.errors || !body.data) {
    console.error(`introspection failed: status ${res.status}: ${JSON.stringify(body).slice(0, 2000)}`);
    process.exit(2);
  }
  const served = body.data;
  const again = dropExperimental(introspectionFromSchema(buildClientSchema(served), options));
  const out = [];
  diff(served, again, '', out);
  if (out.length > 0) {
    console.log(`${out.length} difference(s), Conflux's answer first:`);
    for (const line of out) console.log(line);
    process.exit(1);
  }
  console.log('identical');
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(2);
});
