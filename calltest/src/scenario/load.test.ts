import { describe, expect, it } from 'vitest';
import { builtinNames, ConfigError, expand, loadRefs, parseScenario } from './load.js';

const good = `name: x
legs:
  - id: caller
    role: uac
    to: '1002'
`;

describe('scenario YAML', () => {
  it('fills defaults', () => {
    const s = parseScenario(good, 'x.yaml');
    expect(s.legs[0]).toMatchObject({
      engine: 'sipp',
      action: 'call',
      hold_ms: 3000,
      codecs: ['PCMU'],
    });
    expect(s.timeout_s).toBe(30);
  });

  it('names the line and column of a misspelt key', () => {
    const text = good + '    hold_msec: 2000\n';
    expect(() => parseScenario(text, 'x.yaml')).toThrow(ConfigError);
    expect(() => parseScenario(text, 'x.yaml')).toThrow(
      /x\.yaml: line 6, column 5: legs\.0: Unrecognized key: "hold_msec"/,
    );
  });

  it('names the line of a bad value and of a YAML syntax error', () => {
    expect(() => parseScenario(good.replace('role: uac', 'role: client'), 'x.yaml')).toThrow(
      /line 4, column 11: legs\.0\.role/,
    );
    expect(() => parseScenario('name: x\nlegs: [\n', 'x.yaml')).toThrow(/x\.yaml: line \d+/);
  });

  it('checks cross references: expectations on unknown legs, calling legs without a destination', () => {
    expect(() => parseScenario(good + 'expect:\n  callee: { final: 200 }\n', 'x.yaml')).toThrow(
      /line 7, column 11: expect\.callee: no leg "callee"/,
    );
    expect(() => parseScenario(good.replace("    to: '1002'\n", ''), 'x.yaml')).toThrow(
      /needs "to"/,
    );
  });

  it('expands ${vars} and refuses unknown ones', () => {
    expect(expand('${a}-${b}', { a: 1, b: 'x' }, 'w')).toBe('1-x');
    expect(() => expand('${nope}', {}, 'w')).toThrow(/--var nope=/);
  });

  it('every builtin parses', () => {
    const names = builtinNames();
    expect(names).toEqual(
      expect.arrayContaining(['basic-call', 'options-ping', 'register', 'cancel']),
    );
    for (const n of names) expect(loadRefs(`builtin:${n}`)[0]!.scenario.name).toBe(n);
    expect(() => loadRefs('builtin:nope')).toThrow(/no builtin scenario "nope"/);
  });
});
