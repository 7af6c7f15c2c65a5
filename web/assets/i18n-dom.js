// Applies UI strings to static markup: data-i18n sets text, data-i18n-placeholder the placeholder.
import { t } from './app.js';

export function translateDom(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}
