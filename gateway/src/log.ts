import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One pino logger for the service. Anything that might carry a secret is
 * redacted by path, so a careless `log.info({ cfg })` still leaks nothing.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { svc: 'gateway' },
    redact: {
      paths: [
        'password',
        '*.password',
        '*.*.password',
        'ha1',
        '*.ha1',
        'secret',
        '*.secret',
        'turn.secret',
        'trunks[*].auth.password',
        'users[*].password',
        'req.headers.authorization',
        'req.headers["proxy-authorization"]',
      ],
      censor: '[redacted]',
    },
  });
}
