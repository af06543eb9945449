import { afterEach, describe, expect, it } from 'vitest';
import en from './en';
import supEn from './supervisor.en';
import supZh from './supervisor.zh-CN';
import blfEn from './blf.en';
import blfZh from './blf.zh-CN';
import { i18n, registerMessages, setLanguage } from './index';

// The messages that travel with lazy chunks (Supervisor view, BLF): same keys
// and placeholders in English and Simplified Chinese, no clash with the main
// messages, and merged into a language whether it is loaded before or after.

type Tree = { [k: string]: string | Tree };
function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

afterEach(async () => {
  await setLanguage('en');
});

describe('lazily loaded messages', () => {
  for (const [name, a, b] of [
    ['supervisor', supEn, supZh],
    ['blf', blfEn, blfZh],
  ] as const) {
    it(`${name}: English and Simplified Chinese have the same keys and placeholders`, () => {
      const ea = flatten(a as Tree);
      const zb = flatten(b as Tree);
      expect([...zb.keys()].sort()).toEqual([...ea.keys()].sort());
      for (const [k, v] of ea) {
        expect(v.trim(), k).not.toBe('');
        expect(zb.get(k)?.trim(), k).not.toBe('');
        expect(placeholders(zb.get(k) ?? ''), k).toEqual(placeholders(v));
        expect(/[@|]/.test(v) || /[@|]/.test(zb.get(k) ?? ''), k).toBe(false);
      }
      // their top-level section is not in the main messages
      for (const top of Object.keys(a)) expect(Object.keys(en)).not.toContain(top);
    });
  }

  it('are merged into English at once and into Chinese when it loads', async () => {
    registerMessages({ en: supEn, 'zh-CN': supZh });
    registerMessages({ en: blfEn, 'zh-CN': blfZh });
    const t = i18n.global.t;
    expect(t('supervisor.title')).toBe('Supervisor');
    expect(t('blf.status.busy')).toBe('Busy');
    await setLanguage('zh-CN');
    expect(t('supervisor.title')).toBe('主管');
    expect(t('blf.status.ringing')).toBe('振铃中');
    // the main Chinese messages are there too (registering did not stand in for loading them)
    expect(t('phone.call')).toBe('呼叫');
  });
});
