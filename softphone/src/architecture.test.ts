// The import rules of softphone/README.md ("What lives where"), checked on the
// source: SIP.js stays inside the core, components and views never reach the
// core, and the UI uses the core's public types rather than rebuilding them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = dirname(fileURLToPath(import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.(ts|vue)$/.test(name) && !/\.test\.ts$/.test(name) ? [path] : [];
  });
}

const all = files(src).map((path) => ({
  path: relative(src, path),
  text: readFileSync(path, 'utf8'),
}));
const ui = all.filter((f) => /^(stores|components|views)\//.test(f.path));

/** Names imported from the core (`../phone`) by a file. */
function coreImports(text: string): string[] {
  return [...text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(?:\.\.\/)+phone'/g)]
    .flatMap((m) => (m[1] ?? '').split(','))
    .map(
      (n) =>
        n
          .replace(/^\s*type\s+/, '')
          .split(/\s+as\s+/)[0]
          ?.trim() ?? '',
    )
    .filter(Boolean);
}

describe('architecture', () => {
  it('imports sip.js only inside src/phone', () => {
    const offenders = all
      .filter((f) => !f.path.startsWith('phone/') && /from\s+'sip\.js/.test(f.text))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('keeps components and views away from the core', () => {
    const offenders = all
      .filter((f) => /^(components|views)\//.test(f.path))
      .filter((f) => /from\s+'(\.\.\/)+phone/.test(f.text))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('uses the core’s exported types instead of rebuilding them from others', () => {
    expect(ui.length).toBeGreaterThan(10);
    const rebuilt = ui.flatMap((f) =>
      coreImports(f.text)
        // Name['field'] or Name[number]; Name[] (arrays) and Name[K] (generics) are fine.
        .filter((name) => new RegExp(`\\b${name}\\[(?:'|"|number\\])`).test(f.text))
        .map((name) => `${f.path}: ${name}[…]`),
    );
    expect(rebuilt).toEqual([]);
  });

  it('has no import cycles between the stores', () => {
    const stores = all.filter((f) => /^stores\/[^/]+\.ts$/.test(f.path));
    const name = (path: string) => path.replace(/^stores\//, '').replace(/\.ts$/, '');
    const edges = new Map<string, string[]>(
      stores.map((f) => [
        name(f.path),
        // Static imports of sibling stores, types included (a dynamic import() is lazy, not a cycle).
        [...f.text.matchAll(/^import\s[^;]*?from\s+'\.\/([\w-]+)'/gm)].map((m) => m[1] ?? ''),
      ]),
    );
    expect(edges.get('account')).toBeDefined();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]): void => {
      if (path.includes(node)) {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' → '));
        return;
      }
      for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    };
    for (const node of edges.keys()) visit(node, []);
    expect([...new Set(cycles)]).toEqual([]);
  });
});
