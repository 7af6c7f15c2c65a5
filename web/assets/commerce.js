// Shared commerce code of the storefront and the POS: money in minor units,
// order and payment states, SKU names for order lines, the QR payment panel
// (with the sandbox wallet's "approve") and waiting for a payment to settle.
import { api, extendStrings, formatMoney, getLang, h, showError, t } from './app.js';

extendStrings({
  en: {
    cart: 'Cart',
    cart_count: (n) => `Cart, ${n} item${n === 1 ? '' : 's'}`,
    my_orders: 'My orders',
    add_to_cart: 'Add to cart',
    adding: 'Adding…',
    added_to_cart: (n) => `Added ${n} to your cart.`,
    view_cart: 'View cart',
    qty: 'Qty',
    quantity: 'Quantity',
    remove: 'Remove',
    qty_less: (title) => `One less: ${title}`,
    qty_more: (title) => `One more: ${title}`,
    item: 'Item',
    unit_price: 'Unit price',
    amount: 'Amount',
    subtotal: 'Subtotal',
    member_discount: 'Member discount',
    coupon_discount: (code) => `Coupon ${code}`,
    discount: 'Discount',
    shipping: 'Shipping',
    tax: 'Tax',
    total: 'Total',
    free: 'Free',
    captured: 'Paid',
    refunded: 'Refunded',
    // orders
    order_n: (id) => `Order #${id}`,
    order_title: 'Order',
    orders_title: 'My orders',
    no_orders: 'You have no orders yet.',
    start_shopping: 'Start shopping',
    placed_at: 'Placed',
    status: 'Status',
    status_history: 'Status history',
    items: 'Items',
    items_n: (n) => `${n} item${n === 1 ? '' : 's'}`,
    payment: 'Payment',
    payments: 'Payments',
    totals: 'Totals',
    fulfilment_deliver: 'Home delivery',
    fulfilment_pickup: 'Pickup in store',
    fulfilment_pos: 'In store',
    channel: 'Channel',
    channel_web: 'Online',
    channel_app: 'App',
    channel_pos: 'In store (POS)',
    channel_scan_to_order: 'Scanned in store',
    channel_livestream: 'Livestream',
    channel_auction: 'Auction',
    channel_joint_order: 'Joint order',
    channel_subscription: 'Subscription',
    cancel_order: 'Cancel order',
    cancel_confirm: 'Cancel this order? Its payment is voided or refunded.',
    cancelling: 'Cancelling…',
    keep_order: 'Keep the order',
    receipt: 'Receipt',
    missing_order_id: 'No order was named. Open it from your orders.',
    cancelled_ok: 'The order is cancelled.',
    view_order: 'View order',
    sign_in_to_see: 'Sign in to see your orders.',
    sign_in_to_buy: 'Sign in to shop: your cart keeps what you add.',
    state_pending_payment: 'Awaiting payment',
    state_paid: 'Paid',
    state_allocated: 'Being prepared',
    state_shipped: 'Shipped',
    state_delivered: 'Delivered',
    state_completed: 'Completed',
    state_cancelled: 'Cancelled',
    state_refunded: 'Refunded',
    state_partially_refunded: 'Partly refunded',
    state_created: 'Order placed',
    cmd_pay: 'payment received',
    cmd_allocate: 'stock allocated',
    cmd_ship: 'handed to the carrier',
    cmd_deliver: 'delivered',
    cmd_complete: 'completed',
    cmd_cancel: 'cancelled',
    cmd_refund_part: 'partly refunded',
    cmd_refund_all: 'refunded',
    pay_requires_action: 'Waiting for payment',
    pay_authorised: 'Authorised',
    pay_captured: 'Paid',
    pay_partially_refunded: 'Partly refunded',
    pay_refunded: 'Refunded',
    pay_voided: 'Voided',
    method_alipay: 'Alipay',
    method_wechat_pay: 'WeChat Pay',
    method_cash: 'Cash',
    method_card_terminal: 'Card (terminal)',
    method_stored_card: 'Saved card',
    sku_n: (id) => `SKU #${id}`,
    // QR
    scan_to_pay: 'Scan to pay',
    scan_to_pay_hint: (m) => `Open ${m} and scan this code.`,
    qr_payload: 'QR payload',
    sandbox_approve: 'Approve in sandbox',
    sandbox_hint: 'Sandbox wallet: no real money moves. Approve to pay as the wallet would.',
    approving: 'Approving…',
    waiting_payment: 'Waiting for the payment to be confirmed…',
    paid_ok: 'Payment received.',
    pay_timeout: 'No confirmation yet. The order keeps waiting; check it again in a moment.',
    pay_now: 'Pay now',
    coupons: 'Coupons',
    coupon_code: 'Coupon code',
    apply: 'Apply',
    remove_code: (c) => `Remove ${c}`,
    checkout: 'Checkout',
    fulfilment: 'Delivery',
    region: 'Province or region',
    store: 'Store',
    payment_method: 'Payment method',
    pay_at_store: 'Pay at the store',
    place_order: 'Place order',
    placing: 'Placing the order…',
    cart_empty: 'Your cart is empty.',
    opening_order: 'Paid. Opening your order…',
    enter_code: 'Enter a coupon code.',
    region_other: 'Elsewhere',
    scan_title: 'Order it home',
    scan_lead: 'Not in your size here, or too much to carry? We deliver it to your home.',
    scanned_at: (store) => `Scanned at ${store}`,
    see_product: 'See the product',
    order_home: 'Order for home delivery',
    signin_to_order: 'Sign in to order',
    missing_code: 'No SKU code was scanned.',
  },
  'zh-CN': {
    cart: '购物车',
    cart_count: (n) => `购物车，${n} 件`,
    my_orders: '我的订单',
    add_to_cart: '加入购物车',
    adding: '加入中…',
    added_to_cart: (n) => `已加入购物车 ${n} 件。`,
    view_cart: '查看购物车',
    qty: '数量',
    quantity: '数量',
    remove: '删除',
    qty_less: (title) => `减少一件：${title}`,
    qty_more: (title) => `增加一件：${title}`,
    item: '商品',
    unit_price: '单价',
    amount: '金额',
    subtotal: '商品小计',
    member_discount: '会员折扣',
    coupon_discount: (code) => `优惠券 ${code}`,
    discount: '优惠',
    shipping: '运费',
    tax: '税费',
    total: '合计',
    free: '免运费',
    captured: '已付',
    refunded: '已退',
    order_n: (id) => `订单 #${id}`,
    order_title: '订单',
    orders_title: '我的订单',
    no_orders: '你还没有订单。',
    start_shopping: '去逛逛',
    placed_at: '下单时间',
    status: '状态',
    status_history: '状态记录',
    items: '商品',
    items_n: (n) => `${n} 件商品`,
    payment: '支付',
    payments: '支付记录',
    totals: '金额',
    fulfilment_deliver: '送货上门',
    fulfilment_pickup: '到店自提',
    fulfilment_pos: '门店购买',
    channel: '渠道',
    channel_web: '网店',
    channel_app: 'App',
    channel_pos: '门店收银',
    channel_scan_to_order: '门店扫码下单',
    channel_livestream: '直播',
    channel_auction: '拍卖',
    channel_joint_order: '拼单',
    channel_subscription: '订阅',
    cancel_order: '取消订单',
    cancel_confirm: '确定取消该订单？款项将撤销或退回。',
    cancelling: '取消中…',
    keep_order: '不取消',
    receipt: '小票',
    missing_order_id: '未指定订单，请从“我的订单”打开。',
    cancelled_ok: '订单已取消。',
    view_order: '查看订单',
    sign_in_to_see: '登录后查看你的订单。',
    sign_in_to_buy: '登录后购物，购物车会保存你加入的商品。',
    state_pending_payment: '待付款',
    state_paid: '已付款',
    state_allocated: '备货中',
    state_shipped: '已发货',
    state_delivered: '已送达',
    state_completed: '已完成',
    state_cancelled: '已取消',
    state_refunded: '已退款',
    state_partially_refunded: '部分退款',
    state_created: '已下单',
    cmd_pay: '收到付款',
    cmd_allocate: '已配货',
    cmd_ship: '已交承运商',
    cmd_deliver: '已送达',
    cmd_complete: '已完成',
    cmd_cancel: '已取消',
    cmd_refund_part: '部分退款',
    cmd_refund_all: '已退款',
    pay_requires_action: '等待付款',
    pay_authorised: '已授权',
    pay_captured: '已付款',
    pay_partially_refunded: '部分退款',
    pay_refunded: '已退款',
    pay_voided: '已撤销',
    method_alipay: '支付宝',
    method_wechat_pay: '微信支付',
    method_cash: '现金',
    method_card_terminal: '刷卡（POS 机）',
    method_stored_card: '已存银行卡',
    sku_n: (id) => `SKU #${id}`,
    scan_to_pay: '扫码支付',
    scan_to_pay_hint: (m) => `请打开${m}扫描此码。`,
    qr_payload: '二维码内容',
    sandbox_approve: '在沙箱中确认付款',
    sandbox_hint: '沙箱钱包：不会产生真实扣款。点击确认即模拟钱包付款。',
    approving: '确认中…',
    waiting_payment: '正在等待付款确认…',
    paid_ok: '已收到付款。',
    pay_timeout: '暂未收到确认，订单仍在等待付款，请稍后再查看。',
    pay_now: '立即付款',
    coupons: '优惠券',
    coupon_code: '优惠码',
    apply: '使用',
    remove_code: (c) => `移除 ${c}`,
    checkout: '结算',
    fulfilment: '配送方式',
    region: '省份 / 地区',
    store: '门店',
    payment_method: '支付方式',
    pay_at_store: '到店付款',
    place_order: '提交订单',
    placing: '正在提交…',
    cart_empty: '购物车是空的。',
    opening_order: '已付款，正在打开订单…',
    enter_code: '请输入优惠码。',
    region_other: '其他地区',
    scan_title: '扫码下单，送货到家',
    scan_lead: '门店没有合适尺码，或不方便带走？我们送货上门。',
    scanned_at: (store) => `扫码门店：${store}`,
    see_product: '查看商品详情',
    order_home: '下单并送货上门',
    signin_to_order: '登录后下单',
    missing_code: '未扫描到 SKU 编码。',
  },
});

// ------------------------------------------------------------------- money

/** Minor units in `currency` → "¥129.00". */
export function money(amountMinor, currency = 'CNY') {
  return formatMoney({ amount_minor: Number(amountMinor) || 0, currency });
}

/** The CNY price of a SKU (else its first), as `{amount_minor, currency}` or null. */
export function skuPrice(sku, currency = 'CNY') {
  const prices = Array.isArray(sku?.prices) ? sku.prices : [];
  return prices.find((p) => p.currency === currency) || prices[0] || null;
}

/** "12 Nov 2026, 14:03" in the page's language. */
export function formatTime(ms) {
  if (!ms) return '';
  try {
    return new Intl.DateTimeFormat(getLang(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
  } catch {
    return new Date(ms).toISOString();
  }
}

// ------------------------------------------------------------------ labels

const label = (prefix, v) => {
  const key = `${prefix}_${v}`;
  const s = t(key);
  return s === key ? String(v || '').replace(/_/g, ' ') : s;
};
export const stateLabel = (s) => label('state', s);
export const paymentStateLabel = (s) => label('pay', s);
export const methodLabel = (m) => label('method', m);
export const channelLabel = (c) => label('channel', c);
export const commandLabel = (c) => label('cmd', c);

/** A coloured pill for an order state. */
export function stateBadge(state, testid = 'order-state') {
  return h('span', { class: `state-badge state-${state}`, testid, 'data-state': state }, stateLabel(state));
}

/** Provinces offered for home delivery: routing prefers a location in the buyer's. */
export const REGIONS = [
  ['Shanghai', '上海'], ['Zhejiang', '浙江'], ['Jiangsu', '江苏'], ['Beijing', '北京'], ['Guangdong', '广东'],
  ['Sichuan', '四川'], ['Yunnan', '云南'], ['Hubei', '湖北'], ['Fujian', '福建'], ['Shandong', '山东'],
];

/** Fills a <select> with REGIONS (value: the English name the server routes by). */
export function fillRegions(select, chosen = 'Shanghai') {
  const zh = getLang() === 'zh-CN';
  select.replaceChildren(...REGIONS.map(([en, cn]) => h('option', { value: en, selected: en === chosen }, zh ? cn : en)),
    h('option', { value: '' }, t('region_other')));
}

export const QR_METHODS = ['alipay', 'wechat_pay'];
/** Orders a buyer may still cancel (before shipping). */
export const CANCELLABLE = ['pending_payment', 'paid', 'allocated'];

// ------------------------------------------------------------ SKU titles

const skuCache = new Map();

/**
 * `{sku, product}` of a SKU id (order lines name SKUs by id), cached for the
 * page; null when the SKU cannot be seen any more.
 */
export function skuInfo(id) {
  if (!skuCache.has(id)) {
    skuCache.set(id, api(`/api/v1/skus/${encodeURIComponent(id)}`).then((r) => r.data, () => null));
  }
  return skuCache.get(id);
}

/** "Classic Dress · Red / M" for a SKU and its product. */
export function skuTitle(info) {
  if (!info) return '';
  const opts = [info.sku?.color, info.sku?.size].filter(Boolean).join(' / ');
  return [info.product?.title, opts].filter(Boolean).join(' · ');
}

// --------------------------------------------------------------- quote

/** Rows of a QuoteDto (coupons.rs) for a totals table: [{key, label, amount}]. */
export function quoteRows(q, { shipping = true } = {}) {
  if (!q) return [];
  const rows = [{ key: 'subtotal', label: t('subtotal'), m: q.subtotal }];
  if (q.tier_discount && q.tier_discount.amount_minor) rows.push({ key: 'tier_discount', label: t('member_discount'), m: neg(q.tier_discount) });
  for (const c of q.coupons || []) rows.push({ key: 'coupon', code: c.code, label: t('coupon_discount', c.code), m: neg(c.discount) });
  if (shipping && q.shipping) rows.push({ key: 'shipping', label: t('shipping'), m: q.shipping, text: q.shipping.amount_minor ? null : t('free') });
  if (q.tax && q.tax.amount_minor) rows.push({ key: 'tax', label: t('tax'), m: q.tax });
  rows.push({ key: 'total', label: t('total'), m: q.total, strong: true });
  return rows;
}

const neg = (m) => ({ ...m, amount_minor: -Math.abs(m.amount_minor) });

/** A <dl> of totals rows (quoteRows or built by hand). */
export function totalsList(rows, testid = 'totals') {
  return h('dl', { class: 'totals', testid },
    rows.map((r) => h('div', { class: `totals-row${r.strong ? ' totals-strong' : ''}`, testid: `total-${r.key}`, 'data-code': r.code, 'data-minor': r.m?.amount_minor },
      h('dt', {}, r.label),
      h('dd', {}, r.text ?? formatMoney(r.m)))));
}

// ------------------------------------------------------- paying by QR

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls the payment until it is captured (or `timeoutMs` passes). Resolves
 * to the last PaymentOut seen.
 */
export async function waitForPayment(paymentId, { timeoutMs = 60_000, every = 700, signal } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    if (signal?.aborted) break;
    const { data } = await api(`/api/v1/payments/${paymentId}`);
    last = data;
    if (['captured', 'partially_refunded', 'refunded', 'voided'].includes(data.state)) return data;
    await sleep(every);
  }
  return last;
}

/**
 * Fills `container` with the QR payment panel: the payload to scan and, for
 * the sandbox wallet, a button that approves as the wallet would. Waits for
 * the payment to be captured; resolves to the PaymentOut (or rejects).
 */
export function qrPanel(container, payment, nextAction) {
  const payload = nextAction?.qr_payload || '';
  const sandbox = payload.startsWith('souk-sandbox://');
  const status = h('p', { class: 'notice', testid: 'payment-status', role: 'status', 'aria-live': 'polite' }, t('waiting_payment'));
  const err = h('div', { class: 'error-slot', testid: 'qr-error', hidden: true });
  const approve = sandbox
    ? h('button', { type: 'button', class: 'btn btn-primary', testid: 'sandbox-approve' }, t('sandbox_approve'))
    : null;
  if (approve) {
    approve.addEventListener('click', async () => {
      approve.disabled = true;
      approve.textContent = t('approving');
      try {
        await api(`/api/v1/sandbox/payments/${encodeURIComponent(payment.provider_ref)}/approve`, { method: 'POST', body: {} });
      } catch (e) {
        showError(err, e);
        approve.disabled = false;
      }
      approve.textContent = t('sandbox_approve');
    });
  }
  container.replaceChildren(h('section', { class: 'qr-pay', testid: 'qr-pay', 'data-method': payment.method },
    h('h2', {}, t('scan_to_pay')),
    h('p', { class: 'muted' }, t('scan_to_pay_hint', methodLabel(payment.method))),
    h('div', { class: 'qr-row' },
      qrPicture(payload),
      h('div', { class: 'qr-side' },
        h('div', { class: 'qr-amount', testid: 'qr-amount' }, money(payment.amount_minor, payment.currency)),
        h('label', { class: 'small muted' }, t('qr_payload')),
        h('code', { class: 'qr-payload', testid: 'qr-payload' }, payload))),
    sandbox ? h('p', { class: 'notice notice-warn small' }, t('sandbox_hint')) : null,
    approve,
    err,
    status));
  container.hidden = false;
  return waitForPayment(payment.id).then((p) => {
    const ok = p && ['captured', 'partially_refunded'].includes(p.state);
    status.className = `notice ${ok ? 'notice-ok' : 'notice-warn'}`;
    status.textContent = ok ? t('paid_ok') : t('pay_timeout');
    status.dataset.state = p ? p.state : '';
    if (approve) approve.hidden = ok;
    return p;
  });
}

/**
 * A decorative, deterministic QR-like picture of the payload (finder squares
 * and a hash pattern). The payload itself is shown next to it as text.
 */
function qrPicture(payload) {
  const n = 25;
  let x = 2166136261;
  const bits = [];
  for (let i = 0; i < n * n; i++) {
    x ^= payload.charCodeAt(i % Math.max(payload.length, 1)) + i;
    x = Math.imul(x, 16777619) >>> 0;
    bits.push((x >>> 7) & 1);
  }
  const finder = (r, c) => {
    for (const [fr, fc] of [[0, 0], [0, n - 7], [n - 7, 0]]) {
      const dr = r - fr; const dc = c - fc;
      if (dr >= 0 && dr < 7 && dc >= 0 && dc < 7) {
        const edge = dr === 0 || dr === 6 || dc === 0 || dc === 6;
        const core = dr >= 2 && dr <= 4 && dc >= 2 && dc <= 4;
        return edge || core ? 1 : 0;
      }
    }
    return null;
  };
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const f = finder(r, c);
      if (f ?? bits[r * n + c]) d += `M${c} ${r}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `-2 -2 ${n + 4} ${n + 4}`);
  svg.setAttribute('class', 'qr-img');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('scan_to_pay'));
  svg.dataset.testid = 'qr-image';
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('x', '-2'); bg.setAttribute('y', '-2'); bg.setAttribute('width', String(n + 4)); bg.setAttribute('height', String(n + 4));
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#1d2330');
  svg.append(bg, path);
  return svg;
}
