// Stock by location: find a SKU, see its levels per location, receive,
// adjust, set safety stock, transfer, and read the movement ledger.
import { ApiError, api, clearError, getLang, h, param, showError, t } from '/assets/app.js';
import { extendStrings } from '/assets/app.js';
import { renderConsoleHeader } from '/console/console.js';

extendStrings({
  en: { you: 'you', book_in_id: 'Transfer number', book_in: 'Book in', from_to: (a, b) => `${a} → ${b}`, units: (n) => `${n} unit${n === 1 ? '' : 's'}`, unknown_dest: 'destination not shown', results_n: (n) => `${n} product${n === 1 ? '' : 's'}` },
  'zh-CN': { you: '我', book_in_id: '调拨单号', book_in: '收货', from_to: (a, b) => `${a} → ${b}`, units: (n) => `${n} 件`, unknown_dest: '调入库位未显示', results_n: (n) => `${n} 件商品` },
});

const $ = (id) => document.getElementById(id);
const LEDGER_PAGE = 25;
const TRANSFER_MEMO = 'souk.console.transfers'; // destinations of transfers sent from this browser

const state = {
  me: null,
  locations: [], // locations this user may see and manage
  names: new Map(), // location id → name, from /locations and the public /stores
  sku: null, // {id, code, color, size}
  product: null, // {id, title, status, brand, ...}
  levels: [],
  availability: null,
  movements: [], // newest first
  shown: LEDGER_PAGE,
  tab: 'receive',
  loadSeq: 0,
};

// ------------------------------------------------------------------ helpers

const fmtInt = (n) => Number(n).toLocaleString(getLang());
const signed = (n) => (n > 0 ? `+${fmtInt(n)}` : n < 0 ? `−${fmtInt(-n)}` : '0');
const locName = (id) => state.names.get(id) || t('location_hidden', id);
const manageable = (id) => state.locations.some((l) => l.id === id);
const statusLabel = (s) => t(`status_${s}`) || s;

function fmtTime(ms) {
  try {
    return new Date(ms).toLocaleString(getLang(), { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  } catch { return new Date(ms).toISOString(); }
}

function memoTransfers() {
  try { return JSON.parse(sessionStorage.getItem(TRANSFER_MEMO) || '{}'); } catch { return {}; }
}
function rememberTransfer(tr) {
  const m = memoTransfers();
  m[tr.id] = { to: tr.to_location_id, from: tr.from_location_id, qty: tr.qty };
  try { sessionStorage.setItem(TRANSFER_MEMO, JSON.stringify(m)); } catch { /* ignore */ }
}

/** A whole number from an input, or an ApiError shown like the server's. */
function intFrom(input) {
  const raw = input.value.trim();
  if (!/^[-+]?\d+$/.test(raw)) {
    input.focus();
    throw new ApiError(422, 'invalid_quantity', t('whole_number'));
  }
  return Number(raw);
}

function setBusy(form, on) {
  const b = form.querySelector('button[type=submit]');
  b.disabled = on;
  if (on) { b.dataset.label = b.textContent; b.textContent = t('working'); } else if (b.dataset.label) b.textContent = b.dataset.label;
}

// ------------------------------------------------------------------ finder

async function searchProducts(q) {
  const box = $('results');
  clearError($('finder-error'));
  $('sku-picker').hidden = true;
  box.hidden = false;
  box.replaceChildren(h('div', { class: 'loading' }, h('span', { class: 'spinner' }), t('loading')));
  try {
    const qs = new URLSearchParams({ limit: '12' });
    if (q) qs.set('q', q);
    const { data } = await api(`/api/v1/products?${qs}`);
    const items = data.items || [];
    if (!items.length) { box.replaceChildren(h('p', { class: 'empty-inline', testid: 'no-products' }, t('no_products'))); return; }
    box.replaceChildren(
      h('div', { class: 'results-info muted' }, t('results_n', items.length)),
      h('ul', { class: 'result-list' }, items.map((p) => h('li', {},
        h('button', { type: 'button', class: 'result', testid: 'product-result', 'data-product-id': p.id, onclick: () => pickProduct(p.id) },
          h('span', { class: 'result-title' }, p.title || t('product_n', p.id)),
          h('span', { class: 'result-meta' },
            p.brand ? h('span', { class: 'muted' }, p.brand) : null,
            h('span', { class: `status status-${p.status}` }, statusLabel(p.status)),
            h('span', { class: 'muted' }, `#${p.id}`)))))));
  } catch (e) {
    box.hidden = true;
    showError($('finder-error'), e);
  }
}

async function pickProduct(id) {
  const picker = $('sku-picker');
  clearError($('finder-error'));
  picker.hidden = false;
  picker.replaceChildren(h('div', { class: 'loading' }, h('span', { class: 'spinner' }), t('loading')));
  try {
    const { data: p } = await api(`/api/v1/products/${id}`);
    $('results').hidden = true;
    const skus = p.skus || [];
    picker.replaceChildren(
      h('div', { class: 'picker-head' },
        h('strong', {}, p.title || t('product_n', p.id)),
        h('span', { class: `status status-${p.status}` }, statusLabel(p.status)),
        h('span', { class: 'muted' }, t('pick_sku'))),
      skus.length
        ? h('div', { class: 'chips' }, skus.map((s) => h('button', {
          type: 'button', class: `chip sku-chip${state.sku?.id === s.id ? ' is-selected' : ''}`, testid: 'sku-option', 'data-sku-id': s.id, 'data-code': s.code,
          onclick: () => openSku(s, p),
        }, h('code', {}, s.code), h('span', { class: 'muted' }, [s.color, s.size].filter(Boolean).join(' / ')))))
        : h('p', { class: 'empty-inline' }, t('no_skus')));
  } catch (e) {
    picker.hidden = true;
    showError($('finder-error'), e);
  }
}

async function openCode(code) {
  clearError($('finder-error'));
  if (!code) return;
  try {
    const { data } = await api(`/api/v1/skus/by-code/${encodeURIComponent(code)}`);
    $('results').hidden = true;
    $('sku-picker').hidden = true;
    await openSku(data.sku, data.product);
  } catch (e) {
    showError($('finder-error'), e);
  }
}

// ------------------------------------------------------------------ SKU view

async function openSku(sku, product) {
  state.sku = sku;
  state.product = product;
  state.shown = LEDGER_PAGE;
  const url = new URL(location.href);
  url.searchParams.set('code', sku.code);
  history.replaceState(null, '', url);
  document.title = `${sku.code} — souk console`;
  $('pick-first').hidden = true;
  $('sku-view').hidden = false;
  $('sku-picker').hidden = true;
  $('results').hidden = true;
  clearError($('action-error'));
  $('action-ok').hidden = true;
  renderSummary();
  await reload();
}

function renderSummary() {
  const { sku, product: p } = state;
  $('sku-summary').replaceChildren(
    h('div', { class: 'summary-main' },
      h('div', { class: 'summary-title' },
        h('strong', { testid: 'sku-product-title' }, p.title || t('product_n', p.id)),
        p.status ? h('span', { class: `status status-${p.status}` }, statusLabel(p.status)) : null),
      h('div', { class: 'summary-meta' },
        h('code', { testid: 'sku-code' }, sku.code),
        [sku.color, sku.size].filter(Boolean).length ? h('span', {}, [sku.color, sku.size].filter(Boolean).join(' / ')) : null,
        h('span', { class: 'muted' }, `SKU #${sku.id}`),
        p.id ? h('a', { href: `/product.html?id=${p.id}`, target: '_blank', rel: 'noopener' }, t('product_n', p.id)) : null)),
    h('button', { type: 'button', class: 'btn btn-outline btn-small', testid: 'change-sku', onclick: () => { p.id ? pickProduct(p.id) : null; $('pq').focus(); } }, t('change_sku')));
}

async function fetchAllMovements(skuId) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 50; i += 1) { // at most 5,000 movements in the page
    const qs = new URLSearchParams({ sku_id: String(skuId), limit: '100' });
    if (cursor) qs.set('cursor', cursor);
    const { data } = await api(`/api/v1/stock/movements?${qs}`);
    out.push(...(data.items || []));
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  return out.reverse();
}

async function reload({ flash } = {}) {
  const seq = ++state.loadSeq;
  const skuId = state.sku.id;
  const errors = $('error');
  clearError(errors);
  $('sku-view').setAttribute('aria-busy', 'true');
  const [levels, avail, moves] = await Promise.allSettled([
    api(`/api/v1/stock?sku_id=${skuId}`),
    api(`/api/v1/skus/${skuId}/availability`),
    fetchAllMovements(skuId),
  ]);
  if (seq !== state.loadSeq) return; // another SKU was opened meanwhile
  $('sku-view').removeAttribute('aria-busy');
  // The SKU is not this user's to see (another supplier's): keep only the public availability.
  const denied = levels.status === 'rejected' && [403, 404].includes(levels.reason?.status);
  $('sku-view').classList.toggle('is-denied', denied);
  const failed = [levels, avail, moves].find((r) => r.status === 'rejected');
  if (failed) showError(errors, failed.reason, { onRetry: () => reload() });
  state.levels = levels.status === 'fulfilled' ? levels.value.data.items || [] : [];
  state.availability = avail.status === 'fulfilled' ? avail.value.data : null;
  state.movements = moves.status === 'fulfilled' ? moves.value : [];
  for (const s of state.availability?.stores || []) if (!state.names.has(s.location_id)) state.names.set(s.location_id, s.name);
  renderStats();
  renderLevels(flash);
  renderTransit();
  renderLedger();
}

function renderStats() {
  const sum = (k) => state.levels.reduce((a, l) => a + l[k], 0);
  $('stat-on-hand').textContent = fmtInt(sum('on_hand'));
  $('stat-reserved').textContent = fmtInt(sum('reserved'));
  const a = state.availability;
  $('stat-atp').textContent = a ? fmtInt(a.available_to_promise) : '–';
  const stores = a?.stores || [];
  $('stat-stores').replaceChildren(...(stores.length
    ? stores.map((s) => h('span', { class: 'pill', testid: 'store-availability', 'data-location-id': s.location_id }, s.name, h('b', {}, fmtInt(s.available))))
    : [h('span', { class: 'muted' }, t('none'))]));
}

function renderLevels(flash) {
  const byLoc = new Map(state.levels.map((l) => [l.location_id, l]));
  const ids = [...new Set([...state.locations.map((l) => l.id), ...state.levels.map((l) => l.location_id)])];
  const kindOf = (id) => state.locations.find((l) => l.id === id)?.kind;
  const rows = ids.map((id) => {
    const l = byLoc.get(id) || { on_hand: 0, reserved: 0, safety: 0, available: 0 };
    const kind = kindOf(id);
    const tr = h('tr', {
      testid: 'stock-row', 'data-location-id': id, 'data-location-name': locName(id),
      class: [byLoc.has(id) ? '' : 'is-empty', manageable(id) ? 'is-manageable' : '', flash === id ? 'flash' : ''].join(' ').trim(),
      title: manageable(id) ? '' : undefined,
    },
    h('td', {}, h('div', { class: 'loc-cell' },
      h('span', { class: 'loc-name' }, locName(id)),
      kind ? h('span', { class: `kind kind-${kind}` }, t(`kind_${kind}`)) : null)),
    h('td', { class: 'num', 'data-field': 'on_hand' }, fmtInt(l.on_hand)),
    h('td', { class: 'num', 'data-field': 'reserved' }, fmtInt(l.reserved)),
    h('td', { class: 'num', 'data-field': 'safety' }, fmtInt(l.safety)),
    h('td', { class: `num strong ${l.available > 0 ? 'pos' : 'zero'}`, 'data-field': 'available' }, fmtInt(l.available)));
    if (manageable(id)) tr.addEventListener('click', () => selectLocation(id));
    return tr;
  });
  const sum = (k) => state.levels.reduce((a, l) => a + l[k], 0);
  $('stock-body').replaceChildren(...rows,
    h('tr', { class: 'total-row', testid: 'stock-total' },
      h('td', {}, t('total')),
      h('td', { class: 'num' }, fmtInt(sum('on_hand'))),
      h('td', { class: 'num' }, fmtInt(sum('reserved'))),
      h('td', { class: 'num' }, fmtInt(sum('safety'))),
      h('td', { class: 'num strong' }, fmtInt(sum('available')))));
}

function selectLocation(id) {
  for (const sel of document.querySelectorAll('.loc-select')) {
    if ([...sel.options].some((o) => Number(o.value) === id)) sel.value = String(id);
  }
  syncTransferTo();
  const l = state.levels.find((x) => x.location_id === id);
  $('sf-qty').value = String(l ? l.safety : 0);
}

function renderTransit() {
  const memo = memoTransfers();
  const open = new Map();
  for (const m of [...state.movements].reverse()) { // oldest first
    if (!m.transfer_id) continue;
    if (m.reason === 'transfer_out') open.set(m.transfer_id, m);
    else if (m.reason === 'transfer_in') open.delete(m.transfer_id);
  }
  const list = $('transit-list');
  const items = [...open.values()].map((m) => {
    const dest = memo[m.transfer_id]?.to;
    const canBookIn = dest == null || manageable(dest);
    return h('li', { class: 'transit-item', testid: 'transit-item', 'data-transfer-id': m.transfer_id },
      h('span', { class: 'transit-id' }, t('transfer_n', m.transfer_id)),
      h('span', { class: 'transit-route' }, t('from_to', locName(m.location_id), dest != null ? locName(dest) : '…')),
      h('span', { class: 'muted' }, t('units', -m.on_hand_delta)),
      canBookIn
        ? h('button', { type: 'button', class: 'btn btn-outline btn-small', testid: 'transit-receive', onclick: (e) => receiveTransfer(m.transfer_id, e.currentTarget) }, t('receive_transfer'))
        : h('span', { class: 'muted small' }, t('cannot_receive_here')));
  });
  list.replaceChildren(...(items.length ? items : [h('li', { class: 'muted small' }, t('no_transit'))]));
  // Staff at a destination do not see the sending side's ledger rows: let them book in by number.
  const form = h('form', { class: 'book-in', testid: 'book-in-form' },
    h('label', { for: 'book-in-id', class: 'small muted' }, t('book_in_id')),
    h('input', { id: 'book-in-id', type: 'text', inputmode: 'numeric', maxlength: '12', testid: 'book-in-id', placeholder: '#' }),
    h('button', { type: 'submit', class: 'btn btn-outline btn-small', testid: 'book-in-submit' }, t('book_in')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const input = form.querySelector('input');
    const id = input.value.replace(/^#/, '').trim();
    if (!/^\d+$/.test(id)) { showError($('action-error'), new ApiError(422, 'invalid_input', t('whole_number'))); return; }
    receiveTransfer(Number(id), form.querySelector('button'));
  });
  if (state.locations.length) list.append(h('li', { class: 'book-in-row' }, form));
}

async function receiveTransfer(id, button) {
  clearError($('action-error'));
  $('action-ok').hidden = true;
  if (button) button.disabled = true;
  try {
    const { data: tr } = await api(`/api/v1/transfers/${id}/receive`, { method: 'POST' });
    okNotice(t('transfer_received_ok', tr.id));
    await reload({ flash: tr.to_location_id });
  } catch (e) {
    showError($('action-error'), e);
    if (button) button.disabled = false;
  }
}

function renderLedger() {
  const body = $('ledger-body');
  const rows = state.movements.slice(0, state.shown);
  const cell = (n, label) => h('td', { class: `num delta ${n > 0 ? 'pos' : n < 0 ? 'neg' : 'zero'}`, 'data-label': label }, n ? signed(n) : '·');
  body.replaceChildren(...(rows.length ? rows.map((m) => h('tr', { testid: 'ledger-row', 'data-reason': m.reason, 'data-location-id': m.location_id, 'data-movement-id': m.id },
    h('td', { class: 'nowrap muted c-time' }, fmtTime(m.created_at_ms)),
    h('td', { class: 'c-loc' }, locName(m.location_id)),
    h('td', { class: 'c-reason' }, h('span', { class: `reason reason-${m.reason}` }, t(`reason_${m.reason}`)),
      m.transfer_id ? h('span', { class: 'muted small' }, ` #${m.transfer_id}`) : null),
    cell(m.on_hand_delta, t('on_hand')), cell(m.reserved_delta, t('reserved')), cell(m.safety_delta, t('safety')),
    h('td', { class: `note-cell c-note${m.note ? '' : ' is-blank'}`, 'data-field': 'note' }, m.note || ''),
    h('td', { class: 'muted nowrap c-by' }, m.actor_id == null ? '' : m.actor_id === state.me.id ? t('you') : `#${m.actor_id}`)))
    : [h('tr', {}, h('td', { colspan: '8', class: 'empty-inline', testid: 'no-movements' }, t('no_movements')))]));
  $('ledger-more').hidden = state.movements.length <= state.shown;
}

// ------------------------------------------------------------------ actions

function okNotice(text) {
  const ok = $('action-ok');
  ok.textContent = text;
  ok.hidden = false;
}

function setTab(name) {
  state.tab = name;
  for (const b of document.querySelectorAll('.tab')) {
    const on = b.dataset.tab === name;
    b.classList.toggle('is-active', on);
    b.setAttribute('aria-selected', String(on));
  }
  for (const f of document.querySelectorAll('.action-form')) f.hidden = f.dataset.form !== name;
  clearError($('action-error'));
  $('action-ok').hidden = true;
}

function fillLocationSelects() {
  const opts = () => state.locations.map((l) => h('option', { value: l.id }, l.name));
  for (const sel of document.querySelectorAll('.loc-select')) sel.replaceChildren(...opts());
  const none = state.locations.length === 0;
  $('read-only').hidden = !none;
  for (const f of document.querySelectorAll('.action-form')) for (const el of f.elements) el.disabled = none;
  for (const b of document.querySelectorAll('.tab')) b.disabled = none;
  syncTransferTo();
}

function syncTransferTo() {
  const from = Number($('tf-from').value);
  const to = $('tf-to');
  const keep = Number(to.value);
  const choices = state.locations.filter((l) => l.id !== from);
  to.replaceChildren(...choices.map((l) => h('option', { value: l.id, selected: l.id === keep }, l.name)));
  const ok = choices.length > 0;
  $('tf-hint').hidden = ok || state.locations.length === 0;
  to.disabled = !ok;
  document.querySelector('form[data-form=transfer] button[type=submit]').disabled = !ok;
}

async function submitAction(form) {
  if (form.querySelector('button[type=submit]').disabled) return;
  clearError($('action-error'));
  $('action-ok').hidden = true;
  const kind = form.dataset.form;
  const sku_id = state.sku.id;
  let req;
  let done;
  let flash;
  try {
    if (kind === 'receive') {
      const location_id = Number($('rc-loc').value);
      const qty = intFrom($('rc-qty'));
      req = ['/api/v1/stock/receive', 'POST', { sku_id, location_id, qty, note: $('rc-note').value.trim() }];
      done = () => { $('rc-note').value = ''; return t('received_ok', fmtInt(qty), locName(location_id)); };
      flash = location_id;
    } else if (kind === 'adjust') {
      const location_id = Number($('ad-loc').value);
      const delta = intFrom($('ad-delta'));
      req = ['/api/v1/stock/adjust', 'POST', { sku_id, location_id, delta, note: $('ad-note').value.trim() }];
      done = () => { $('ad-note').value = ''; return t('adjusted_ok', signed(delta), locName(location_id)); };
      flash = location_id;
    } else if (kind === 'safety') {
      const location_id = Number($('sf-loc').value);
      const safety = intFrom($('sf-qty'));
      req = ['/api/v1/stock/safety', 'PUT', { sku_id, location_id, safety }];
      done = () => t('safety_ok', fmtInt(safety), locName(location_id));
      flash = location_id;
    } else if (kind === 'transfer') {
      const from_location_id = Number($('tf-from').value);
      const to_location_id = Number($('tf-to').value);
      const qty = intFrom($('tf-qty'));
      req = ['/api/v1/transfers', 'POST', { sku_id, from_location_id, to_location_id, qty }];
      done = (tr) => { rememberTransfer(tr); return t('transfer_ok', tr.id, fmtInt(tr.qty)); };
      flash = from_location_id;
    }
  } catch (e) {
    showError($('action-error'), e);
    return;
  }
  setBusy(form, true);
  try {
    const { data } = await api(req[0], { method: req[1], body: req[2] });
    okNotice(done(data));
    await reload({ flash });
  } catch (e) {
    showError($('action-error'), e);
  } finally {
    setBusy(form, false);
    syncTransferTo();
  }
}

// ------------------------------------------------------------------ start

async function main() {
  const me = await renderConsoleHeader({ active: 'stock' });
  if (!me) return;
  state.me = me;
  const [locs, stores] = await Promise.allSettled([api('/api/v1/locations'), api('/api/v1/stores')]);
  if (locs.status === 'fulfilled') state.locations = locs.value.data.items || [];
  else if (locs.reason?.status !== 403) showError($('error'), locs.reason);
  if (stores.status === 'fulfilled') for (const s of stores.value.data.items || []) state.names.set(s.id, s.name);
  for (const l of state.locations) state.names.set(l.id, l.name);
  fillLocationSelects();
  setTab('receive');

  $('product-form').addEventListener('submit', (e) => { e.preventDefault(); searchProducts($('pq').value.trim()); });
  $('code-form').addEventListener('submit', (e) => { e.preventDefault(); openCode($('code').value.trim()); });
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => setTab(b.dataset.tab));
  for (const f of document.querySelectorAll('.action-form')) f.addEventListener('submit', (e) => { e.preventDefault(); submitAction(f); });
  $('tf-from').addEventListener('change', syncTransferTo);
  $('sf-loc').addEventListener('change', () => {
    const l = state.levels.find((x) => x.location_id === Number($('sf-loc').value));
    $('sf-qty').value = String(l ? l.safety : 0);
  });
  $('refresh').addEventListener('click', () => reload());
  $('ledger-more').addEventListener('click', () => { state.shown += LEDGER_PAGE * 2; renderLedger(); });

  const code = param('code');
  if (code) {
    $('code').value = code;
    await openCode(code);
  } else {
    $('pick-first').hidden = false;
    $('pq').focus();
  }
}

main().catch((e) => showError($('error'), e, { onRetry: () => location.reload() }));
