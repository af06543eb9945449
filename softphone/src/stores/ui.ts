// Which view is shown (a tiny router synced with location.hash), the language,
// and what the aria-live region announces.
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { i18n, isLanguage, preferredLanguage, setLanguage, type Language } from '../i18n';
import { loadSettings, saveSettings } from '../storage/settings';

export const VIEWS = [
  'agent',
  'supervisor',
  'phone',
  'history',
  'contacts',
  'diagnostics',
  'precall',
  'settings',
] as const;
export type ViewName = (typeof VIEWS)[number];

export function viewFromHash(hash: string): ViewName | undefined {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return (VIEWS as readonly string[]).includes(name ?? '') ? (name as ViewName) : undefined;
}

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export const useUiStore = defineStore('ui', () => {
  const view = ref<ViewName>(viewFromHash(globalThis.location?.hash ?? '') ?? 'phone');
  const language = ref<Language>('en');
  /** Text for the polite live region; `seq` changes even when the text repeats. */
  const announcement = ref('');
  const announcementSeq = ref(0);
  const toasts = ref<Toast[]>([]);
  /** What is typed in the dial input (history and contacts fill it too). */
  const dialDraft = ref('');
  /** Contact whose chat is open in the contacts view. */
  const chatPeer = ref<string | undefined>();
  let toastSeq = 0;

  function go(next: ViewName): void {
    view.value = next;
  }

  function announce(text: string): void {
    announcement.value = text;
    announcementSeq.value++;
  }

  function toast(text: string, kind: Toast['kind'] = 'error', ttlMs = 6000): void {
    const id = ++toastSeq;
    toasts.value.push({ id, kind, text });
    if (ttlMs > 0) setTimeout(() => dismiss(id), ttlMs);
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }

  async function changeLanguage(lang: Language): Promise<void> {
    await setLanguage(lang);
    language.value = lang;
    const s = loadSettings();
    s.language = lang;
    saveSettings(s);
  }

  /** Language from settings or the browser; hash routing. Call once at start. */
  async function init(): Promise<void> {
    const saved = loadSettings().language;
    await setLanguage(isLanguage(saved) ? saved : preferredLanguage()).catch(() => undefined);
    language.value = i18n.global.locale.value;
    const onHash = () => {
      const v = viewFromHash(location.hash);
      if (v) view.value = v;
    };
    window.addEventListener('hashchange', onHash);
    watch(view, (v) => {
      const wanted = `#/${v}`;
      if (location.hash !== wanted) history.pushState(null, '', wanted);
    });
  }

  return {
    view,
    language,
    announcement,
    announcementSeq,
    toasts,
    dialDraft,
    chatPeer,
    go,
    announce,
    toast,
    dismiss,
    changeLanguage,
    init,
  };
});
