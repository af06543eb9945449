import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type GatewayConfig } from './schema.js';
import { withDemoContactCenter } from './contactCenter.js';

/** Environment variables that override the file: GATEWAY_SIP__PORT=5070, GATEWAY_TRUNKS__0__AUTH__PASSWORD=… */
export const ENV_PREFIX = 'GATEWAY_';
/** The config file's path, e.g. GATEWAY_CONFIG=/etc/gateway.yaml. */
export const CONFIG_FILE_ENV = 'GATEWAY_CONFIG';

export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    readonly source: string,
  ) {
    super(`invalid gateway config (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Load the config: embedded defaults, then the YAML file (if any), then
 * GATEWAY_* environment overrides. Refuses a bad value with its path and the fix.
 */
export function loadConfig(
  options: { file?: string; env?: NodeJS.ProcessEnv } = {},
): GatewayConfig {
  const env = options.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const source = options.file ?? 'embedded defaults';
  if (options.file) {
    if (!existsSync(options.file)) {
      throw new ConfigError([`file not found: ${options.file}`], source);
    }
    try {
      raw = (parseYaml(readFileSync(options.file, 'utf8')) as Record<string, unknown>) ?? {};
    } catch (err) {
      throw new ConfigError([`not valid YAML: ${(err as Error).message}`], source);
    }
  }
  const fromEnv = applyEnvOverrides(raw, env);
  // An all-digit password arrives as a number; where the schema wants a string,
  // give it back the text it was.
  const first = configSchema.safeParse(raw);
  if (!first.success) {
    for (const issue of first.error.issues) {
      const original = fromEnv.get(issue.path.join('.'));
      if (issue.code === 'invalid_type' && issue.expected === 'string' && original !== undefined) {
        setPath(raw, issue.path, original);
      }
    }
  }
  return parseConfig(raw, source);
}

export function parseConfig(raw: unknown, source = 'inline'): GatewayConfig {
  const result = configSchema.safeParse(withDemoContactCenter(raw));
  if (!result.success) {
    throw new ConfigError(result.error.issues.map(describeIssue), source);
  }
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.') || '(root)';
  const envName = ENV_PREFIX + issue.path.map((p) => String(p).toUpperCase()).join('__');
  let fix: string;
  switch (issue.code) {
    case 'invalid_type':
      fix = `expected ${issue.expected}`;
      break;
    case 'unrecognized_keys':
      fix = `remove ${issue.keys.join(', ')} (not a known setting; check the spelling)`;
      break;
    case 'invalid_value':
      fix = `use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    default:
      fix = issue.message;
  }
  return `${path}: ${issue.message === fix ? fix : `${issue.message}; ${fix}`} (file key "${path}" or env ${envName})`;
}

/**
 * GATEWAY_A__B__0__C=value sets raw.a.b[0].c. Keys are lower-cased and
 * SNAKE_CASE becomes camelCase, so GATEWAY_SIP__WS_PORT sets sip.wsPort.
 * Values parse as JSON when they can (numbers, booleans, arrays), else stay strings.
 */
export function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Map<string, string> {
  const applied = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    // names the config file itself (main, users CLI), not a setting
    if (name === CONFIG_FILE_ENV) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((seg) => seg.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    const keys = path.map((key) => (/^\d+$/.test(key) ? Number(key) : key));
    setPath(raw, keys, parseEnvValue(value));
    applied.set(keys.join('.'), value);
  }
  return applied;
}

function setPath(raw: Record<string, unknown>, keys: PropertyKey[], value: unknown): void {
  let node = raw as Record<PropertyKey, unknown>;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) {
      node[key] = value;
      return;
    }
    if (typeof node[key] !== 'object' || node[key] === null) {
      node[key] = typeof keys[i + 1] === 'number' ? [] : {};
    }
    node = node[key] as Record<PropertyKey, unknown>;
  });
}

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
