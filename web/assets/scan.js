// Scan-to-order: a SKU code scanned in a store (scan.html?code=…&store=…)
// shows the item and orders it for home delivery, channel scan_to_order,
// with the store as the order's origin.
import {
  ApiError, api, clearError, getToken, h, param, productImage, renderHeader, retryKey, showError, t, tint,
} from './app.js';
import { fillRegions, money, qrPanel, skuPrice } from './commerce.js';
import { translateDom } from './i18n-dom.js';

const $ = (id) => document.getElementById(id);
const code = (param('code') || '').trim();
const storeId = Number(param('store')) || null;
let scanned = null;
const placing = retryKey();

async function load() {
  try {
    const [{ data }, stores] = await Promise.all([
      api(`/api/v1/skus/by-code/${encodeURIComponent(code)}`),
      api('/api/v1/stores').then((r) => r.data.items || [], () => []),
    ]);
    scanned = data;
    clearError($('error'));
    const { sku, product } = data;
    document.title = `${product.title} — souk`;
    $('media').setAttribute('style', tint(product.id));
    $('media').replaceChildren(productImage((product.media || [])[0], product.title, product.id));
    $('title').textContent = product.title;
    $('variant').textContent = [sku.color, sku.size].filter(Boolean).join(' / ');
    $('sku-code').textContent = sku.code;
    const price = skuPrice(sku);
    $('price').textContent = price ? money(price.amount_minor, price.currency) : t('no_price');
    $('product-link').href = `/product.html?id=${product.id}&sku=${sku.id}`;
    const store = stores.find((s) => s.id === storeId);
    if (store) {
      $('store-note').textContent = t('scanned_at', store.name);
      $('store-note').dataset.storeId = String(store.id);
      $('store-note').hidden = false;
      fillRegions($('region'), store.address?.region || 'Shanghai');
    }
    $('item').hidden = false;
    $('order-panel').hidden = false;
    if (!getToken()) {
      $('order-form').hidden = true;
      const a = $('signin');
      a.href = `/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`;
      a.hidden = false;
    }
  } catch (e) {
    showError($('error'), e, e.status >= 500 || e.status === 0 ? { onRetry: load } : {});
  } finally {
    $('loading').hidden = true;
  }
}

async function place(ev) {
  ev.preventDefault();
  const button = $('place');
  const qty = Math.max(1, Math.min(99, Math.trunc(Number($('qty').value)) || 1));
  const body = {
    lines: [{ sku_id: scanned.sku.id, qty }],
    channel: 'scan_to_order',
    fulfilment: { type: 'deliver', region: $('region').value },
    payment_method: $('order-form').method.value,
  };
  if (storeId) body.origin_location_id = storeId;
  button.disabled = true;
  button.textContent = t('placing');
  clearError($('order-error'));
  try {
    const { data } = await api('/api/v1/checkout', { method: 'POST', body, idempotencyKey: placing.get(body) });
    placing.settle();
    const orderUrl = `/order.html?id=${data.order.id}`;
    if (data.next_action?.type !== 'scan_qr') { location.assign(orderUrl); return; }
    $('order-form').hidden = true;
    const paid = await qrPanel($('pay'), data.payment, data.next_action);
    if (paid && ['captured', 'partially_refunded'].includes(paid.state)) {
      $('pay').append(h('p', { class: 'notice notice-ok' }, t('opening_order')));
      location.assign(orderUrl);
    } else {
      $('pay').append(h('a', { class: 'btn btn-outline', href: orderUrl, testid: 'open-order' }, t('view_order')));
    }
  } catch (e) {
    placing.settle(e);
    showError($('order-error'), e);
    button.disabled = false;
    button.textContent = t('order_home');
  }
}

translateDom();
renderHeader();
fillRegions($('region'));
$('order-form').addEventListener('submit', place);
if (!code) {
  $('loading').hidden = true;
  showError($('error'), new ApiError(400, 'missing_code', t('missing_code')));
} else {
  load();
}
