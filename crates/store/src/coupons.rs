//! Coupon campaigns, codes, claims, redemptions and member spend.
//!
//! The limits that depend on other buyers are enforced here by conditional
//! writes inside the caller's write transaction, so they hold under races on
//! both databases: a single-use code flips `redeemed` 0 → 1 only once; the
//! campaign's totals move only while under budget; a buyer's use counter
//! moves only while under the per-buyer limit. A write that affects no row
//! means the limit was reached, and the caller rolls back.

use crate::error::{StoreError, StoreResult};
use crate::sql::SqlBuilder;
use souk_core::coupon::{Campaign, CampaignSpec, CodeKind, CouponChannel, SaleChannel};
use souk_core::ids::{AccountId, CampaignId, CouponCodeId, LocationId, RedemptionId};
use souk_core::money::{Currency, Money};
use souk_core::pricing::Discount;
use sqlx::{Any, Executor, Row};

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

const CAMPAIGN_COLUMNS: &str = "id, name, currency, discount_kind, discount_value, min_spend_minor, \
    max_discount_minor, channel, starts_at_ms, ends_at_ms, max_redemptions, budget_minor, \
    per_buyer_limit, code_kind, stackable, redemptions, discount_spent_minor, created_by, created_at_ms";

fn campaign_from_row(r: &sqlx::any::AnyRow, shared_code: Option<String>) -> StoreResult<Campaign> {
    let currency: String = r.try_get("currency")?;
    let currency =
        Currency::parse(&currency).map_err(|_| corrupt(format!("currency {currency}")))?;
    let kind: String = r.try_get("discount_kind")?;
    let value: i64 = r.try_get("discount_value")?;
    let discount = match kind.as_str() {
        "percent_off" => Discount::PercentOff {
            bps: u32::try_from(value).map_err(|_| corrupt("percent bps"))?,
        },
        "amount_off" => Discount::AmountOff {
            amount: Money {
                amount_minor: value,
                currency,
            },
        },
        other => return Err(corrupt(format!("discount kind {other}"))),
    };
    let channel: String = r.try_get("channel")?;
    let code_kind: String = r.try_get("code_kind")?;
    Ok(Campaign {
        id: CampaignId(r.try_get("id")?),
        spec: CampaignSpec {
            name: r.try_get("name")?,
            currency,
            discount,
            min_spend_minor: r.try_get("min_spend_minor")?,
            max_discount_minor: r.try_get("max_discount_minor")?,
            channel: CouponChannel::parse(&channel).ok_or_else(|| corrupt("channel"))?,
            starts_at_ms: r.try_get("starts_at_ms")?,
            ends_at_ms: r.try_get("ends_at_ms")?,
            max_redemptions: r.try_get("max_redemptions")?,
            budget_minor: r.try_get("budget_minor")?,
            per_buyer_limit: r.try_get("per_buyer_limit")?,
            code_kind: CodeKind::parse(&code_kind).ok_or_else(|| corrupt("code kind"))?,
            shared_code,
            stackable: r.try_get::<i64, _>("stackable")? != 0,
        },
        redemptions: r.try_get("redemptions")?,
        discount_spent_minor: r.try_get("discount_spent_minor")?,
        created_by: AccountId(r.try_get("created_by")?),
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

/// Inserts a campaign (and its shared code, if any) in the caller's transaction.
pub async fn insert_campaign(
    tx: &mut crate::WriteTx,
    spec: &CampaignSpec,
    created_by: AccountId,
    now_ms: i64,
) -> StoreResult<CampaignId> {
    let (kind, value) = match spec.discount {
        Discount::PercentOff { bps } => ("percent_off", i64::from(bps)),
        Discount::AmountOff { amount } => ("amount_off", amount.amount_minor),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO campaigns (name, currency, discount_kind, discount_value, min_spend_minor, max_discount_minor, \
         channel, starts_at_ms, ends_at_ms, max_redemptions, budget_minor, per_buyer_limit, code_kind, stackable, \
         created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
    )
    .bind(spec.name.clone())
    .bind(spec.currency.code())
    .bind(kind)
    .bind(value)
    .bind(spec.min_spend_minor)
    .bind(spec.max_discount_minor)
    .bind(spec.channel.as_str())
    .bind(spec.starts_at_ms)
    .bind(spec.ends_at_ms)
    .bind(spec.max_redemptions)
    .bind(spec.budget_minor)
    .bind(spec.per_buyer_limit)
    .bind(spec.code_kind.as_str())
    .bind(i64::from(spec.stackable))
    .bind(created_by.0)
    .bind(now_ms)
    .fetch_one(&mut **tx)
    .await?;
    if let Some(code) = &spec.shared_code {
        sqlx::query(
            "INSERT INTO coupon_codes (campaign_id, code, single_use, holder_id, issued_channel, issued_at_ms) \
             VALUES ($1, $2, 0, NULL, $3, $4)",
        )
        .bind(id)
        .bind(code.clone())
        .bind(spec.channel.as_str())
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(CampaignId(id))
}

async fn shared_code<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: CampaignId,
) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT code FROM coupon_codes WHERE campaign_id = $1 AND single_use = 0 ORDER BY id LIMIT 1",
    )
    .bind(id.0)
    .fetch_optional(ex)
    .await?)
}

pub async fn campaign(db: &crate::Db, id: CampaignId) -> StoreResult<Option<Campaign>> {
    let row = sqlx::query(&format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(db.pool())
    .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let code = shared_code(db.pool(), id).await?;
            Ok(Some(campaign_from_row(&r, code)?))
        }
    }
}

/// Campaigns, newest first, after `before_id` (cursor), at most `limit`.
pub async fn campaigns(
    db: &crate::Db,
    before_id: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<Campaign>> {
    let rows = sqlx::query(&format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id < $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(before_id.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = CampaignId(r.try_get("id")?);
        let code = shared_code(db.pool(), id).await?;
        out.push(campaign_from_row(r, code)?);
    }
    Ok(out)
}

/// A code as found by its text.
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub id: CouponCodeId,
    pub campaign_id: CampaignId,
    pub code: String,
    pub single_use: bool,
    pub holder: Option<AccountId>,
    pub issued_channel: SaleChannelOrAny,
    pub issued_at_ms: i64,
    pub redeemed: bool,
}

/// The channel a code was issued through (a campaign of both channels issues "any").
pub type SaleChannelOrAny = CouponChannel;

fn code_from_row(r: &sqlx::any::AnyRow) -> StoreResult<CodeRow> {
    let ch: String = r.try_get("issued_channel")?;
    Ok(CodeRow {
        id: CouponCodeId(r.try_get("id")?),
        campaign_id: CampaignId(r.try_get("campaign_id")?),
        code: r.try_get("code")?,
        single_use: r.try_get::<i64, _>("single_use")? != 0,
        holder: r.try_get::<Option<i64>, _>("holder_id")?.map(AccountId),
        issued_channel: CouponChannel::parse(&ch).ok_or_else(|| corrupt("issued channel"))?,
        issued_at_ms: r.try_get("issued_at_ms")?,
        redeemed: r.try_get::<i64, _>("redeemed")? != 0,
    })
}

const CODE_COLUMNS: &str =
    "id, campaign_id, code, single_use, holder_id, issued_channel, issued_at_ms, redeemed";

pub async fn code_by_text<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    code: &str,
) -> StoreResult<Option<CodeRow>> {
    let r = sqlx::query(&format!(
        "SELECT {CODE_COLUMNS} FROM coupon_codes WHERE code = $1"
    ))
    .bind(code.to_owned())
    .fetch_optional(ex)
    .await?;
    r.as_ref().map(code_from_row).transpose()
}

/// Single-use codes of a campaign, in id order after `after_id`.
pub async fn codes_of(
    db: &crate::Db,
    campaign: CampaignId,
    after_id: i64,
    limit: i64,
) -> StoreResult<Vec<CodeRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {CODE_COLUMNS} FROM coupon_codes WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(campaign.0)
    .bind(after_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(code_from_row).collect()
}

/// Single-use codes issued to `holder`, and shared codes they claimed.
pub async fn codes_of_holder(db: &crate::Db, holder: AccountId) -> StoreResult<Vec<CodeRow>> {
    let rows = sqlx::query(
        "SELECT c.id, c.campaign_id, c.code, c.single_use, c.holder_id, c.issued_channel, c.issued_at_ms, c.redeemed \
         FROM coupon_codes c WHERE c.holder_id = $1 \
         UNION ALL \
         SELECT c.id, c.campaign_id, c.code, c.single_use, c.holder_id, k.channel AS issued_channel, \
                k.claimed_at_ms AS issued_at_ms, c.redeemed \
         FROM coupon_claims k JOIN coupon_codes c ON c.campaign_id = k.campaign_id AND c.single_use = 0 \
         WHERE k.account_id = $1 ORDER BY 1",
    )
    .bind(holder.0)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(code_from_row).collect()
}

/// Inserts single-use codes; returns those that were new (a clash with an
/// existing code is skipped, and the caller generates more).
pub async fn insert_codes(
    tx: &mut crate::WriteTx,
    campaign: CampaignId,
    codes: &[String],
    holder: Option<AccountId>,
    channel: CouponChannel,
    now_ms: i64,
) -> StoreResult<Vec<String>> {
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(500) {
        let mut q = SqlBuilder::new(
            "INSERT INTO coupon_codes (campaign_id, code, single_use, holder_id, issued_channel, issued_at_ms) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len());
        for c in chunk {
            let a = q.bind(campaign.0)?;
            let b = q.bind(c.clone())?;
            let h = q.bind(holder.map(|h| h.0))?;
            let ch = q.bind(channel.as_str())?;
            let t = q.bind(now_ms)?;
            values.push(format!("({a}, {b}, 1, {h}, {ch}, {t})"));
        }
        q.text.push_str(&values.join(", "));
        q.text
            .push_str(" ON CONFLICT (code) DO NOTHING RETURNING code");
        for r in sqlx::query_with(&q.text, q.args)
            .fetch_all(&mut **tx)
            .await?
        {
            out.push(r.try_get::<String, _>("code")?);
        }
    }
    Ok(out)
}

/// Makes an unassigned single-use code `account`'s; false if someone has it.
pub async fn assign_holder(
    db: &crate::Db,
    code: CouponCodeId,
    account: AccountId,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE coupon_codes SET holder_id = $1 WHERE id = $2 AND single_use = 1 AND (holder_id IS NULL OR holder_id = $1)",
    )
    .bind(account.0)
    .bind(code.0)
    .execute(db.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The price of a SKU of an active product in `currency`, in minor units.
pub async fn sku_price<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    sku: souk_core::ids::SkuId,
    currency: Currency,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT p.amount_minor FROM sku_prices p JOIN skus s ON s.id = p.sku_id \
         JOIN products pr ON pr.id = s.product_id \
         WHERE p.sku_id = $1 AND p.currency = $2 AND pr.status = 'active'",
    )
    .bind(sku.0)
    .bind(currency.code())
    .fetch_optional(ex)
    .await?)
}

/// Records that `account` collected a shared code; false if they already had.
pub async fn claim(
    db: &crate::Db,
    campaign: CampaignId,
    account: AccountId,
    channel: SaleChannel,
    now_ms: i64,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "INSERT INTO coupon_claims (campaign_id, account_id, channel, claimed_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (campaign_id, account_id) DO NOTHING",
    )
    .bind(campaign.0)
    .bind(account.0)
    .bind(channel.as_str())
    .bind(now_ms)
    .execute(db.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// When `account` collected the campaign's shared code, if they did.
pub async fn claimed_at<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    campaign: CampaignId,
    account: AccountId,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT claimed_at_ms FROM coupon_claims WHERE campaign_id = $1 AND account_id = $2",
    )
    .bind(campaign.0)
    .bind(account.0)
    .fetch_optional(ex)
    .await?)
}

/// Why a conditional redemption write did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemRefusal {
    AlreadyRedeemed,
    BudgetExhausted,
    BuyerLimitReached,
}

pub struct NewRedemption<'a> {
    pub campaign: CampaignId,
    pub code: CouponCodeId,
    pub single_use: bool,
    pub buyer: Option<AccountId>,
    pub per_buyer_limit: Option<i64>,
    pub channel: SaleChannel,
    pub location: Option<LocationId>,
    pub discount: Money,
    pub order_ref: &'a str,
    pub issued_at_ms: i64,
}

/// Redeems atomically inside the caller's transaction. `Ok(Err(_))` means a
/// limit refused it: the caller must roll back what it wrote before.
pub async fn redeem(
    tx: &mut crate::WriteTx,
    r: NewRedemption<'_>,
    now_ms: i64,
) -> StoreResult<Result<RedemptionId, RedeemRefusal>> {
    if r.single_use {
        let n = sqlx::query("UPDATE coupon_codes SET redeemed = 1 WHERE id = $1 AND redeemed = 0")
            .bind(r.code.0)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Ok(Err(RedeemRefusal::AlreadyRedeemed));
        }
    } else {
        sqlx::query("UPDATE coupon_codes SET redeemed = redeemed + 1 WHERE id = $1")
            .bind(r.code.0)
            .execute(&mut **tx)
            .await?;
    }
    let n = sqlx::query(
        "UPDATE campaigns SET redemptions = redemptions + 1, discount_spent_minor = discount_spent_minor + $1 \
         WHERE id = $2 AND (max_redemptions IS NULL OR redemptions < max_redemptions) \
         AND (budget_minor IS NULL OR discount_spent_minor + $1 <= budget_minor)",
    )
    .bind(r.discount.amount_minor)
    .bind(r.campaign.0)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Ok(Err(RedeemRefusal::BudgetExhausted));
    }
    if let (Some(buyer), Some(limit)) = (r.buyer, r.per_buyer_limit) {
        let n = sqlx::query(
            "INSERT INTO coupon_buyer_uses (campaign_id, account_id, uses) VALUES ($1, $2, 1) \
             ON CONFLICT (campaign_id, account_id) DO UPDATE SET uses = coupon_buyer_uses.uses + 1 \
             WHERE coupon_buyer_uses.uses < $3",
        )
        .bind(r.campaign.0)
        .bind(buyer.0)
        .bind(limit)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(Err(RedeemRefusal::BuyerLimitReached));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO coupon_redemptions (campaign_id, code_id, buyer_id, channel, location_id, currency, \
         discount_minor, order_ref, issued_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(r.campaign.0)
    .bind(r.code.0)
    .bind(r.buyer.map(|b| b.0))
    .bind(r.channel.as_str())
    .bind(r.location.map(|l| l.0))
    .bind(r.discount.currency.code())
    .bind(r.discount.amount_minor)
    .bind(r.order_ref.to_owned())
    .bind(r.issued_at_ms)
    .bind(now_ms)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Ok(RedemptionId(id)))
}

/// Voids every live redemption of `order_ref` (the order was cancelled before
/// payment), giving back the code, the budget and the buyer's use. Returns
/// how many were voided.
pub async fn void_order(tx: &mut crate::WriteTx, order_ref: &str, now_ms: i64) -> StoreResult<u64> {
    let rows = sqlx::query(
        "SELECT r.id, r.campaign_id, r.code_id, r.buyer_id, r.discount_minor, c.single_use \
         FROM coupon_redemptions r JOIN coupon_codes c ON c.id = r.code_id \
         WHERE r.order_ref = $1 AND r.voided_at_ms IS NULL",
    )
    .bind(order_ref.to_owned())
    .fetch_all(&mut **tx)
    .await?;
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let campaign: i64 = row.try_get("campaign_id")?;
        let code: i64 = row.try_get("code_id")?;
        let buyer: Option<i64> = row.try_get("buyer_id")?;
        let discount: i64 = row.try_get("discount_minor")?;
        sqlx::query("UPDATE coupon_redemptions SET voided_at_ms = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE coupon_codes SET redeemed = redeemed - 1 WHERE id = $1 AND redeemed > 0",
        )
        .bind(code)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE campaigns SET redemptions = redemptions - 1, discount_spent_minor = discount_spent_minor - $1 WHERE id = $2",
        )
        .bind(discount)
        .bind(campaign)
        .execute(&mut **tx)
        .await?;
        if let Some(b) = buyer {
            sqlx::query(
                "UPDATE coupon_buyer_uses SET uses = uses - 1 WHERE campaign_id = $1 AND account_id = $2 AND uses > 0",
            )
            .bind(campaign)
            .bind(b)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(rows.len() as u64)
}

/// One row of the conversion report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelFigures {
    pub issued: i64,
    pub redeemed: i64,
    pub discount_minor: i64,
    /// Redemptions in store within 365 days of the coupon's issue.
    pub redeemed_in_store_within_year: i64,
}

/// Issued by issue channel, and redeemed by redemption channel, of a campaign.
pub struct CampaignFigures {
    pub issued_by_channel: Vec<(String, i64)>,
    pub redeemed_by_channel: Vec<(String, i64, i64)>,
    pub redeemed_in_store_within_year: i64,
    pub voided: i64,
}

pub async fn figures(
    db: &crate::Db,
    campaign: CampaignId,
    year_ms: i64,
) -> StoreResult<CampaignFigures> {
    let issued = sqlx::query(
        "SELECT ch, CAST(SUM(n) AS BIGINT) AS n FROM ( \
           SELECT issued_channel AS ch, COUNT(*) AS n FROM coupon_codes WHERE campaign_id = $1 AND single_use = 1 GROUP BY issued_channel \
           UNION ALL \
           SELECT channel AS ch, COUNT(*) AS n FROM coupon_claims WHERE campaign_id = $1 GROUP BY channel \
         ) t GROUP BY ch ORDER BY ch",
    )
    .bind(campaign.0)
    .fetch_all(db.pool())
    .await?;
    let issued_by_channel = issued
        .iter()
        .map(|r| Ok((r.try_get::<String, _>("ch")?, sum_i64(r, "n")?)))
        .collect::<StoreResult<Vec<_>>>()?;
    let redeemed = sqlx::query(
        "SELECT channel, COUNT(*) AS n, CAST(SUM(discount_minor) AS BIGINT) AS d FROM coupon_redemptions \
         WHERE campaign_id = $1 AND voided_at_ms IS NULL GROUP BY channel ORDER BY channel",
    )
    .bind(campaign.0)
    .fetch_all(db.pool())
    .await?;
    let redeemed_by_channel = redeemed
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("channel")?,
                sum_i64(r, "n")?,
                sum_i64(r, "d")?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let within: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM coupon_redemptions WHERE campaign_id = $1 AND voided_at_ms IS NULL \
         AND channel = 'in_store' AND created_at_ms - issued_at_ms <= $2",
    )
    .bind(campaign.0)
    .bind(year_ms)
    .fetch_one(db.pool())
    .await?;
    let voided: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM coupon_redemptions WHERE campaign_id = $1 AND voided_at_ms IS NOT NULL",
    )
    .bind(campaign.0)
    .fetch_one(db.pool())
    .await?;
    Ok(CampaignFigures {
        issued_by_channel,
        redeemed_by_channel,
        redeemed_in_store_within_year: within,
        voided,
    })
}

/// Aggregates are cast to BIGINT in the SQL, so both dialects return an integer.
fn sum_i64(r: &sqlx::any::AnyRow, col: &str) -> StoreResult<i64> {
    Ok(r.try_get::<Option<i64>, _>(col)?.unwrap_or(0))
}

/// Records a member's payment (or, negative, refund). Idempotent on `source_ref`:
/// returns false when that source was recorded before.
pub async fn record_spend<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account: AccountId,
    amount: Money,
    source_ref: &str,
    at_ms: i64,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "INSERT INTO member_spend (account_id, currency, amount_minor, source_ref, at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (source_ref) DO NOTHING",
    )
    .bind(account.0)
    .bind(amount.currency.code())
    .bind(amount.amount_minor)
    .bind(source_ref.to_owned())
    .bind(at_ms)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A member's spend in `currency` from `since_ms` (inclusive) to `until_ms` (inclusive).
pub async fn spend_between(
    db: &crate::Db,
    account: AccountId,
    currency: Currency,
    since_ms: i64,
    until_ms: i64,
) -> StoreResult<i64> {
    let rows = sqlx::query(
        "SELECT amount_minor FROM member_spend WHERE account_id = $1 AND currency = $2 AND at_ms >= $3 AND at_ms <= $4",
    )
    .bind(account.0)
    .bind(currency.code())
    .bind(since_ms)
    .bind(until_ms)
    .fetch_all(db.pool())
    .await?;
    let mut total: i64 = 0;
    for r in &rows {
        total = total.saturating_add(r.try_get::<i64, _>("amount_minor")?);
    }
    Ok(total)
}
