// Point of sale for store clerks: scan or type SKU codes, the server prices
// the basket (member tier, coupons), pay by cash (change given), card
// terminal or QR wallet, then a printable receipt.
import { ApiError, api, clearError, extendStrings, formatMoney, h, retryKey, showError, t } from '/assets/app.js';
import { formatTime, methodLabel, money, paymentStateLabel, qrPanel, quoteRows, skuPrice, skuTitle, totalsList } from '/assets/commerce.js';
import { renderConsoleHeader } from '/console/console.js';

extendStrings({
  en: {
    pos_title: 'Point of sale',
    pos_add: 'Add',
    pos_clear: 'Clear',
    pos_no_lines: 'Scan or type a SKU code to start a sale.',
    pos_no_store: 'You sell at no store: the POS is for store clerks.',
    pos_customer: 'Member and coupons',
    member_phone: 'Member phone',
    member_tier: (tier) => `Member · ${tier}`,
    tendered: 'Cash received',
    change_due: 'Change',
    short_by: (m) => `short ${m}`,
    charge: (m) => `Charge ${m}`,
    charging: 'Charging…',
    print: 'Print receipt',
    new_sale: 'New sale',
    receipt_no: 'Receipt',
    cashier: 'Clerk',
    tendered_r: 'Received',
    change_r: 'Change',
    member_r: 'Member',
    coupons_r: 'Coupons',
    enter_code_first: 'Type or scan a SKU code.',
    bad_amount: 'Enter the cash received, e.g. 200 or 199.50.',
    member_placeholder: 'e.g. 13800138000',
    thank_you: 'Thank you!',
    order_home_link: 'Deliver home ↗',
  },
  'zh-CN': {
    pos_title: '门店收银',
    pos_add: '添加',
    pos_clear: '清空',
    pos_no_lines: '扫描或输入 SKU 编码开始收银。',
    pos_no_store: '你不在任何门店任职：收银台供门店店员使用。',
    pos_customer: '会员与优惠券',
    member_phone: '会员手机号',
    member_tier: (tier) => `会员 · ${tier}`,
    tendered: '实收现金',
    change_due: '找零',
    short_by: (m) => `还差 ${m}`,
    charge: (m) => `收款 ${m}`,
    charging: '收款中…',
    print: '打印小票',
    new_sale: '下一单',
    receipt_no: '小票号',
    cashier: '收银员',
    tendered_r: '实收',
    change_r: '找零',
    member_r: '会员',
    coupons_r: '优惠券',
    enter_code_first: '请输入或扫描 SKU 编码。',
    bad_amount: '请输入实收金额，如 200 或 199.50。',
    member_placeholder: '如 13800138000',
    thank_you: '谢谢惠顾！',
    order_home_link: '送货上门 ↗',
  },
});

const $ = (id) => document.getElementById(id);
const state = { me: null, clerkStores: [], lines: [], member: '', codes: [], quote: null, seq: 0 };
const ringing = retryKey();
const isClerk = () => state.clerkStores.length > 0;
const locationId = () => Number($('store').value) || null;

/** "199.5" → 19950 (minor units, two decimals); null when not a number. */
export function parseMinor(s) {
  const m = /^\s*(\d{1,9})(?:[.,](\d{0,2}))?\s*$/.exec(String(s || ''));
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

// ------------------------------------------------------------ pricing

function previewBody(over = {}) {
  const member = over.member ?? state.member;
  const codes = over.codes ?? state.codes;
  const body = { lines: state.lines.map((l) => ({ sku_id: l.sku_id, qty: l.qty })), codes, delivery: false };
  if (isClerk()) {
    body.location_id = locationId();
    if (member) body.member_phone = member;
  }
  return body;
}

/** Asks the server for the quote; `over` tries a member or codes before keeping them. */
async function requote(over = {}, errorSlot = $('quote-error')) {
  const seq = ++state.seq;
  if (!state.lines.length) {
    if (over.member !== undefined) state.member = over.member;
    if (over.codes !== undefined) state.codes = over.codes;
    state.quote = null;
    clearError($('quote-error'));
    renderQuote();
    return true;
  }
  try {
    const { data } = await api('/api/v1/coupons/preview', { method: 'POST', body: previewBody(over) });
    if (seq !== state.seq) return true;
    if (over.member !== undefined) state.member = over.member;
    if (over.codes !== undefined) state.codes = over.codes;
    state.quote = data;
    clearError($('quote-error'));
    clearError(errorSlot);
    renderQuote();
    return true;
  } catch (e) {
    if (seq !== state.seq) return false;
    showError(errorSlot, e);
    if (errorSlot === $('quote-error')) { state.quote = null; renderQuote(); }
    return false;
  }
}

function renderQuote() {
  const q = state.quote;
  $('quote').replaceChildren(q ? totalsList(quoteRows(q, { shipping: false }), 'pos-totals') : h('p', { class: 'muted' }, '—'));
  $('codes').replaceChildren(...state.codes.map((code) => h('span', { class: 'code-chip', testid: 'pos-code-chip', 'data-code': code }, code,
    h('button', { type: 'button', 'aria-label': t('remove_code', code), onclick: () => requote({ codes: state.codes.filter((c) => c !== code) }, $('customer-error')) }, '×'))));
  $('member-shown').replaceChildren(...(state.member ? [h('span', { class: 'code-chip member-chip', testid: 'pos-member-chip' }, state.member,
    h('button', { type: 'button', 'aria-label': t('remove'), onclick: () => requote({ member: '' }, $('customer-error')) }, '×'))] : []));
  const pay = $('pay');
  pay.disabled = !q || !state.lines.length;
  pay.textContent = q ? t('charge', formatMoney(q.total)) : t('charge', '—');
  renderChange();
}

function renderChange() {
  const out = $('change');
  const q = state.quote;
  const tendered = parseMinor($('tendered').value);
  out.classList.remove('is-short');
  if (!q || tendered === null) { out.textContent = '—'; delete out.dataset.minor; return; }
  const diff = tendered - q.total.amount_minor;
  out.dataset.minor = String(diff);
  if (diff < 0) {
    out.classList.add('is-short');
    out.textContent = t('short_by', money(-diff, q.currency));
  } else {
    out.textContent = money(diff, q.currency);
  }
}

// -------------------------------------------------------------- lines

function renderLines() {
  $('no-lines').hidden = state.lines.length > 0;
  $('lines').replaceChildren(...state.lines.map((l) => {
    const qty = h('input', { type: 'number', min: '1', max: '999', step: '1', value: String(l.qty), 'aria-label': t('qty'), testid: 'pos-line-qty' });
    qty.addEventListener('change', () => {
      const n = Math.trunc(Number(qty.value));
      if (n >= 1) { l.qty = Math.min(n, 999); }
      renderLines();
      requote();
    });
    return h('tr', { testid: 'pos-line', 'data-code': l.code, 'data-sku-id': l.sku_id, 'data-qty': l.qty },
      h('td', {}, h('span', { class: 'line-title' }, l.title), h('code', { class: 'line-code' }, l.code),
        // Not on the shelf in the right size? The customer orders it home from here (scan-to-order).
        h('a', {
          class: 'line-home small', testid: 'pos-line-home', target: '_blank', rel: 'noopener',
          href: `/scan.html?code=${encodeURIComponent(l.code)}&store=${locationId()}`,
        }, t('order_home_link'))),
      h('td', { class: 'num' }, qty),
      h('td', { class: 'num' }, money(l.unit_minor, l.currency)),
      h('td', { class: 'num', testid: 'pos-line-amount' }, money(l.unit_minor * l.qty, l.currency)),
      h('td', {}, h('button', {
        type: 'button', class: 'btn btn-ghost btn-small', testid: 'pos-line-remove', 'aria-label': t('remove'),
        onclick: () => { state.lines = state.lines.filter((x) => x !== l); renderLines(); requote(); },
      }, '×')));
  }));
}

async function addByCode(ev) {
  ev.preventDefault();
  const input = $('code');
  const code = input.value.trim();
  const qty = Math.max(1, Math.min(999, Math.trunc(Number($('qty').value)) || 1));
  if (!code) { showError($('scan-error'), new ApiError(0, 'invalid_field', t('enter_code_first'))); return; }
  try {
    const { data } = await api(`/api/v1/skus/by-code/${encodeURIComponent(code)}`);
    clearError($('scan-error'));
    const price = skuPrice(data.sku);
    const have = state.lines.find((l) => l.sku_id === data.sku.id);
    if (have) have.qty = Math.min(999, have.qty + qty);
    else {
      state.lines.push({
        sku_id: data.sku.id, code: data.sku.code, title: skuTitle(data), qty,
        unit_minor: price ? price.amount_minor : 0, currency: price ? price.currency : 'CNY',
      });
    }
    input.value = '';
    $('qty').value = '1';
    renderLines();
    await requote();
  } catch (e) {
    showError($('scan-error'), e);
    input.select();
  }
  input.focus();
}

// ---------------------------------------------------------------- pay

async function pay(ev) {
  ev.preventDefault();
  const method = $('pay-form').method.value;
  const body = {
    location_id: locationId(),
    lines: state.lines.map((l) => ({ sku_id: l.sku_id, qty: l.qty })),
    payment_method: method,
  };
  if (state.member) body.member_phone = state.member;
  if (state.codes.length) body.codes = state.codes;
  if (method === 'cash' && $('tendered').value.trim()) {
    const tendered = parseMinor($('tendered').value);
    if (tendered === null) { showError($('pay-error'), new ApiError(0, 'invalid_field', t('bad_amount'))); return; }
    body.cash_tendered_minor = tendered;
  }
  const button = $('pay');
  button.disabled = true;
  button.textContent = t('charging');
  clearError($('pay-error'));
  try {
    let data;
    try {
      ({ data } = await api('/api/v1/pos/sales', { method: 'POST', body, idempotencyKey: ringing.get(body) }));
      ringing.settle();
    } catch (e) {
      ringing.settle(e);
      throw e;
    }
    if (data.receipt) { showReceipt(data.receipt); return; }
    if (data.next_action?.type === 'scan_qr') {
      $('pay-form').hidden = true;
      const paid = await qrPanel($('qr'), data.payment, data.next_action);
      if (!paid || !['captured', 'partially_refunded'].includes(paid.state)) return;
    }
    const { data: receipt } = await api(`/api/v1/pos/sales/${data.order.id}/receipt`);
    showReceipt(receipt);
  } catch (e) {
    showError($('pay-error'), e);
    renderQuote();
  }
}

function rrow(label, value, attrs = {}) {
  return h('div', { class: 'r-row', ...attrs }, h('span', {}, label), h('span', {}, value));
}

function showReceipt(r) {
  const m = (v) => money(v, r.currency);
  const el = $('receipt');
  el.dataset.receiptNo = r.receipt_no;
  el.dataset.orderId = r.order_id;
  el.replaceChildren(...[
    h('h2', {}, 'souk'),
    h('div', { class: 'r-center', testid: 'receipt-store' }, r.location?.name || ''),
    h('div', { class: 'r-center r-muted' }, formatTime(r.at_ms)),
    h('hr'),
    rrow(t('receipt_no'), h('span', { testid: 'receipt-no' }, r.receipt_no)),
    rrow(t('cashier'), `#${r.clerk_id}`),
    h('hr'),
    ...r.lines.map((l) => h('div', { class: 'r-line', testid: 'receipt-line', 'data-code': l.sku_code, 'data-qty': l.qty },
      h('div', {}, l.title),
      rrow(h('span', { class: 'r-sub' }, `${l.sku_code}  ${l.qty} × ${m(l.unit_price_minor)}`), m(l.amount_minor)))),
    h('hr'),
    rrow(t('subtotal'), m(r.subtotal_minor)),
    r.discount_minor ? rrow(t('discount'), `-${m(r.discount_minor)}`, { testid: 'receipt-discount' }) : null,
    r.tax_minor ? rrow(t('tax'), m(r.tax_minor)) : null,
    rrow(t('total'), h('span', { testid: 'receipt-total', 'data-minor': r.total_minor }, m(r.total_minor)), { class: 'r-row r-total' }),
    h('hr'),
    rrow(methodLabel(r.payment_method), paymentStateLabel(r.payment_state), { testid: 'receipt-payment', 'data-method': r.payment_method, 'data-state': r.payment_state }),
    r.tendered_minor != null ? rrow(t('tendered_r'), h('span', { testid: 'receipt-tendered', 'data-minor': r.tendered_minor }, m(r.tendered_minor))) : null,
    r.change_minor != null ? rrow(t('change_r'), h('span', { testid: 'receipt-change', 'data-minor': r.change_minor }, m(r.change_minor))) : null,
    r.member ? rrow(t('member_r'), h('span', { testid: 'receipt-member' }, [r.member.phone_masked, r.member.tier].filter(Boolean).join(' · '))) : null,
    r.codes?.length ? rrow(t('coupons_r'), r.codes.join(', ')) : null,
    h('hr'),
    h('div', { class: 'r-center' }, t('thank_you')),
  ].filter(Boolean));
  $('sale').hidden = true;
  $('receipt-view').hidden = false;
  window.scrollTo(0, 0);
}

function newSale() {
  Object.assign(state, { lines: [], member: '', codes: [], quote: null });
  for (const id of ['code', 'member', 'coupon', 'tendered']) $(id).value = '';
  $('qty').value = '1';
  $('pay-form').hidden = false;
  $('pay-form').method.value = 'cash';
  $('qr').hidden = true;
  $('qr').replaceChildren();
  for (const id of ['scan-error', 'customer-error', 'quote-error', 'pay-error']) clearError($(id));
  $('receipt-view').hidden = true;
  $('sale').hidden = false;
  renderLines();
  renderQuote();
  syncMethod();
  $('code').focus();
}

function syncMethod() {
  $('cash-field').hidden = $('pay-form').method.value !== 'cash';
}

// --------------------------------------------------------------- start

async function main() {
  const me = await renderConsoleHeader({ active: 'pos' });
  if (!me) return;
  state.me = me;
  state.clerkStores = (me.grants || []).filter((g) => g.role === 'store_clerk').map((g) => g.location_id);
  const operator = (me.grants || []).some((g) => g.role === 'operator');
  let stores = [];
  try {
    const { data } = await api('/api/v1/locations');
    stores = (data.items || []).filter((l) => l.kind === 'store'
      && (operator || state.clerkStores.includes(l.id)) && l.capabilities?.sell_in_person !== false);
  } catch (e) {
    if (e.status !== 403) showError($('error'), e);
  }
  if (!stores.length) {
    $('no-store').hidden = false;
    $('sale').hidden = true;
    $('store').hidden = true;
    return;
  }
  $('store').replaceChildren(...stores.map((s) => h('option', { value: s.id }, s.name)));
  $('store').addEventListener('change', () => requote());
  $('scan-form').addEventListener('submit', addByCode);
  $('member-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    requote({ member: $('member').value.trim() }, $('customer-error')).then((ok) => { if (ok) $('member').value = ''; });
  });
  $('coupon-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = $('coupon').value.trim();
    if (!code) return;
    requote({ codes: [...new Set([...state.codes, code])] }, $('customer-error')).then((ok) => { if (ok) $('coupon').value = ''; });
  });
  $('clear').addEventListener('click', newSale);
  $('tendered').addEventListener('input', renderChange);
  $('pay-form').addEventListener('change', syncMethod);
  $('pay-form').addEventListener('submit', pay);
  $('print').addEventListener('click', () => window.print());
  $('new-sale').addEventListener('click', newSale);
  renderLines();
  renderQuote();
  syncMethod();
}

main().catch((e) => showError($('error'), e, { onRetry: () => location.reload() }));
