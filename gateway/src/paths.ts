import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from gateway/src or gateway/dist alike. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
