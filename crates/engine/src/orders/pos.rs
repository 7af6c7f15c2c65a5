//! The till: a clerk rings up a sale at their store. The shelf stock leaves
//! on-hand at once (`pos_sale` movements through the stock owner); the order,
//! its payment, its coupon redemptions and the till's row are written in one
//! transaction. Cash and card-terminal sales are paid there and then and the
//! order completes; a QR sale completes when the wallet's webhook captures it,
//! and if it is abandoned the goods go back on the shelf (`return`).

use super::*;
use souk_core::location::LocationKind;

impl Orders {
    /// Rings up a sale at `req.location`: clerks of that store, or operators.
    pub async fn pos_sale(&self, p: &Principal, req: PosSaleRequest) -> DomainResult<PosSale> {
        let location = self.till_location(p, req.location).await?;
        if !matches!(
            req.method,
            Method::Cash | Method::CardTerminal | Method::Alipay | Method::WechatPay
        ) {
            return Err(DomainError::invalid(
                "At the till, pay by cash, card_terminal, alipay or wechat_pay.",
            ));
        }
        if req.tendered_minor.is_some() && req.method != Method::Cash {
            return Err(DomainError::invalid(
                "cash_tendered_minor goes with cash payments only.",
            ));
        }
        order::check_lines(&req.lines)?;
        let currency = self.config.market.currency;
        let (lines, quote, prepared) = self
            .price(
                p,
                &req.lines,
                currency,
                &ShippingRule::NONE,
                PriceFor {
                    member: req.member,
                    codes: &req.codes,
                    channel: SaleChannel::InStore,
                },
            )
            .await?;
        let total = quote.total.amount_minor;
        let tendered = match req.tendered_minor {
            Some(t) if t < total => {
                return Err(DomainError::new(
                    ErrorCode::InvalidAmount,
                    format!("The cash handed over ({t}) is less than the total ({total})."),
                ))
            }
            // Change bigger than the dearest price is a typo or an attack.
            Some(t) if t - total > souk_core::money::MAX_PRICE_MINOR => {
                return Err(DomainError::new(
                    ErrorCode::InvalidAmount,
                    "The cash handed over is implausibly large.",
                ))
            }
            Some(t) => Some(t),
            None if req.method == Method::Cash => Some(total),
            None => None,
        };

        // The goods are on the counter: they leave the shelf now.
        let clerk = Actor {
            account: p.account_id,
            privileged: false,
        };
        let mut sold: Vec<order::Line> = Vec::with_capacity(lines.len());
        for l in &lines {
            let r = self
                .stock
                .change(
                    clerk,
                    l.sku,
                    location.id,
                    StockCommand::PosSale { qty: l.qty },
                    "sold at the till".into(),
                )
                .await;
            if let Err(e) = r {
                let goods: Vec<_> = sold.iter().map(|l| (l.sku, location.id, l.qty)).collect();
                self.put_back(&goods, "POS sale not completed").await;
                return Err(e);
            }
            sold.push(l.clone());
        }
        let held: Vec<(i64, LocationId)> = lines
            .iter()
            .map(|_| (NO_RESERVATION, location.id))
            .collect();
        let now = self.clock.now_ms();
        let written = self
            .write_order(
                NewSale {
                    buyer: req.member.unwrap_or(WALK_IN),
                    actor: p.account_id,
                    channel: Channel::Pos,
                    kind: "in_store",
                    origin: Some(location.id),
                    method: req.method,
                    card: None,
                    lines: &lines,
                    held: &held,
                    quote: &quote,
                    coupons: &prepared,
                    sale_channel: SaleChannel::InStore,
                    cart: None,
                    till: Some(PosReceiptRow {
                        order_id: OrderId(0),
                        location: location.id,
                        clerk: p.account_id,
                        member: req.member,
                        tendered_minor: tendered,
                        change_minor: tendered.map(|t| t - total),
                        codes: prepared.iter().map(|c| c.code.code.clone()).collect(),
                        created_at_ms: now,
                    }),
                },
                now,
            )
            .await;
        let (order_id, intent_id) = match written {
            Ok(v) => v,
            Err(e) => {
                let goods: Vec<_> = lines.iter().map(|l| (l.sku, location.id, l.qty)).collect();
                self.put_back(&goods, "POS sale not completed").await;
                return Err(e);
            }
        };
        let intent = self.intent_row(intent_id).await?;
        let mut next_action = self.provider(req.method).start(
            &intent.provider_ref,
            intent.amount_minor,
            intent.currency,
        );
        if matches!(req.method, Method::Cash | Method::CardTerminal) {
            // The clerk holds the cash, or the terminal approved: settle now.
            if let Err(e) = self
                .capture(intent_id, req.method.as_str(), Some(p.account_id))
                .await
            {
                // Declined at the terminal: the sale is called off and the
                // goods go back on the shelf, so the clerk can try another way.
                if let Err(c) = self
                    .cancel_order(order_id, Some(p.account_id), "payment declined at the till")
                    .await
                {
                    tracing::error!(order = %order_id, error = %c, "declined till sale not called off");
                }
                return Err(e);
            }
            next_action = NextAction::None;
        }
        let intent = self.intent_row(intent_id).await?;
        let receipt = if intent.state.is_captured() {
            Some(self.receipt(p, order_id).await?)
        } else {
            None
        };
        Ok(PosSale {
            order: self.view_for(p, order_id).await?,
            intent,
            next_action,
            receipt,
        })
    }

    /// The receipt of a paid POS sale: the store's clerks, operators, and the
    /// member it was sold to.
    pub async fn receipt(&self, p: &Principal, id: OrderId) -> DomainResult<Receipt> {
        let view = self.view_for(p, id).await?;
        if !view.full {
            return Err(DomainError::not_found("The receipt"));
        }
        let till = repo::pos_receipt(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::not_found("The receipt"))?;
        let intent = view
            .intents
            .iter()
            .find(|i| i.state.is_captured())
            .cloned()
            .ok_or_else(|| {
                DomainError::new(
                    ErrorCode::IllegalTransition,
                    "This sale is not paid yet: there is no receipt.",
                )
            })?;
        let location = souk_store::locations::get(self.db.pool(), till.location)
            .await?
            .ok_or_else(|| DomainError::internal("receipt without its store"))?;
        let mut lines = Vec::with_capacity(view.lines.len());
        for l in &view.lines {
            lines.push((l.clone(), self.catalog.product_of_sku(None, l.sku).await?));
        }
        let (member_phone, member_tier) = match till.member {
            Some(m) => (
                souk_store::accounts::account_by_id(self.db.pool(), m)
                    .await?
                    .and_then(|a| a.phone),
                Some(self.coupons.level_of(m).await?),
            ),
            None => (None, None),
        };
        Ok(Receipt {
            till,
            order: view.order,
            lines,
            intent,
            location,
            member_phone,
            member_tier,
        })
    }

    /// The store a clerk sells at: one of theirs, or any store for operators.
    async fn till_location(&self, p: &Principal, id: LocationId) -> DomainResult<LocationRow> {
        if !(p.is_operator() || p.store_ids().any(|s| s == id)) {
            return Err(DomainError::not_found("The store"));
        }
        let l = souk_store::locations::get(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::not_found("The store"))?;
        if l.kind != LocationKind::Store {
            return Err(DomainError::invalid(
                "Only stores have a till; this location is not a store.",
            ));
        }
        Ok(l)
    }

    /// A paid POS sale was handed over at the till: it moves through the
    /// states to completed in one transaction, one event per step.
    pub(super) async fn hand_over_at_till(&self, o: &OrderRow) -> DomainResult<()> {
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let mut state = o.state;
        for cmd in [
            OrderCommand::Allocate,
            OrderCommand::Ship,
            OrderCommand::Deliver,
            OrderCommand::Complete,
        ] {
            let next = order::decide(state, cmd)?;
            if !repo::move_order(&mut tx, o.id, state, next, now).await? {
                return Err(DomainError::new(
                    ErrorCode::IllegalTransition,
                    "The order changed meanwhile.",
                ));
            }
            repo::insert_event(
                &mut tx,
                o.id,
                Some(state),
                next,
                cmd.as_str(),
                None,
                "handed over at the till",
                now,
            )
            .await?;
            state = next;
        }
        souk_store::commit(tx).await?;
        Ok(())
    }

    /// Puts goods back on the shelf they were sold from: (SKU, store, qty).
    pub(super) async fn put_back(&self, goods: &[(SkuId, LocationId, i64)], note: &str) {
        for &(sku, location, qty) in goods {
            self.return_to_shelf(sku, location, qty, note).await;
        }
    }

    async fn return_to_shelf(&self, sku: SkuId, location: LocationId, qty: i64, note: &str) {
        if let Err(e) = self
            .stock
            .change(
                system_actor(),
                sku,
                location,
                StockCommand::Return { qty },
                note.to_owned(),
            )
            .await
        {
            tracing::error!(%sku, %location, qty, error = %e, "goods of a POS sale not put back");
        }
    }
}
