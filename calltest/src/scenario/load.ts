import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { scenarioSchema, suiteSchema, type Scenario } from './schema.js';

/** A problem with the user's input or set-up (exit code 2), never a failed call. */
export class ConfigError extends Error {}

export const BUILTIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'builtin');

export interface LoadedScenario {
  scenario: Scenario;
  /** Where it came from (file path or builtin:NAME). */
  source: string;
  /** Folder relative paths in it (xml:) resolve against. */
  dir: string;
}

export function builtinNames(): string[] {
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
}

function fileFor(ref: string, baseDir = process.cwd()): { file: string; source: string } {
  if (ref.startsWith('builtin:')) {
    const name = ref.slice('builtin:'.length);
    const file = join(BUILTIN_DIR, `${name}.yaml`);
    if (!existsSync(file))
      throw new ConfigError(`no builtin scenario "${name}" (calltest list shows them)`);
    return { file, source: ref };
  }
  const file = resolve(baseDir, ref);
  if (!existsSync(file)) throw new ConfigError(`${ref}: no such file`);
  return { file, source: file };
}

/** Line:column of a zod issue's path in the YAML document (the offending key when a key is unknown). */
function where(doc: Document, lc: LineCounter, issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  let node = doc.getIn(path, true) as Node | undefined;
  // walk up to the nearest node that exists (a missing key reports its parent)
  for (let n = path.length; !node?.range && n > 0; n--)
    node = doc.getIn(path.slice(0, n - 1), true) as Node | undefined;
  if (issue.code === 'unrecognized_keys' && isMap(node)) {
    const pair = node.items.find(
      (it) => isScalar(it.key) && issue.keys.includes(String(it.key.value)),
    );
    if (pair && isScalar(pair.key) && pair.key.range) node = pair.key;
  }
  const offset = node?.range?.[0] ?? 0;
  const pos = lc.linePos(offset);
  return `line ${pos.line}, column ${pos.col}`;
}

function parseYaml<T extends z.ZodType>(text: string, file: string, schema: T): z.infer<T> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    throw new ConfigError(
      `${file}: line ${pos.line}, column ${pos.col}: ${e.message.split('\n')[0]}`,
    );
  }
  const r = schema.safeParse(doc.toJS());
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const path = i.path.join('.') || '(top)';
      return `${file}: ${where(doc, lc, i)}: ${path}: ${i.message}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  return r.data;
}

export function parseScenario(text: string, file: string): Scenario {
  return parseYaml(text, file, scenarioSchema);
}

/** One scenario, or every scenario of a suite file. */
export function loadRefs(ref: string): LoadedScenario[] {
  const { file, source } = fileFor(ref);
  const text = readFileSync(file, 'utf8');
  if (/^suite:/m.test(text)) {
    const suite = parseYaml(text, file, suiteSchema);
    return suite.scenarios.flatMap((r) =>
      loadRefs(r.startsWith('builtin:') ? r : resolve(dirname(file), r)).map((l) => ({
        ...l,
        scenario: { ...l.scenario, vars: { ...l.scenario.vars, ...suite.vars } },
      })),
    );
  }
  return [{ scenario: parseScenario(text, file), source, dir: dirname(file) }];
}

/** `${name}` expanded from vars; an unknown name is a configuration error. */
export function expand(s: string, vars: Record<string, string | number>, what: string): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined)
      throw new ConfigError(`${what}: \${${name}} is not defined (give --var ${name}=...)`);
    return String(v);
  });
}
