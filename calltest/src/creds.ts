import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { ConfigError } from './scenario/load.js';

// Credentials CSV: user,password[,domain] per line, an optional header line
// (user,password,domain), '#' comments. Written out as sipp injection files
// (-inf): field0 user, field1 password, field2 domain.

export interface Cred {
  user: string;
  password: string;
  domain?: string;
}

export function parseCreds(text: string, file: string): Cred[] {
  let rows: string[][];
  try {
    rows = parse(text, {
      comment: '#',
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      delimiter: text.includes(';') && !text.includes(',') ? ';' : ',',
    }) as string[][];
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  if (rows[0] && /^user(name)?$/i.test(rows[0][0] ?? '')) rows = rows.slice(1);
  return rows.map((r, i) => {
    if (!r[0] || r.length < 2)
      throw new ConfigError(`${file}: row ${i + 1}: want user,password[,domain]`);
    return { user: r[0], password: r[1] ?? '', domain: r[2] || undefined };
  });
}

export function readCreds(file: string): Cred[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--creds ${file}: ${(err as Error).message}`);
  }
  return parseCreds(text, file);
}

/** sipp -inf text; ';' separates fields, so it may not appear in a value. */
export function injectionText(rows: Cred[], defaultDomain: string, order = 'SEQUENTIAL'): string {
  const lines = rows.map((c) => {
    const f = [c.user, c.password, c.domain ?? defaultDomain];
    if (f.some((v) => v.includes(';') || v.includes('\n')))
      throw new ConfigError(`credentials for ${c.user}: ';' cannot be passed to sipp`);
    return f.join(';');
  });
  return `${order}\n${lines.join('\n')}\n`;
}

export function writeInjection(file: string, rows: Cred[], defaultDomain: string): string {
  writeFileSync(file, injectionText(rows, defaultDomain));
  return file;
}
