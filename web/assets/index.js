// Storefront: search, category filter, product grid with cursor pagination.
import { api, clearError, formatMoney, getLang, h, productImage, renderHeader, showError, t, tint } from './app.js';
import { translateDom } from './i18n-dom.js';

const PAGE_SIZE = 20;

const els = {
  form: document.querySelector('[data-testid="search-form"]'),
  q: document.getElementById('q'),
  category: document.getElementById('category'),
  grid: document.getElementById('grid'),
  error: document.getElementById('error'),
  info: document.getElementById('result-info'),
  empty: document.getElementById('empty'),
  emptyTitle: document.getElementById('empty-title'),
  emptyHint: document.getElementById('empty-hint'),
  clear: document.getElementById('clear-filters'),
  more: document.getElementById('load-more'),
};

const state = { q: '', category: '', cursor: null, count: 0, seq: 0, controller: null };

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.q = (p.get('q') || '').trim();
  state.category = p.get('category') || '';
  els.q.value = state.q;
}

function writeUrl() {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  if (state.category) p.set('category', state.category);
  const qs = p.toString();
  history.replaceState(null, '', qs ? `/?${qs}` : '/');
}

async function loadCategories() {
  try {
    const { data } = await api('/api/v1/categories');
    const items = Array.isArray(data?.items) ? data.items : [];
    // Order by path so that children follow their parent; indent by depth.
    const key = (c) => (c.path || `/${c.id}/`).split('/').filter(Boolean).map((x) => x.padStart(10, '0')).join('/');
    items.sort((a, b) => key(a).localeCompare(key(b)));
    const opts = items.map((c) => {
      const depth = Math.max(0, (c.path || '').split('/').filter(Boolean).length - 1);
      return h('option', { value: String(c.id) }, `${'\u00a0\u00a0\u00a0'.repeat(depth)}${c.name}`);
    });
    els.category.replaceChildren(els.category.options[0], ...opts);
    els.category.value = state.category;
    if (els.category.value !== state.category) {
      state.category = '';
      els.category.value = '';
    }
  } catch (e) {
    showError(els.error, e, { onRetry: () => { clearError(els.error); loadCategories(); } });
  }
}

function priceLabel(price) {
  if (!price) return h('span', { class: 'price muted' }, t('no_price'));
  const amount = h('span', { class: 'price-amount' }, formatMoney(price));
  return getLang() === 'zh-CN'
    ? h('span', { class: 'price' }, amount, h('span', { class: 'price-from' }, ` ${t('price_from')}`))
    : h('span', { class: 'price' }, h('span', { class: 'price-from' }, `${t('price_from')} `), amount);
}

function card(p) {
  return h('a', { class: 'card', href: `/product.html?id=${encodeURIComponent(p.id)}`, testid: 'product-card', 'data-product-id': p.id },
    h('div', { class: 'card-media', style: tint(p.id) }, productImage(p.image, p.title, p.id)),
    h('div', { class: 'card-body' },
      p.brand ? h('div', { class: 'card-brand' }, p.brand) : null,
      h('h3', { class: 'card-title', testid: 'card-title' }, p.title),
      h('div', { class: 'card-price', testid: 'card-price' }, priceLabel(p.price_from))));
}

function skeletons(n) {
  return Array.from({ length: n }, () => h('div', { class: 'card skeleton', 'aria-hidden': 'true' },
    h('div', { class: 'card-media' }), h('div', { class: 'card-body' }, h('div', { class: 'line' }), h('div', { class: 'line short' }))));
}

function updateInfo() {
  els.info.textContent = state.count ? t('showing_n', state.count, Boolean(state.cursor)) : '';
}

async function fetchPage({ append }) {
  const seq = ++state.seq;
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;

  const p = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.q) p.set('q', state.q);
  if (state.category) p.set('category', state.category);
  if (append && state.cursor) p.set('cursor', state.cursor);

  clearError(els.error);
  els.grid.setAttribute('aria-busy', 'true');
  if (!append) {
    els.empty.hidden = true;
    els.more.hidden = true;
    els.grid.replaceChildren(...skeletons(8));
    els.info.textContent = t('loading');
  } else {
    els.more.disabled = true;
    els.more.textContent = t('loading');
  }
  try {
    const { data } = await api(`/api/v1/products?${p}`, { signal: controller.signal });
    if (seq !== state.seq) return; // a newer search replaced this one
    const items = Array.isArray(data?.items) ? data.items : [];
    const cards = items.map(card);
    if (append) els.grid.append(...cards);
    else els.grid.replaceChildren(...cards);
    state.count = (append ? state.count : 0) + items.length;
    state.cursor = data?.next_cursor || null;
    els.more.hidden = !state.cursor;
    if (state.count === 0) {
      const filtered = Boolean(state.q || state.category);
      els.emptyTitle.textContent = t('empty_title');
      els.emptyHint.textContent = filtered ? t('empty_hint') : t('empty_catalog');
      els.clear.hidden = !filtered;
      els.empty.hidden = false;
    }
    updateInfo();
  } catch (e) {
    if (e?.name === 'AbortError' || seq !== state.seq) return;
    if (!append) {
      els.grid.replaceChildren();
      state.count = 0;
    }
    els.info.textContent = '';
    showError(els.error, e, { onRetry: () => fetchPage({ append }) });
    els.more.hidden = !(append && state.cursor);
  } finally {
    if (seq === state.seq) {
      els.grid.setAttribute('aria-busy', 'false');
      els.more.disabled = false;
      els.more.textContent = t('load_more');
    }
  }
}

function search() {
  state.q = els.q.value.trim();
  state.category = els.category.value;
  state.cursor = null;
  writeUrl();
  return fetchPage({ append: false });
}

let debounce;
els.q.addEventListener('input', () => {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    if (els.q.value.trim() !== state.q) search();
  }, 300);
});
els.form.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(debounce);
  search();
});
els.category.addEventListener('change', () => search());
els.more.addEventListener('click', () => fetchPage({ append: true }));
els.clear.addEventListener('click', () => {
  els.q.value = '';
  els.category.value = '';
  search();
});

translateDom();
readUrl();
renderHeader();
document.addEventListener('souk:signed-out', () => renderHeader());
loadCategories();
fetchPage({ append: false });
