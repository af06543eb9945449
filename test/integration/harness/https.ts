// Requests to the gateway's HTTPS server from the tests: its certificate is
// self-signed (the test trusts it blindly), bodies are read whole, and a
// server that never answers fails the request instead of hanging the test.
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';

export interface HttpsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as bytes (recordings), and as text. */
  body: Buffer;
  text: string;
}

export interface HttpsRequestOptions {
  method?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as JSON. */
  json?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Another address than 127.0.0.1 (the cluster test's edges). */
  host?: string;
}

/** One request to https://127.0.0.1:<port><path>. */
export function httpsRequest(
  port: number,
  path: string,
  opts: HttpsRequestOptions = {},
): Promise<HttpsAnswer> {
  const method = opts.method ?? 'GET';
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: opts.host ?? '127.0.0.1',
        port,
        path,
        method,
        headers: {
          ...(opts.token && { authorization: `Bearer ${opts.token}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        rejectUnauthorized: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: all,
            text: all.toString(),
          });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The body as a JSON object, or `{ text }` when it is not JSON. */
export function jsonOf(a: HttpsAnswer): Record<string, unknown> {
  try {
    return JSON.parse(a.text) as Record<string, unknown>;
  } catch {
    return { text: a.text };
  }
}
