// Shared code for the souk storefront pages: API calls, language, money,
// the page header and error display. Plain ES module, no build step.

// The storefront keeps its session under souk.token; the console pages call
// useTokenKey('souk.console.token') so that a console sign-in and a buyer
// sign-in in the same browser never replace each other.
let TOKEN_KEY = 'souk.token';
const LANG_KEY = 'souk.lang';
export const LANGS = [
  { tag: 'zh-CN', label: '中文' },
  { tag: 'en', label: 'English' },
];

// ---------------------------------------------------------------- language

export function getLang() {
  const stored = safeStorageGet(LANG_KEY);
  if (stored && LANGS.some((l) => l.tag === stored)) return stored;
  const nav = (navigator.language || '').toLowerCase();
  return nav.startsWith('zh') ? 'zh-CN' : 'en';
}

export function setLang(tag) {
  safeStorageSet(LANG_KEY, tag);
}

const STRINGS = {
  en: {
    brand_tagline: 'Marketplace',
    search_placeholder: 'Search products',
    search: 'Search',
    all_categories: 'All categories',
    load_more: 'Load more',
    loading: 'Loading…',
    price_from: 'from',
    no_price: 'Price on request',
    empty_title: 'No products found',
    empty_hint: 'Try another word or category.',
    empty_catalog: 'The catalogue is empty for now.',
    clear_filters: 'Clear filters',
    showing_n: (n, more) => `Showing ${n} product${n === 1 ? '' : 's'}${more ? ' — more available' : ''}`,
    sign_in: 'Sign in',
    sign_out: 'Sign out',
    language: 'Language',
    back_to_shop: 'Back to shop',
    colour: 'Colour',
    size: 'Size',
    sku: 'SKU',
    sku_code: 'SKU code',
    price: 'Price',
    prices: 'Prices',
    description: 'Description',
    details: 'Details',
    variants: 'Variants',
    brand: 'Brand',
    no_description: 'No description yet.',
    no_attributes: 'No details listed.',
    no_skus: 'This product has no variants for sale yet.',
    unavailable: 'This combination is not available.',
    choose_option: 'Choose a colour and size.',
    select: 'Select',
    selected: 'Selected',
    missing_id: 'No product was chosen. Go back to the shop and pick one.',
    shown_in: (shown) => `This product is not translated yet; shown in ${shown}.`,
    signin_title: 'Sign in with your phone',
    signin_lead: 'We will text you a 6-digit code. No password needed.',
    phone: 'Phone number',
    phone_hint: 'International form, e.g. +8613800138000 (mainland numbers may omit +86).',
    send_code: 'Send code',
    sending: 'Sending…',
    code: 'Verification code',
    code_sent: (phone, mins) => `Code sent to ${phone}. It is valid for ${mins} minutes.`,
    verify: 'Sign in',
    verifying: 'Signing in…',
    resend: 'Send a new code',
    resend_in: (s) => `Send a new code in ${s}s`,
    change_phone: 'Use another number',
    code_invalid_format: 'Enter the 6 digits from the text message.',
    phone_invalid_format: 'Enter a phone number such as +8613800138000.',
    signed_in_as: 'Signed in as',
    signed_in: 'Signed in. Taking you back…',
    network_error: 'Cannot reach the server. Check your connection and try again.',
    server_error: 'The server could not handle this request.',
    retry: 'Retry',
    error_prefix: 'Error',
    not_found_title: 'This page does not exist',
    not_found_hint: 'The link may be old or mistyped.',
    console_link: 'Staff console',
    cart: 'Cart',
    my_orders: 'My orders',
  },
  'zh-CN': {
    brand_tagline: '商城',
    search_placeholder: '搜索商品',
    search: '搜索',
    all_categories: '全部分类',
    load_more: '加载更多',
    loading: '加载中…',
    price_from: '起',
    no_price: '价格待定',
    empty_title: '没有找到商品',
    empty_hint: '换个关键词或分类试试。',
    empty_catalog: '目前还没有商品。',
    clear_filters: '清除筛选',
    showing_n: (n, more) => `已显示 ${n} 件商品${more ? '，还有更多' : ''}`,
    sign_in: '登录',
    sign_out: '退出',
    language: '语言',
    back_to_shop: '返回商城',
    colour: '颜色',
    size: '尺码',
    sku: 'SKU',
    sku_code: 'SKU 编码',
    price: '价格',
    prices: '价格',
    description: '商品描述',
    details: '商品参数',
    variants: '规格',
    brand: '品牌',
    no_description: '暂无描述。',
    no_attributes: '暂无参数。',
    no_skus: '该商品暂无在售规格。',
    unavailable: '该组合暂无货品。',
    choose_option: '请选择颜色和尺码。',
    select: '选择',
    selected: '已选',
    missing_id: '未指定商品，请返回商城选择。',
    shown_in: (shown) => `该商品暂无中文版本，以下为 ${shown} 内容。`,
    signin_title: '手机号登录',
    signin_lead: '我们会发送 6 位验证码到你的手机，无需密码。',
    phone: '手机号',
    phone_hint: '国际格式，如 +8613800138000（中国大陆号码可省略 +86）。',
    send_code: '获取验证码',
    sending: '发送中…',
    code: '验证码',
    code_sent: (phone, mins) => `验证码已发送至 ${phone}，${mins} 分钟内有效。`,
    verify: '登录',
    verifying: '登录中…',
    resend: '重新发送',
    resend_in: (s) => `${s} 秒后可重新发送`,
    change_phone: '更换手机号',
    code_invalid_format: '请输入短信中的 6 位数字。',
    phone_invalid_format: '请输入手机号，如 +8613800138000。',
    signed_in_as: '已登录',
    signed_in: '登录成功，正在返回…',
    network_error: '无法连接服务器，请检查网络后重试。',
    server_error: '服务器无法处理该请求。',
    retry: '重试',
    error_prefix: '错误',
    not_found_title: '页面不存在',
    not_found_hint: '链接可能已过期或有误。',
    console_link: '员工后台',
    cart: '购物车',
    my_orders: '我的订单',
  },
};

/** Adds UI strings (e.g. the console's): `{en: {...}, 'zh-CN': {...}}`. */
export function extendStrings(extra) {
  for (const [lang, table] of Object.entries(extra)) STRINGS[lang] = { ...(STRINGS[lang] || {}), ...table };
}

/** A UI string in the chosen language; functions get `args`. */
export function t(key, ...args) {
  const table = STRINGS[getLang()] || STRINGS.en;
  const v = key in table ? table[key] : STRINGS.en[key];
  if (typeof v === 'function') return v(...args);
  return v ?? key;
}

// ------------------------------------------------------------------- token

/** Chooses the localStorage key the session token lives under (call before any api()). */
export function useTokenKey(key) {
  TOKEN_KEY = key;
}

export function getToken() {
  return safeStorageGet(TOKEN_KEY);
}
export function setToken(token) {
  if (token) safeStorageSet(TOKEN_KEY, token);
  else safeStorageRemove(TOKEN_KEY);
}

function safeStorageGet(k) {
  try { return localStorage.getItem(k); } catch { return null; }
}
function safeStorageSet(k, v) {
  try { localStorage.setItem(k, v); } catch { /* private mode: keep going */ }
}
function safeStorageRemove(k) {
  try { localStorage.removeItem(k); } catch { /* ignore */ }
}

// --------------------------------------------------------------------- API

/** An error answer from the API (`{code, message}`), or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function newIdempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; plain-http hosts other than
  // localhost lack it, so build a v4 UUID from getRandomValues instead.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Calls the API. Adds Accept-Language, the bearer token if signed in, and an
 * Idempotency-Key on mutating methods (a fresh one unless `idempotencyKey`
 * is given: see retryKey). Resolves to `{data, status, headers}`;
 * rejects with ApiError on a 4xx/5xx or when the server cannot be reached.
 */
export async function api(path, { method = 'GET', body, signal, idempotencyKey } = {}) {
  const headers = { Accept: 'application/json', 'Accept-Language': getLang() };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) headers['Idempotency-Key'] = idempotencyKey || newIdempotencyKey();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', t('network_error'));
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const code = data && typeof data.code === 'string' ? data.code : `http_${res.status}`;
    const message = data && typeof data.message === 'string' && data.message
      ? data.message
      : res.status >= 500 ? t('server_error') : `HTTP ${res.status}`;
    if (res.status === 401 && token && path !== '/api/v1/auth/otp/verify' && path !== '/api/v1/auth/password') {
      // The token is no longer accepted: forget it so the header offers sign-in.
      setToken(null);
    }
    throw new ApiError(res.status, code, message);
  }
  return { data, status: res.status, headers: res.headers };
}

/**
 * One Idempotency-Key per intent (placing an order, ringing up a sale): a
 * retry of the same request after no answer (network) or a 5xx sends the
 * same key again, so it cannot make a second order. Any other answer, or a
 * changed request, starts a new intent with a new key.
 */
export function retryKey() {
  let key = null;
  let sig = '';
  return {
    get(body) {
      const s = JSON.stringify(body ?? null);
      if (s !== sig) { key = null; sig = s; }
      key = key || newIdempotencyKey();
      return key;
    },
    settle(err) { if (!err || !(err.status === 0 || err.status >= 500)) key = null; },
  };
}

// ------------------------------------------------------------------- money

const ZERO_DECIMAL = new Set(['JPY', 'KRW']);
const SYMBOLS = { CNY: '¥', USD: '$', EUR: '€', GBP: '£', HKD: 'HK$', JPY: 'JP¥', KRW: '₩', SGD: 'S$' };

/** `{amount_minor: 12900, currency: 'CNY'}` → "¥129.00". Integer maths only. */
export function formatMoney(m) {
  if (!m || typeof m.amount_minor !== 'number') return '';
  const currency = String(m.currency || '').toUpperCase();
  const exp = ZERO_DECIMAL.has(currency) ? 0 : 2;
  const neg = m.amount_minor < 0;
  const abs = String(Math.abs(Math.trunc(m.amount_minor)));
  let major = abs;
  let minor = '';
  if (exp > 0) {
    const padded = abs.padStart(exp + 1, '0');
    major = padded.slice(0, -exp);
    minor = padded.slice(-exp);
  }
  major = major.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const symbol = SYMBOLS[currency] ?? `${currency} `;
  return `${neg ? '-' : ''}${symbol}${major}${minor ? `.${minor}` : ''}`;
}

// --------------------------------------------------------------------- DOM

/** Tiny element builder: h('a', {href, class, dataset: {testid}}, ...children). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'testid') el.dataset.testid = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Shows an API error (or any error) in `container` as an alert box. */
export function showError(container, err, { onRetry } = {}) {
  const code = err && err.code ? err.code : 'error';
  const message = err && err.message ? err.message : String(err);
  const status = err && err.status ? err.status : null;
  const box = h('div', { class: 'alert alert-error', role: 'alert', testid: 'error', 'data-code': code, 'data-status': status },
    h('strong', {}, `${t('error_prefix')}: `),
    h('span', { testid: 'error-message' }, message),
    h('code', { class: 'alert-code', testid: 'error-code' }, status ? `${status} ${code}` : code),
    onRetry ? h('button', { type: 'button', class: 'btn btn-small', onclick: onRetry }, t('retry')) : null,
  );
  container.replaceChildren(box);
  container.hidden = false;
  return box;
}

export function clearError(container) {
  container.replaceChildren();
  container.hidden = true;
}

/** "+8613800138000" → "+86 138****8000" for display in the header. */
export function maskPhone(phone) {
  if (!phone) return '';
  const m = /^\+86(1\d{2})\d{4}(\d{4})$/.exec(phone);
  if (m) return `+86 ${m[1]}****${m[2]}`;
  if (phone.length > 7) return `${phone.slice(0, 4)}****${phone.slice(-4)}`;
  return phone;
}

// ------------------------------------------------------------------ header

/**
 * Fills <header id="site-header">: logo, language switch, sign-in link or
 * the signed-in phone with a sign-out button. Resolves to the account from
 * /api/v1/me, or null when signed out.
 */
export async function renderHeader() {
  document.documentElement.lang = getLang();
  const header = document.getElementById('site-header');
  if (!header) return null;

  const langSelect = h('select', { class: 'lang-switch', testid: 'lang-switch', 'aria-label': t('language') },
    LANGS.map((l) => h('option', { value: l.tag, selected: l.tag === getLang() }, l.label)));
  langSelect.addEventListener('change', () => {
    setLang(langSelect.value);
    // Everything on the page (titles, categories, strings) is in the old
    // language: reload to fetch it again in the new one.
    location.reload();
  });

  const account = h('div', { class: 'account', testid: 'account' });
  const cartLink = h('a', { class: 'cart-link', href: '/cart.html', testid: 'cart-link', title: t('cart'), 'aria-label': t('cart') },
    cartIcon(),
    h('span', { class: 'cart-label' }, t('cart')),
    h('span', { class: 'cart-count', testid: 'cart-count', hidden: true }, '0'));
  const inner = h('div', { class: 'container header-inner' },
    h('a', { class: 'logo', href: '/', testid: 'home-link' },
      h('span', { class: 'logo-mark', 'aria-hidden': 'true' }, 'S'),
      h('span', { class: 'logo-text' }, 'souk'),
      h('span', { class: 'logo-tag' }, t('brand_tagline'))),
    h('nav', { class: 'header-actions' }, langSelect, cartLink, account));
  header.replaceChildren(inner);

  const signInLink = () => {
    const here = location.pathname + location.search;
    const next = location.pathname === '/signin.html' ? '' : `?next=${encodeURIComponent(here)}`;
    return h('a', { class: 'btn btn-outline', href: `/signin.html${next}`, testid: 'signin-link' }, t('sign_in'));
  };

  if (!getToken()) {
    account.replaceChildren(signInLink());
    return null;
  }
  try {
    const { data: me } = await api('/api/v1/me');
    const signOut = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'signout' }, t('sign_out'));
    signOut.addEventListener('click', async () => {
      signOut.disabled = true;
      try { await api('/api/v1/auth/logout', { method: 'POST' }); } catch { /* signed out locally anyway */ }
      setToken(null);
      account.replaceChildren(signInLink());
      refreshCartCount();
      document.dispatchEvent(new CustomEvent('souk:signed-out'));
    });
    account.replaceChildren(
      h('a', { class: 'orders-link', href: '/orders.html', testid: 'orders-link', title: t('my_orders'), 'aria-label': t('my_orders') },
        h('span', { class: 'orders-icon', 'aria-hidden': 'true' }, '▤'), h('span', { class: 'orders-label' }, t('my_orders'))),
      h('span', { class: 'account-who', title: [me.display_name, me.phone].filter(Boolean).join(' · ') },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, '☺'),
        h('span', { class: 'sr-only' }, `${t('signed_in_as')} `),
        h('span', { testid: 'account-phone', 'data-phone': me.phone || '' }, maskPhone(me.phone) || me.display_name || `#${me.id}`)),
      signOut);
    refreshCartCount();
    return me;
  } catch (e) {
    // 401 already dropped the token; any other failure: show sign-in anyway.
    account.replaceChildren(signInLink());
    return null;
  }
}

/** A cart drawn in SVG (emoji fonts are not everywhere). */
export function cartIcon(cls = 'cart-icon') {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  for (const [tag, attrs] of [
    ['path', { d: 'M3 4h2.2l2.3 10.2a1.5 1.5 0 0 0 1.5 1.2h8.3a1.5 1.5 0 0 0 1.4-1.1L21 8H6.3' }],
    ['circle', { cx: '9.5', cy: '19.5', r: '1.4' }],
    ['circle', { cx: '17', cy: '19.5', r: '1.4' }],
  ]) {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}

/**
 * Shows the number of items in the buyer's cart on the header's cart link.
 * Pass a CartOut to use it instead of fetching the cart again.
 */
export async function refreshCartCount(cart) {
  const badge = document.querySelector('[data-testid="cart-count"]');
  if (!badge) return;
  if (!cart) {
    if (!getToken()) { badge.hidden = true; return; }
    try { ({ data: cart } = await api('/api/v1/cart')); } catch { badge.hidden = true; return; }
  }
  const n = (cart?.lines || []).reduce((sum, l) => sum + (Number(l.qty) || 0), 0);
  badge.textContent = String(n);
  badge.dataset.count = String(n);
  badge.hidden = n === 0;
  badge.closest('a')?.setAttribute('aria-label', `${t('cart')} (${n})`);
}

/** Reads one query-string parameter. */
export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

/** A soft background hue per product, so that cards differ at a glance. */
export function tint(id) {
  return `--hue:${((Number(id) || 0) * 47) % 360}`;
}

/**
 * The glyph of a placeholder: the head noun of the title, which in English
 * ends the title ("Classic Dress" → D) and in Chinese is its last character
 * ("经典连衣裙" → 裙).
 */
function glyph(title) {
  const s = String(title || '').trim();
  if (!s) return '?';
  const cjk = s.match(/[\u3400-\u9fff]/g);
  if (cjk) return cjk[cjk.length - 1];
  const words = s.split(/\s+/).filter((w) => /^[\p{L}]/u.test(w));
  return (words.length ? words[words.length - 1] : s).charAt(0).toUpperCase();
}

/** A placeholder tile for products without an image. */
export function placeholder(title, id) {
  return h('div', { class: 'img-placeholder', style: tint(id), 'aria-hidden': 'true' }, glyph(title));
}

/** An <img> that turns into a placeholder if the URL does not load. */
export function productImage(src, title, id, cls = '') {
  if (!src) return placeholder(title, id);
  const img = h('img', { src, alt: title || '', loading: 'lazy', class: cls, decoding: 'async' });
  img.addEventListener('error', () => {
    const ph = placeholder(title, id);
    ph.dataset.brokenSrc = src; // an image the API named but that did not load
    img.replaceWith(ph);
  }, { once: true });
  return img;
}
