//! The double-entry ledger (M4): every movement of money is a balanced
//! transaction of postings, in integer minor units, one currency per posting.
//!
//! Sign convention: a posting's amount is positive for a debit and negative
//! for a credit; a transaction balances when, per currency, its postings sum
//! to zero. Money the platform owes (supplier payables, commissions, refunds
//! owed) carries a credit (negative) balance; money it holds (buyer payments
//! clearing) a debit (positive) one.
//!
//! The rounding rule of the take rate lives in [`split_take_rate`] and the
//! proportional refund rule in [`refund_postings`]; nowhere else.

use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::ids::{AccountId, ShopId, SupplierId};
use crate::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Basis points in one whole (100%).
pub const BPS_ONE: i64 = 10_000;

/// A ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LedgerAccount {
    /// Money received from buyers through a payment provider or the till.
    BuyerPaymentsClearing,
    /// The platform's take.
    PlatformRevenue,
    /// What the platform owes a supplier for goods sold.
    SupplierPayable(SupplierId),
    /// Commission owed to a shop owner (rules come with the social issue).
    ShopCommissionPayable(ShopId),
    /// Share owed to a streamer (rules come with the livestream issue).
    StreamerCommissionPayable(AccountId),
    /// What platform-funded coupons cost.
    CouponCost,
    /// Refunds owed to buyers until the provider pays them out.
    Refunds,
    /// Deposits buyers pledged (joint orders, pre-sale), held until settled.
    DepositsHeld,
}

impl LedgerAccount {
    /// (kind, party id) as stored.
    pub fn to_row(self) -> (&'static str, i64) {
        match self {
            LedgerAccount::BuyerPaymentsClearing => ("buyer_payments_clearing", 0),
            LedgerAccount::PlatformRevenue => ("platform_revenue", 0),
            LedgerAccount::SupplierPayable(s) => ("supplier_payable", s.0),
            LedgerAccount::ShopCommissionPayable(s) => ("shop_commission_payable", s.0),
            LedgerAccount::StreamerCommissionPayable(a) => ("streamer_commission_payable", a.0),
            LedgerAccount::CouponCost => ("coupon_cost", 0),
            LedgerAccount::Refunds => ("refunds", 0),
            LedgerAccount::DepositsHeld => ("deposits_held", 0),
        }
    }

    pub fn from_row(kind: &str, party: i64) -> Option<Self> {
        Some(match kind {
            "buyer_payments_clearing" => LedgerAccount::BuyerPaymentsClearing,
            "platform_revenue" => LedgerAccount::PlatformRevenue,
            "supplier_payable" => LedgerAccount::SupplierPayable(SupplierId(party)),
            "shop_commission_payable" => LedgerAccount::ShopCommissionPayable(ShopId(party)),
            "streamer_commission_payable" => {
                LedgerAccount::StreamerCommissionPayable(AccountId(party))
            }
            "coupon_cost" => LedgerAccount::CouponCost,
            "refunds" => LedgerAccount::Refunds,
            "deposits_held" => LedgerAccount::DepositsHeld,
            _ => return None,
        })
    }

    /// A readable name, e.g. `supplier_payable:7`.
    pub fn name(self) -> String {
        match self.to_row() {
            (k, 0) => k.to_owned(),
            (k, id) => format!("{k}:{id}"),
        }
    }
}

/// One line of a transaction: debit (+) or credit (−) of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account: LedgerAccount,
    pub currency: Currency,
    pub amount_minor: i64,
}

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnKind {
    Capture,
    Refund,
    RefundPayout,
    /// Money a provider took after the payment was voided (a QR wallet
    /// confirming a cancelled order): received and owed straight back.
    LatePayment,
}

impl TxnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TxnKind::Capture => "capture",
            TxnKind::Refund => "refund",
            TxnKind::RefundPayout => "refund_payout",
            TxnKind::LatePayment => "late_payment",
        }
    }
}

/// A balanced set of postings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub kind: TxnKind,
    pub postings: Vec<Posting>,
}

fn overflow() -> DomainError {
    DomainError::new(ErrorCode::InvalidAmount, "An amount is too large.")
}

/// Sum per currency, with checked arithmetic.
pub fn sums(postings: &[Posting]) -> DomainResult<BTreeMap<Currency, i64>> {
    let mut out = BTreeMap::new();
    for p in postings {
        let e = out.entry(p.currency).or_insert(0_i64);
        *e = e.checked_add(p.amount_minor).ok_or_else(overflow)?;
    }
    Ok(out)
}

impl Transaction {
    /// Builds a transaction, refusing it unless it balances per currency and
    /// has no zero postings (they are dropped) and at least two postings.
    pub fn balanced(kind: TxnKind, postings: Vec<Posting>) -> DomainResult<Self> {
        let postings: Vec<Posting> = postings
            .into_iter()
            .filter(|p| p.amount_minor != 0)
            .collect();
        if postings.len() < 2 {
            return Err(DomainError::internal(
                "A ledger transaction needs at least two non-zero postings.",
            ));
        }
        if sums(&postings)?.values().any(|v| *v != 0) {
            return Err(DomainError::internal("A ledger transaction must balance."));
        }
        Ok(Transaction { kind, postings })
    }
}

/// A take rate in basis points (0..=10000): the platform's share of a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeRate(i64);

impl TakeRate {
    pub fn from_bps(bps: i64) -> DomainResult<Self> {
        if !(0..=BPS_ONE).contains(&bps) {
            return Err(DomainError::invalid(
                "A take rate is 0 to 10000 basis points.",
            ));
        }
        Ok(TakeRate(bps))
    }

    pub fn bps(self) -> i64 {
        self.0
    }
}

/// `amount × num / den`, rounded down, without overflow (i128 inside).
fn mul_div_floor(amount: i64, num: i64, den: i64) -> DomainResult<i64> {
    if den <= 0 || amount < 0 || num < 0 {
        return Err(DomainError::internal(
            "mul_div_floor takes non-negative amounts",
        ));
    }
    let v = i128::from(amount) * i128::from(num) / i128::from(den);
    i64::try_from(v).map_err(|_| overflow())
}

/// THE rounding rule: a supplier gets its gross less the take rate, rounded
/// down to a minor unit; the remainder (the fee plus any fraction) goes to the
/// platform. Returns (supplier share, platform share); they sum to `gross`.
pub fn split_take_rate(gross: i64, rate: TakeRate) -> DomainResult<(i64, i64)> {
    let supplier = mul_div_floor(gross, BPS_ONE - rate.0, BPS_ONE)?;
    Ok((supplier, gross - supplier))
}

/// What a capture moves: the buyer paid `paid`; a platform-funded coupon
/// covered `coupon`; each supplier's gross is the value of its lines;
/// `fees` (shipping, tax) go to the platform whole. The grosses plus the fees
/// sum to paid + coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSplit {
    pub currency: Currency,
    pub paid: i64,
    pub coupon: i64,
    pub supplier_gross: Vec<(SupplierId, i64)>,
    pub fees: i64,
    pub rate: TakeRate,
}

/// The credit side of a capture, per account (positive numbers): each
/// supplier's payable and the platform's revenue. Sums to paid + coupon.
pub fn capture_shares(s: &CaptureSplit) -> DomainResult<Vec<(LedgerAccount, i64)>> {
    let gross: i64 = s
        .supplier_gross
        .iter()
        .try_fold(s.fees, |a, (_, g)| a.checked_add(*g))
        .ok_or_else(overflow)?;
    if s.paid < 0 || s.coupon < 0 || s.fees < 0 || s.paid.checked_add(s.coupon) != Some(gross) {
        return Err(DomainError::internal(
            "A capture's supplier grosses and fees must sum to the paid amount plus the coupon.",
        ));
    }
    let mut out = Vec::with_capacity(s.supplier_gross.len() + 1);
    let mut platform = s.fees;
    for (sup, g) in &s.supplier_gross {
        let (to_supplier, fee) = split_take_rate(*g, s.rate)?;
        out.push((LedgerAccount::SupplierPayable(*sup), to_supplier));
        platform = platform.checked_add(fee).ok_or_else(overflow)?;
    }
    out.push((LedgerAccount::PlatformRevenue, platform));
    Ok(out)
}

/// The capture transaction: buyer clearing and coupon cost debited, the
/// supplier payables and platform revenue credited.
pub fn capture_postings(s: &CaptureSplit) -> DomainResult<Transaction> {
    let c = s.currency;
    let mut postings = vec![
        Posting {
            account: LedgerAccount::BuyerPaymentsClearing,
            currency: c,
            amount_minor: s.paid,
        },
        Posting {
            account: LedgerAccount::CouponCost,
            currency: c,
            amount_minor: s.coupon,
        },
    ];
    for (account, v) in capture_shares(s)? {
        postings.push(Posting {
            account,
            currency: c,
            amount_minor: -v,
        });
    }
    Transaction::balanced(TxnKind::Capture, postings)
}

/// A refund of `amount` out of the `paid` of a capture, after
/// `refunded_before` was already refunded. Every account of the capture is
/// reversed in proportion, computed cumulatively (floor of the running
/// share) so that refunds in any number of parts reverse the capture exactly
/// once everything is refunded; the platform takes the rounding remainder.
///
/// Returns two transactions: the refund (payables, revenue and coupon cost
/// reversed against `refunds`) and its payout (`refunds` against buyer
/// clearing, as the provider sends the money back).
pub fn refund_postings(
    s: &CaptureSplit,
    refunded_before: i64,
    amount: i64,
) -> DomainResult<(Transaction, Transaction)> {
    let after = refunded_before.checked_add(amount).ok_or_else(overflow)?;
    if amount <= 0 || refunded_before < 0 || after > s.paid {
        return Err(DomainError::new(
            ErrorCode::InvalidAmount,
            format!(
                "A refund must be more than zero and at most what is left ({}).",
                s.paid.saturating_sub(refunded_before.max(0))
            ),
        ));
    }
    let c = s.currency;
    // Portion of x for the cumulative refunded fraction f/paid.
    let part = |x: i64, f: i64| mul_div_floor(x, f, s.paid);
    let coupon_back = part(s.coupon, after)? - part(s.coupon, refunded_before)?;
    let shares = capture_shares(s)?;
    let mut postings = Vec::with_capacity(shares.len() + 2);
    let mut suppliers_back = 0_i64;
    for (account, v) in &shares {
        if *account == LedgerAccount::PlatformRevenue {
            continue;
        }
        let back = part(*v, after)? - part(*v, refunded_before)?;
        suppliers_back = suppliers_back.checked_add(back).ok_or_else(overflow)?;
        postings.push(Posting {
            account: *account,
            currency: c,
            amount_minor: back,
        });
    }
    // Everything reversed sums to amount + coupon_back; the platform takes the rest.
    let platform_back = amount
        .checked_add(coupon_back)
        .and_then(|v| v.checked_sub(suppliers_back))
        .ok_or_else(overflow)?;
    postings.push(Posting {
        account: LedgerAccount::PlatformRevenue,
        currency: c,
        amount_minor: platform_back,
    });
    postings.push(Posting {
        account: LedgerAccount::CouponCost,
        currency: c,
        amount_minor: -coupon_back,
    });
    postings.push(Posting {
        account: LedgerAccount::Refunds,
        currency: c,
        amount_minor: -amount,
    });
    let refund = Transaction::balanced(TxnKind::Refund, postings)?;
    let payout = Transaction::balanced(
        TxnKind::RefundPayout,
        vec![
            Posting {
                account: LedgerAccount::Refunds,
                currency: c,
                amount_minor: amount,
            },
            Posting {
                account: LedgerAccount::BuyerPaymentsClearing,
                currency: c,
                amount_minor: -amount,
            },
        ],
    )?;
    Ok((refund, payout))
}

/// A payment that arrived after its intent was voided, given straight back.
/// Nothing was sold, so no supplier, revenue or coupon account moves.
///
/// Returns two transactions: the late payment (`buyer_payments_clearing`
/// debited with the money received, `refunds` credited: it is owed back) and
/// its payout (`refunds` against buyer clearing, as the provider sends the
/// money back). Together they leave every account where it was.
pub fn late_payment_postings(
    currency: Currency,
    amount: i64,
) -> DomainResult<(Transaction, Transaction)> {
    if amount <= 0 {
        return Err(DomainError::new(
            ErrorCode::InvalidAmount,
            "A late payment is more than zero.",
        ));
    }
    let pair = |kind, account_in, account_out| {
        Transaction::balanced(
            kind,
            vec![
                Posting {
                    account: account_in,
                    currency,
                    amount_minor: amount,
                },
                Posting {
                    account: account_out,
                    currency,
                    amount_minor: -amount,
                },
            ],
        )
    };
    Ok((
        pair(
            TxnKind::LatePayment,
            LedgerAccount::BuyerPaymentsClearing,
            LedgerAccount::Refunds,
        )?,
        pair(
            TxnKind::RefundPayout,
            LedgerAccount::Refunds,
            LedgerAccount::BuyerPaymentsClearing,
        )?,
    ))
}

/// Balances per (currency, account) of a set of postings: a trial balance.
pub fn trial_balance(
    postings: impl IntoIterator<Item = Posting>,
) -> DomainResult<BTreeMap<(Currency, LedgerAccount), i64>> {
    let mut out = BTreeMap::new();
    for p in postings {
        let e = out.entry((p.currency, p.account)).or_insert(0_i64);
        *e = e.checked_add(p.amount_minor).ok_or_else(overflow)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(paid: i64, coupon: i64, grosses: &[(i64, i64)], bps: i64) -> CaptureSplit {
        CaptureSplit {
            currency: Currency::Cny,
            paid,
            coupon,
            supplier_gross: grosses.iter().map(|(s, g)| (SupplierId(*s), *g)).collect(),
            fees: 0,
            rate: TakeRate::from_bps(bps).unwrap_or(TakeRate(0)),
        }
    }

    #[test]
    fn take_rate_rounds_down_for_the_supplier() {
        let r = TakeRate::from_bps(1000).unwrap_or(TakeRate(0));
        assert_eq!(split_take_rate(999, r).ok(), Some((899, 100)));
        assert_eq!(split_take_rate(1, r).ok(), Some((0, 1)));
        assert_eq!(split_take_rate(10_000, r).ok(), Some((9_000, 1_000)));
        assert!(TakeRate::from_bps(10_001).is_err());
        assert!(TakeRate::from_bps(-1).is_err());
        assert_eq!(
            split_take_rate(i64::MAX, TakeRate(1)).map(|(a, b)| a.checked_add(b)),
            Ok(Some(i64::MAX))
        );
    }

    #[test]
    fn capture_balances_and_splits() {
        let t = capture_postings(&split(10_000, 0, &[(1, 6_000), (2, 4_000)], 500));
        let t = t.unwrap_or(Transaction {
            kind: TxnKind::Capture,
            postings: vec![],
        });
        assert!(sums(&t.postings)
            .map(|m| m.values().all(|v| *v == 0))
            .unwrap_or(false));
        let get = |a| {
            t.postings
                .iter()
                .find(|p| p.account == a)
                .map(|p| p.amount_minor)
        };
        assert_eq!(
            get(LedgerAccount::SupplierPayable(SupplierId(1))),
            Some(-5_700)
        );
        assert_eq!(
            get(LedgerAccount::SupplierPayable(SupplierId(2))),
            Some(-3_800)
        );
        assert_eq!(get(LedgerAccount::PlatformRevenue), Some(-500));
    }

    #[test]
    fn refund_beyond_what_is_left_is_refused() {
        let s = split(100, 0, &[(1, 100)], 1000);
        assert!(refund_postings(&s, 0, 101).is_err());
        assert!(refund_postings(&s, 60, 41).is_err());
        assert!(refund_postings(&s, 0, 0).is_err());
        assert!(refund_postings(&s, 60, 40).is_ok());
    }

    #[test]
    fn a_late_payment_comes_in_and_goes_straight_back_out() {
        let r = late_payment_postings(Currency::Cny, 12_345);
        assert!(r.is_ok(), "{r:?}");
        let Ok((late, payout)) = r else { return };
        assert_eq!(late.kind, TxnKind::LatePayment);
        assert_eq!(payout.kind, TxnKind::RefundPayout);
        let bal = |t: &Transaction, a| {
            t.postings
                .iter()
                .filter(|p| p.account == a && p.currency == Currency::Cny)
                .map(|p| p.amount_minor)
                .sum::<i64>()
        };
        // Money in: clearing debited, owed back to the buyer.
        assert_eq!(bal(&late, LedgerAccount::BuyerPaymentsClearing), 12_345);
        assert_eq!(bal(&late, LedgerAccount::Refunds), -12_345);
        assert_eq!(late.postings.len(), 2);
        // Money out: the refund is paid out of clearing.
        assert_eq!(bal(&payout, LedgerAccount::Refunds), 12_345);
        assert_eq!(bal(&payout, LedgerAccount::BuyerPaymentsClearing), -12_345);
        assert_eq!(payout.postings.len(), 2);
        for t in [&late, &payout] {
            assert!(sums(&t.postings)
                .map(|m| m.values().all(|v| *v == 0))
                .unwrap_or(false));
        }
        // Together they leave nothing behind, and touch no sales account.
        let tb = trial_balance(late.postings.iter().chain(&payout.postings).copied());
        assert!(tb.is_ok_and(|tb| tb.len() == 2 && tb.values().all(|v| *v == 0)));
        for bad in [0, -1] {
            assert_eq!(
                late_payment_postings(Currency::Cny, bad).map_err(|e| e.code),
                Err(ErrorCode::InvalidAmount)
            );
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Create an order with these supplier grosses and a coupon.
        Order(Vec<(i64, i64)>, i64, i64),
        /// Capture order n (mod count).
        Capture(usize),
        /// Refund part of order n: numerator of the amount left (out of 100).
        Refund(usize, i64),
        /// Cancel order n: refund all that is left.
        Cancel(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                prop::collection::vec((1_i64..5, 1_i64..1_000_000), 1..4),
                0_i64..1000,
                0_i64..2000
            )
                .prop_map(|(g, c, f)| Op::Order(g, c, f)),
            (0_usize..20).prop_map(Op::Capture),
            (0_usize..20, 1_i64..100).prop_map(|(n, p)| Op::Refund(n, p)),
            (0_usize..20).prop_map(Op::Cancel),
        ]
    }

    struct Ord_ {
        split: CaptureSplit,
        captured: bool,
        refunded: i64,
        postings: Vec<Posting>,
    }

    proptest! {
        #[test]
        fn ledger_stays_balanced_and_orders_reconcile(
            bps in 0_i64..=10_000,
            ops in prop::collection::vec(op(), 1..60),
        ) {
            let mut orders: Vec<Ord_> = Vec::new();
            let mut all: Vec<Posting> = Vec::new();
            for o in ops {
                match o {
                    Op::Order(g, coupon, fees) => {
                        let gross: i64 = g.iter().map(|(_, v)| v).sum::<i64>() + fees;
                        let coupon = coupon.min(gross - 1);
                        let mut sp = split(gross - coupon, coupon, &g, bps);
                        sp.fees = fees;
                        orders.push(Ord_ {
                            split: sp,
                            captured: false,
                            refunded: 0,
                            postings: vec![],
                        });
                    }
                    Op::Capture(n) if !orders.is_empty() => {
                        let len = orders.len();
                        let ord = &mut orders[n % len];
                        if !ord.captured {
                            let t = capture_postings(&ord.split);
                            prop_assert!(t.is_ok(), "{t:?}");
                            if let Ok(t) = t {
                                ord.postings.extend(t.postings.iter().copied());
                                all.extend(t.postings);
                            }
                            ord.captured = true;
                        }
                    }
                    Op::Refund(n, _) | Op::Cancel(n) if !orders.is_empty() => {
                        let pct = if let Op::Refund(_, p) = o { p } else { 100 };
                        let len = orders.len();
                        let ord = &mut orders[n % len];
                        let left = ord.split.paid - ord.refunded;
                        let amount = (left * pct / 100).max(1).min(left);
                        if ord.captured && left > 0 {
                            let r = refund_postings(&ord.split, ord.refunded, amount);
                            prop_assert!(r.is_ok(), "{r:?}");
                            if let Ok((a, b)) = r {
                                for t in [a, b] {
                                    prop_assert!(sums(&t.postings).map(|m| m.values().all(|v| *v == 0)).unwrap_or(false));
                                    ord.postings.extend(t.postings.iter().copied());
                                    all.extend(t.postings);
                                }
                            }
                            ord.refunded += amount;
                        } else if ord.captured {
                            prop_assert!(refund_postings(&ord.split, ord.refunded, 1).is_err());
                        }
                    }
                    _ => {}
                }
                // The whole ledger balances after every step.
                let total = sums(&all);
                prop_assert!(total.map(|m| m.values().all(|v| *v == 0)).unwrap_or(false));
            }
            for ord in &orders {
                let tb = trial_balance(ord.postings.iter().copied());
                prop_assert!(tb.is_ok());
                let tb = tb.unwrap_or_default();
                let bal = |a| tb.get(&(Currency::Cny, a)).copied().unwrap_or(0);
                let captured = if ord.captured { ord.split.paid } else { 0 };
                // Buyer clearing holds what was captured less what was paid back.
                prop_assert_eq!(bal(LedgerAccount::BuyerPaymentsClearing), captured - ord.refunded);
                // Refunds owed are all paid out.
                prop_assert_eq!(bal(LedgerAccount::Refunds), 0);
                // Payables and revenue stay within the gross and never turn positive.
                let mut credits = 0;
                let suppliers: std::collections::BTreeSet<SupplierId> =
                    ord.split.supplier_gross.iter().map(|(s, _)| *s).collect();
                for sup in &suppliers {
                    let b = bal(LedgerAccount::SupplierPayable(*sup));
                    prop_assert!(b <= 0);
                    credits += b;
                }
                let rev = bal(LedgerAccount::PlatformRevenue);
                credits += rev;
                prop_assert_eq!(-credits, captured - ord.refunded + bal(LedgerAccount::CouponCost));
                // A fully refunded order leaves nothing behind.
                if ord.captured && ord.refunded == ord.split.paid {
                    prop_assert!(tb.values().all(|v| *v == 0), "{tb:?}");
                }
            }
        }
    }
}
