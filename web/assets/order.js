// A buyer's order: its lines, totals, payments, status history as a
// timeline, and a cancel button while the order may still be cancelled.
import {
  ApiError, api, clearError, getToken, h, param, placeholder, productImage, renderHeader, showError, t, tint,
} from './app.js';
import {
  CANCELLABLE, channelLabel, commandLabel, formatTime, methodLabel, money, paymentStateLabel, qrPanel, skuInfo, skuTitle, stateBadge,
  stateLabel, totalsList,
} from './commerce.js';
import { translateDom } from './i18n-dom.js';

const $ = (id) => document.getElementById(id);
const id = param('id');
let pollTimer = null;
let polls = 0;
const MAX_POLLS = 300; // about ten minutes of looking again while a payment is awaited

function renderLines(o) {
  $('lines').replaceChildren(...o.lines.map((l) => {
    const title = h('span', { class: 'line-title', testid: 'line-title' }, t('sku_n', l.sku_id));
    const meta = h('span', { class: 'line-meta' }, `${l.qty} × ${money(l.unit_price_minor, o.currency)}`);
    const thumb = h('div', { class: 'line-thumb' }, placeholder('', l.sku_id));
    skuInfo(l.sku_id).then((info) => {
      if (!info) return;
      title.textContent = skuTitle(info);
      thumb.setAttribute('style', tint(info.product.id));
      thumb.replaceChildren(productImage((info.product.media || [])[0], info.product.title, info.product.id));
      meta.replaceChildren(h('code', {}, info.sku.code), ` · ${l.qty} × ${money(l.unit_price_minor, o.currency)}`);
    });
    return h('li', { class: 'line-item', testid: 'order-line', 'data-sku-id': l.sku_id, 'data-qty': l.qty },
      thumb,
      h('div', { class: 'line-main' }, title, meta),
      h('div', { class: 'line-side' }, h('span', { class: 'line-amount' }, money(l.amount_minor, o.currency))));
  }));
}

function renderTotals(o) {
  const x = o.totals;
  if (!x) { $('totals').replaceChildren(); return; }
  const m = (v) => ({ amount_minor: v, currency: o.currency });
  const rows = [{ key: 'subtotal', label: t('subtotal'), m: m(x.subtotal_minor) }];
  if (x.discount_minor) rows.push({ key: 'discount', label: t('discount'), m: m(-x.discount_minor) });
  if (o.fulfilment_kind === 'deliver') rows.push({ key: 'shipping', label: t('shipping'), m: m(x.shipping_minor), text: x.shipping_minor ? null : t('free') });
  if (x.tax_minor) rows.push({ key: 'tax', label: t('tax'), m: m(x.tax_minor) });
  rows.push({ key: 'total', label: t('total'), m: m(x.total_minor), strong: true });
  if (x.captured_minor) rows.push({ key: 'captured', label: t('captured'), m: m(x.captured_minor) });
  if (x.refunded_minor) rows.push({ key: 'refunded', label: t('refunded'), m: m(x.refunded_minor) });
  $('totals').replaceChildren(totalsList(rows, 'order-totals'));
}

function renderPayments(o) {
  $('payments').replaceChildren(...(o.payments.length ? o.payments.map((p) => h('div', { class: 'pay-row', testid: 'payment-row', 'data-state': p.state, 'data-method': p.method },
    h('span', {}, h('strong', {}, methodLabel(p.method)), ' · ', h('span', { testid: 'payment-state' }, paymentStateLabel(p.state))),
    h('span', {}, money(p.amount_minor, p.currency), p.refunded_minor ? ` (${t('refunded')} ${money(p.refunded_minor, p.currency)})` : '')))
    : [h('p', { class: 'muted' }, '—')]));
}

function renderHistory(o) {
  const events = o.history || [];
  $('history').replaceChildren(...events.map((e, i) => h('li', {
    class: i === events.length - 1 ? 'is-current' : '', testid: 'history-event', 'data-to': e.to, 'data-command': e.command,
  },
  h('div', { class: 'timeline-state' }, e.from ? stateLabel(e.to) : `${t('state_created')} · ${stateLabel(e.to)}`),
  h('div', { class: 'timeline-when' }, h('time', { datetime: new Date(e.at_ms).toISOString() }, formatTime(e.at_ms)),
    e.from ? ` · ${commandLabel(e.command)}` : ''),
  // Notes written for people ("unpaid within the payment window"), not bare tokens ("webhook").
  e.note && !/^[a-z_]+$/.test(e.note) ? h('div', { class: 'timeline-note' }, e.note) : null)));
}

function renderCancel(o) {
  const box = $('cancel-box');
  const actions = $('cancel-actions');
  if (!CANCELLABLE.includes(o.state)) { box.hidden = true; return; }
  box.hidden = false;
  const ask = h('button', { type: 'button', class: 'btn btn-outline', testid: 'cancel-order' }, t('cancel_order'));
  ask.addEventListener('click', () => {
    // Asked on the page rather than with confirm(): works the same everywhere.
    const yes = h('button', { type: 'button', class: 'btn btn-primary', testid: 'cancel-confirm' }, t('cancel_order'));
    const no = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'cancel-keep' }, t('keep_order'));
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      yes.textContent = t('cancelling');
      clearError($('cancel-error'));
      try {
        const { data } = await api(`/api/v1/orders/${o.id}/cancel`, { method: 'POST' });
        render(data);
        const n = $('notice');
        n.textContent = t('cancelled_ok');
        n.hidden = false;
      } catch (e) {
        showError($('cancel-error'), e);
        renderCancel(o);
      }
    });
    no.addEventListener('click', () => renderCancel(o));
    actions.replaceChildren(h('span', { class: 'muted small' }, t('cancel_confirm')), yes, no);
  });
  actions.replaceChildren(ask);
}

function render(o) {
  document.title = `${t('order_n', o.id)} — souk`;
  $('order-title').textContent = t('order_n', o.id);
  $('state-slot').replaceChildren(stateBadge(o.state));
  $('order-meta').replaceChildren(
    h('span', {}, `${t('placed_at')}: `, h('time', { testid: 'order-placed' }, formatTime(o.created_at_ms))),
    h('span', { testid: 'order-fulfilment' }, o.fulfilment_kind === 'pickup' ? t('fulfilment_pickup')
      : o.fulfilment_kind === 'deliver' ? t('fulfilment_deliver') : t('fulfilment_pos')),
    h('span', { testid: 'order-channel', 'data-channel': o.channel }, `${t('channel')}: ${channelLabel(o.channel)}`));
  renderLines(o);
  renderTotals(o);
  renderPayments(o);
  renderHistory(o);
  renderCancel(o);
  renderPayLater(o);
  if (o.channel === 'pos' && $('receipt-box').hidden) loadReceipt(o.id);
  $('loading').hidden = true;
  $('order').hidden = false;
  $('order').dataset.state = o.state;
  // Waiting for a wallet's confirmation: look again now and then.
  clearTimeout(pollTimer);
  if (o.state === 'pending_payment' && polls++ < MAX_POLLS) pollTimer = setTimeout(load, 2000);
}

/**
 * An unpaid wallet payment can be paid from here later: the server shows its
 * QR code again (`qr_payload`), behind a "Pay now" button.
 */
async function renderPayLater(o) {
  const slot = $('pay-slot');
  const waiting = o.state === 'pending_payment'
    && o.payments.find((p) => p.state === 'requires_action' && ['alipay', 'wechat_pay'].includes(p.method));
  if (!waiting) {
    slot.hidden = true;
    return;
  }
  if (!slot.hidden) return; // already offered, or being paid
  let payment;
  try {
    ({ data: payment } = await api(`/api/v1/payments/${waiting.id}`));
  } catch { return; }
  if (!payment.qr_payload) return;
  const pay = h('button', { type: 'button', class: 'btn btn-primary', testid: 'pay-now' }, t('pay_now'));
  pay.addEventListener('click', async () => {
    await qrPanel(slot, payment, { qr_payload: payment.qr_payload });
    load();
  });
  slot.replaceChildren(pay);
  slot.hidden = false;
}

/** A till sale's printed receipt (the member may read it too). */
async function loadReceipt(orderId) {
  try {
    const { data } = await api(`/api/v1/pos/sales/${orderId}/receipt`);
    $('receipt-text').textContent = data.text;
    $('receipt-box').hidden = false;
  } catch { /* not paid yet, or not for this viewer: no receipt to show */ }
}

async function load() {
  try {
    const { data } = await api(`/api/v1/orders/${id}`);
    clearError($('error'));
    render(data);
  } catch (e) {
    $('loading').hidden = true;
    $('order').hidden = true;
    showError($('error'), e, e.status >= 500 || e.status === 0 ? { onRetry: load } : {});
  }
}

translateDom();
renderHeader();
if (!id || !/^\d+$/.test(id)) {
  $('loading').hidden = true;
  showError($('error'), new ApiError(400, 'missing_id', t('missing_order_id')));
} else if (!getToken()) {
  location.replace(`/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`);
} else {
  load();
}
