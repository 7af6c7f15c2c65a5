// The buyer's cart and checkout: lines with quantities, coupon codes, the
// server's quote, delivery or pickup, payment method; QR wallets show the
// code to scan (and, in the sandbox, an approve button) until paid, then the
// order page opens.
import {
  api, clearError, formatMoney, getToken, h, placeholder, refreshCartCount, renderHeader, retryKey, showError, t,
} from './app.js';
import { fillRegions, qrPanel, quoteRows, totalsList } from './commerce.js';
import { translateDom } from './i18n-dom.js';

const $ = (id) => document.getElementById(id);
let cart = null;
let busy = false;
const placing = retryKey();

function empty(titleKey, actionKey, href) {
  $('empty-title').textContent = t(titleKey);
  const a = $('empty-action');
  a.textContent = t(actionKey);
  a.href = href;
  $('empty').hidden = false;
  $('cart').hidden = true;
}

/** A cart call that changes it: the answer is the new cart. */
async function change(path, body, errorSlot) {
  if (busy) return false;
  busy = true;
  $('cart').setAttribute('aria-busy', 'true');
  try {
    const { data } = await api(path, { method: 'PUT', body });
    clearError(errorSlot);
    render(data);
    return true;
  } catch (e) {
    showError(errorSlot, e);
    return false;
  } finally {
    busy = false;
    $('cart').removeAttribute('aria-busy');
  }
}

const setQty = (skuId, qty) => change(`/api/v1/cart/lines/${skuId}`, { qty }, $('error'));

function lineItem(l) {
  const stepper = h('div', { class: 'stepper' },
    h('button', { type: 'button', 'aria-label': t('qty_less', l.title), testid: 'qty-minus', onclick: () => setQty(l.sku_id, l.qty - 1) }, '−'),
    h('output', { testid: 'line-qty' }, String(l.qty)),
    h('button', { type: 'button', 'aria-label': t('qty_more', l.title), testid: 'qty-plus', onclick: () => setQty(l.sku_id, l.qty + 1) }, '+'));
  return h('li', { class: 'line-item', testid: 'cart-line', 'data-sku-id': l.sku_id, 'data-code': l.sku_code, 'data-qty': l.qty },
    h('a', { class: 'line-thumb', href: `/product.html?id=${l.product_id}&sku=${l.sku_id}`, tabindex: '-1' }, placeholder(l.title, l.product_id)),
    h('div', { class: 'line-main' },
      h('a', { class: 'line-title', href: `/product.html?id=${l.product_id}&sku=${l.sku_id}`, testid: 'line-title' }, l.title),
      h('span', { class: 'line-meta' }, h('code', {}, l.sku_code), ` · ${l.unit_price ? formatMoney(l.unit_price) : t('no_price')}`),
      h('div', { class: 'add-row' }, stepper,
        h('button', { type: 'button', class: 'link-btn', testid: 'line-remove', onclick: () => setQty(l.sku_id, 0) }, t('remove')))),
    h('div', { class: 'line-side' }, h('span', { class: 'line-amount', testid: 'line-amount' }, l.amount ? formatMoney(l.amount) : '—')));
}

function render(c) {
  cart = c;
  refreshCartCount(c);
  $('loading').hidden = true;
  if (!c.lines.length) {
    // Keep the page while a payment is under way (checkout empties the cart).
    if ($('pay').hidden) empty('cart_empty', 'start_shopping', '/');
    return;
  }
  $('empty').hidden = true;
  $('cart').hidden = false;
  $('lines').replaceChildren(...c.lines.map(lineItem));
  $('codes').replaceChildren(...(c.codes || []).map((code) => h('span', { class: 'code-chip', testid: 'cart-code', 'data-code': code }, code,
    h('button', {
      type: 'button', 'aria-label': t('remove_code', code), testid: 'code-remove',
      onclick: () => change('/api/v1/cart/codes', { codes: c.codes.filter((x) => x !== code) }, $('code-error')),
    }, '×'))));
  // No quote with a problem (a SKU without a price, a code no longer valid…): say why; checkout would refuse.
  const problem = c.problem
    ? h('div', { class: 'alert alert-error', role: 'alert', testid: 'cart-problem', 'data-code': c.problem.code },
      h('span', {}, c.problem.message), h('code', { class: 'alert-code' }, c.problem.code))
    : null;
  $('totals').replaceChildren(...[problem, c.quote ? totalsList(quoteRows(c.quote), 'cart-totals') : null].filter(Boolean));
  $('place').disabled = !c.quote;
}

async function load() {
  try {
    const { data } = await api('/api/v1/cart');
    clearError($('error'));
    render(data);
  } catch (e) {
    $('loading').hidden = true;
    showError($('error'), e, { onRetry: load });
  }
}

async function loadStores() {
  try {
    const { data } = await api('/api/v1/stores');
    const stores = (data.items || []).filter((s) => s.capabilities?.pickup !== false);
    $('store').replaceChildren(...stores.map((s) => h('option', { value: s.id, 'data-name': s.name },
      [s.name, s.address?.city].filter(Boolean).join(' · '))));
    if (!stores.length) $('checkout').querySelector('[value="pickup"]').closest('label').hidden = true;
  } catch (e) {
    showError($('checkout-error'), e);
  }
}

function syncForm() {
  const f = $('checkout');
  const pickup = f.fulfilment.value === 'pickup';
  $('region-field').hidden = pickup;
  $('store-field').hidden = !pickup;
  $('cash-choice').hidden = !pickup;
  if (!pickup && f.method.value === 'cash') f.querySelector('[value="alipay"]').checked = true;
}

async function placeOrder(ev) {
  ev.preventDefault();
  const f = $('checkout');
  const place = $('place');
  const pickup = f.fulfilment.value === 'pickup';
  const body = {
    fulfilment: pickup ? { type: 'pickup', store_id: Number($('store').value) } : { type: 'deliver', region: $('region').value },
    payment_method: f.method.value,
  };
  place.disabled = true;
  place.textContent = t('placing');
  clearError($('checkout-error'));
  try {
    const { data } = await api('/api/v1/cart/checkout', { method: 'POST', body, idempotencyKey: placing.get(body) });
    placing.settle();
    refreshCartCount({ lines: [] });
    const orderUrl = `/order.html?id=${data.order.id}`;
    if (data.next_action?.type === 'scan_qr') {
      f.hidden = true;
      $('lines').querySelectorAll('button').forEach((b) => { b.disabled = true; });
      const paid = await qrPanel($('pay'), data.payment, data.next_action);
      if (paid && ['captured', 'partially_refunded'].includes(paid.state)) {
        $('pay').append(h('p', { class: 'notice notice-ok', testid: 'opening-order' }, t('opening_order')));
        location.assign(orderUrl);
      } else {
        $('pay').append(h('a', { class: 'btn btn-outline', href: orderUrl, testid: 'open-order' }, t('view_order')));
      }
    } else {
      location.assign(orderUrl);
    }
  } catch (e) {
    placing.settle(e);
    showError($('checkout-error'), e);
    place.disabled = false;
    place.textContent = t('place_order');
  }
}

translateDom();
renderHeader();
fillRegions($('region'));
$('checkout').addEventListener('change', syncForm);
$('checkout').addEventListener('submit', placeOrder);
$('code-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const code = $('coupon').value.trim();
  if (!code) { showError($('code-error'), { code: 'invalid_field', message: t('enter_code') }); return; }
  const codes = [...new Set([...(cart?.codes || []), code])];
  change('/api/v1/cart/codes', { codes }, $('code-error')).then((ok) => { if (ok) $('coupon').value = ''; });
});
if (!getToken()) {
  $('loading').hidden = true;
  empty('sign_in_to_buy', 'sign_in', `/signin.html?next=${encodeURIComponent('/cart.html')}`);
} else {
  syncForm();
  load();
  loadStores();
}
