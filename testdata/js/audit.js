// Runs graphql-http's GraphQL-over-HTTP server audit against the URL given as the first argument and prints
// the results as JSON, one object per audit: {id, name, status: "ok" | "warn" | "error", reason}.
// audit_test.go starts Conflux and runs this; it fails on any result that is not "ok".
'use strict';
const { auditServer } = require('graphql-http');

async function main() {
  const url = process.argv[2];
  if (!url) {
    throw new Error('usage: node audit.js <graphql url>');
  }
  const results = await auditServer({ url });
  const out = results.map((r) => ({ id: r.id, name: r.name, status: r.status, reason: r.reason }));
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
