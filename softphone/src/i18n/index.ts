// vue-i18n in composition mode. English is bundled; Simplified Chinese is a
// separate chunk loaded when chosen (or when the browser prefers it).
import { createI18n } from 'vue-i18n';
import en from './en';

export type MessageSchema = typeof en;
export type Language = 'en' | 'zh-CN';
export const LANGUAGES: readonly { code: Language; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '简体中文' },
];

export const i18n = createI18n<[MessageSchema], Language, false>({
  legacy: false,
  locale: 'en',
  fallbackLocale: 'en',
  messages: { en } as Record<Language, MessageSchema>,
  missingWarn: false,
  fallbackWarn: false,
});

const loaders: Record<Language, () => Promise<MessageSchema>> = {
  en: async () => en,
  'zh-CN': async () => (await import('./zh-CN')).default,
};

export function isLanguage(v: unknown): v is Language {
  return LANGUAGES.some((l) => l.code === v);
}

/** Picks a supported language from the browser's preferences. */
export function preferredLanguage(langs: readonly string[] = navigator.languages ?? []): Language {
  for (const l of langs) {
    if (/^zh(-(cn|hans|sg))?/i.test(l) && !/^zh-(tw|hk|mo|hant)/i.test(l)) return 'zh-CN';
    if (/^en/i.test(l)) return 'en';
  }
  return 'en';
}

/**
 * Messages of a lazily loaded view (e.g. the Supervisor view), kept out of the
 * first load: merged into each language now if it is loaded, else when it is.
 */
const extra: Partial<Record<Language, object>>[] = [];
export function registerMessages(byLanguage: Record<Language, object>): void {
  extra.push(byLanguage);
  for (const lang of i18n.global.availableLocales as Language[]) {
    const m = byLanguage[lang];
    if (m) i18n.global.mergeLocaleMessage(lang, m as MessageSchema);
  }
}

export async function setLanguage(lang: Language): Promise<void> {
  const g = i18n.global;
  if (!g.availableLocales.includes(lang)) {
    g.setLocaleMessage(lang, await loaders[lang]());
    for (const e of extra) if (e[lang]) g.mergeLocaleMessage(lang, e[lang] as MessageSchema);
  }
  g.locale.value = lang;
  document.documentElement.lang = lang;
}
