//! Coupons, campaigns, the conversion report, cart price preview and member tiers.

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::dto::{List, PriceDto};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use souk_core::access::{Grant, Principal};
use souk_core::coupon::{Campaign, CampaignSpec, CodeKind, CouponChannel, SaleChannel};
use souk_core::error::{DomainError, ErrorCode};
use souk_core::ids::{AccountId, CampaignId, LocationId, SkuId};
use souk_core::money::{Currency, Money};
use souk_core::pricing::{Discount, Quote};
use souk_engine::coupons::{CartInput, Report, TierView};
use souk_store::coupons::CodeRow;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_campaign, list_campaigns))
        .routes(routes!(all_reports))
        .routes(routes!(get_campaign))
        .routes(routes!(generate_codes, list_codes))
        .routes(routes!(campaign_report))
        .routes(routes!(claim))
        .routes(routes!(my_coupons))
        .routes(routes!(preview))
        .routes(routes!(redeem))
        .routes(routes!(my_tier))
}

// ---- shapes ----

/// How a campaign discounts.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DiscountDto {
    /// Basis points: 1500 = 15% off.
    PercentOff { bps: i64 },
    /// Minor units of the campaign's currency.
    AmountOff { amount_minor: i64 },
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaignDto {
    pub name: String,
    /// ISO 4217, e.g. `CNY`.
    pub currency: String,
    pub discount: DiscountDto,
    #[serde(default)]
    pub min_spend_minor: i64,
    /// Cap of one redemption's discount.
    pub max_discount_minor: Option<i64>,
    /// `online`, `in_store` or `any`.
    pub channel: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// Budget: most redemptions in all.
    pub max_redemptions: Option<i64>,
    /// Budget: most discount money in all (minor units).
    pub budget_minor: Option<i64>,
    pub per_buyer_limit: Option<i64>,
    /// `single_use` (codes generated in bulk) or `shared` (one `code`).
    pub code_kind: String,
    /// The shared code, for `shared` campaigns.
    pub code: Option<String>,
    #[serde(default)]
    pub stackable: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignDto {
    pub id: i64,
    pub name: String,
    pub currency: String,
    pub discount: DiscountDto,
    pub min_spend_minor: i64,
    pub max_discount_minor: Option<i64>,
    pub channel: &'static str,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub max_redemptions: Option<i64>,
    pub budget_minor: Option<i64>,
    pub per_buyer_limit: Option<i64>,
    pub code_kind: &'static str,
    pub code: Option<String>,
    pub stackable: bool,
    pub redemptions: i64,
    pub discount_spent_minor: i64,
    pub created_at_ms: i64,
}

impl From<&Campaign> for CampaignDto {
    fn from(c: &Campaign) -> Self {
        CampaignDto {
            id: c.id.0,
            name: c.spec.name.clone(),
            currency: c.spec.currency.code().to_owned(),
            discount: match c.spec.discount {
                Discount::PercentOff { bps } => DiscountDto::PercentOff {
                    bps: i64::from(bps),
                },
                Discount::AmountOff { amount } => DiscountDto::AmountOff {
                    amount_minor: amount.amount_minor,
                },
            },
            min_spend_minor: c.spec.min_spend_minor,
            max_discount_minor: c.spec.max_discount_minor,
            channel: c.spec.channel.as_str(),
            starts_at_ms: c.spec.starts_at_ms,
            ends_at_ms: c.spec.ends_at_ms,
            max_redemptions: c.spec.max_redemptions,
            budget_minor: c.spec.budget_minor,
            per_buyer_limit: c.spec.per_buyer_limit,
            code_kind: c.spec.code_kind.as_str(),
            code: c.spec.shared_code.clone(),
            stackable: c.spec.stackable,
            redemptions: c.redemptions,
            discount_spent_minor: c.discount_spent_minor,
            created_at_ms: c.created_at_ms,
        }
    }
}

fn invalid_field(msg: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidField, msg)
}

fn parse_spec(b: NewCampaignDto) -> Result<CampaignSpec, ApiError> {
    let currency = Currency::parse(&b.currency)?;
    let discount = match b.discount {
        DiscountDto::PercentOff { bps } => Discount::PercentOff {
            bps: u32::try_from(bps).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidAmount,
                    format!("A percent-off discount is 1 to 10000 basis points; got {bps}."),
                )
            })?,
        },
        DiscountDto::AmountOff { amount_minor } => Discount::AmountOff {
            amount: Money {
                amount_minor,
                currency,
            },
        },
    };
    Ok(CampaignSpec {
        name: b.name,
        currency,
        discount,
        min_spend_minor: b.min_spend_minor,
        max_discount_minor: b.max_discount_minor,
        channel: CouponChannel::parse(&b.channel)
            .ok_or_else(|| invalid_field("channel is `online`, `in_store` or `any`."))?,
        starts_at_ms: b.starts_at_ms,
        ends_at_ms: b.ends_at_ms,
        max_redemptions: b.max_redemptions,
        budget_minor: b.budget_minor,
        per_buyer_limit: b.per_buyer_limit,
        code_kind: CodeKind::parse(&b.code_kind)
            .ok_or_else(|| invalid_field("code_kind is `single_use` or `shared`."))?,
        shared_code: b.code,
        stackable: b.stackable,
    })
}

#[derive(Serialize, ToSchema)]
pub struct CodeDto {
    pub code: String,
    pub campaign_id: i64,
    pub single_use: bool,
    pub holder_id: Option<i64>,
    pub issued_at_ms: i64,
    pub redeemed: bool,
}

impl From<&CodeRow> for CodeDto {
    fn from(c: &CodeRow) -> Self {
        CodeDto {
            code: c.code.clone(),
            campaign_id: c.campaign_id.0,
            single_use: c.single_use,
            holder_id: c.holder.map(|h| h.0),
            issued_at_ms: c.issued_at_ms,
            redeemed: c.single_use && c.redeemed,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CouponLineDto {
    pub campaign_id: i64,
    pub code: String,
    pub discount: PriceDto,
}

/// A price breakdown. total = subtotal − discount_total + shipping + tax.
#[derive(Serialize, ToSchema)]
pub struct QuoteDto {
    pub currency: String,
    pub subtotal: PriceDto,
    pub tier_discount: PriceDto,
    pub coupons: Vec<CouponLineDto>,
    pub discount_total: PriceDto,
    pub shipping: PriceDto,
    pub tax: PriceDto,
    pub total: PriceDto,
}

impl From<&Quote> for QuoteDto {
    fn from(q: &Quote) -> Self {
        QuoteDto {
            currency: q.currency.code().to_owned(),
            subtotal: (&q.subtotal).into(),
            tier_discount: (&q.tier_discount).into(),
            coupons: q
                .coupons
                .iter()
                .map(|c| CouponLineDto {
                    campaign_id: c.campaign_id.0,
                    code: c.code.clone(),
                    discount: (&c.discount).into(),
                })
                .collect(),
            discount_total: (&q.discount_total).into(),
            shipping: (&q.shipping).into(),
            tax: (&q.tax).into(),
            total: (&q.total).into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartLineDto {
    pub sku_id: i64,
    pub qty: i64,
}

/// A cart to price (and, for redeem, the coupons to use on it).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartDto {
    pub lines: Vec<CartLineDto>,
    #[serde(default)]
    pub codes: Vec<String>,
    /// Delivered home (shipping fee rule applies) or not (pickup, POS). Default: buyers true, clerks false.
    pub delivery: Option<bool>,
    /// Clerks: the member the sale is for, by phone.
    pub member_phone: Option<String>,
    /// Clerks: the store selling (required when the clerk has several).
    pub location_id: Option<i64>,
    /// The order or receipt this redemption belongs to (redeem only).
    pub reference: Option<String>,
}

/// Who is selling: a buyer online (for themselves) or a clerk in store.
struct Seller {
    channel: SaleChannel,
    location: Option<LocationId>,
    member: Option<AccountId>,
    delivery: bool,
    ref_prefix: String,
}

async fn seller(s: &AppState, p: Option<&Principal>, b: &CartDto) -> Result<Seller, ApiError> {
    let clerk_stores: Vec<LocationId> = p.map(|p| p.store_ids().collect()).unwrap_or_default();
    if let (Some(p), false) = (p, clerk_stores.is_empty()) {
        let location = match b.location_id {
            Some(l) if clerk_stores.contains(&LocationId(l)) => LocationId(l),
            Some(_) => return Err(DomainError::not_found("The store").into()),
            None if clerk_stores.len() == 1 => clerk_stores[0],
            None => {
                return Err(invalid_field(
                    "You clerk at several stores: name the location_id.",
                ))
            }
        };
        let member = match &b.member_phone {
            Some(ph) => Some(s.services.coupons.member_by_phone(ph).await?),
            None => None,
        };
        return Ok(Seller {
            channel: SaleChannel::InStore,
            location: Some(location),
            member,
            delivery: b.delivery.unwrap_or(false),
            ref_prefix: format!("pos:{location}:{}", p.account_id),
        });
    }
    if b.member_phone.is_some() || b.location_id.is_some() {
        return Err(ApiError::new(
            ErrorCode::FieldNotAllowed,
            "Only store clerks attach a member or name a store.",
        ));
    }
    Ok(Seller {
        channel: SaleChannel::Online,
        location: None,
        member: p
            .filter(|p| p.grants.contains(&Grant::Buyer))
            .map(|p| p.account_id),
        delivery: b.delivery.unwrap_or(true),
        ref_prefix: match p {
            Some(p) => format!("buyer:{}", p.account_id),
            None => "anonymous".into(),
        },
    })
}

fn cart_input(b: &CartDto, who: &Seller) -> CartInput {
    CartInput {
        lines: b.lines.iter().map(|l| (SkuId(l.sku_id), l.qty)).collect(),
        codes: b.codes.clone(),
        channel: who.channel,
        delivery: who.delivery,
        member: who.member,
    }
}

#[derive(Serialize, ToSchema)]
pub struct RedeemedDto {
    pub quote: QuoteDto,
    pub redemption_ids: Vec<i64>,
    /// The reference the redemptions were recorded under.
    pub reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChannelCountDto {
    pub channel: String,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RedeemedCountDto {
    pub channel: String,
    pub count: i64,
    pub discount_minor: i64,
}

/// Issued against redeemed, by channel, for one campaign.
#[derive(Serialize, ToSchema)]
pub struct ReportDto {
    pub campaign_id: i64,
    pub name: String,
    pub channel: &'static str,
    pub issued: i64,
    pub redeemed: i64,
    /// redeemed / issued, in basis points (0 when nothing was issued).
    pub conversion_bps: i64,
    pub issued_by_channel: Vec<ChannelCountDto>,
    pub redeemed_by_channel: Vec<RedeemedCountDto>,
    /// Redeemed in a store within 365 days of issue (seed 002's "came back to the store").
    pub redeemed_in_store_within_year: i64,
    /// That figure over issued, in basis points.
    pub came_back_in_store_bps: i64,
    pub discount_spent_minor: i64,
    pub voided: i64,
}

fn ratio_bps(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        i64::try_from(i128::from(part) * 10_000 / i128::from(whole)).unwrap_or(0)
    }
}

impl From<&Report> for ReportDto {
    fn from(r: &Report) -> Self {
        ReportDto {
            campaign_id: r.campaign.id.0,
            name: r.campaign.spec.name.clone(),
            channel: r.campaign.spec.channel.as_str(),
            issued: r.issued,
            redeemed: r.redeemed,
            conversion_bps: ratio_bps(r.redeemed, r.issued),
            issued_by_channel: r
                .issued_by_channel
                .iter()
                .map(|(c, n)| ChannelCountDto {
                    channel: c.clone(),
                    count: *n,
                })
                .collect(),
            redeemed_by_channel: r
                .redeemed_by_channel
                .iter()
                .map(|(c, n, d)| RedeemedCountDto {
                    channel: c.clone(),
                    count: *n,
                    discount_minor: *d,
                })
                .collect(),
            redeemed_in_store_within_year: r.redeemed_in_store_within_year,
            came_back_in_store_bps: ratio_bps(r.redeemed_in_store_within_year, r.issued),
            discount_spent_minor: r.campaign.discount_spent_minor,
            voided: r.voided,
        }
    }
}

// ---- campaigns ----

/// Creates a coupon campaign (operators).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "coupons", security(("bearer" = [])), request_body = NewCampaignDto,
    responses((status = 201, body = CampaignDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_campaign(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewCampaignDto>,
) -> ApiResult<(StatusCode, Json<CampaignDto>)> {
    let c = s
        .services
        .coupons
        .create_campaign(&p, parse_spec(b)?)
        .await?;
    Ok((StatusCode::CREATED, Json((&c).into())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Campaigns, newest first (operators).
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "coupons", security(("bearer" = [])),
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = List<CampaignDto>), (status = 403, body = ErrorBody)))]
async fn list_campaigns(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<List<CampaignDto>>> {
    let limit = souk_core::page::page_size(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(souk_core::page::decode_cursor)
        .transpose()?;
    let items = s
        .services
        .coupons
        .campaigns(&p, before, i64::from(limit))
        .await?;
    Ok(Json(List {
        items: items.iter().map(CampaignDto::from).collect(),
    }))
}

/// One campaign (operators).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "coupons", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = CampaignDto), (status = 404, body = ErrorBody)))]
async fn get_campaign(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignDto>> {
    let c = s.services.coupons.campaign(&p, CampaignId(id)).await?;
    Ok(Json((&c).into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateCodesDto {
    /// 1 to 10000.
    pub count: i64,
    /// Up to 12 letters or digits put before each code.
    #[serde(default)]
    pub prefix: String,
    /// Issue every code to this buyer only (e.g. one per member).
    pub holder_account_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CodesDto {
    pub codes: Vec<String>,
}

/// Generates single-use codes (operators); each is an issued coupon.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/codes", tag = "coupons", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = GenerateCodesDto,
    responses((status = 201, body = CodesDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn generate_codes(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Json(b): Json<GenerateCodesDto>,
) -> ApiResult<(StatusCode, Json<CodesDto>)> {
    let codes = s
        .services
        .coupons
        .generate_codes(
            &p,
            CampaignId(id),
            b.count,
            &b.prefix,
            b.holder_account_id.map(AccountId),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CodesDto { codes })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodesQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

/// The campaign's codes, by id (operators). `after` is the last id seen.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/codes", tag = "coupons", security(("bearer" = [])),
    params(("id" = i64, Path), ("after" = Option<i64>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = List<CodeDto>), (status = 404, body = ErrorBody)))]
async fn list_codes(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Query(q): Query<CodesQuery>,
) -> ApiResult<Json<List<CodeDto>>> {
    let limit = souk_core::page::page_size(q.limit)?;
    let rows = s
        .services
        .coupons
        .codes(&p, CampaignId(id), q.after.unwrap_or(0), i64::from(limit))
        .await?;
    Ok(Json(List {
        items: rows.iter().map(CodeDto::from).collect(),
    }))
}

/// Conversion report of one campaign: issued against redeemed, by channel (operators).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/report", tag = "coupons", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ReportDto), (status = 404, body = ErrorBody)))]
async fn campaign_report(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReportDto>> {
    let r = s.services.coupons.report(&p, CampaignId(id)).await?;
    Ok(Json((&r).into()))
}

/// Conversion report of every campaign (operators).
#[utoipa::path(get, path = "/api/v1/campaigns/report", tag = "coupons", security(("bearer" = [])),
    responses((status = 200, body = List<ReportDto>), (status = 403, body = ErrorBody)))]
async fn all_reports(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<List<ReportDto>>> {
    let r = s.services.coupons.reports(&p).await?;
    Ok(Json(List {
        items: r.iter().map(ReportDto::from).collect(),
    }))
}

// ---- buyers ----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimDto {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct WalletItemDto {
    pub campaign: CampaignDto,
    pub code: CodeDto,
}

/// A buyer collects a coupon into their wallet (a shared code, or a paper single-use code).
#[utoipa::path(post, path = "/api/v1/coupons/claim", tag = "coupons", security(("bearer" = [])), request_body = ClaimDto,
    responses((status = 200, body = WalletItemDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn claim(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<ClaimDto>,
) -> ApiResult<Json<WalletItemDto>> {
    if !p.is_buyer() {
        return Err(DomainError::forbidden("Only buyers collect coupons.").into());
    }
    let (c, row) = s
        .services
        .coupons
        .claim(&p, &b.code, SaleChannel::Online)
        .await?;
    Ok(Json(WalletItemDto {
        campaign: (&c).into(),
        code: (&row).into(),
    }))
}

/// The coupons in the caller's wallet.
#[utoipa::path(get, path = "/api/v1/me/coupons", tag = "coupons", security(("bearer" = [])),
    responses((status = 200, body = List<WalletItemDto>), (status = 401, body = ErrorBody)))]
async fn my_coupons(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<List<WalletItemDto>>> {
    let items = s.services.coupons.wallet(&p).await?;
    Ok(Json(List {
        items: items
            .iter()
            .map(|(c, row)| WalletItemDto {
                campaign: c.into(),
                code: row.into(),
            })
            .collect(),
    }))
}

/// Prices a cart with coupons and the member's tier, without redeeming anything.
/// Buyers price online for themselves; clerks price in store (optionally for a member by phone).
#[utoipa::path(post, path = "/api/v1/coupons/preview", tag = "coupons", request_body = CartDto,
    responses((status = 200, body = QuoteDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Json(b): Json<CartDto>,
) -> ApiResult<Json<QuoteDto>> {
    let who = seller(&s, p.as_ref(), &b).await?;
    let (q, _) = s.services.coupons.price(&cart_input(&b, &who)).await?;
    Ok(Json((&q).into()))
}

/// Redeems coupons on a cart: a clerk at the POS, or a buyer online. Single-use,
/// budget and per-buyer limits hold under concurrent redemption. Checkout calls
/// the same service inside its own transaction.
#[utoipa::path(post, path = "/api/v1/coupons/redeem", tag = "coupons", security(("bearer" = [])), request_body = CartDto,
    responses((status = 201, body = RedeemedDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn redeem(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CartDto>,
) -> ApiResult<(StatusCode, Json<RedeemedDto>)> {
    if !p.is_buyer() && p.store_ids().next().is_none() {
        return Err(DomainError::forbidden("Only buyers and store clerks redeem coupons.").into());
    }
    let who = seller(&s, Some(&p), &b).await?;
    let reference = match &b.reference {
        Some(r) => {
            souk_core::text::check_text("reference", r, false)?;
            if r.trim().is_empty() || r.len() > 100 {
                return Err(invalid_field("A reference is 1 to 100 characters."));
            }
            format!("{}:{}", who.ref_prefix, r.trim())
        }
        None => format!("{}:{}", who.ref_prefix, uuid::Uuid::new_v4().simple()),
    };
    let (q, ids) = s
        .services
        .coupons
        .redeem(&cart_input(&b, &who), who.location, &reference)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RedeemedDto {
            quote: (&q).into(),
            redemption_ids: ids.iter().map(|i| i.0).collect(),
            reference,
        }),
    ))
}

// ---- tiers ----

#[derive(Serialize, ToSchema)]
pub struct TierDto {
    /// `regular`, `silver` or `gold`.
    pub tier: &'static str,
    pub discount_bps: u32,
    /// Paid in the last 365 days, in the market currency.
    pub spend_12m: PriceDto,
    pub next_tier: Option<&'static str>,
    pub next_tier_from_minor: Option<i64>,
    pub to_next_minor: Option<i64>,
}

impl From<&TierView> for TierDto {
    fn from(t: &TierView) -> Self {
        TierDto {
            tier: t.tier.level.as_str(),
            discount_bps: t.tier.discount_bps,
            spend_12m: (&t.spend_12m).into(),
            next_tier: t.next.map(|n| n.level.as_str()),
            next_tier_from_minor: t.next.map(|n| n.min_spend_minor),
            to_next_minor: t.to_next_minor,
        }
    }
}

/// The caller's member tier, from their spend in the last 12 months.
#[utoipa::path(get, path = "/api/v1/me/tier", tag = "coupons", security(("bearer" = [])),
    responses((status = 200, body = TierDto), (status = 401, body = ErrorBody)))]
async fn my_tier(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<TierDto>> {
    let t = s.services.coupons.tier_of(p.account_id).await?;
    Ok(Json((&t).into()))
}
