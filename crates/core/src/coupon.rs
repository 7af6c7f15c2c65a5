//! Coupon campaigns (M11): who may use which code, where and when.
//!
//! A campaign says how it discounts ([`Discount`]), the minimum spend, the
//! channel (online, in store, or both), its validity window, its budget (a
//! most number of redemptions and/or a most discount money), a per-buyer
//! limit, whether its codes are single-use (generated in bulk, each
//! redeemable once) or one shared code, and whether it stacks.
//!
//! The rules here are pure: [`CampaignSpec::validate`] at creation,
//! [`check_redeemable`] for what depends on time, channel and holder, and
//! [`Campaign::applied`] to hand the coupon to [`crate::pricing::quote`]. The
//! limits that depend on everybody else (single use, budget, per buyer) are
//! enforced atomically by the store with conditional updates, so they hold
//! under concurrent redemption.

use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::ids::{AccountId, CampaignId};
use crate::money::{Currency, Money, MAX_PRICE_MINOR};
use crate::pricing::{AppliedCoupon, Discount};
use crate::text::parse_name;
use serde::{Deserialize, Serialize};

/// Most single-use codes one request may generate.
pub const MAX_CODES_PER_BATCH: i64 = 10_000;
/// Longest campaign: 5 years.
pub const MAX_CAMPAIGN_MS: i64 = 5 * 366 * 24 * 60 * 60 * 1000;
/// Characters of generated codes: no 0/O, 1/I/L, so they can be read aloud and typed at a till.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a generated single-use code.
pub const CODE_LEN: usize = 10;

/// Where a coupon may be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponChannel {
    Online,
    InStore,
    Any,
}

impl CouponChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            CouponChannel::Online => "online",
            CouponChannel::InStore => "in_store",
            CouponChannel::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "online" => CouponChannel::Online,
            "in_store" => CouponChannel::InStore,
            "any" => CouponChannel::Any,
            _ => return None,
        })
    }

    pub fn allows(self, at: SaleChannel) -> bool {
        matches!(
            (self, at),
            (CouponChannel::Any, _)
                | (CouponChannel::Online, SaleChannel::Online)
                | (CouponChannel::InStore, SaleChannel::InStore)
        )
    }
}

/// Where a sale (and so a redemption or an issue) happens. Orders map their
/// channel here: web, app, livestream, auction, joint order, subscription are
/// online; POS and scan-to-order (the buyer stands in the store) are in store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleChannel {
    Online,
    InStore,
}

impl SaleChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            SaleChannel::Online => "online",
            SaleChannel::InStore => "in_store",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "online" => SaleChannel::Online,
            "in_store" => SaleChannel::InStore,
            _ => return None,
        })
    }
}

/// Single-use codes, each redeemable once, or one code shared by everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    SingleUse,
    Shared,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::SingleUse => "single_use",
            CodeKind::Shared => "shared",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "single_use" => CodeKind::SingleUse,
            "shared" => CodeKind::Shared,
            _ => return None,
        })
    }
}

/// What an operator asks for when creating a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSpec {
    pub name: String,
    pub currency: Currency,
    pub discount: Discount,
    pub min_spend_minor: i64,
    /// Cap of one redemption's discount (useful with percent-off).
    pub max_discount_minor: Option<i64>,
    pub channel: CouponChannel,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// Budget: most redemptions in all.
    pub max_redemptions: Option<i64>,
    /// Budget: most discount money in all.
    pub budget_minor: Option<i64>,
    /// Most redemptions by one buyer.
    pub per_buyer_limit: Option<i64>,
    pub code_kind: CodeKind,
    /// The shared code (for [`CodeKind::Shared`]); normalised to upper case.
    pub shared_code: Option<String>,
    pub stackable: bool,
}

/// Normalise a code the way buyers type it: trimmed, upper case.
pub fn normalise_code(raw: &str) -> DomainResult<String> {
    let c = raw.trim().to_ascii_uppercase();
    if c.len() < 4
        || c.len() > 32
        || !c
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(DomainError::new(
            ErrorCode::InvalidField,
            "A coupon code is 4 to 32 letters, digits, '-' or '_'.",
        ));
    }
    Ok(c)
}

fn positive(what: &str, v: Option<i64>, max: i64) -> DomainResult<()> {
    match v {
        Some(v) if v <= 0 || v > max => Err(DomainError::new(
            ErrorCode::InvalidAmount,
            format!("{what} is more than 0 and at most {max}; got {v}."),
        )),
        _ => Ok(()),
    }
}

impl CampaignSpec {
    /// Checks every field; returns the spec with its name and code cleaned.
    pub fn validate(mut self) -> DomainResult<Self> {
        self.name = parse_name("campaign", &self.name)?;
        self.discount.validate()?;
        if let Discount::AmountOff { amount } = self.discount {
            if amount.currency != self.currency {
                return Err(DomainError::new(
                    ErrorCode::CurrencyMismatch,
                    format!(
                        "The amount off is in {}, but the campaign is in {}.",
                        amount.currency, self.currency
                    ),
                ));
            }
        }
        if !(0..=MAX_PRICE_MINOR).contains(&self.min_spend_minor) {
            return Err(DomainError::new(
                ErrorCode::InvalidAmount,
                format!("The minimum spend is 0 to {MAX_PRICE_MINOR} minor units."),
            ));
        }
        positive(
            "The cap per redemption",
            self.max_discount_minor,
            MAX_PRICE_MINOR,
        )?;
        positive("The redemption budget", self.max_redemptions, 1_000_000_000)?;
        positive("The money budget", self.budget_minor, i64::MAX / 4)?;
        positive("The per-buyer limit", self.per_buyer_limit, 1_000_000)?;
        if self.ends_at_ms <= self.starts_at_ms {
            return Err(DomainError::invalid("A campaign ends after it starts."));
        }
        if self.starts_at_ms < 0
            || self.ends_at_ms.saturating_sub(self.starts_at_ms) > MAX_CAMPAIGN_MS
        {
            return Err(DomainError::invalid("A campaign runs for at most 5 years."));
        }
        match (self.code_kind, &self.shared_code) {
            (CodeKind::Shared, Some(c)) => self.shared_code = Some(normalise_code(c)?),
            (CodeKind::Shared, None) => {
                return Err(DomainError::invalid(
                    "A shared-code campaign needs its code.",
                ))
            }
            (CodeKind::SingleUse, Some(_)) => {
                return Err(DomainError::invalid(
                    "Single-use campaigns generate their codes; do not give one.",
                ))
            }
            (CodeKind::SingleUse, None) => {}
        }
        Ok(self)
    }
}

/// A stored campaign with its running totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: CampaignId,
    pub spec: CampaignSpec,
    pub redemptions: i64,
    pub discount_spent_minor: i64,
    pub created_by: AccountId,
    pub created_at_ms: i64,
}

impl Campaign {
    /// The coupon as pricing sees it.
    pub fn applied(&self, code: &str) -> AppliedCoupon {
        let m = |amount_minor| Money {
            amount_minor,
            currency: self.spec.currency,
        };
        AppliedCoupon {
            campaign_id: self.id,
            code: code.to_owned(),
            discount: self.spec.discount,
            min_spend: (self.spec.min_spend_minor > 0).then(|| m(self.spec.min_spend_minor)),
            max_discount: self.spec.max_discount_minor.map(m),
            stackable: self.spec.stackable,
        }
    }
}

/// A code as the store found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    pub kind: CodeKind,
    /// A single-use code issued to one buyer: only they may redeem it.
    pub holder: Option<AccountId>,
    pub redeemed: bool,
}

/// What can be decided without looking at other redemptions: the window, the
/// channel, the currency, the holder, and a single-use code not yet used.
/// (The store re-checks single use and the budgets atomically.)
pub fn check_redeemable(
    c: &Campaign,
    code: &CodeState,
    buyer: Option<AccountId>,
    channel: SaleChannel,
    currency: Currency,
    now_ms: i64,
) -> DomainResult<()> {
    if now_ms < c.spec.starts_at_ms {
        return Err(DomainError::new(
            ErrorCode::CouponNotYetValid,
            "This coupon is not valid yet.",
        ));
    }
    if now_ms >= c.spec.ends_at_ms {
        return Err(DomainError::new(
            ErrorCode::CouponExpired,
            "This coupon has expired.",
        ));
    }
    if !c.spec.channel.allows(channel) {
        return Err(DomainError::new(
            ErrorCode::CouponWrongChannel,
            format!(
                "This coupon is for {} use only.",
                match c.spec.channel {
                    CouponChannel::Online => "online",
                    _ => "in-store",
                }
            ),
        ));
    }
    if c.spec.currency != currency {
        return Err(DomainError::new(
            ErrorCode::CurrencyMismatch,
            format!(
                "This coupon is in {}, the cart in {currency}.",
                c.spec.currency
            ),
        ));
    }
    if let Some(h) = code.holder {
        if buyer != Some(h) {
            // Someone else's code: as if it did not exist.
            return Err(DomainError::not_found("The coupon"));
        }
    }
    if c.spec.per_buyer_limit.is_some() && buyer.is_none() {
        return Err(DomainError::invalid(
            "This coupon is limited per buyer: attach the sale to a member first.",
        ));
    }
    if code.kind == CodeKind::SingleUse && code.redeemed {
        return Err(DomainError::new(
            ErrorCode::CouponAlreadyRedeemed,
            "This coupon code has already been used.",
        ));
    }
    if c.spec.max_redemptions.is_some_and(|m| c.redemptions >= m)
        || c.spec
            .budget_minor
            .is_some_and(|b| c.discount_spent_minor >= b)
    {
        return Err(DomainError::new(
            ErrorCode::CouponBudgetExhausted,
            "This campaign has been fully used.",
        ));
    }
    Ok(())
}

/// A single-use code from random bytes (injected: the core draws no randomness).
pub fn code_from_random(prefix: &str, random: &[u8; CODE_LEN]) -> String {
    let n = CODE_ALPHABET.len();
    let body: String = random
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % n]))
        .collect();
    if prefix.is_empty() {
        body
    } else {
        format!("{prefix}-{body}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CampaignSpec {
        CampaignSpec {
            name: "Spring".into(),
            currency: Currency::Cny,
            discount: Discount::PercentOff { bps: 1_000 },
            min_spend_minor: 0,
            max_discount_minor: None,
            channel: CouponChannel::Any,
            starts_at_ms: 1_000,
            ends_at_ms: 2_000,
            max_redemptions: None,
            budget_minor: None,
            per_buyer_limit: None,
            code_kind: CodeKind::Shared,
            shared_code: Some(" spring-10 ".into()),
            stackable: true,
        }
    }

    #[test]
    fn validation() {
        assert_eq!(
            spec().validate().ok().and_then(|s| s.shared_code),
            Some("SPRING-10".into())
        );
        let bad = |f: fn(&mut CampaignSpec)| {
            let mut s = spec();
            f(&mut s);
            s.validate().is_err()
        };
        assert!(bad(|s| s.discount = Discount::PercentOff { bps: 10_001 }));
        assert!(bad(|s| s.discount = Discount::PercentOff { bps: 0 }));
        assert!(bad(|s| s.discount = Discount::AmountOff {
            amount: Money {
                amount_minor: -5,
                currency: Currency::Cny
            }
        }));
        assert!(bad(|s| s.discount = Discount::AmountOff {
            amount: Money {
                amount_minor: 5,
                currency: Currency::Usd
            }
        }));
        assert!(bad(|s| s.ends_at_ms = s.starts_at_ms));
        assert!(bad(|s| s.min_spend_minor = -1));
        assert!(bad(|s| s.max_redemptions = Some(0)));
        assert!(bad(|s| s.shared_code = Some("a b".into())));
        assert!(bad(|s| s.code_kind = CodeKind::SingleUse));
    }

    #[test]
    fn redeemable_checks() {
        let c = Campaign {
            id: CampaignId(1),
            spec: CampaignSpec {
                channel: CouponChannel::InStore,
                ..spec()
            },
            redemptions: 0,
            discount_spent_minor: 0,
            created_by: AccountId(1),
            created_at_ms: 0,
        };
        let code = CodeState {
            kind: CodeKind::Shared,
            holder: None,
            redeemed: false,
        };
        let err = |now, ch| {
            check_redeemable(&c, &code, None, ch, Currency::Cny, now)
                .err()
                .map(|e| e.code)
        };
        assert_eq!(
            err(999, SaleChannel::InStore),
            Some(ErrorCode::CouponNotYetValid)
        );
        assert_eq!(
            err(2_000, SaleChannel::InStore),
            Some(ErrorCode::CouponExpired)
        );
        assert_eq!(
            err(1_500, SaleChannel::Online),
            Some(ErrorCode::CouponWrongChannel)
        );
        assert_eq!(err(1_500, SaleChannel::InStore), None);
        let held = CodeState {
            kind: CodeKind::SingleUse,
            holder: Some(AccountId(7)),
            redeemed: false,
        };
        assert_eq!(
            check_redeemable(
                &c,
                &held,
                Some(AccountId(8)),
                SaleChannel::InStore,
                Currency::Cny,
                1_500
            )
            .err()
            .map(|e| e.code),
            Some(ErrorCode::NotFound)
        );
    }

    #[test]
    fn codes_are_readable() {
        let c = code_from_random("SPR", &[0, 1, 2, 3, 4, 5, 6, 7, 8, 255]);
        assert!(c.starts_with("SPR-"));
        assert!(normalise_code(&c).is_ok());
        assert_eq!(c.len(), 4 + CODE_LEN);
    }
}
