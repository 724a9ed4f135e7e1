import { createI18n } from 'vue-i18n';
import en from './locales/en.json';
import zhCN from './locales/zh-CN.json';

export const LOCALES = [
  { code: 'en', label: 'English' },
  { code: 'zh-CN', label: '简体中文' },
] as const;

export type Locale = (typeof LOCALES)[number]['code'];

const STORAGE = 'stablepay.locale';

const dateFormats = {
  short: { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' },
  long: { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' },
} as const;

/** The language to start in: `?lang=` in the URL, else the saved choice, else English. */
export function initialLocale(): Locale {
  const wanted = new URLSearchParams(globalThis.location?.search ?? '').get('lang') ?? safeGet(STORAGE) ?? 'en';
  return (LOCALES.find((l) => l.code === wanted)?.code ?? 'en') as Locale;
}

function safeGet(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

/** Keeps `code` for the next visit, and names it as the page's language (the API answers in it). */
export function saveLocale(code: string) {
  if (globalThis.document) document.documentElement.lang = code;
  try {
    localStorage.setItem(STORAGE, code);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}

export function createAppI18n(locale: Locale = 'en') {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: 'en',
    messages: { en, 'zh-CN': zhCN },
    datetimeFormats: { en: dateFormats, 'zh-CN': dateFormats },
  });
}
