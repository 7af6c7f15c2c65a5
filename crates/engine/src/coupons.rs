//! Coupons, member tiers and the cart price: the service every sales channel
//! calls to price a cart and to redeem coupons.
//!
//! For checkout and the POS, the flow is:
//! 1. [`Coupons::prepare`] — look up the codes and check what can be checked
//!    alone (window, channel, currency, holder, single use, budget left);
//! 2. [`souk_core::pricing::quote`] with the buyer's [`Coupons::tier_of`] discount;
//! 3. [`Coupons::redeem_in`] inside the order's own write transaction — the
//!    single-use, budget and per-buyer limits are enforced there atomically,
//!    so the order and its redemptions commit or roll back together.
//!
//! [`Coupons::price`] does 1–2 for a cart preview; [`Coupons::redeem`] does
//! 1–3 in a transaction of its own (the POS, and the HTTP redeem route).
//! [`Coupons::record_spend`] is what orders call on payment for the tiers.

use crate::clock::Clock;
use rand::RngCore;
use souk_core::access::{require_operator, Principal};
use souk_core::coupon::{
    check_redeemable, code_from_random, normalise_code, Campaign, CampaignSpec, CodeKind,
    CodeState, SaleChannel, CODE_LEN, MAX_CODES_PER_BATCH,
};
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_core::ids::{AccountId, CampaignId, LocationId, RedemptionId, SkuId};
use souk_core::money::{Currency, Money};
use souk_core::pricing::{quote, AppliedCoupon, Line, MarketConfig, Quote, ShippingRule};
use souk_core::tier::{window_start, Tier, TierLevel, SPEND_WINDOW_MS};
use souk_store::coupons::{self as repo, CodeRow, NewRedemption, RedeemRefusal};
use souk_store::{accounts as accounts_repo, Db, WriteTx};
use std::sync::Arc;

pub struct Coupons {
    db: Db,
    clock: Arc<dyn Clock>,
    market: MarketConfig,
}

/// A code accepted by [`Coupons::prepare`], ready for pricing and redemption.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub campaign: Campaign,
    pub code: CodeRow,
    /// When this buyer got the coupon (for the "came back within a year" figure).
    pub issued_at_ms: i64,
}

impl Prepared {
    pub fn applied(&self) -> AppliedCoupon {
        self.campaign.applied(&self.code.code)
    }
}

/// What a buyer's tier is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierView {
    pub tier: Tier,
    pub spend_12m: Money,
    pub next: Option<Tier>,
    /// Spend still needed for the next tier.
    pub to_next_minor: Option<i64>,
}

/// One conversion-report row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub campaign: Campaign,
    pub issued_by_channel: Vec<(String, i64)>,
    pub redeemed_by_channel: Vec<(String, i64, i64)>,
    pub issued: i64,
    pub redeemed: i64,
    pub redeemed_in_store_within_year: i64,
    pub voided: i64,
}

/// A cart to price: SKUs and quantities (prices are looked up here, never taken from the client).
#[derive(Debug, Clone)]
pub struct CartInput {
    pub lines: Vec<(SkuId, i64)>,
    pub codes: Vec<String>,
    pub channel: SaleChannel,
    /// Delivered home (the market's shipping rule) or not (pickup, POS).
    pub delivery: bool,
    /// The member the sale is for (the buyer themselves, or one a clerk attached).
    pub member: Option<AccountId>,
}

/// Where a redemption happens and what it belongs to.
#[derive(Debug, Clone)]
pub struct RedeemContext<'a> {
    pub buyer: Option<AccountId>,
    pub channel: SaleChannel,
    pub location: Option<LocationId>,
    /// The order (or POS receipt) this redemption belongs to: `order:42`.
    pub order_ref: &'a str,
}

fn refusal(r: RedeemRefusal) -> DomainError {
    match r {
        RedeemRefusal::AlreadyRedeemed => DomainError::new(
            ErrorCode::CouponAlreadyRedeemed,
            "This coupon code has already been used.",
        ),
        RedeemRefusal::BudgetExhausted => DomainError::new(
            ErrorCode::CouponBudgetExhausted,
            "This campaign has been fully used.",
        ),
        RedeemRefusal::BuyerLimitReached => DomainError::new(
            ErrorCode::CouponLimitReached,
            "You have used this coupon as often as it allows.",
        ),
    }
}

impl Coupons {
    pub fn new(db: Db, clock: Arc<dyn Clock>, market: MarketConfig) -> Self {
        Self { db, clock, market }
    }

    pub fn market(&self) -> &MarketConfig {
        &self.market
    }

    // ---- campaigns (operators) ----

    /// Operators create campaigns (platform-funded; supplier campaigns are not offered yet).
    pub async fn create_campaign(
        &self,
        p: &Principal,
        spec: CampaignSpec,
    ) -> DomainResult<Campaign> {
        require_operator(p)?;
        let spec = spec.validate()?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let id = match repo::insert_campaign(&mut tx, &spec, p.account_id, now).await {
            Ok(id) => id,
            Err(e) if e.is_unique_violation() => {
                return Err(DomainError::new(
                    ErrorCode::CouponCodeTaken,
                    "That coupon code is already in use.",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        souk_store::commit(tx).await?;
        self.campaign_row(id).await
    }

    async fn campaign_row(&self, id: CampaignId) -> DomainResult<Campaign> {
        repo::campaign(&self.db, id)
            .await?
            .ok_or_else(|| DomainError::not_found("The campaign"))
    }

    pub async fn campaign(&self, p: &Principal, id: CampaignId) -> DomainResult<Campaign> {
        if !p.is_operator() {
            return Err(DomainError::not_found("The campaign"));
        }
        self.campaign_row(id).await
    }

    pub async fn campaigns(
        &self,
        p: &Principal,
        before: Option<i64>,
        limit: i64,
    ) -> DomainResult<Vec<Campaign>> {
        require_operator(p)?;
        Ok(repo::campaigns(&self.db, before, limit).await?)
    }

    /// Generates `count` single-use codes; `holder` binds them to one buyer.
    pub async fn generate_codes(
        &self,
        p: &Principal,
        id: CampaignId,
        count: i64,
        prefix: &str,
        holder: Option<AccountId>,
    ) -> DomainResult<Vec<String>> {
        let c = self.campaign(p, id).await?;
        if c.spec.code_kind != CodeKind::SingleUse {
            return Err(DomainError::invalid(
                "This campaign has one shared code; codes are generated only for single-use campaigns.",
            ));
        }
        if !(1..=MAX_CODES_PER_BATCH).contains(&count) {
            return Err(DomainError::invalid(format!(
                "Generate 1 to {MAX_CODES_PER_BATCH} codes at a time."
            )));
        }
        let prefix = prefix.trim().to_ascii_uppercase();
        if prefix.len() > 12
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(DomainError::invalid(
                "A code prefix is up to 12 letters or digits.",
            ));
        }
        if let Some(h) = holder {
            if accounts_repo::account_by_id(self.db.pool(), h)
                .await?
                .is_none()
            {
                return Err(DomainError::invalid(format!("Account {h} does not exist.")));
            }
        }
        let now = self.clock.now_ms();
        let want = usize::try_from(count).unwrap_or(0);
        let mut codes = Vec::with_capacity(want);
        let mut tx = self.db.begin_write().await?;
        // 31^10 codes: clashes are rare; generate more for the few that clash, boundedly.
        for _ in 0..5 {
            let missing = want - codes.len();
            if missing == 0 {
                break;
            }
            let mut rng = rand::rngs::OsRng;
            let mut batch: Vec<String> = (0..missing)
                .map(|_| {
                    let mut bytes = [0u8; CODE_LEN];
                    rng.fill_bytes(&mut bytes);
                    code_from_random(&prefix, &bytes)
                })
                .collect();
            batch.sort();
            batch.dedup();
            codes.extend(
                repo::insert_codes(&mut tx, id, &batch, holder, c.spec.channel, now).await?,
            );
        }
        if codes.len() != want {
            return Err(DomainError::internal("could not generate unique codes"));
        }
        souk_store::commit(tx).await?;
        Ok(codes)
    }

    /// Single-use codes of a campaign (operators), by id after `after`.
    pub async fn codes(
        &self,
        p: &Principal,
        id: CampaignId,
        after: i64,
        limit: i64,
    ) -> DomainResult<Vec<CodeRow>> {
        self.campaign(p, id).await?;
        Ok(repo::codes_of(&self.db, id, after, limit).await?)
    }

    // ---- buyers ----

    /// A buyer collects a coupon into their wallet: a shared code (this is its
    /// "issue"), or an unassigned single-use code (it becomes theirs).
    pub async fn claim(
        &self,
        p: &Principal,
        code: &str,
        channel: SaleChannel,
    ) -> DomainResult<(Campaign, CodeRow)> {
        let code = normalise_code(code).map_err(|_| DomainError::not_found("The coupon"))?;
        let row = repo::code_by_text(self.db.pool(), &code)
            .await?
            .ok_or_else(|| DomainError::not_found("The coupon"))?;
        let campaign = self.campaign_row(row.campaign_id).await?;
        let now = self.clock.now_ms();
        if now >= campaign.spec.ends_at_ms {
            return Err(DomainError::new(
                ErrorCode::CouponExpired,
                "This coupon has expired.",
            ));
        }
        if row.single_use {
            match row.holder {
                Some(h) if h == p.account_id => {}
                Some(_) => return Err(DomainError::not_found("The coupon")),
                None => {
                    let n = repo::assign_holder(&self.db, row.id, p.account_id).await?;
                    if !n {
                        return Err(DomainError::not_found("The coupon"));
                    }
                }
            }
        } else {
            repo::claim(&self.db, campaign.id, p.account_id, channel, now).await?;
        }
        let row = repo::code_by_text(self.db.pool(), &code)
            .await?
            .ok_or_else(|| DomainError::not_found("The coupon"))?;
        Ok((campaign, row))
    }

    /// The coupons in a buyer's wallet.
    pub async fn wallet(&self, p: &Principal) -> DomainResult<Vec<(Campaign, CodeRow)>> {
        let mut out = Vec::new();
        for row in repo::codes_of_holder(&self.db, p.account_id).await? {
            let c = self.campaign_row(row.campaign_id).await?;
            out.push((c, row));
        }
        Ok(out)
    }

    // ---- pricing and redemption ----

    /// Looks up `codes` and checks each for this buyer, channel and currency
    /// now. `channel` None skips the channel check (claiming). Duplicates are refused.
    pub async fn prepare(
        &self,
        buyer: Option<AccountId>,
        codes: &[String],
        channel: Option<SaleChannel>,
        currency: Currency,
    ) -> DomainResult<Vec<Prepared>> {
        if codes.len() > souk_core::pricing::MAX_COUPONS {
            return Err(DomainError::invalid("Too many coupon codes."));
        }
        let now = self.clock.now_ms();
        let mut out: Vec<Prepared> = Vec::with_capacity(codes.len());
        for raw in codes {
            let code = normalise_code(raw).map_err(|_| DomainError::not_found("The coupon"))?;
            if out.iter().any(|p| p.code.code == code) {
                return Err(DomainError::invalid(format!(
                    "Coupon {code} is given twice."
                )));
            }
            let row = repo::code_by_text(self.db.pool(), &code)
                .await?
                .ok_or_else(|| DomainError::not_found("The coupon"))?;
            let campaign = self.campaign_row(row.campaign_id).await?;
            let state = CodeState {
                kind: if row.single_use {
                    CodeKind::SingleUse
                } else {
                    CodeKind::Shared
                },
                holder: row.holder,
                redeemed: row.redeemed,
            };
            let ch = channel.unwrap_or(match campaign.spec.channel {
                souk_core::coupon::CouponChannel::InStore => SaleChannel::InStore,
                _ => SaleChannel::Online,
            });
            if let Err(e) = check_redeemable(&campaign, &state, buyer, ch, currency, now) {
                // The code was read before the campaign: the redemption that
                // spent the campaign may have taken this very code in
                // between. Then the code is the reason, as it would be for
                // anyone asking after both reads.
                if e.code == ErrorCode::CouponBudgetExhausted && row.single_use && !row.redeemed {
                    let again = repo::code_by_text(self.db.pool(), &code).await?;
                    if again.is_some_and(|c| c.redeemed) {
                        return Err(DomainError::new(
                            ErrorCode::CouponAlreadyRedeemed,
                            "This coupon code has already been used.",
                        ));
                    }
                }
                return Err(e);
            }
            let issued_at_ms = match (row.single_use, buyer) {
                (false, Some(b)) => repo::claimed_at(self.db.pool(), campaign.id, b)
                    .await?
                    .unwrap_or(now),
                (false, None) => now,
                (true, _) => row.issued_at_ms,
            };
            out.push(Prepared {
                campaign,
                code: row,
                issued_at_ms,
            });
        }
        Ok(out)
    }

    /// The member's tier discount in basis points now (0 without a member).
    pub async fn tier_discount_bps(&self, member: Option<AccountId>) -> DomainResult<u32> {
        Ok(match member {
            Some(m) => self.tier_of(m).await?.tier.discount_bps,
            None => 0,
        })
    }

    /// Prices a cart: server-side unit prices in the market currency, the
    /// member's tier, the coupons. Nothing is redeemed.
    pub async fn price(&self, cart: &CartInput) -> DomainResult<(Quote, Vec<Prepared>)> {
        let currency = self.market.currency;
        if cart.lines.is_empty() {
            return Err(DomainError::new(ErrorCode::EmptyCart, "The cart is empty."));
        }
        if cart.lines.len() > souk_core::pricing::MAX_LINES {
            return Err(DomainError::invalid("Too many lines."));
        }
        let mut lines = Vec::with_capacity(cart.lines.len());
        for (sku, qty) in &cart.lines {
            let price = repo::sku_price(self.db.pool(), *sku, currency)
                .await?
                .ok_or_else(|| {
                    DomainError::not_found(&format!("SKU {sku} (or its {currency} price)"))
                })?;
            lines.push(Line {
                sku: *sku,
                unit_price: Money {
                    amount_minor: price,
                    currency,
                },
                qty: *qty,
            });
        }
        let prepared = self
            .prepare(cart.member, &cart.codes, Some(cart.channel), currency)
            .await?;
        let applied: Vec<AppliedCoupon> = prepared.iter().map(Prepared::applied).collect();
        let bps = self.tier_discount_bps(cart.member).await?;
        let shipping = if cart.delivery {
            self.market.shipping
        } else {
            ShippingRule::NONE
        };
        let q = quote(&lines, bps, &applied, &shipping, &self.market.tax)?;
        Ok((q, prepared))
    }

    /// Redeems the coupons of a priced quote inside the caller's write
    /// transaction (the order's). On error the caller must roll back.
    pub async fn redeem_in(
        &self,
        tx: &mut WriteTx,
        prepared: &[Prepared],
        q: &Quote,
        ctx: &RedeemContext<'_>,
    ) -> DomainResult<Vec<RedemptionId>> {
        let now = self.clock.now_ms();
        let mut ids = Vec::with_capacity(prepared.len());
        for p in prepared {
            let discount = q
                .coupons
                .iter()
                .find(|c| c.campaign_id == p.campaign.id)
                .map(|c| c.discount)
                .ok_or_else(|| DomainError::internal("coupon missing from the quote"))?;
            let r = repo::redeem(
                tx,
                NewRedemption {
                    campaign: p.campaign.id,
                    code: p.code.id,
                    single_use: p.code.single_use,
                    buyer: ctx.buyer,
                    per_buyer_limit: p.campaign.spec.per_buyer_limit,
                    channel: ctx.channel,
                    location: ctx.location,
                    discount,
                    order_ref: ctx.order_ref,
                    issued_at_ms: p.issued_at_ms,
                },
                now,
            )
            .await?;
            ids.push(r.map_err(refusal)?);
        }
        Ok(ids)
    }

    /// Prices and redeems in one transaction of its own.
    pub async fn redeem(
        &self,
        cart: &CartInput,
        location: Option<LocationId>,
        order_ref: &str,
    ) -> DomainResult<(Quote, Vec<RedemptionId>)> {
        if cart.codes.is_empty() {
            return Err(DomainError::invalid(
                "Give at least one coupon code to redeem.",
            ));
        }
        let (q, prepared) = self.price(cart).await?;
        let mut tx = self.db.begin_write().await?;
        let ids = self
            .redeem_in(
                &mut tx,
                &prepared,
                &q,
                &RedeemContext {
                    buyer: cart.member,
                    channel: cart.channel,
                    location,
                    order_ref,
                },
            )
            .await?; // dropping tx rolls back
        souk_store::commit(tx).await?;
        Ok((q, ids))
    }

    /// Gives back the coupons of a cancelled, unpaid order (inside its transaction).
    pub async fn void_order_in(&self, tx: &mut WriteTx, order_ref: &str) -> DomainResult<u64> {
        Ok(repo::void_order(tx, order_ref, self.clock.now_ms()).await?)
    }

    // ---- report ----

    pub async fn report(&self, p: &Principal, id: CampaignId) -> DomainResult<Report> {
        let campaign = self.campaign(p, id).await?;
        let f = repo::figures(&self.db, id, SPEND_WINDOW_MS).await?;
        Ok(Report {
            issued: f.issued_by_channel.iter().map(|x| x.1).sum(),
            redeemed: f.redeemed_by_channel.iter().map(|x| x.1).sum(),
            campaign,
            issued_by_channel: f.issued_by_channel,
            redeemed_by_channel: f.redeemed_by_channel,
            redeemed_in_store_within_year: f.redeemed_in_store_within_year,
            voided: f.voided,
        })
    }

    pub async fn reports(&self, p: &Principal) -> DomainResult<Vec<Report>> {
        require_operator(p)?;
        let mut out = Vec::new();
        let mut before = None;
        loop {
            let page = repo::campaigns(&self.db, before, 100).await?;
            let Some(last) = page.last() else { break };
            before = Some(last.id.0);
            for c in page {
                out.push(self.report(p, c.id).await?);
            }
        }
        Ok(out)
    }

    // ---- tiers ----

    /// Records what a member paid (orders call this on payment; a refund is a
    /// negative amount with its own `source_ref`). Idempotent on `source_ref`.
    /// Spend in another currency than the market's does not count.
    pub async fn record_spend(
        &self,
        account: AccountId,
        amount: Money,
        source_ref: &str,
        at_ms: i64,
    ) -> DomainResult<bool> {
        if source_ref.is_empty() || source_ref.len() > 200 {
            return Err(DomainError::invalid("A spend needs a source reference."));
        }
        Ok(repo::record_spend(self.db.pool(), account, amount, source_ref, at_ms).await?)
    }

    /// The same, inside the caller's transaction (the payment's).
    pub async fn record_spend_in(
        &self,
        tx: &mut WriteTx,
        account: AccountId,
        amount: Money,
        source_ref: &str,
        at_ms: i64,
    ) -> DomainResult<bool> {
        Ok(repo::record_spend(&mut **tx, account, amount, source_ref, at_ms).await?)
    }

    /// A member's tier from their spend in the last 365 days.
    pub async fn tier_of(&self, account: AccountId) -> DomainResult<TierView> {
        let now = self.clock.now_ms();
        let currency = self.market.currency;
        let spend =
            repo::spend_between(&self.db, account, currency, window_start(now), now).await?;
        let tier = self.market.tiers.tier_for(spend);
        let next = self.market.tiers.next_after(tier.level);
        Ok(TierView {
            tier,
            spend_12m: Money {
                amount_minor: spend.max(0),
                currency,
            },
            to_next_minor: next.map(|n| (n.min_spend_minor - spend.max(0)).max(0)),
            next,
        })
    }

    /// The tier level alone.
    pub async fn level_of(&self, account: AccountId) -> DomainResult<TierLevel> {
        Ok(self.tier_of(account).await?.tier.level)
    }

    /// A member by phone, for clerks attaching a sale (unknown phone: not found).
    pub async fn member_by_phone(&self, phone: &str) -> DomainResult<AccountId> {
        let phone = souk_core::phone::Phone::parse(phone)?;
        accounts_repo::account_by_phone(self.db.pool(), phone.as_str())
            .await?
            .map(|a| a.id)
            .ok_or_else(|| DomainError::not_found("The member"))
    }
}
