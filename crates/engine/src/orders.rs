//! Orders, payments and the ledger as one service: checkout, capture,
//! refunds, cancellation, transitions, views and the trial balance.
//!
//! The rules are in `souk_core::{order, payment, ledger, pricing}`; this
//! module loads state, calls them and writes the outcome. Every money
//! movement happens in one write transaction together with the intent's and
//! the order's compare-and-set and their event rows, so a racing second
//! capture finds the state already moved and changes nothing. Stock goes
//! through the stock owner only (`Stock::reserve / extend / release / commit`).

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::coupons::{Coupons, Prepared, RedeemContext};
use crate::payments::{self, NextAction, Provider, ProviderStatus, SandboxQr, WebhookEvent};
use crate::stock::{Actor, ReserveRequest, Stock};
use souk_core::access::Principal;
use souk_core::catalog::ProductStatus;
use souk_core::coupon::SaleChannel;
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_core::ids::{
    AccountId, CartId, LocationId, OrderId, PaymentIntentId, SkuId, StoredCardId,
};
use souk_core::ledger::{self, CaptureSplit, Posting, TakeRate};
use souk_core::money::{Currency, Money};
use souk_core::order::{self, Attribution, Channel, LineRequest, OrderCommand, OrderState};
use souk_core::payment::{self as pay, IntentCommand, IntentFigures, IntentState, Method};
use souk_core::pricing::{self, MarketConfig, ShippingRule};
use souk_core::stock::{Command as StockCommand, Fulfilment};
use souk_store::catalog::ProductRecord;
use souk_store::locations::LocationRow;
use souk_store::orders::{
    self as repo, IntentRow, LineRow, NewOrder, OrderRow, OrderScope, PosReceiptRow,
};
use souk_store::Db;
use std::collections::BTreeMap;
use std::sync::Arc;

mod pos;

/// How long an unpaid order holds its stock before it is cancelled.
pub const PAYMENT_WINDOW_MS: i64 = 30 * 60 * 1000;
/// How long a paid order keeps its stock held while it waits to ship.
pub const PAID_HOLD_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// The buyer of a POS sale with no member attached (a disabled account).
pub const WALK_IN: AccountId = AccountId(0);
/// Order lines sold over the counter hold no reservation: their stock left at once.
const NO_RESERVATION: i64 = 0;

/// Money settings of the market.
#[derive(Debug, Clone)]
pub struct OrdersConfig {
    /// The platform's take of each supplier's sales, in basis points.
    pub take_rate_bps: i64,
    /// The secret QR-wallet webhooks are signed with.
    pub webhook_secret: String,
    pub market: MarketConfig,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            take_rate_bps: 1_000,
            webhook_secret: payments::SANDBOX_WEBHOOK_SECRET.to_owned(),
            market: MarketConfig::default(),
        }
    }
}

/// Where the buyer gets the goods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    DeliverHome { region: String },
    Pickup { store: LocationId },
}

/// A checkout: lines and how to pay. Prices are never part of it.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub lines: Vec<LineRequest>,
    pub currency: Option<Currency>,
    pub channel: Channel,
    pub handover: Handover,
    pub method: Method,
    pub stored_card: Option<StoredCardId>,
    /// The store a scan-to-order came from.
    pub origin_location: Option<LocationId>,
    /// Coupon codes to redeem with this order.
    pub codes: Vec<String>,
    /// The cart being checked out (closed in the order's transaction).
    pub cart: Option<CartId>,
}

/// A sale rung up at a store's till.
#[derive(Debug, Clone)]
pub struct PosSaleRequest {
    pub location: LocationId,
    pub lines: Vec<LineRequest>,
    /// cash, card_terminal, alipay or wechat_pay.
    pub method: Method,
    /// The member the sale is for (found by phone), if any.
    pub member: Option<AccountId>,
    pub codes: Vec<String>,
    /// Cash handed over; defaults to the total.
    pub tendered_minor: Option<i64>,
}

/// A POS sale and what the till shows next.
#[derive(Debug, Clone)]
pub struct PosSale {
    pub order: OrderView,
    pub intent: IntentRow,
    pub next_action: NextAction,
    /// Present once the sale is paid.
    pub receipt: Option<Receipt>,
}

/// Everything a printed receipt shows.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub till: PosReceiptRow,
    pub order: OrderRow,
    pub lines: Vec<(LineRow, Arc<ProductRecord>)>,
    pub intent: IntentRow,
    pub location: LocationRow,
    pub member_phone: Option<String>,
    pub member_tier: Option<souk_core::tier::TierLevel>,
}

/// A call to a payment provider, made once the transaction's writes passed.
enum ProviderCall {
    Void {
        method: Method,
        provider_ref: String,
    },
    Refund {
        method: Method,
        provider_ref: String,
        amount_minor: i64,
    },
}

/// Whose prices: the member (tier discount), their coupon codes, where.
struct PriceFor<'a> {
    member: Option<AccountId>,
    codes: &'a [String],
    channel: SaleChannel,
}

/// Who an order is written for and how it was sold.
struct NewSale<'a> {
    buyer: AccountId,
    actor: AccountId,
    channel: Channel,
    kind: &'a str,
    origin: Option<LocationId>,
    method: Method,
    card: Option<StoredCardId>,
    lines: &'a [order::Line],
    /// Per line: (reservation id or NO_RESERVATION, location).
    held: &'a [(i64, LocationId)],
    quote: &'a pricing::Quote,
    coupons: &'a [Prepared],
    sale_channel: SaleChannel,
    cart: Option<CartId>,
    till: Option<PosReceiptRow>,
}

/// An order as one principal may see it.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: OrderRow,
    /// Only the lines this viewer may see.
    pub lines: Vec<LineRow>,
    /// Totals and payments are shown to the buyer, clerks and operators; a
    /// supplier sees only its own lines.
    pub full: bool,
    pub events: Vec<repo::EventRow>,
    pub intents: Vec<IntentRow>,
}

/// The result of checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub order: OrderView,
    pub intent: IntentRow,
    pub next_action: NextAction,
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    Captured,
    AlreadyCaptured,
    /// The payment came after its intent was voided (the order was
    /// cancelled): the money was refunded in full at once.
    RefundedLate,
    /// The payment was already refunded (a late payment handled before).
    AlreadyRefunded,
    Duplicate,
    Ignored,
}

impl WebhookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Captured => "captured",
            WebhookOutcome::AlreadyCaptured => "already_captured",
            WebhookOutcome::RefundedLate => "refunded_late",
            WebhookOutcome::AlreadyRefunded => "already_refunded",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
        }
    }
}

/// What the provider's word that the payer paid did to an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirmed {
    /// Captured now: the order is paid.
    Captured(OrderId),
    /// The intent was voided: the money went straight back.
    RefundedLate,
    /// Handled before (captured, or refunded late); the intent is in this state.
    Already(IntentState),
}

/// A trial balance: per currency, per account; each currency sums to zero.
#[derive(Debug, Clone)]
pub struct TrialBalance {
    pub accounts: Vec<Posting>,
    pub totals: BTreeMap<Currency, i64>,
}

pub struct Orders {
    db: Db,
    clock: Arc<dyn Clock>,
    stock: Arc<Stock>,
    catalog: Arc<Catalog>,
    coupons: Arc<Coupons>,
    config: OrdersConfig,
    alipay: Arc<SandboxQr>,
    wechat: Arc<SandboxQr>,
}

fn system_actor() -> Actor {
    Actor {
        account: AccountId(0),
        privileged: true,
    }
}

/// How coupon redemptions name the order they belong to.
fn coupon_ref(id: OrderId) -> String {
    format!("order:{id}")
}

fn new_ref(prefix: &str) -> String {
    format!(
        "{prefix}{:016x}{:016x}",
        crate::secrets::random_u64(),
        crate::secrets::random_u64()
    )
}

impl Orders {
    pub fn start(
        db: Db,
        clock: Arc<dyn Clock>,
        stock: Arc<Stock>,
        catalog: Arc<Catalog>,
        coupons: Arc<Coupons>,
        config: OrdersConfig,
    ) -> Arc<Orders> {
        let orders = Arc::new(Orders {
            db,
            clock,
            stock,
            catalog,
            coupons,
            config,
            alipay: Arc::new(SandboxQr::new(Method::Alipay)),
            wechat: Arc::new(SandboxQr::new(Method::WechatPay)),
        });
        let weak = Arc::downgrade(&orders);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                let Some(o) = weak.upgrade() else { break };
                if let Err(e) = o.cancel_unpaid().await {
                    tracing::warn!(error = %e, "cancelling unpaid orders failed");
                }
            }
        });
        orders
    }

    pub fn config(&self) -> &OrdersConfig {
        &self.config
    }

    fn provider(&self, m: Method) -> Arc<dyn Provider> {
        match m {
            Method::Cash => Arc::new(payments::Cash),
            Method::CardTerminal => Arc::new(payments::SandboxTerminal),
            Method::Alipay => self.alipay.clone(),
            Method::WechatPay => self.wechat.clone(),
            Method::StoredCard => Arc::new(payments::SandboxStoredCard),
        }
    }

    /// The QR sandbox of a wallet ("alipay", "wechat_pay").
    pub fn sandbox_qr(&self, m: Method) -> Option<&SandboxQr> {
        match m {
            Method::Alipay => Some(&self.alipay),
            Method::WechatPay => Some(&self.wechat),
            _ => None,
        }
    }

    // ------------------------------------------------------------ checkout

    /// Prices lines on the server: list prices from the catalog, the member's
    /// tier and the coupons, through the one price calculation
    /// (`souk_core::pricing::quote`). Nothing is redeemed yet.
    async fn price(
        &self,
        p: &Principal,
        lines: &[LineRequest],
        currency: Currency,
        shipping: &ShippingRule,
        who: PriceFor<'_>,
    ) -> DomainResult<(Vec<order::Line>, pricing::Quote, Vec<Prepared>)> {
        let PriceFor {
            member,
            codes,
            channel: sale_channel,
        } = who;
        let mut priced = Vec::with_capacity(lines.len());
        let mut quote_lines = Vec::with_capacity(lines.len());
        for l in lines {
            let rec = self.catalog.product_of_sku(Some(p), l.sku).await?;
            if rec.status != ProductStatus::Active {
                return Err(DomainError::not_found("The SKU"));
            }
            let sku = rec
                .skus
                .iter()
                .find(|s| s.id == l.sku)
                .ok_or_else(|| DomainError::not_found("The SKU"))?;
            let unit = sku
                .prices
                .iter()
                .find(|m| m.currency == currency)
                .copied()
                .ok_or_else(|| {
                    DomainError::new(
                        ErrorCode::PriceUnavailable,
                        format!("SKU {} has no price in {currency}.", l.sku),
                    )
                })?;
            priced.push(order::Line {
                sku: l.sku,
                supplier: rec.supplier_id,
                qty: l.qty,
                unit_price_minor: unit.amount_minor,
                amount_minor: order::line_amount(l.qty, unit.amount_minor)?,
            });
            quote_lines.push(pricing::Line {
                sku: l.sku,
                unit_price: Money {
                    amount_minor: unit.amount_minor,
                    currency,
                },
                qty: l.qty,
            });
        }
        let prepared = self
            .coupons
            .prepare(member, codes, Some(sale_channel), currency)
            .await?;
        let applied: Vec<pricing::AppliedCoupon> = prepared.iter().map(Prepared::applied).collect();
        let tier_bps = self.coupons.tier_discount_bps(member).await?;
        let quote = pricing::quote(
            &quote_lines,
            tier_bps,
            &applied,
            shipping,
            &self.config.market.tax,
        )?;
        Ok((priced, quote, prepared))
    }

    /// Creates the order, its stock reservations and its payment intent.
    ///
    /// Stock is reserved first through the stock owner (the only writer of
    /// stock); then the order and intent are written in one transaction. If
    /// anything fails, the reservations made are released, so either all
    /// three exist or none does (after a crash in between, the holds expire).
    pub async fn checkout(&self, p: &Principal, req: CheckoutRequest) -> DomainResult<Checkout> {
        if !p.is_buyer() {
            return Err(DomainError::forbidden("Only buyers check out."));
        }
        if !req.channel.buyer_checkout() {
            return Err(DomainError::invalid(format!(
                "Buyers check out through web, app or scan_to_order, not {}.",
                req.channel.as_str()
            )));
        }
        order::check_lines(&req.lines)?;
        if req.channel == Channel::ScanToOrder && req.origin_location.is_none() {
            return Err(DomainError::invalid(
                "A scan-to-order names the store it was scanned in (origin_location_id).",
            ));
        }
        let card = match (req.method, req.stored_card) {
            (Method::StoredCard, Some(id)) => Some(
                repo::card(self.db.pool(), id)
                    .await?
                    .filter(|c| c.buyer == p.account_id && !c.revoked)
                    .ok_or_else(|| DomainError::not_found("The stored card"))?,
            ),
            (Method::StoredCard, None) => {
                return Err(DomainError::invalid("Name the stored_card_id to charge."))
            }
            (_, Some(_)) => {
                return Err(DomainError::invalid(
                    "A stored_card_id goes with the stored_card method only.",
                ))
            }
            _ => None,
        };
        let currency = req.currency.unwrap_or(self.config.market.currency);
        let (shipping, fulfilment, fixed, kind) = match &req.handover {
            Handover::DeliverHome { region } => (
                self.config.market.shipping,
                Fulfilment::DeliverHome {
                    region: region.clone(),
                },
                None,
                "deliver",
            ),
            Handover::Pickup { store } => (
                ShippingRule::NONE,
                Fulfilment::Pickup { store: *store },
                Some(*store),
                "pickup",
            ),
        };
        let (lines, quote, prepared) = self
            .price(
                p,
                &req.lines,
                currency,
                &shipping,
                PriceFor {
                    member: Some(p.account_id),
                    codes: &req.codes,
                    channel: SaleChannel::Online,
                },
            )
            .await?;
        let now = self.clock.now_ms();

        let actor = Actor {
            account: p.account_id,
            privileged: false,
        };
        let mut held: Vec<(i64, LocationId)> = Vec::with_capacity(lines.len());
        for l in &lines {
            let r = self
                .stock
                .reserve(
                    actor,
                    ReserveRequest {
                        sku: l.sku,
                        qty: l.qty,
                        location: fixed,
                        fulfilment: fulfilment.clone(),
                        channel: req.channel.as_str().to_owned(),
                        hold_ms: PAYMENT_WINDOW_MS,
                    },
                )
                .await;
            match r {
                Ok(r) => held.push((r.id, r.location)),
                Err(e) => {
                    self.release_all(held.iter().map(|h| h.0).collect()).await;
                    return Err(e);
                }
            }
        }
        let written = self
            .write_order(
                NewSale {
                    buyer: p.account_id,
                    actor: p.account_id,
                    channel: req.channel,
                    kind,
                    origin: req.origin_location,
                    method: req.method,
                    card: card.map(|c| c.id),
                    lines: &lines,
                    held: &held,
                    quote: &quote,
                    coupons: &prepared,
                    sale_channel: SaleChannel::Online,
                    cart: req.cart,
                    till: None,
                },
                now,
            )
            .await;
        let (order_id, intent_id) = match written {
            Ok(v) => v,
            Err(e) => {
                self.release_all(held.iter().map(|h| h.0).collect()).await;
                return Err(e);
            }
        };
        let intent = self.intent_row(intent_id).await?;
        let mut next_action = self.provider(req.method).start(
            &intent.provider_ref,
            intent.amount_minor,
            intent.currency,
        );
        if req.method == Method::StoredCard {
            // Charged at once: the token was saved for exactly this.
            self.capture(intent_id, "stored_card", Some(p.account_id))
                .await?;
            next_action = NextAction::None;
        }
        let order = self.view_for(p, order_id).await?;
        let intent = self.intent_row(intent_id).await?;
        Ok(Checkout {
            order,
            intent,
            next_action,
        })
    }

    /// Writes the order, its lines, its payment intent, its coupon
    /// redemptions, the cart's closing and the till's row in one transaction.
    async fn write_order(
        &self,
        sale: NewSale<'_>,
        now: i64,
    ) -> DomainResult<(OrderId, PaymentIntentId)> {
        let quote = sale.quote;
        let rows: Vec<LineRow> = sale
            .lines
            .iter()
            .zip(sale.held)
            .map(|(l, (rid, loc))| LineRow {
                id: 0,
                order_id: OrderId(0),
                fulfilment_id: souk_core::ids::FulfilmentId(0),
                location: *loc,
                sku: l.sku,
                supplier: l.supplier,
                qty: l.qty,
                unit_price_minor: l.unit_price_minor,
                amount_minor: l.amount_minor,
                reservation_id: *rid,
            })
            .collect();
        let new = NewOrder {
            order: OrderRow {
                id: OrderId(0),
                buyer: sale.buyer,
                channel: sale.channel,
                state: OrderState::PendingPayment,
                fulfilment_kind: sale.kind.to_owned(),
                currency: quote.currency,
                subtotal_minor: quote.subtotal.amount_minor,
                discount_minor: quote.discount_total.amount_minor,
                shipping_minor: quote.shipping.amount_minor,
                tax_minor: quote.tax.amount_minor,
                total_minor: quote.total.amount_minor,
                captured_minor: 0,
                refunded_minor: 0,
                attribution: Attribution::default(),
                origin_location: sale.origin,
                created_at_ms: now,
                updated_at_ms: now,
            },
            lines: rows,
        };
        let mut tx = self.db.begin_write().await?;
        let order_id = repo::insert_order(&mut tx, &new, Some(sale.actor)).await?;
        let order_ref = coupon_ref(order_id);
        self.coupons
            .redeem_in(
                &mut tx,
                sale.coupons,
                quote,
                &RedeemContext {
                    buyer: (sale.buyer != WALK_IN).then_some(sale.buyer),
                    channel: sale.sale_channel,
                    location: sale.origin,
                    order_ref: &order_ref,
                },
            )
            .await?;
        if let Some(cart) = sale.cart {
            if !repo::close_cart(&mut tx, cart, order_id, now).await? {
                return Err(DomainError::new(
                    ErrorCode::IllegalTransition,
                    "This cart was already checked out.",
                ));
            }
        }
        if let Some(till) = &sale.till {
            repo::insert_pos_receipt(
                &mut tx,
                &PosReceiptRow {
                    order_id,
                    ..till.clone()
                },
            )
            .await?;
        }
        let intent_id = repo::insert_intent(
            &mut tx,
            &IntentRow {
                id: PaymentIntentId(0),
                order_id,
                buyer: sale.buyer,
                method: sale.method,
                state: IntentState::RequiresAction,
                currency: quote.currency,
                amount_minor: quote.total.amount_minor,
                refunded_minor: 0,
                provider_ref: new_ref("pi_"),
                stored_card: sale.card,
                take_rate_bps: self.config.take_rate_bps,
                created_at_ms: now,
                updated_at_ms: now,
            },
        )
        .await?;
        souk_store::commit(tx).await?;
        Ok((order_id, intent_id))
    }

    async fn release_all(&self, ids: Vec<i64>) {
        for id in ids.into_iter().filter(|id| *id != NO_RESERVATION) {
            if let Err(e) = self.stock.release(system_actor(), id).await {
                tracing::debug!(reservation = id, error = %e, "release skipped");
            }
        }
    }

    async fn intent_row(&self, id: PaymentIntentId) -> DomainResult<IntentRow> {
        repo::intent(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::not_found("The payment"))
    }

    // ------------------------------------------------------------ money

    fn split(&self, o: &OrderRow, lines: &[LineRow], i: &IntentRow) -> DomainResult<CaptureSplit> {
        let priced: Vec<order::Line> = lines
            .iter()
            .map(|l| order::Line {
                sku: l.sku,
                supplier: l.supplier,
                qty: l.qty,
                unit_price_minor: l.unit_price_minor,
                amount_minor: l.amount_minor,
            })
            .collect();
        Ok(CaptureSplit {
            currency: i.currency,
            paid: i.amount_minor,
            coupon: o.discount_minor,
            supplier_gross: order::gross_by_supplier(&priced)?,
            fees: o
                .shipping_minor
                .checked_add(o.tax_minor)
                .ok_or_else(|| DomainError::internal("fees overflow"))?,
            rate: TakeRate::from_bps(i.take_rate_bps)?,
        })
    }

    /// Captures an intent once. The loser of a race gets `already_captured`.
    /// On success the order is paid and its stock held until it ships.
    pub async fn capture(
        &self,
        id: PaymentIntentId,
        source: &str,
        actor: Option<AccountId>,
    ) -> DomainResult<IntentRow> {
        let mut tx = self.db.begin_write().await?;
        let order_id = self.capture_in(&mut tx, id, source, actor).await?;
        souk_store::commit(tx).await?;
        self.after_capture(order_id).await;
        self.intent_row(id).await
    }

    /// The provider says the payer paid (its webhook, or the buyer's return):
    /// capture the intent, or, if it was voided meanwhile (the order was
    /// cancelled), refund the late payment at once. Either happens once: a
    /// compare-and-set on the intent's state decides, and the loser of a race
    /// learns what the winner did (`Already`). Inside the caller's write
    /// transaction; nothing is written unless it returns `Captured` or
    /// `RefundedLate`.
    async fn confirm_in(
        &self,
        tx: &mut souk_store::WriteTx,
        id: PaymentIntentId,
        source: &str,
        actor: Option<AccountId>,
    ) -> DomainResult<Confirmed> {
        let i = repo::intent(&mut **tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("The payment"))?;
        if pay::on_paid(i.state) == IntentCommand::Capture {
            match self.capture_in(tx, id, source, actor).await {
                Ok(order_id) => return Ok(Confirmed::Captured(order_id)),
                // The failed capture wrote nothing before its CAS.
                Err(e) if e.code == ErrorCode::AlreadyCaptured => {}
                Err(e) => return Err(e),
            }
        }
        // Either voided when read, or the capture's CAS lost: to another
        // capture, or to a cancellation that voided the intent meanwhile.
        let i = repo::intent(&mut **tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("The payment"))?;
        if pay::on_paid(i.state) == IntentCommand::RefundLate
            && self.refund_late_in(tx, &i, source, actor).await?
        {
            return Ok(Confirmed::RefundedLate);
        }
        let now = repo::intent(&mut **tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("The payment"))?;
        Ok(Confirmed::Already(now.state))
    }

    /// A payment taken after its intent was voided goes straight back, in
    /// full: `voided → refunded` by compare-and-set (false: another request
    /// did it first, nothing written), the provider's refund, two payment
    /// events (the money in, the money out) and the ledger's late payment
    /// and payout. The order stays cancelled; no stock, coupon or member
    /// spend moves.
    async fn refund_late_in(
        &self,
        tx: &mut souk_store::WriteTx,
        i: &IntentRow,
        source: &str,
        actor: Option<AccountId>,
    ) -> DomainResult<bool> {
        let now = self.clock.now_ms();
        let change = pay::decide(figures(i), IntentCommand::RefundLate)?;
        if !repo::move_intent(tx, i.id, change.from, change.to, change.refunded_minor, now).await? {
            return Ok(false);
        }
        self.provider(i.method)
            .refund(&i.provider_ref, i.amount_minor)?;
        repo::insert_payment_event(
            tx,
            i.id,
            change.from,
            change.from,
            i.amount_minor,
            &format!("{source}_late"),
            actor,
            now,
        )
        .await?;
        repo::insert_payment_event(
            tx,
            i.id,
            change.from,
            change.to,
            i.amount_minor,
            "refund_late",
            actor,
            now,
        )
        .await?;
        repo::add_order_money(tx, i.order_id, i.amount_minor, i.amount_minor).await?;
        let (late, payout) = ledger::late_payment_postings(i.currency, i.amount_minor)?;
        for t in [late, payout] {
            repo::insert_txn(tx, t.kind, Some(i.order_id), Some(i.id), &t.postings, now).await?;
        }
        tracing::info!(order = %i.order_id, payment = %i.id, amount_minor = i.amount_minor,
            "payment confirmed after its order was cancelled; refunded in full");
        Ok(true)
    }

    /// The capture itself, inside the caller's write transaction.
    async fn capture_in(
        &self,
        tx: &mut souk_store::WriteTx,
        id: PaymentIntentId,
        source: &str,
        actor: Option<AccountId>,
    ) -> DomainResult<OrderId> {
        let now = self.clock.now_ms();
        let i = repo::intent(&mut **tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("The payment"))?;
        let change = pay::decide(figures(&i), IntentCommand::Capture)?;
        if !repo::move_intent(tx, id, change.from, change.to, 0, now).await? {
            // Another request moved it between our read and our write.
            return Err(DomainError::new(
                ErrorCode::AlreadyCaptured,
                "This payment was already captured.",
            ));
        }
        if i.method == Method::StoredCard {
            let token = match i.stored_card {
                Some(c) => repo::card(&mut **tx, c).await?.map(|c| c.provider_token),
                None => None,
            }
            .ok_or_else(|| DomainError::not_found("The stored card"))?;
            payments::charge_token(&token)?;
        }
        self.provider(i.method)
            .capture(&i.provider_ref, i.amount_minor)?;
        repo::insert_payment_event(
            tx,
            id,
            change.from,
            change.to,
            i.amount_minor,
            source,
            actor,
            now,
        )
        .await?;
        let o = repo::order(&mut **tx, i.order_id)
            .await?
            .ok_or_else(|| DomainError::internal("intent without order"))?;
        let next = order::decide(o.state, OrderCommand::Pay)?;
        if !repo::move_order(tx, o.id, o.state, next, now).await? {
            return Err(DomainError::new(
                ErrorCode::IllegalTransition,
                "The order changed meanwhile; retry.",
            ));
        }
        repo::insert_event(tx, o.id, Some(o.state), next, "pay", actor, source, now).await?;
        repo::add_order_money(tx, o.id, i.amount_minor, 0).await?;
        let lines = repo::lines(&mut **tx, o.id).await?;
        let t = ledger::capture_postings(&self.split(&o, &lines, &i)?)?;
        repo::insert_txn(tx, t.kind, Some(o.id), Some(id), &t.postings, now).await?;
        // What the member paid counts towards their tier, in the same commit.
        if o.buyer != WALK_IN {
            self.coupons
                .record_spend_in(
                    tx,
                    o.buyer,
                    Money {
                        amount_minor: i.amount_minor,
                        currency: i.currency,
                    },
                    &format!("capture:{id}"),
                    now,
                )
                .await?;
        }
        Ok(o.id)
    }

    /// A paid order keeps its stock until it ships. If a hold already ran out
    /// (a payment confirmed after the window), the money goes back. A POS
    /// sale is handed over at the till: it completes at once.
    async fn after_capture(&self, order_id: OrderId) {
        match repo::order(self.db.pool(), order_id).await {
            Ok(Some(o)) if o.channel == Channel::Pos => {
                if let Err(e) = self.hand_over_at_till(&o).await {
                    tracing::error!(order = %order_id, error = %e, "paid POS sale not completed");
                }
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(order = %order_id, error = %e, "could not read a paid order");
                return;
            }
        }
        let lines = match repo::lines(self.db.pool(), order_id).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(order = %order_id, error = %e, "could not read a paid order's lines");
                return;
            }
        };
        let until = self.clock.now_ms().saturating_add(PAID_HOLD_MS);
        for l in &lines {
            if let Err(e) = self
                .stock
                .extend(system_actor(), l.reservation_id, until)
                .await
            {
                tracing::warn!(order = %order_id, error = %e, "stock hold lost before payment; refunding");
                if let Err(e) = self
                    .cancel_order(order_id, None, "stock hold expired before payment")
                    .await
                {
                    tracing::error!(order = %order_id, error = %e, "automatic refund failed");
                }
                return;
            }
        }
    }

    /// Refunds part or all of what is left of a captured intent (operators).
    pub async fn refund(
        &self,
        p: &Principal,
        id: PaymentIntentId,
        amount_minor: i64,
    ) -> DomainResult<IntentRow> {
        souk_core::access::require_operator(p)?;
        let mut tx = self.db.begin_write().await?;
        let i = repo::intent(&mut *tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("The payment"))?;
        let order_id = i.order_id;
        let mut calls = Vec::new();
        let o = self
            .refund_in(
                &mut tx,
                &i,
                amount_minor,
                Some(p.account_id),
                true,
                &mut calls,
            )
            .await?;
        self.call_providers(calls)?;
        souk_store::commit(tx).await?;
        if o == OrderState::Refunded {
            let lines = repo::lines(self.db.pool(), order_id).await?;
            self.release_all(lines.iter().map(|l| l.reservation_id).collect())
                .await;
        }
        self.intent_row(id).await
    }

    /// Refund inside a transaction; moves the order too when `move_order`.
    async fn refund_in(
        &self,
        tx: &mut souk_store::WriteTx,
        i: &IntentRow,
        amount_minor: i64,
        actor: Option<AccountId>,
        move_order: bool,
        calls: &mut Vec<ProviderCall>,
    ) -> DomainResult<OrderState> {
        let now = self.clock.now_ms();
        let change = pay::decide(figures(i), IntentCommand::Refund { amount_minor })?;
        if !repo::move_intent(tx, i.id, change.from, change.to, change.refunded_minor, now).await? {
            return Err(DomainError::new(
                ErrorCode::IllegalTransition,
                "The payment changed meanwhile; retry.",
            ));
        }
        calls.push(ProviderCall::Refund {
            method: i.method,
            provider_ref: i.provider_ref.clone(),
            amount_minor,
        });
        repo::insert_payment_event(
            tx,
            i.id,
            change.from,
            change.to,
            amount_minor,
            "refund",
            actor,
            now,
        )
        .await?;
        let o = repo::order(&mut **tx, i.order_id)
            .await?
            .ok_or_else(|| DomainError::internal("intent without order"))?;
        let mut state = o.state;
        if move_order {
            let cmd = if change.to == IntentState::Refunded {
                OrderCommand::RefundAll
            } else {
                OrderCommand::RefundPart
            };
            let next = order::decide(o.state, cmd)?;
            if !repo::move_order(tx, o.id, o.state, next, now).await? {
                return Err(DomainError::new(
                    ErrorCode::IllegalTransition,
                    "The order changed meanwhile; retry.",
                ));
            }
            repo::insert_event(tx, o.id, Some(o.state), next, cmd.as_str(), actor, "", now).await?;
            state = next;
        }
        repo::add_order_money(tx, o.id, 0, amount_minor).await?;
        let lines = repo::lines(&mut **tx, o.id).await?;
        let (refund, payout) =
            ledger::refund_postings(&self.split(&o, &lines, i)?, i.refunded_minor, amount_minor)?;
        for t in [refund, payout] {
            repo::insert_txn(tx, t.kind, Some(o.id), Some(i.id), &t.postings, now).await?;
        }
        if o.buyer != WALK_IN {
            // Refunded money stops counting towards the tier; the reference
            // names how much was refunded after this one, so it is unique.
            self.coupons
                .record_spend_in(
                    tx,
                    o.buyer,
                    Money {
                        amount_minor: -amount_minor,
                        currency: i.currency,
                    },
                    &format!("refund:{}:{}", i.id, change.refunded_minor),
                    now,
                )
                .await?;
        }
        Ok(state)
    }

    /// Cancels an order before it ships: voids what is not captured, refunds
    /// what is, and releases its stock. Buyers cancel their own; operators any.
    pub async fn cancel(&self, p: &Principal, id: OrderId) -> DomainResult<OrderView> {
        let o = self.load_visible(p, id).await?;
        if !(p.is_operator() || o.buyer == p.account_id) {
            return Err(DomainError::forbidden(
                "Only the buyer or an operator may cancel.",
            ));
        }
        self.cancel_order(id, Some(p.account_id), "").await?;
        self.view_for(p, id).await
    }

    async fn cancel_order(
        &self,
        id: OrderId,
        actor: Option<AccountId>,
        note: &str,
    ) -> DomainResult<()> {
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let o = repo::order(&mut *tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("The order"))?;
        let next = order::decide(o.state, OrderCommand::Cancel)?;
        // The providers are called only once every write here has passed its
        // compare-and-set: a cancel that loses a race gives no money back.
        let mut calls = Vec::new();
        for i in repo::intents_of_order(&mut *tx, id).await? {
            match i.state {
                IntentState::RequiresAction | IntentState::Authorised => {
                    let c = pay::decide(figures(&i), IntentCommand::Void)?;
                    if !repo::move_intent(&mut tx, i.id, c.from, c.to, 0, now).await? {
                        return Err(DomainError::new(
                            ErrorCode::IllegalTransition,
                            "The payment changed meanwhile; retry.",
                        ));
                    }
                    calls.push(ProviderCall::Void {
                        method: i.method,
                        provider_ref: i.provider_ref.clone(),
                    });
                    repo::insert_payment_event(&mut tx, i.id, c.from, c.to, 0, "void", actor, now)
                        .await?;
                }
                s if s.is_captured() => {
                    let left = i.amount_minor - i.refunded_minor;
                    if left > 0 {
                        self.refund_in(&mut tx, &i, left, actor, false, &mut calls)
                            .await?;
                    }
                }
                _ => {}
            }
        }
        if !repo::move_order(&mut tx, id, o.state, next, now).await? {
            return Err(DomainError::new(
                ErrorCode::IllegalTransition,
                "The order changed meanwhile; retry.",
            ));
        }
        repo::insert_event(&mut tx, id, Some(o.state), next, "cancel", actor, note, now).await?;
        // The buyer gets their coupons back with a cancelled order.
        self.coupons.void_order_in(&mut tx, &coupon_ref(id)).await?;
        self.call_providers(calls)?;
        souk_store::commit(tx).await?;
        let lines = repo::lines(self.db.pool(), id).await?;
        if o.channel == Channel::Pos {
            let goods: Vec<_> = lines.iter().map(|l| (l.sku, l.location, l.qty)).collect();
            self.put_back(&goods, &format!("POS sale {id} cancelled"))
                .await;
        } else {
            self.release_all(lines.iter().map(|l| l.reservation_id).collect())
                .await;
        }
        Ok(())
    }

    /// Tells the providers what a transaction decided, after its last
    /// compare-and-set and before its commit (an error rolls it back).
    fn call_providers(&self, calls: Vec<ProviderCall>) -> DomainResult<()> {
        for c in calls {
            match c {
                ProviderCall::Void {
                    method,
                    provider_ref,
                } => self.provider(method).void(&provider_ref)?,
                ProviderCall::Refund {
                    method,
                    provider_ref,
                    amount_minor,
                } => self.provider(method).refund(&provider_ref, amount_minor)?,
            }
        }
        Ok(())
    }

    /// Cancels orders left unpaid past the payment window.
    pub async fn cancel_unpaid(&self) -> DomainResult<usize> {
        let before = self.clock.now_ms() - PAYMENT_WINDOW_MS;
        let ids = repo::unpaid_before(self.db.pool(), before, 100).await?;
        let mut n = 0;
        for id in ids {
            match self
                .cancel_order(id, None, "unpaid within the payment window")
                .await
            {
                Ok(()) => n += 1,
                Err(e) => tracing::debug!(order = %id, error = %e, "unpaid order not cancelled"),
            }
        }
        Ok(n)
    }

    /// Moves an order along fulfilment: allocate, ship (its stock leaves),
    /// deliver, complete. Operators, or clerks of a store the order ships from.
    pub async fn advance(
        &self,
        p: &Principal,
        id: OrderId,
        cmd: OrderCommand,
    ) -> DomainResult<OrderView> {
        if !matches!(
            cmd,
            OrderCommand::Allocate
                | OrderCommand::Ship
                | OrderCommand::Deliver
                | OrderCommand::Complete
        ) {
            return Err(DomainError::invalid(
                "Use allocate, ship, deliver or complete here; cancel and refund have their own routes.",
            ));
        }
        let o = self.load_visible(p, id).await?;
        let lines = repo::lines(self.db.pool(), id).await?;
        let clerk_here = lines.iter().any(|l| p.store_ids().any(|s| s == l.location));
        if !(p.is_operator() || clerk_here) {
            return Err(DomainError::forbidden(
                "Only operators and the fulfilling store's clerks move orders along.",
            ));
        }
        let now = self.clock.now_ms();
        let next = order::decide(o.state, cmd)?;
        let mut tx = self.db.begin_write().await?;
        if !repo::move_order(&mut tx, id, o.state, next, now).await? {
            return Err(DomainError::new(
                ErrorCode::IllegalTransition,
                "The order changed meanwhile; retry.",
            ));
        }
        repo::insert_event(
            &mut tx,
            id,
            Some(o.state),
            next,
            cmd.as_str(),
            Some(p.account_id),
            "",
            now,
        )
        .await?;
        souk_store::commit(tx).await?;
        if cmd == OrderCommand::Ship {
            for l in &lines {
                if let Err(e) = self.stock.commit(system_actor(), l.reservation_id).await {
                    tracing::error!(order = %id, reservation = l.reservation_id, error = %e, "shipped order's stock not committed");
                }
            }
        }
        self.view_for(p, id).await
    }

    // ------------------------------------------------------------ payments API

    /// A clerk (of a store of the order) or an operator confirms a cash or
    /// card-terminal payment at the till.
    pub async fn confirm_at_till(
        &self,
        p: &Principal,
        id: PaymentIntentId,
    ) -> DomainResult<IntentRow> {
        let i = self.intent_visible(p, id).await?;
        if !matches!(i.method, Method::Cash | Method::CardTerminal) {
            return Err(DomainError::new(
                ErrorCode::IllegalTransition,
                "Only cash and card-terminal payments are confirmed at the till.",
            ));
        }
        let o = repo::order(self.db.pool(), i.order_id)
            .await?
            .ok_or_else(|| DomainError::not_found("The payment"))?;
        let lines = repo::lines(self.db.pool(), o.id).await?;
        let clerk_here = p
            .store_ids()
            .any(|s| o.origin_location == Some(s) || lines.iter().any(|l| l.location == s));
        if !(p.is_operator() || clerk_here) {
            return Err(DomainError::forbidden(
                "Only a clerk of this order's store or an operator confirms payment at the till.",
            ));
        }
        self.capture(id, i.method.as_str(), Some(p.account_id))
            .await
    }

    /// The buyer came back from the wallet: ask the provider and capture if paid.
    pub async fn buyer_return(
        &self,
        p: &Principal,
        id: PaymentIntentId,
    ) -> DomainResult<IntentRow> {
        let i = self.intent_visible(p, id).await?;
        if i.buyer != p.account_id {
            return Err(DomainError::not_found("The payment"));
        }
        if self.provider(i.method).status(&i.provider_ref) != ProviderStatus::Paid {
            return Ok(i);
        }
        let mut tx = self.db.begin_write().await?;
        let done = self
            .confirm_in(&mut tx, id, "return", Some(p.account_id))
            .await?;
        souk_store::commit(tx).await?;
        if let Confirmed::Captured(order_id) = done {
            self.after_capture(order_id).await;
        }
        self.intent_row(id).await
    }

    /// A provider's webhook: verified, deduplicated by event id, captured once.
    pub async fn webhook(
        &self,
        provider: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> DomainResult<WebhookOutcome> {
        let method = Method::parse(provider)
            .filter(|m| m.is_qr_wallet())
            .ok_or_else(|| DomainError::not_found("The payment provider"))?;
        let now = self.clock.now_ms();
        payments::verify(&self.config.webhook_secret, signature, body, now)?;
        let ev: WebhookEvent = serde_json::from_slice(body).map_err(|e| {
            DomainError::new(
                ErrorCode::InvalidBody,
                format!("The webhook body does not fit: {e}"),
            )
        })?;
        let i = repo::intent_by_ref(self.db.pool(), &ev.provider_ref)
            .await?
            .filter(|i| i.method == method)
            .ok_or_else(|| DomainError::not_found("The payment"))?;
        if ev.kind == "payment.succeeded"
            && (ev.amount_minor != i.amount_minor || ev.currency != i.currency)
        {
            return Err(DomainError::new(
                ErrorCode::InvalidAmount,
                "The webhook's amount or currency differs from the payment's.",
            ));
        }
        let mut tx = self.db.begin_write().await?;
        let outcome = if ev.kind != "payment.succeeded" {
            WebhookOutcome::Ignored
        } else {
            match self.confirm_in(&mut tx, i.id, "webhook", None).await? {
                Confirmed::Captured(_) => WebhookOutcome::Captured,
                Confirmed::RefundedLate => WebhookOutcome::RefundedLate,
                Confirmed::Already(IntentState::Refunded) => WebhookOutcome::AlreadyRefunded,
                Confirmed::Already(_) => WebhookOutcome::AlreadyCaptured,
            }
        };
        if !repo::record_delivery(
            &mut tx,
            provider,
            &ev.event_id,
            Some(i.id),
            outcome.as_str(),
            now,
        )
        .await?
        {
            // Seen before: roll back whatever this delivery did.
            drop(tx);
            return Ok(WebhookOutcome::Duplicate);
        }
        souk_store::commit(tx).await?;
        if outcome == WebhookOutcome::Captured {
            self.after_capture(i.order_id).await;
        }
        Ok(outcome)
    }

    /// The sandbox wallet: the payer approves; returns the signed webhook the
    /// provider sends (body, signature header).
    pub fn sandbox_approve(&self, i: &IntentRow) -> DomainResult<(String, String)> {
        let qr = self.sandbox_qr(i.method).ok_or_else(|| {
            DomainError::new(
                ErrorCode::IllegalTransition,
                "Only QR wallet payments are approved in the sandbox.",
            )
        })?;
        qr.payer_approves(&i.provider_ref);
        let body = serde_json::to_string(&WebhookEvent {
            event_id: new_ref("evt_"),
            kind: "payment.succeeded".into(),
            provider_ref: i.provider_ref.clone(),
            amount_minor: i.amount_minor,
            currency: i.currency,
        })
        .map_err(|e| DomainError::internal(e.to_string()))?;
        let sig = payments::sign(
            &self.config.webhook_secret,
            self.clock.now_ms(),
            body.as_bytes(),
        )?;
        Ok((body, sig))
    }

    /// The QR code a wallet payment still waiting for its payer shows (so a
    /// buyer who left the page can pay later); `None` otherwise.
    pub fn waiting_qr(&self, i: &IntentRow) -> Option<String> {
        if i.state != IntentState::RequiresAction || !i.method.is_qr_wallet() {
            return None;
        }
        match self
            .provider(i.method)
            .start(&i.provider_ref, i.amount_minor, i.currency)
        {
            NextAction::ScanQr { qr_payload } => Some(qr_payload),
            _ => None,
        }
    }

    /// An intent by its provider reference (the sandbox wallet page uses it).
    pub async fn intent_by_ref(&self, provider_ref: &str) -> DomainResult<IntentRow> {
        repo::intent_by_ref(self.db.pool(), provider_ref)
            .await?
            .ok_or_else(|| DomainError::not_found("The payment"))
    }

    /// A payment as `p` may see it (its order's buyer, clerks, operators).
    pub async fn intent_visible(
        &self,
        p: &Principal,
        id: PaymentIntentId,
    ) -> DomainResult<IntentRow> {
        let i = self.intent_row(id).await?;
        let v = self
            .view_for(p, i.order_id)
            .await
            .map_err(|_| DomainError::not_found("The payment"))?;
        if !v.full {
            return Err(DomainError::not_found("The payment"));
        }
        Ok(i)
    }

    // ------------------------------------------------------------ stored cards

    pub async fn save_card(
        &self,
        p: &Principal,
        provider_token: String,
        brand: String,
        last4: String,
    ) -> DomainResult<repo::StoredCardRow> {
        if !p.is_buyer() {
            return Err(DomainError::forbidden("Only buyers save cards."));
        }
        if provider_token.is_empty()
            || provider_token.len() > 200
            || brand.is_empty()
            || brand.len() > 40
        {
            return Err(DomainError::invalid(
                "A card needs a provider_token and a brand.",
            ));
        }
        if last4.len() != 4 || !last4.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::invalid(
                "last4 is the card's last four digits.",
            ));
        }
        let mut row = repo::StoredCardRow {
            id: StoredCardId(0),
            buyer: p.account_id,
            provider_token,
            brand,
            last4,
            revoked: false,
            created_at_ms: self.clock.now_ms(),
        };
        let mut tx = self.db.begin_write().await?;
        row.id = repo::insert_card(&mut tx, &row).await?;
        souk_store::commit(tx).await?;
        Ok(row)
    }

    pub async fn cards(&self, p: &Principal) -> DomainResult<Vec<repo::StoredCardRow>> {
        Ok(repo::cards_of(self.db.pool(), p.account_id).await?)
    }

    /// Charges a buyer's stored card for an existing unpaid order (pay-on-win).
    pub async fn charge_stored_card(&self, intent: PaymentIntentId) -> DomainResult<IntentRow> {
        self.capture(intent, "stored_card", None).await
    }

    // ------------------------------------------------------------ views

    async fn load_visible(&self, p: &Principal, id: OrderId) -> DomainResult<OrderRow> {
        Ok(self.view_for(p, id).await?.order)
    }

    /// One order as `p` may see it; orders it may not see are not found.
    pub async fn view_for(&self, p: &Principal, id: OrderId) -> DomainResult<OrderView> {
        let o = repo::order(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::not_found("The order"))?;
        let lines = repo::lines(self.db.pool(), id).await?;
        let v = visible(p, &o, lines).ok_or_else(|| DomainError::not_found("The order"))?;
        let (events, intents) = if v.1 {
            (
                repo::events(self.db.pool(), id).await?,
                repo::intents_of_order(self.db.pool(), id).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(OrderView {
            order: o,
            lines: v.0,
            full: v.1,
            events,
            intents,
        })
    }

    /// Orders `p` may see, newest first.
    pub async fn list(
        &self,
        p: &Principal,
        before: i64,
        limit: u32,
    ) -> DomainResult<Vec<OrderView>> {
        let scope = OrderScope {
            all: p.is_operator(),
            buyer: p.is_buyer().then_some(p.account_id),
            suppliers: p.supplier_ids().collect(),
            stores: p.store_ids().collect(),
        };
        let ids = repo::order_ids(self.db.pool(), &scope, before, limit).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.view_for(p, id).await?);
        }
        Ok(out)
    }

    /// The ledger summed per currency and account (operators).
    pub async fn trial_balance(&self, p: &Principal) -> DomainResult<TrialBalance> {
        souk_core::access::require_operator(p)?;
        let accounts = repo::trial_balance(self.db.pool()).await?;
        let totals = ledger::sums(&accounts)?;
        Ok(TrialBalance { accounts, totals })
    }

    /// Ledger postings of one order (kind, posting), for reconciliation.
    pub async fn order_postings(
        &self,
        p: &Principal,
        id: OrderId,
    ) -> DomainResult<Vec<(String, Posting)>> {
        souk_core::access::require_operator(p)?;
        Ok(repo::postings_of_order(self.db.pool(), id).await?)
    }
}

fn figures(i: &IntentRow) -> IntentFigures {
    IntentFigures {
        state: i.state,
        amount_minor: i.amount_minor,
        refunded_minor: i.refunded_minor,
    }
}

/// Which lines of `o` the principal sees, and whether it sees the whole
/// order (totals, payments, history). `None`: the order is not theirs.
pub fn visible(p: &Principal, o: &OrderRow, lines: Vec<LineRow>) -> Option<(Vec<LineRow>, bool)> {
    if p.is_operator() || o.buyer == p.account_id {
        return Some((lines, true));
    }
    let stores: Vec<LocationId> = p.store_ids().collect();
    if !stores.is_empty() {
        if o.origin_location.is_some_and(|s| stores.contains(&s)) {
            return Some((lines, true));
        }
        if lines.iter().any(|l| stores.contains(&l.location)) {
            let own = lines
                .into_iter()
                .filter(|l| stores.contains(&l.location))
                .collect();
            return Some((own, true));
        }
    }
    let suppliers: Vec<_> = p.supplier_ids().collect();
    let own: Vec<LineRow> = lines
        .into_iter()
        .filter(|l| suppliers.contains(&l.supplier))
        .collect();
    if own.is_empty() {
        None
    } else {
        Some((own, false))
    }
}
