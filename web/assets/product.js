// Product page: translated title and description, media, attributes, and
// a colour × size selector that shows the chosen SKU's code and price.
import {
  ApiError, api, clearError, formatMoney, getLang, getToken, h, LANGS, param, productImage, refreshCartCount, renderHeader, showError, t, tint,
} from './app.js';
import './commerce.js';
import { translateDom } from './i18n-dom.js';

const $ = (id) => document.getElementById(id);
const state = { product: null, skus: [], colors: [], sizes: [], color: null, size: null };

/** Prices of a SKU with the one to show first: CNY when present, else the first listed. */
function orderedPrices(sku) {
  const prices = Array.isArray(sku?.prices) ? [...sku.prices] : [];
  const i = prices.findIndex((p) => p.currency === 'CNY');
  if (i > 0) prices.unshift(prices.splice(i, 1)[0]);
  return prices;
}

const sameOpt = (a, b) => (a ?? null) === (b ?? null);
const hasColors = () => state.colors.length > 0;
const hasSizes = () => state.sizes.length > 0;

function findSku(color, size) {
  return state.skus.find((s) => (!hasColors() || sameOpt(s.color, color)) && (!hasSizes() || sameOpt(s.size, size)));
}

function uniq(values) {
  return [...new Set(values.filter((v) => v !== null && v !== undefined && v !== ''))];
}

function swatchColor(name) {
  const css = String(name || '').toLowerCase().replace(/\s+/g, '');
  return css && globalThis.CSS?.supports?.('color', css) ? css : null;
}

function renderOptions() {
  const colorsEl = $('colors');
  const sizesEl = $('sizes');
  $('color-group').hidden = !hasColors();
  $('size-group').hidden = !hasSizes();

  colorsEl.replaceChildren(...state.colors.map((c) => {
    const available = state.skus.some((s) => sameOpt(s.color, c) && (!hasSizes() || sameOpt(s.size, state.size)));
    const selected = sameOpt(c, state.color);
    const sw = swatchColor(c);
    return h('button', {
      type: 'button', role: 'radio', class: `chip${selected ? ' is-selected' : ''}${available ? '' : ' is-unavailable'}`,
      testid: 'color-option', 'data-value': c, 'aria-checked': selected ? 'true' : 'false',
      onclick: () => choose({ color: c }),
    }, sw ? h('span', { class: 'swatch', style: `background:${sw}`, 'aria-hidden': 'true' }) : null, c);
  }));
  sizesEl.replaceChildren(...state.sizes.map((z) => {
    const available = state.skus.some((s) => sameOpt(s.size, z) && (!hasColors() || sameOpt(s.color, state.color)));
    const selected = sameOpt(z, state.size);
    return h('button', {
      type: 'button', role: 'radio', class: `chip${selected ? ' is-selected' : ''}${available ? '' : ' is-unavailable'}`,
      testid: 'size-option', 'data-value': z, 'aria-checked': selected ? 'true' : 'false',
      onclick: () => choose({ size: z }),
    }, z);
  }));
  $('color-value').textContent = state.color ?? '';
  $('size-value').textContent = state.size ?? '';
}

/** Picks a colour or size; if that combination does not exist, moves the other option to one that does. */
function choose({ color, size }) {
  if (color !== undefined) {
    state.color = color;
    if (!findSku(state.color, state.size)) {
      const alt = state.skus.find((s) => sameOpt(s.color, color));
      if (alt) state.size = alt.size ?? null;
    }
  }
  if (size !== undefined) {
    state.size = size;
    if (!findSku(state.color, state.size)) {
      const alt = state.skus.find((s) => sameOpt(s.size, size));
      if (alt) state.color = alt.color ?? null;
    }
  }
  renderSelection();
}

function renderSelection() {
  renderOptions();
  const sku = findSku(state.color, state.size);
  const note = $('sku-note');
  const prices = orderedPrices(sku);
  $('sku-code').textContent = sku ? sku.code : '—';
  $('sku-price').textContent = prices.length ? formatMoney(prices[0]) : sku ? t('no_price') : '';
  $('sku-other-prices').textContent = prices.slice(1).map(formatMoney).join(' · ');
  if (!state.skus.length) {
    note.hidden = true;
  } else if (!sku) {
    note.textContent = t('unavailable');
    note.hidden = false;
  } else {
    note.hidden = true;
  }
  $('add-to-cart').disabled = !sku;
  for (const row of document.querySelectorAll('[data-testid="sku-row"]')) {
    const on = sku && row.dataset.skuId === String(sku.id);
    row.classList.toggle('is-selected', Boolean(on));
    row.setAttribute('aria-selected', on ? 'true' : 'false');
    const pick = row.querySelector('.row-pick');
    if (pick) pick.textContent = on ? t('selected') : t('select');
  }
  if (sku) {
    const u = new URL(location.href);
    u.searchParams.set('sku', String(sku.id));
    history.replaceState(null, '', u.pathname + u.search);
  }
}

function renderMedia(p) {
  const media = (Array.isArray(p.media) ? p.media : []).filter((m) => typeof m === 'string' && m);
  const main = $('main-media');
  main.setAttribute('style', tint(p.id));
  const show = (i) => {
    main.replaceChildren(productImage(media[i], p.title, p.id, 'gallery-img'));
    for (const [j, b] of [...$('thumbs').children].entries()) b.classList.toggle('is-selected', i === j);
  };
  if (!media.length) {
    main.replaceChildren(productImage(null, p.title, p.id));
    $('thumbs').replaceChildren();
    return;
  }
  $('thumbs').replaceChildren(...(media.length > 1 ? media.map((m, i) =>
    h('button', { type: 'button', class: 'thumb', style: tint(p.id), 'aria-label': `${i + 1}`, onclick: () => show(i) }, productImage(m, p.title, p.id))) : []));
  show(0);
}

// Common attribute keys in Chinese; other keys are shown as they come.
const ATTR_ZH = {
  material: '材质', fabric: '面料', composition: '成分', season: '季节', fit: '版型', style: '风格', pattern: '图案',
  sleeve: '袖长', neckline: '领型', length: '长度', origin: '产地', care: '洗护', weight: '重量', gender: '适用人群',
  color: '颜色', colour: '颜色', size: '尺码', brand: '品牌', thickness: '厚度', occasion: '场合',
};

function humanKey(k) {
  if (getLang() === 'zh-CN' && ATTR_ZH[String(k).toLowerCase()]) return ATTR_ZH[String(k).toLowerCase()];
  const s = String(k).replace(/[_-]+/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function render(p, contentLanguage) {
  state.product = p;
  state.skus = Array.isArray(p.skus) ? p.skus : [];
  const opts = p.options || {};
  state.colors = uniq(Array.isArray(opts.colors) && opts.colors.length ? opts.colors : state.skus.map((s) => s.color));
  state.sizes = uniq(Array.isArray(opts.sizes) && opts.sizes.length ? opts.sizes : state.skus.map((s) => s.size));

  document.title = `${p.title} — souk`;
  $('title').textContent = p.title || `#${p.id}`;
  const brand = p.brand && typeof p.brand === 'object' ? p.brand.name : p.brand;
  $('brand').textContent = brand || '';
  $('brand').hidden = !brand;

  const shownLang = p.locale || contentLanguage;
  const note = $('lang-note');
  if (shownLang && shownLang.toLowerCase().split('-')[0] !== getLang().toLowerCase().split('-')[0]) {
    const label = LANGS.find((l) => l.tag.toLowerCase() === shownLang.toLowerCase())?.label || shownLang;
    note.textContent = t('shown_in', label);
    note.hidden = false;
  } else {
    note.hidden = true;
  }

  const desc = $('description');
  desc.replaceChildren(...(p.description
    ? String(p.description).split(/\n{2,}/).map((para) => h('p', {}, para))
    : [h('p', { class: 'muted' }, t('no_description'))]));

  const attrs = p.attributes && typeof p.attributes === 'object' ? Object.entries(p.attributes) : [];
  $('attributes').replaceChildren(...(attrs.length
    ? attrs.map(([k, v]) => h('tr', { testid: 'attribute-row' }, h('th', { scope: 'row' }, humanKey(k)),
      h('td', {}, typeof v === 'string' ? v : JSON.stringify(v))))
    : [h('tr', {}, h('td', { class: 'muted', colspan: '2' }, t('no_attributes')))]));

  $('skus').replaceChildren(...state.skus.map((s) => {
    const row = h('tr', {
      testid: 'sku-row', 'data-sku-id': s.id, 'data-code': s.code, 'data-color': s.color ?? '', 'data-size': s.size ?? '',
      onclick: () => { state.color = s.color ?? null; state.size = s.size ?? null; renderSelection(); },
    },
    h('td', {}, h('code', {}, s.code)),
    h('td', {}, s.color ?? '—'),
    h('td', {}, s.size ?? '—'),
    h('td', { class: 'num' }, orderedPrices(s).map(formatMoney).join(' · ') || '—'),
    h('td', { class: 'row-action' }, h('span', { class: 'row-pick' }, t('select'))));
    return row;
  }));
  $('no-skus').hidden = state.skus.length > 0;
  $('sku-table-wrap')?.toggleAttribute('hidden', !state.skus.length);

  renderMedia(p);

  const wanted = state.skus.find((s) => String(s.id) === param('sku')) || state.skus[0];
  state.color = wanted ? wanted.color ?? null : state.colors[0] ?? null;
  state.size = wanted ? wanted.size ?? null : state.sizes[0] ?? null;
  renderSelection();

  $('loading').hidden = true;
  $('product').hidden = false;
}

async function load() {
  const id = param('id');
  const errorSlot = $('error');
  if (!id || !/^\d+$/.test(id)) {
    $('loading').hidden = true;
    showError(errorSlot, new ApiError(400, 'missing_id', t('missing_id')));
    return;
  }
  try {
    const { data, headers } = await api(`/api/v1/products/${id}`);
    errorSlot.hidden = true;
    render(data, headers.get('Content-Language'));
  } catch (e) {
    $('loading').hidden = true;
    $('product').hidden = true;
    showError(errorSlot, e, e.status >= 500 || e.status === 0 ? { onRetry: () => { $('loading').hidden = false; load(); } } : {});
  }
}

/** Adds the chosen SKU to the buyer's cart (signing in first if needed). */
async function addToCart(ev) {
  ev.preventDefault();
  const sku = findSku(state.color, state.size);
  if (!sku) return;
  if (!getToken()) {
    location.assign(`/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`);
    return;
  }
  const button = $('add-to-cart');
  const add = Math.max(1, Math.min(99, Math.trunc(Number($('add-qty').value)) || 1));
  button.disabled = true;
  button.textContent = t('adding');
  clearError($('add-error'));
  $('added').hidden = true;
  try {
    // The cart sets a line's quantity: add to what is already there.
    const { data: cart } = await api('/api/v1/cart');
    const have = cart.lines.find((l) => l.sku_id === sku.id)?.qty || 0;
    const { data } = await api(`/api/v1/cart/lines/${sku.id}`, { method: 'PUT', body: { qty: have + add } });
    refreshCartCount(data);
    $('added').replaceChildren(t('added_to_cart', add), ' ', h('a', { href: '/cart.html', testid: 'view-cart' }, t('view_cart')));
    $('added').hidden = false;
  } catch (e) {
    showError($('add-error'), e);
  } finally {
    button.disabled = false;
    button.textContent = t('add_to_cart');
  }
}

translateDom();
renderHeader();
$('add-form').addEventListener('submit', addToCart);
document.addEventListener('souk:signed-out', () => renderHeader());
load();
