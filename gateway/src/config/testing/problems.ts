import { ConfigError } from '../load.js';

/** The problems a config refusal names; throws when `fn` accepts the config. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
