// softphone/tsconfig.json is `composite` (the root tsconfig references it), so
// every file must be expressible as a declaration file: vue-tsc reports
// TS4094-style errors otherwise, even with noEmit. This runs the same check on
// the core (src/phone, its fakes included) with the TypeScript compiler API.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

describe('the core as declarations', () => {
  it('emits declarations for every file without errors', () => {
    const configPath = join(here, '..', '..', 'tsconfig.json');
    const parsed = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    if (!parsed) throw new Error('cannot read tsconfig.json');
    const files = parsed.fileNames.filter((f) => f.startsWith(here + '/') && f.endsWith('.ts'));
    expect(files.some((f) => f.endsWith('testing/fake-sip-server.ts'))).toBe(true);
    const program = ts.createProgram(files, {
      ...parsed.options,
      noEmit: false,
      composite: false,
      incremental: false,
      declaration: true,
      emitDeclarationOnly: true,
    });
    const diagnostics = [
      ...program.getSemanticDiagnostics(),
      ...program.getDeclarationDiagnostics(),
    ].map(
      (d) =>
        `${d.file ? d.file.fileName.slice(here.length + 1) : ''} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
    );
    expect(diagnostics).toEqual([]);
  }, 60_000);
});
