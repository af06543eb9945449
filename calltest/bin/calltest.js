#!/usr/bin/env node
// npm links this file at install time, before the TypeScript build exists;
// it runs the built CLI (calltest/dist), or says how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error(
    'calltest is not built yet: run "npx tsc -p calltest/tsconfig.json" (or npm start / npm test once)',
  );
  process.exit(2);
}
await import(cli);
