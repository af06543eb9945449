import { describe, expect, it } from 'vitest';
import en from './en';
import zhCN from './zh-CN';
import { i18n, preferredLanguage, setLanguage } from './index';
import { flattenMessages, placeholders, type MessageTree } from '../testing/messages';

describe('messages', () => {
  const enKeys = flattenMessages(en as MessageTree);
  const zhKeys = flattenMessages(zhCN as MessageTree);

  it('English and Simplified Chinese have exactly the same keys', () => {
    expect([...zhKeys.keys()].sort()).toEqual([...enKeys.keys()].sort());
  });

  it('every message is a non-empty string', () => {
    for (const [k, v] of [...enKeys, ...zhKeys]) expect(v.trim(), k).not.toBe('');
  });

  it('translations use the same placeholders as English', () => {
    for (const [k, v] of enKeys)
      expect(placeholders(zhKeys.get(k) ?? ''), k).toEqual(placeholders(v));
  });

  it('no message has a bare @ or | (vue-i18n linked/plural syntax)', () => {
    for (const [k, v] of [...enKeys, ...zhKeys]) {
      const bare = v.replace(/\{'[^']*'\}/g, '');
      expect(/[@|]/.test(bare), k).toBe(false);
    }
  });

  it('renders literals and switches language at run time', async () => {
    const t = i18n.global.t;
    await setLanguage('en');
    expect(t('phone.dialPlaceholder')).toBe('1002 or sip:alice@example.com');
    expect(t('nav.missed', { n: 3 })).toBe('3 missed');
    await setLanguage('zh-CN');
    expect(t('phone.call')).toBe('呼叫');
    expect(document.documentElement.lang).toBe('zh-CN');
    await setLanguage('en');
    expect(t('phone.call')).toBe('Call');
  });

  it('picks Simplified Chinese only for zh-CN-like browser languages', () => {
    expect(preferredLanguage(['zh-CN', 'en'])).toBe('zh-CN');
    expect(preferredLanguage(['zh-Hans-CN'])).toBe('zh-CN');
    expect(preferredLanguage(['zh-TW', 'en-US'])).toBe('en');
    expect(preferredLanguage(['fr'])).toBe('en');
  });
});
