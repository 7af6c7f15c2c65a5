// Shared code of the console pages (operators, suppliers, store clerks):
// the console session, strings, header and the sign-in guard. Builds on the
// storefront's app.js (fetch wrapper, language, errors, DOM helper).
import { LANGS, api, extendStrings, getLang, getToken, h, setLang, setToken, t, useTokenKey } from '/assets/app.js';
import { translateDom } from '/assets/i18n-dom.js';

// The console session lives apart from a buyer's storefront session.
export const CONSOLE_TOKEN_KEY = 'souk.console.token';
useTokenKey(CONSOLE_TOKEN_KEY);

extendStrings({
  en: {
    console: 'Console',
    console_home: 'Home',
    stock_nav: 'Stock',
    pos_nav: 'POS',
    tile_pos: 'Point of sale',
    tile_pos_hint: 'Sell in the store: scan, member and coupons, cash, card or QR, receipt.',
    storefront: 'Storefront',
    console_signin_title: 'Console sign-in',
    console_signin_lead: 'For the platform team, suppliers and store clerks.',
    email: 'Email',
    password: 'Password',
    signing_in: 'Signing in…',
    email_password_required: 'Enter your email and password.',
    console_signed_in: 'Signed in. Opening the console…',
    demo_users: 'Demo: operator@souk.demo, supplier1@souk.demo, clerk1@souk.demo — password souk-demo-password',
    buyer_signin_hint: 'Shopping? Buyers sign in with their phone on the storefront.',
    welcome: (name) => `Welcome, ${name}`,
    your_roles: 'Your roles',
    no_roles: 'This account holds no console role.',
    role_operator: 'Operator',
    role_supplier: 'Supplier',
    role_store_clerk: 'Store clerk',
    role_shop_owner: 'Shop owner',
    role_streamer: 'Streamer',
    role_buyer: 'Buyer',
    scope_supplier: (id) => `supplier #${id}`,
    scope_location: (name) => `at ${name}`,
    scope_shop: (id) => `shop #${id}`,
    your_locations: 'Locations you manage',
    no_locations: 'No locations are visible to you.',
    tile_stock: 'Stock by location',
    tile_stock_hint: 'Look up a SKU, receive goods, count, set safety stock, transfer, read the ledger.',
    tile_api: 'API documentation',
    tile_api_hint: 'Every route with its request and answer, browsable.',
    tile_store: 'Storefront',
    tile_store_hint: 'The shop as buyers see it.',
    // stock page
    stock_title: 'Stock by location',
    find_sku: 'Find a SKU',
    find_product: 'Search products',
    product_query_placeholder: 'Product title, e.g. dress',
    scan_code: 'SKU code or barcode',
    scan_placeholder: 'Type or scan, e.g. SK0000001-001',
    open_code: 'Open',
    no_products: 'No products match.',
    pick_sku: 'Pick a variant',
    product_n: (id) => `Product #${id}`,
    change_sku: 'Change',
    status_active: 'active',
    status_draft: 'draft',
    status_archived: 'archived',
    atp: 'Available to promise',
    atp_hint: 'Sum over locations that ship',
    stores_with_stock: 'Stores with stock',
    none: 'none',
    levels: 'Levels',
    location: 'Location',
    on_hand: 'On hand',
    reserved: 'Reserved',
    safety: 'Safety',
    available: 'Available',
    total: 'Total',
    kind_cloud_warehouse: 'Cloud warehouse',
    kind_store: 'Store',
    kind_supplier_warehouse: 'Supplier warehouse',
    actions: 'Actions',
    act_receive: 'Receive',
    act_adjust: 'Adjust',
    act_safety: 'Safety stock',
    act_transfer: 'Transfer',
    quantity: 'Quantity',
    delta: 'Change (+ found / − missing)',
    note: 'Note',
    note_optional: 'Note (optional)',
    note_required: 'Note (required: why)',
    receive_note_placeholder: 'e.g. PO 1234, delivery from factory',
    adjust_note_placeholder: 'e.g. cycle count, 1 damaged',
    from_location: 'From',
    to_location: 'To',
    safety_units: 'Units kept back from sale',
    save: 'Save',
    send_transfer: 'Send',
    working: 'Saving…',
    received_ok: (n, where) => `Received ${n} at ${where}.`,
    adjusted_ok: (d, where) => `Adjusted ${d} at ${where}.`,
    safety_ok: (n, where) => `Safety stock at ${where} is now ${n}.`,
    transfer_ok: (id, n) => `Transfer #${id} of ${n} sent; it is in transit until received.`,
    transfer_received_ok: (id) => `Transfer #${id} received.`,
    in_transit: 'In transit',
    no_transit: 'Nothing in transit.',
    transfer_n: (id) => `#${id}`,
    receive_transfer: 'Book in',
    cannot_receive_here: 'at destination',
    need_two_locations: 'A transfer needs two locations you can see.',
    whole_number: 'Enter a whole number.',
    ledger: 'Movement ledger',
    ledger_hint: 'Every change, newest first.',
    time: 'Time',
    reason: 'Reason',
    on_hand_d: 'On hand Δ',
    reserved_d: 'Reserved Δ',
    safety_d: 'Safety Δ',
    by: 'By',
    no_movements: 'No movements yet.',
    show_more: 'Show more',
    reason_receive: 'receive',
    reason_reserve: 'reserve',
    reason_release: 'release',
    reason_commit: 'commit',
    reason_transfer_out: 'transfer out',
    reason_transfer_in: 'transfer in',
    reason_adjust: 'adjust',
    reason_return: 'return',
    reason_pos_sale: 'POS sale',
    reason_set_safety: 'set safety',
    pick_first: 'Search for a product or scan a SKU code to see its stock.',
    refresh: 'Refresh',
    location_hidden: (id) => `Location #${id}`,
    read_only: 'You can see these figures but may not move stock at any location.',
  },
  'zh-CN': {
    console: '管理后台',
    console_home: '首页',
    stock_nav: '库存',
    pos_nav: '收银',
    tile_pos: '门店收银',
    tile_pos_hint: '门店销售：扫码、会员与优惠券、现金/刷卡/扫码支付、小票。',
    storefront: '商城',
    console_signin_title: '后台登录',
    console_signin_lead: '供平台运营、供应商和门店店员使用。',
    email: '邮箱',
    password: '密码',
    signing_in: '登录中…',
    email_password_required: '请输入邮箱和密码。',
    console_signed_in: '登录成功，正在进入后台…',
    demo_users: '演示账号：operator@souk.demo、supplier1@souk.demo、clerk1@souk.demo，密码 souk-demo-password',
    buyer_signin_hint: '来购物？买家请在商城用手机号登录。',
    welcome: (name) => `你好，${name}`,
    your_roles: '你的角色',
    no_roles: '该账号没有后台角色。',
    role_operator: '平台运营',
    role_supplier: '供应商',
    role_store_clerk: '门店店员',
    role_shop_owner: '店主',
    role_streamer: '主播',
    role_buyer: '买家',
    scope_supplier: (id) => `供应商 #${id}`,
    scope_location: (name) => `${name}`,
    scope_shop: (id) => `店铺 #${id}`,
    your_locations: '你管理的库位',
    no_locations: '没有可见的库位。',
    tile_stock: '分库位库存',
    tile_stock_hint: '查找 SKU，收货、盘点、设置安全库存、调拨，查看流水。',
    tile_api: 'API 文档',
    tile_api_hint: '所有接口及其请求与返回，可在线浏览。',
    tile_store: '商城',
    tile_store_hint: '买家看到的店铺。',
    stock_title: '分库位库存',
    find_sku: '查找 SKU',
    find_product: '搜索商品',
    product_query_placeholder: '商品标题，如 连衣裙',
    scan_code: 'SKU 编码或条码',
    scan_placeholder: '输入或扫码，如 SK0000001-001',
    open_code: '打开',
    no_products: '没有匹配的商品。',
    pick_sku: '选择规格',
    product_n: (id) => `商品 #${id}`,
    change_sku: '更换',
    status_active: '在售',
    status_draft: '草稿',
    status_archived: '已下架',
    atp: '可承诺库存',
    atp_hint: '所有可发货库位之和',
    stores_with_stock: '有货门店',
    none: '无',
    levels: '库存水位',
    location: '库位',
    on_hand: '在库',
    reserved: '已预留',
    safety: '安全库存',
    available: '可售',
    total: '合计',
    kind_cloud_warehouse: '云仓',
    kind_store: '门店',
    kind_supplier_warehouse: '供应商仓',
    actions: '操作',
    act_receive: '收货',
    act_adjust: '盘点调整',
    act_safety: '安全库存',
    act_transfer: '调拨',
    quantity: '数量',
    delta: '变化（+ 盘盈 / − 盘亏）',
    note: '备注',
    note_optional: '备注（可选）',
    note_required: '备注（必填：原因）',
    receive_note_placeholder: '如 采购单 1234，工厂到货',
    adjust_note_placeholder: '如 循环盘点，1 件破损',
    from_location: '调出',
    to_location: '调入',
    safety_units: '保留不售的数量',
    save: '保存',
    send_transfer: '发出',
    working: '保存中…',
    received_ok: (n, where) => `已在 ${where} 收货 ${n} 件。`,
    adjusted_ok: (d, where) => `已在 ${where} 调整 ${d} 件。`,
    safety_ok: (n, where) => `${where} 的安全库存已设为 ${n}。`,
    transfer_ok: (id, n) => `调拨单 #${id}（${n} 件）已发出，收货前处于在途状态。`,
    transfer_received_ok: (id) => `调拨单 #${id} 已收货。`,
    in_transit: '在途',
    no_transit: '没有在途调拨。',
    transfer_n: (id) => `#${id}`,
    receive_transfer: '确认收货',
    cannot_receive_here: '由调入方收货',
    need_two_locations: '调拨需要两个你可见的库位。',
    whole_number: '请输入整数。',
    ledger: '库存流水',
    ledger_hint: '每一次变动，最新的在前。',
    time: '时间',
    reason: '类型',
    on_hand_d: '在库 Δ',
    reserved_d: '预留 Δ',
    safety_d: '安全 Δ',
    by: '操作人',
    no_movements: '暂无流水。',
    show_more: '显示更多',
    reason_receive: '收货',
    reason_reserve: '预留',
    reason_release: '释放',
    reason_commit: '出库',
    reason_transfer_out: '调出',
    reason_transfer_in: '调入',
    reason_adjust: '调整',
    reason_return: '退货',
    reason_pos_sale: '门店销售',
    reason_set_safety: '安全库存',
    pick_first: '搜索商品或扫描 SKU 编码以查看库存。',
    refresh: '刷新',
    location_hidden: (id) => `库位 #${id}`,
    read_only: '你可以查看这些数字，但不能在任何库位变动库存。',
  },
});

export function signinUrl() {
  const here = location.pathname + location.search;
  return `/console/signin.html?next=${encodeURIComponent(here)}`;
}

/** Only console paths: never leave the console or the origin after sign-in. */
export function safeNext(n) {
  return n && n.startsWith('/console/') && !n.startsWith('/console/signin') && !n.includes('//') && !n.includes('\\')
    ? n : '/console/';
}

/** "supplier #1", "at West Lake Store", … for a grant. */
export function grantLabel(g, locations = []) {
  const role = t(`role_${g.role}`);
  let scope = '';
  if (g.supplier_id != null) scope = t('scope_supplier', g.supplier_id);
  else if (g.location_id != null) {
    const l = locations.find((x) => x.id === g.location_id);
    scope = t('scope_location', l ? l.name : `#${g.location_id}`);
  } else if (g.shop_id != null) scope = t('scope_shop', g.shop_id);
  return { role, scope };
}

function languageSwitch() {
  const sel = h('select', { class: 'lang-switch', testid: 'lang-switch', 'aria-label': t('language') },
    LANGS.map((l) => h('option', { value: l.tag, selected: l.tag === getLang() }, l.label)));
  sel.addEventListener('change', () => { setLang(sel.value); location.reload(); });
  return sel;
}

/**
 * Fills <header id="site-header"> with the console header. With
 * `requireSignIn`, a visitor without a console session is sent to the
 * console sign-in. Resolves to the account from /api/v1/me, or null.
 */
export async function renderConsoleHeader({ requireSignIn = true, active = '' } = {}) {
  document.documentElement.lang = getLang();
  translateDom();
  const header = document.getElementById('site-header');
  const account = h('div', { class: 'account', testid: 'account' });
  const nav = h('nav', { class: 'console-nav', 'aria-label': t('console') },
    h('a', { href: '/console/', class: active === 'home' ? 'is-active' : '', testid: 'nav-home' }, t('console_home')),
    h('a', { href: '/console/stock.html', class: active === 'stock' ? 'is-active' : '', testid: 'nav-stock' }, t('stock_nav')),
    h('a', { href: '/console/pos.html', class: active === 'pos' ? 'is-active' : '', testid: 'nav-pos' }, t('pos_nav')));
  header.classList.add('console-header');
  header.replaceChildren(h('div', { class: 'container header-inner' },
    h('a', { class: 'logo', href: '/console/', testid: 'home-link' },
      h('span', { class: 'logo-mark', 'aria-hidden': 'true' }, 'S'),
      h('span', { class: 'logo-text' }, 'souk'),
      h('span', { class: 'logo-tag console-tag' }, t('console'))),
    getToken() ? nav : null,
    h('div', { class: 'header-actions' }, languageSwitch(), account)));

  if (!getToken()) {
    if (requireSignIn) { location.replace(signinUrl()); return null; }
    return null;
  }
  try {
    const { data: me } = await api('/api/v1/me');
    const signOut = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'signout' }, t('sign_out'));
    signOut.addEventListener('click', () => signOutNow(signOut));
    account.replaceChildren(
      h('span', { class: 'account-who', title: me.email || '' },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, (me.display_name || me.email || '?').trim().charAt(0).toUpperCase()),
        h('span', { class: 'sr-only' }, `${t('signed_in_as')} `),
        h('span', { class: 'account-name', testid: 'account-name', 'data-email': me.email || '' }, me.display_name || me.email || `#${me.id}`)),
      signOut);
    return me;
  } catch (e) {
    if (e.status === 401 || !getToken()) {
      setToken(null);
      if (requireSignIn) { location.replace(signinUrl()); return null; }
    }
    throw e;
  }
}

export async function signOutNow(button) {
  if (button) button.disabled = true;
  try { await api('/api/v1/auth/logout', { method: 'POST' }); } catch { /* signed out locally anyway */ }
  setToken(null);
  location.assign('/console/signin.html');
}

export { t, h };
