//! A buyer's cart: lines and coupon codes kept on the server, priced by the
//! one price calculation every time it is shown, and checked out through
//! [`Orders::checkout`], which closes the cart in the order's transaction
//! (two racing checkouts of one cart make one order).

use crate::clock::Clock;
use crate::coupons::{CartInput, Coupons};
use crate::orders::{Checkout, CheckoutRequest, Handover, Orders};
use souk_core::access::Principal;
use souk_core::catalog::ProductStatus;
use souk_core::coupon::SaleChannel;
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_core::ids::{CartId, LocationId, SkuId, StoredCardId};
use souk_core::order::{Channel, LineRequest};
use souk_core::payment::Method;
use souk_core::pricing::{Quote, MAX_LINES};
use souk_store::catalog::ProductRecord;
use souk_store::orders as repo;
use souk_store::Db;
use std::sync::Arc;

use crate::catalog::Catalog;

/// A cart as its buyer sees it.
#[derive(Debug, Clone, Default)]
pub struct CartView {
    pub id: Option<CartId>,
    pub lines: Vec<CartLine>,
    pub codes: Vec<String>,
    /// The price now; `None` for an empty cart or one that cannot be priced.
    pub quote: Option<Quote>,
    /// Why the cart could not be priced as it stands (e.g. a code ran out).
    pub problem: Option<DomainError>,
}

#[derive(Debug, Clone)]
pub struct CartLine {
    pub sku: SkuId,
    pub qty: i64,
    pub product: Arc<ProductRecord>,
}

/// How a cart is checked out: everything but the lines and codes.
#[derive(Debug, Clone)]
pub struct CartCheckout {
    pub channel: Channel,
    pub handover: Handover,
    pub method: Method,
    pub stored_card: Option<StoredCardId>,
    pub origin_location: Option<LocationId>,
}

pub struct Carts {
    db: Db,
    clock: Arc<dyn Clock>,
    catalog: Arc<Catalog>,
    coupons: Arc<Coupons>,
    orders: Arc<Orders>,
}

fn buyers_only(p: &Principal) -> DomainResult<()> {
    if p.is_buyer() {
        Ok(())
    } else {
        Err(DomainError::forbidden("Only buyers have a cart."))
    }
}

impl Carts {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        catalog: Arc<Catalog>,
        coupons: Arc<Coupons>,
        orders: Arc<Orders>,
    ) -> Self {
        Carts {
            db,
            clock,
            catalog,
            coupons,
            orders,
        }
    }

    /// The buyer's open cart, priced now.
    pub async fn view(&self, p: &Principal) -> DomainResult<CartView> {
        buyers_only(p)?;
        let Some(row) = self.open_cart(p).await? else {
            return Ok(CartView::default());
        };
        let id = row.id;
        let mut lines = Vec::with_capacity(row.lines.len());
        for (sku, qty) in &row.lines {
            // A product withdrawn since it was added stays visible in the
            // cart (so the buyer sees why), but checkout refuses it.
            let product = self.catalog.product_of_sku(None, *sku).await?;
            lines.push(CartLine {
                sku: *sku,
                qty: *qty,
                product,
            });
        }
        let (quote, problem) = if lines.is_empty() {
            (None, None)
        } else {
            match self.price(p, &row.lines, &row.codes).await {
                Ok(q) => (Some(q), None),
                Err(e) => (None, Some(e)),
            }
        };
        Ok(CartView {
            id: Some(id),
            lines,
            codes: row.codes,
            quote,
            problem,
        })
    }

    /// The buyer's open cart, if they have one (reads never make one).
    async fn open_cart(&self, p: &Principal) -> DomainResult<Option<repo::CartRow>> {
        let mut conn = self.db.acquire().await?;
        let Some(id) = repo::open_cart_id(&mut conn, p.account_id).await? else {
            return Ok(None);
        };
        Ok(repo::cart(&mut conn, id).await?)
    }

    async fn price(
        &self,
        p: &Principal,
        lines: &[(SkuId, i64)],
        codes: &[String],
    ) -> DomainResult<Quote> {
        let (q, _) = self
            .coupons
            .price(&CartInput {
                lines: lines.to_vec(),
                codes: codes.to_vec(),
                channel: SaleChannel::Online,
                delivery: true,
                member: Some(p.account_id),
            })
            .await?;
        Ok(q)
    }

    /// Sets how many of a SKU the cart holds; 0 takes the line out.
    pub async fn set_line(&self, p: &Principal, sku: SkuId, qty: i64) -> DomainResult<CartView> {
        buyers_only(p)?;
        if qty != 0 {
            souk_core::stock::check_qty(qty)?;
            let rec = self.catalog.product_of_sku(Some(p), sku).await?;
            if rec.status != ProductStatus::Active {
                return Err(DomainError::not_found("The SKU"));
            }
        }
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let id =
            repo::open_cart(&mut tx, p.account_id, self.coupons.market().currency, now).await?;
        let row = repo::cart(&mut tx, id)
            .await?
            .ok_or_else(|| DomainError::internal("open cart vanished"))?;
        let is_new = !row.lines.iter().any(|(s, _)| *s == sku);
        if qty != 0 && is_new && row.lines.len() >= MAX_LINES {
            return Err(DomainError::invalid(format!(
                "A cart holds at most {MAX_LINES} lines."
            )));
        }
        repo::set_cart_line(&mut tx, id, sku, qty, now).await?;
        souk_store::commit(tx).await?;
        self.view(p).await
    }

    /// Puts coupon codes on the cart (replacing those there). A code that
    /// cannot be used on this cart now is refused and nothing changes.
    pub async fn set_codes(&self, p: &Principal, codes: Vec<String>) -> DomainResult<CartView> {
        buyers_only(p)?;
        let currency = self.coupons.market().currency;
        let prepared = self
            .coupons
            .prepare(
                Some(p.account_id),
                &codes,
                Some(SaleChannel::Online),
                currency,
            )
            .await?;
        let codes: Vec<String> = prepared.iter().map(|c| c.code.code.clone()).collect();
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let id = repo::open_cart(&mut tx, p.account_id, currency, now).await?;
        let row = repo::cart(&mut tx, id)
            .await?
            .ok_or_else(|| DomainError::internal("open cart vanished"))?;
        if !row.lines.is_empty() && !codes.is_empty() {
            // Minimum spend, stacking and the like need the lines.
            self.price(p, &row.lines, &codes).await?;
        }
        repo::set_cart_codes(&mut tx, id, &codes, now).await?;
        souk_store::commit(tx).await?;
        self.view(p).await
    }

    /// Checks the cart out: one order with its lines and codes, priced again
    /// on the server; the cart is closed in the order's transaction.
    pub async fn checkout(&self, p: &Principal, how: CartCheckout) -> DomainResult<Checkout> {
        buyers_only(p)?;
        let Some(row) = self.open_cart(p).await?.filter(|r| !r.lines.is_empty()) else {
            return Err(DomainError::new(ErrorCode::EmptyCart, "The cart is empty."));
        };
        let id = row.id;
        self.orders
            .checkout(
                p,
                CheckoutRequest {
                    lines: row
                        .lines
                        .iter()
                        .map(|(sku, qty)| LineRequest {
                            sku: *sku,
                            qty: *qty,
                        })
                        .collect(),
                    currency: Some(row.currency),
                    channel: how.channel,
                    handover: how.handover,
                    method: how.method,
                    stored_card: how.stored_card,
                    origin_location: how.origin_location,
                    codes: row.codes,
                    cart: Some(id),
                },
            )
            .await
    }
}
