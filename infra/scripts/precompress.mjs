// Writes .br and .gz next to every text asset of a built folder, so the gateway
// serves them pre-compressed (@fastify/static preCompressed) instead of
// compressing on every request. Build-time only; Node's zlib, no dependency.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const COMPRESSIBLE = new Set([
  '.js',
  '.css',
  '.html',
  '.svg',
  '.json',
  '.txt',
  '.map',
  '.webmanifest',
]);
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node infra/scripts/precompress.mjs <dir>');
  process.exit(2);
}

function walk(d) {
  for (const name of readdirSync(d)) {
    const file = join(d, name);
    if (statSync(file).isDirectory()) walk(file);
    else if (COMPRESSIBLE.has(extname(name))) {
      const data = readFileSync(file);
      writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
      writeFileSync(
        `${file}.br`,
        brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
      );
    }
  }
}
walk(dir);
