import { afterEach, describe, expect, it } from 'vitest';
import en from './en';
import supEn from './supervisor.en';
import supZh from './supervisor.zh-CN';
import blfEn from './blf.en';
import blfZh from './blf.zh-CN';
import { i18n, registerMessages, setLanguage } from './index';
import { flattenMessages, placeholders, type MessageTree } from '../testing/messages';

// The messages that travel with lazy chunks (Supervisor view, BLF): same keys
// and placeholders in English and Simplified Chinese, no clash with the main
// messages, and merged into a language whether it is loaded before or after.

afterEach(async () => {
  await setLanguage('en');
});

describe('lazily loaded messages', () => {
  for (const [name, a, b] of [
    ['supervisor', supEn, supZh],
    ['blf', blfEn, blfZh],
  ] as const) {
    it(`${name}: English and Simplified Chinese have the same keys and placeholders`, () => {
      const ea = flattenMessages(a as MessageTree);
      const zb = flattenMessages(b as MessageTree);
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
