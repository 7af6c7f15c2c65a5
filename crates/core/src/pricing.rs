//! The price calculation: the one place a price becomes a total.
//!
//! Checkout, the cart preview, the POS and scan-to-order all call [`quote`].
//! Nothing else multiplies, discounts, taxes or rounds money.
//!
//! # Order of operations
//!
//! 1. **Subtotal** = Σ unit price × quantity, at list price.
//! 2. **Tier discount** = subtotal × tier bps (the member tier, see [`crate::tier`]).
//! 3. **Coupons**, percent-off first, then amount-off, each on what is left of
//!    the goods after the discounts before it. A coupon's minimum spend is
//!    checked against the *subtotal* (the list price of the goods). A coupon
//!    never takes the goods below zero: its discount is capped at what is left.
//!    Coupons discount goods only, never shipping or tax.
//! 4. **Shipping**: the flat fee of the [`ShippingRule`], or zero when the
//!    discounted goods reach its free-shipping threshold (or when there is no
//!    delivery: pickup and POS pass [`ShippingRule::NONE`]).
//! 5. **Tax** = (discounted goods + shipping) × tax bps, added on top.
//! 6. **Total** = subtotal − tier discount − coupon discounts + shipping + tax.
//!
//! # The rounding rule (the only one in souk)
//!
//! Every fraction of a minor unit comes from a basis-point multiplication and
//! is rounded **half to even** on minor units ([`apply_bps`]): 0.5 fen rounds to
//! the nearest even fen, so rounding errors do not drift one way over many
//! orders. All arithmetic is checked (`i128` inside, checked back to `i64`);
//! an amount too large to represent is a 422 `invalid_amount`, never a panic.
//!
//! # Guarantees (property-tested below)
//!
//! - every figure is ≥ 0 and the total is never negative;
//! - total = subtotal − discounts + shipping + tax, exactly;
//! - discounts never exceed the subtotal;
//! - no input panics, however large.

use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::ids::{CampaignId, SkuId};
use crate::money::{Currency, Money, MAX_PRICE_MINOR};
use crate::stock::MAX_QUANTITY;
use crate::tier::TierTable;
use serde::{Deserialize, Serialize};

/// 100% in basis points.
pub const BPS_ONE: u32 = 10_000;
/// Most lines one quote may carry.
pub const MAX_LINES: usize = 500;
/// Most coupons one quote may carry.
pub const MAX_COUPONS: usize = 10;

/// `amount × bps / 10 000`, rounded half to even on minor units.
///
/// `amount` is non-negative in every caller; a negative amount is rounded the
/// same way symmetrically. Checked: `None` when the result does not fit `i64`.
pub fn apply_bps(amount: i64, bps: u32) -> Option<i64> {
    let num = i128::from(amount).checked_mul(i128::from(bps))?;
    let den = i128::from(BPS_ONE);
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    let rounded = match (r * 2).cmp(&den) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => {
            if q % 2 == 0 {
                q
            } else {
                q + 1
            }
        }
    };
    i64::try_from(rounded).ok()
}

/// One line of a cart or order at the price the server looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub sku: SkuId,
    pub unit_price: Money,
    pub qty: i64,
}

/// How a coupon discounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Discount {
    /// A percentage of the goods, in basis points (1..=10 000; 1 500 = 15%).
    PercentOff { bps: u32 },
    /// A fixed amount off the goods.
    AmountOff { amount: Money },
}

impl Discount {
    /// Parse-don't-validate: a discount that exists is in range.
    pub fn validate(&self) -> DomainResult<()> {
        match *self {
            Discount::PercentOff { bps } => {
                if bps == 0 || bps > BPS_ONE {
                    return Err(DomainError::new(
                        ErrorCode::InvalidAmount,
                        format!("A percent-off discount is 1 to 10000 basis points (0.01% to 100%); got {bps}."),
                    ));
                }
            }
            Discount::AmountOff { amount } => {
                Money::price(amount.amount_minor, amount.currency).map_err(|_| {
                    DomainError::new(
                        ErrorCode::InvalidAmount,
                        format!(
                            "An amount-off discount is more than 0 and at most {MAX_PRICE_MINOR} minor units; got {}.",
                            amount.amount_minor
                        ),
                    )
                })?;
            }
        }
        Ok(())
    }

    fn order_key(&self) -> u8 {
        match self {
            Discount::PercentOff { .. } => 0,
            Discount::AmountOff { .. } => 1,
        }
    }
}

/// A coupon that the coupon rules have already accepted for this buyer, now,
/// on this channel; pricing checks what depends on the cart (currency,
/// minimum spend, stacking) and computes the discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedCoupon {
    pub campaign_id: CampaignId,
    /// The code the buyer gave (for the quote's breakdown).
    pub code: String,
    pub discount: Discount,
    /// The subtotal must be at least this (same currency).
    pub min_spend: Option<Money>,
    /// The discount is capped at this (e.g. "20% off, at most ¥50").
    pub max_discount: Option<Money>,
    /// Whether it may be combined with other coupons.
    pub stackable: bool,
}

/// Shipping: a flat fee, free from a threshold on the discounted goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRule {
    /// Minor units of the quote's currency.
    pub flat_fee_minor: i64,
    /// Free when the discounted goods reach this many minor units; `None` = never free.
    pub free_from_minor: Option<i64>,
}

impl ShippingRule {
    /// No delivery (pickup in store, POS): no fee.
    pub const NONE: ShippingRule = ShippingRule {
        flat_fee_minor: 0,
        free_from_minor: None,
    };
}

/// Tax added on top of the discounted goods and shipping, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRule {
    pub rate_bps: u32,
}

/// The market: its currency, tax, shipping and member tiers. Operators
/// configure it; [`MarketConfig::default`] is the demo market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    pub currency: Currency,
    pub tax: TaxRule,
    pub shipping: ShippingRule,
    pub tiers: TierTable,
}

impl Default for MarketConfig {
    /// CNY; shelf prices include VAT, so no tax is added (0 bps); delivery
    /// ¥10.00, free from ¥99.00; tiers as in [`TierTable::default`].
    fn default() -> Self {
        Self {
            currency: Currency::Cny,
            tax: TaxRule { rate_bps: 0 },
            shipping: ShippingRule {
                flat_fee_minor: 1_000,
                free_from_minor: Some(9_900),
            },
            tiers: TierTable::default(),
        }
    }
}

impl MarketConfig {
    pub fn validate(&self) -> DomainResult<()> {
        if self.tax.rate_bps > BPS_ONE {
            return Err(DomainError::invalid(
                "The tax rate is at most 10000 basis points.",
            ));
        }
        if !(0..=MAX_PRICE_MINOR).contains(&self.shipping.flat_fee_minor)
            || self
                .shipping
                .free_from_minor
                .is_some_and(|f| !(0..=i64::MAX / 2).contains(&f))
        {
            return Err(DomainError::invalid(
                "The shipping fee and free-shipping threshold are non-negative amounts.",
            ));
        }
        self.tiers.validate()
    }
}

/// One coupon's share of the discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponLine {
    pub campaign_id: CampaignId,
    pub code: String,
    pub discount: Money,
}

/// The breakdown of a price. Every figure is in `currency` and ≥ 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub currency: Currency,
    pub subtotal: Money,
    pub tier_discount: Money,
    pub coupons: Vec<CouponLine>,
    /// Tier discount + every coupon discount.
    pub discount_total: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
}

fn too_large() -> DomainError {
    DomainError::new(
        ErrorCode::InvalidAmount,
        "The amounts are too large to price.",
    )
}

fn mismatch(what: &str, got: Currency, want: Currency) -> DomainError {
    DomainError::new(
        ErrorCode::CurrencyMismatch,
        format!("{what} is in {got}, but this price is in {want}."),
    )
}

/// Price a cart. Pure: the caller has looked up unit prices on the server,
/// the buyer's tier discount and the coupons the coupon rules accepted.
pub fn quote(
    lines: &[Line],
    tier_discount_bps: u32,
    coupons: &[AppliedCoupon],
    shipping: &ShippingRule,
    tax: &TaxRule,
) -> DomainResult<Quote> {
    let first = lines
        .first()
        .ok_or_else(|| DomainError::new(ErrorCode::EmptyCart, "There is nothing to price."))?;
    let currency = first.unit_price.currency;
    if lines.len() > MAX_LINES {
        return Err(DomainError::invalid(format!(
            "At most {MAX_LINES} lines may be priced at once."
        )));
    }
    if coupons.len() > MAX_COUPONS {
        return Err(DomainError::invalid(format!(
            "At most {MAX_COUPONS} coupons may be used at once."
        )));
    }
    if tier_discount_bps > BPS_ONE {
        return Err(DomainError::invalid(
            "A tier discount is at most 10000 basis points.",
        ));
    }
    if tax.rate_bps > BPS_ONE {
        return Err(DomainError::invalid(
            "A tax rate is at most 10000 basis points.",
        ));
    }
    if shipping.flat_fee_minor < 0 || shipping.flat_fee_minor > MAX_PRICE_MINOR {
        return Err(DomainError::invalid("The shipping fee is out of range."));
    }

    // 1. subtotal
    let mut subtotal: i64 = 0;
    for l in lines {
        if l.unit_price.currency != currency {
            return Err(mismatch("A line", l.unit_price.currency, currency));
        }
        Money::price(l.unit_price.amount_minor, currency)?;
        if l.qty <= 0 || l.qty > MAX_QUANTITY {
            return Err(DomainError::new(
                ErrorCode::InvalidQuantity,
                format!(
                    "A quantity is 1 to {MAX_QUANTITY}; got {} for SKU {}.",
                    l.qty, l.sku
                ),
            ));
        }
        let line_total = l
            .unit_price
            .amount_minor
            .checked_mul(l.qty)
            .ok_or_else(too_large)?;
        subtotal = subtotal.checked_add(line_total).ok_or_else(too_large)?;
    }

    // 2. tier discount
    let tier_discount = apply_bps(subtotal, tier_discount_bps)
        .ok_or_else(too_large)?
        .clamp(0, subtotal);
    let mut goods = subtotal - tier_discount;

    // 3. coupons: stacking, then percent-off before amount-off
    if coupons.len() > 1 {
        if let Some(c) = coupons.iter().find(|c| !c.stackable) {
            return Err(DomainError::new(
                ErrorCode::CouponNotStackable,
                format!("Coupon {:?} cannot be combined with other coupons.", c.code),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for c in coupons {
        if !seen.insert(c.campaign_id) {
            return Err(DomainError::new(
                ErrorCode::CouponNotStackable,
                format!(
                    "Only one coupon of a campaign may be used at once ({:?}).",
                    c.code
                ),
            ));
        }
    }
    let mut ordered: Vec<&AppliedCoupon> = coupons.iter().collect();
    ordered.sort_by_key(|c| c.discount.order_key()); // stable: keeps the caller's order within a kind
    let mut coupon_lines = Vec::with_capacity(ordered.len());
    let mut coupon_total: i64 = 0;
    for c in ordered {
        c.discount.validate()?;
        if let Some(min) = c.min_spend {
            if min.currency != currency {
                return Err(mismatch(
                    "The coupon's minimum spend",
                    min.currency,
                    currency,
                ));
            }
            if subtotal < min.amount_minor {
                return Err(DomainError::new(
                    ErrorCode::CouponMinSpendNotMet,
                    format!(
                        "Coupon {:?} needs a spend of at least {}; the goods come to {}.",
                        c.code,
                        min.display(),
                        Money {
                            amount_minor: subtotal,
                            currency
                        }
                        .display()
                    ),
                ));
            }
        }
        let mut d = match c.discount {
            Discount::PercentOff { bps } => apply_bps(goods, bps).ok_or_else(too_large)?,
            Discount::AmountOff { amount } => {
                if amount.currency != currency {
                    return Err(mismatch("The coupon", amount.currency, currency));
                }
                amount.amount_minor
            }
        };
        if let Some(cap) = c.max_discount {
            if cap.currency != currency {
                return Err(mismatch("The coupon's cap", cap.currency, currency));
            }
            d = d.min(cap.amount_minor.max(0));
        }
        // never below zero
        let d = d.clamp(0, goods);
        goods -= d;
        coupon_total = coupon_total.checked_add(d).ok_or_else(too_large)?;
        coupon_lines.push(CouponLine {
            campaign_id: c.campaign_id,
            code: c.code.clone(),
            discount: Money {
                amount_minor: d,
                currency,
            },
        });
    }

    // 4. shipping
    let ship = match shipping.free_from_minor {
        Some(free_from) if goods >= free_from => 0,
        _ => shipping.flat_fee_minor,
    };

    // 5. tax
    let taxable = goods.checked_add(ship).ok_or_else(too_large)?;
    let tax_amount = apply_bps(taxable, tax.rate_bps).ok_or_else(too_large)?;

    // 6. total
    let total = taxable.checked_add(tax_amount).ok_or_else(too_large)?;
    let discount_total = tier_discount
        .checked_add(coupon_total)
        .ok_or_else(too_large)?;
    debug_assert_eq!(total, subtotal - discount_total + ship + tax_amount);
    debug_assert!(total >= 0);

    let m = |amount_minor| Money {
        amount_minor,
        currency,
    };
    Ok(Quote {
        currency,
        subtotal: m(subtotal),
        tier_discount: m(tier_discount),
        coupons: coupon_lines,
        discount_total: m(discount_total),
        shipping: m(ship),
        tax: m(tax_amount),
        total: m(total),
    })
}

/// Split `amount` across `weights` in proportion, so that the parts sum to
/// `amount` exactly (largest remainder; ties to the earlier weight). Orders use
/// it to spread an order's discount over its lines for partial refunds.
pub fn allocate(amount: i64, weights: &[i64]) -> Option<Vec<i64>> {
    let total: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if total == 0 {
        return if amount == 0 {
            Some(vec![0; weights.len()])
        } else {
            None
        };
    }
    let a = i128::from(amount);
    let mut parts = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let num = a.checked_mul(i128::from((*w).max(0)))?;
        let q = num.div_euclid(total);
        parts.push(q);
        rems.push((num.rem_euclid(total), i));
        given += q;
    }
    let mut left = a - given;
    rems.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    for (_, i) in rems {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.into_iter().map(|p| i64::try_from(p).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cny(a: i64) -> Money {
        Money {
            amount_minor: a,
            currency: Currency::Cny,
        }
    }

    fn line(price: i64, qty: i64) -> Line {
        Line {
            sku: SkuId(1),
            unit_price: cny(price),
            qty,
        }
    }

    fn coupon(id: i64, discount: Discount) -> AppliedCoupon {
        AppliedCoupon {
            campaign_id: CampaignId(id),
            code: format!("C{id}"),
            discount,
            min_spend: None,
            max_discount: None,
            stackable: true,
        }
    }

    const NO_TAX: TaxRule = TaxRule { rate_bps: 0 };

    #[test]
    fn half_to_even() {
        assert_eq!(apply_bps(5, 1_000), Some(0)); // 0.5 → 0
        assert_eq!(apply_bps(15, 1_000), Some(2)); // 1.5 → 2
        assert_eq!(apply_bps(25, 1_000), Some(2)); // 2.5 → 2
        assert_eq!(apply_bps(26, 1_000), Some(3)); // 2.6 → 3
        assert_eq!(apply_bps(24, 1_000), Some(2)); // 2.4 → 2
        assert_eq!(apply_bps(i64::MAX, 10_000), Some(i64::MAX));
        assert_eq!(apply_bps(i64::MAX, 10_001), None);
    }

    #[test]
    fn worked_example() {
        // 2 × ¥49.90 + 1 × ¥20.00 = ¥119.80; silver 3% = ¥3.59 (3.594);
        // 10% coupon on ¥116.21 = ¥11.62 (11.621); ¥5 off → goods ¥99.59,
        // free shipping from ¥99; 6% tax = ¥5.98 (5.9754) → ¥105.57.
        let q = quote(
            &[line(4_990, 2), line(2_000, 1)],
            300,
            &[
                coupon(2, Discount::AmountOff { amount: cny(500) }),
                coupon(1, Discount::PercentOff { bps: 1_000 }),
            ],
            &MarketConfig::default().shipping,
            &TaxRule { rate_bps: 600 },
        );
        let q = q.ok();
        assert_eq!(q.as_ref().map(|q| q.subtotal.amount_minor), Some(11_980));
        assert_eq!(q.as_ref().map(|q| q.tier_discount.amount_minor), Some(359));
        assert_eq!(
            q.as_ref().map(|q| q
                .coupons
                .iter()
                .map(|c| c.discount.amount_minor)
                .collect::<Vec<_>>()),
            Some(vec![1_162, 500])
        );
        assert_eq!(q.as_ref().map(|q| q.shipping.amount_minor), Some(0));
        assert_eq!(q.as_ref().map(|q| q.tax.amount_minor), Some(598));
        assert_eq!(q.as_ref().map(|q| q.total.amount_minor), Some(10_557));
    }

    #[test]
    fn coupon_never_goes_below_zero_and_shipping_stays() {
        let q = quote(
            &[line(1_000, 1)],
            0,
            &[coupon(
                1,
                Discount::AmountOff {
                    amount: cny(50_000),
                },
            )],
            &MarketConfig::default().shipping,
            &NO_TAX,
        )
        .ok();
        assert_eq!(
            q.as_ref().map(|q| q.coupons[0].discount.amount_minor),
            Some(1_000)
        );
        assert_eq!(q.as_ref().map(|q| q.total.amount_minor), Some(1_000)); // shipping only
    }

    #[test]
    fn rules_are_enforced() {
        let code = |r: DomainResult<Quote>| r.err().map(|e| e.code);
        assert_eq!(
            code(quote(&[], 0, &[], &ShippingRule::NONE, &NO_TAX)),
            Some(ErrorCode::EmptyCart)
        );
        let mut usd = line(100, 1);
        usd.unit_price.currency = Currency::Usd;
        assert_eq!(
            code(quote(
                &[line(100, 1), usd],
                0,
                &[],
                &ShippingRule::NONE,
                &NO_TAX
            )),
            Some(ErrorCode::CurrencyMismatch)
        );
        let usd_off = AppliedCoupon {
            discount: Discount::AmountOff {
                amount: Money {
                    amount_minor: 10,
                    currency: Currency::Usd,
                },
            },
            ..coupon(1, Discount::PercentOff { bps: 1 })
        };
        assert_eq!(
            code(quote(
                &[line(100, 1)],
                0,
                &[usd_off],
                &ShippingRule::NONE,
                &NO_TAX
            )),
            Some(ErrorCode::CurrencyMismatch)
        );
        let mut excl = coupon(1, Discount::PercentOff { bps: 100 });
        excl.stackable = false;
        assert_eq!(
            code(quote(
                &[line(100, 1)],
                0,
                &[excl.clone(), coupon(2, Discount::PercentOff { bps: 100 })],
                &ShippingRule::NONE,
                &NO_TAX
            )),
            Some(ErrorCode::CouponNotStackable)
        );
        assert!(quote(&[line(100, 1)], 0, &[excl], &ShippingRule::NONE, &NO_TAX).is_ok());
        let mut min = coupon(1, Discount::PercentOff { bps: 100 });
        min.min_spend = Some(cny(101));
        assert_eq!(
            code(quote(
                &[line(100, 1)],
                0,
                &[min],
                &ShippingRule::NONE,
                &NO_TAX
            )),
            Some(ErrorCode::CouponMinSpendNotMet)
        );
        for bad in [0, 10_001, u32::MAX] {
            assert_eq!(
                code(quote(
                    &[line(100, 1)],
                    0,
                    &[coupon(1, Discount::PercentOff { bps: bad })],
                    &ShippingRule::NONE,
                    &NO_TAX
                )),
                Some(ErrorCode::InvalidAmount)
            );
        }
        assert_eq!(
            code(quote(&[line(100, 0)], 0, &[], &ShippingRule::NONE, &NO_TAX)),
            Some(ErrorCode::InvalidQuantity)
        );
        assert_eq!(
            code(quote(&[line(-1, 1)], 0, &[], &ShippingRule::NONE, &NO_TAX)),
            Some(ErrorCode::InvalidAmount)
        );
    }

    #[test]
    fn cap_limits_percent_coupon() {
        let mut c = coupon(1, Discount::PercentOff { bps: 2_000 });
        c.max_discount = Some(cny(5_000));
        let q = quote(&[line(100_000, 1)], 0, &[c], &ShippingRule::NONE, &NO_TAX).ok();
        assert_eq!(q.map(|q| q.total.amount_minor), Some(95_000));
    }

    #[test]
    fn allocate_sums_exactly() {
        assert_eq!(allocate(100, &[1, 1, 1]), Some(vec![34, 33, 33]));
        assert_eq!(allocate(0, &[0, 0]), Some(vec![0, 0]));
        assert_eq!(allocate(1, &[0, 0]), None);
    }

    fn discount() -> impl Strategy<Value = Discount> {
        prop_oneof![
            (0u32..=20_000).prop_map(|bps| Discount::PercentOff { bps }),
            (-10i64..=MAX_PRICE_MINOR * 2).prop_map(|a| Discount::AmountOff { amount: cny(a) }),
        ]
    }

    fn applied() -> impl Strategy<Value = AppliedCoupon> {
        (
            1i64..6,
            discount(),
            proptest::option::of(0i64..=MAX_PRICE_MINOR),
            proptest::option::of(0i64..=MAX_PRICE_MINOR),
            any::<bool>(),
        )
            .prop_map(|(id, discount, min, cap, stackable)| AppliedCoupon {
                campaign_id: CampaignId(id),
                code: format!("C{id}"),
                discount,
                min_spend: min.map(cny),
                max_discount: cap.map(cny),
                stackable,
            })
    }

    proptest! {
        #[test]
        fn quote_invariants(
            lines in proptest::collection::vec((1i64..=MAX_PRICE_MINOR, 1i64..=MAX_QUANTITY), 1..8),
            tier in 0u32..=12_000,
            coupons in proptest::collection::vec(applied(), 0..4),
            fee in 0i64..=MAX_PRICE_MINOR,
            free in proptest::option::of(0i64..=i64::MAX / 4),
            tax in 0u32..=12_000,
        ) {
            let lines: Vec<Line> = lines.into_iter().map(|(p, q)| line(p, q)).collect();
            let r = quote(&lines, tier, &coupons, &ShippingRule { flat_fee_minor: fee, free_from_minor: free }, &TaxRule { rate_bps: tax });
            if let Ok(q) = r {
                prop_assert!(q.total.amount_minor >= 0);
                prop_assert!(q.subtotal.amount_minor >= 0);
                prop_assert!(q.tax.amount_minor >= 0);
                prop_assert!(q.shipping.amount_minor >= 0);
                prop_assert!(q.discount_total.amount_minor <= q.subtotal.amount_minor);
                prop_assert!(q.coupons.iter().all(|c| c.discount.amount_minor >= 0));
                let coupons: i64 = q.coupons.iter().map(|c| c.discount.amount_minor).sum();
                prop_assert_eq!(q.discount_total.amount_minor, q.tier_discount.amount_minor + coupons);
                prop_assert_eq!(
                    i128::from(q.total.amount_minor),
                    i128::from(q.subtotal.amount_minor) - i128::from(q.discount_total.amount_minor)
                        + i128::from(q.shipping.amount_minor) + i128::from(q.tax.amount_minor)
                );
            }
        }

        #[test]
        fn huge_inputs_never_panic(
            price in any::<i64>(), qty in any::<i64>(), n in 1usize..600,
            tier in any::<u32>(), tax in any::<u32>(), fee in any::<i64>(), free in any::<Option<i64>>(),
            coupons in proptest::collection::vec(applied(), 0..12),
        ) {
            let lines = vec![line(price, qty); n];
            let _ = quote(&lines, tier, &coupons, &ShippingRule { flat_fee_minor: fee, free_from_minor: free }, &TaxRule { rate_bps: tax });
            let max = vec![line(MAX_PRICE_MINOR, MAX_QUANTITY); MAX_LINES];
            let _ = quote(&max, 0, &[], &ShippingRule::NONE, &TaxRule { rate_bps: BPS_ONE });
        }

        #[test]
        fn allocation_sums(amount in 0i64..=i64::MAX / 2, weights in proptest::collection::vec(0i64..=MAX_PRICE_MINOR, 1..20)) {
            if let Some(parts) = allocate(amount, &weights) {
                prop_assert_eq!(parts.iter().map(|p| i128::from(*p)).sum::<i128>(), i128::from(amount));
                prop_assert!(parts.iter().all(|p| *p >= 0));
            }
        }
    }
}
