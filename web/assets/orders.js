// My orders: the buyer's orders, newest first, a page at a time.
import { api, clearError, getToken, h, renderHeader, showError, t } from './app.js';
import { formatTime, money, stateBadge } from './commerce.js';
import { translateDom } from './i18n-dom.js';

const PAGE = 20;
const $ = (id) => document.getElementById(id);
let before = null;

function card(o) {
  const items = o.lines.reduce((n, l) => n + l.qty, 0);
  return h('li', {},
    h('a', { class: 'order-card', href: `/order.html?id=${o.id}`, testid: 'order-card', 'data-order-id': o.id, 'data-state': o.state },
      h('div', { class: 'order-card-title' }, h('span', {}, t('order_n', o.id)), stateBadge(o.state)),
      h('div', { class: 'order-card-total' }, o.totals ? money(o.totals.total_minor, o.currency) : ''),
      h('div', { class: 'order-card-sub' }, `${formatTime(o.created_at_ms)} · ${t('items_n', items)}`)));
}

function empty(titleKey, actionKey, href) {
  $('empty-title').textContent = t(titleKey);
  const a = $('empty-action');
  a.textContent = t(actionKey);
  a.href = href;
  $('empty').hidden = false;
}

async function load() {
  const more = $('more');
  more.disabled = true;
  try {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (before) q.set('before', String(before));
    const { data } = await api(`/api/v1/orders?${q}`);
    clearError($('error'));
    $('orders').append(...data.items.map(card));
    if (data.items.length) before = data.items[data.items.length - 1].id;
    more.hidden = data.items.length < PAGE;
    if (!$('orders').children.length) empty('no_orders', 'start_shopping', '/');
  } catch (e) {
    showError($('error'), e, { onRetry: load });
  } finally {
    $('loading').hidden = true;
    more.disabled = false;
  }
}

translateDom();
renderHeader();
$('more').addEventListener('click', load);
if (!getToken()) {
  $('loading').hidden = true;
  empty('sign_in_to_see', 'sign_in', `/signin.html?next=${encodeURIComponent('/orders.html')}`);
} else {
  load();
}
