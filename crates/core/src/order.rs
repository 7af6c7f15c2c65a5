//! Orders (M3): the state machine, channels, attribution and split fulfilment.
//!
//! `decide(state, command)` answers the next state or `illegal_transition`;
//! the service writes each transition as an event row and moves the order
//! with a compare-and-set on its current state, so two racing commands cannot
//! both win.

use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::ids::{AccountId, LocationId, RoomId, ShopId, SkuId, SupplierId};
use crate::money::Currency;
use serde::{Deserialize, Serialize};

/// Most lines one order may carry.
pub const MAX_LINES: usize = 100;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    PendingPayment,
    Paid,
    Allocated,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
    Refunded,
    PartiallyRefunded,
}

impl OrderState {
    pub const ALL: &'static [OrderState] = &[
        OrderState::PendingPayment,
        OrderState::Paid,
        OrderState::Allocated,
        OrderState::Shipped,
        OrderState::Delivered,
        OrderState::Completed,
        OrderState::Cancelled,
        OrderState::Refunded,
        OrderState::PartiallyRefunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::PendingPayment => "pending_payment",
            OrderState::Paid => "paid",
            OrderState::Allocated => "allocated",
            OrderState::Shipped => "shipped",
            OrderState::Delivered => "delivered",
            OrderState::Completed => "completed",
            OrderState::Cancelled => "cancelled",
            OrderState::Refunded => "refunded",
            OrderState::PartiallyRefunded => "partially_refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        OrderState::ALL.iter().copied().find(|x| x.as_str() == s)
    }

    /// No command moves an order out of these.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderState::Cancelled | OrderState::Refunded)
    }

    /// Money has been captured and not (wholly) given back.
    pub fn holds_money(self) -> bool {
        matches!(
            self,
            OrderState::Paid
                | OrderState::Allocated
                | OrderState::Shipped
                | OrderState::Delivered
                | OrderState::Completed
                | OrderState::PartiallyRefunded
        )
    }

    /// Stock is still held by the order's reservations (not shipped, not released).
    pub fn holds_stock(self) -> bool {
        matches!(
            self,
            OrderState::PendingPayment | OrderState::Paid | OrderState::Allocated
        )
    }
}

/// What may happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderCommand {
    /// The payment was captured.
    Pay,
    /// Every line has a fulfilment location confirmed and picked.
    Allocate,
    /// The goods left (the reservations are committed).
    Ship,
    Deliver,
    Complete,
    /// Before shipping: stock is released and any captured money refunded.
    Cancel,
    /// Part of the captured money was given back.
    RefundPart,
    /// The rest of the captured money was given back.
    RefundAll,
}

impl OrderCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderCommand::Pay => "pay",
            OrderCommand::Allocate => "allocate",
            OrderCommand::Ship => "ship",
            OrderCommand::Deliver => "deliver",
            OrderCommand::Complete => "complete",
            OrderCommand::Cancel => "cancel",
            OrderCommand::RefundPart => "refund_part",
            OrderCommand::RefundAll => "refund_all",
        }
    }
}

/// The transition table. Anything not listed is `illegal_transition`.
///
/// ```text
/// pending_payment → paid → allocated → shipped → delivered → completed
/// pending_payment | paid | allocated → cancelled
/// paid .. completed | partially_refunded → partially_refunded | refunded
/// partially_refunded → completed
/// ```
pub fn decide(state: OrderState, cmd: OrderCommand) -> DomainResult<OrderState> {
    use OrderCommand as C;
    use OrderState as S;
    let next = match (state, cmd) {
        (S::PendingPayment, C::Pay) => S::Paid,
        (S::Paid, C::Allocate) => S::Allocated,
        (S::Allocated, C::Ship) => S::Shipped,
        (S::Shipped, C::Deliver) => S::Delivered,
        (S::Delivered | S::PartiallyRefunded, C::Complete) => S::Completed,
        (S::PendingPayment | S::Paid | S::Allocated, C::Cancel) => S::Cancelled,
        (s, C::RefundPart) if s.holds_money() => S::PartiallyRefunded,
        (s, C::RefundAll) if s.holds_money() => S::Refunded,
        (s, c) => {
            return Err(DomainError::new(
                ErrorCode::IllegalTransition,
                format!("An order that is {} cannot {}.", s.as_str(), c.as_str()),
            ))
        }
    };
    Ok(next)
}

/// The sales channel an order came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    App,
    Pos,
    ScanToOrder,
    Livestream,
    Auction,
    JointOrder,
    Subscription,
}

impl Channel {
    pub const ALL: &'static [Channel] = &[
        Channel::Web,
        Channel::App,
        Channel::Pos,
        Channel::ScanToOrder,
        Channel::Livestream,
        Channel::Auction,
        Channel::JointOrder,
        Channel::Subscription,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Pos => "pos",
            Channel::ScanToOrder => "scan_to_order",
            Channel::Livestream => "livestream",
            Channel::Auction => "auction",
            Channel::JointOrder => "joint_order",
            Channel::Subscription => "subscription",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Channel::ALL.iter().copied().find(|x| x.as_str() == s)
    }

    /// Channels a buyer may check out through today; the others are created by
    /// their own engines (auction wins, joint orders, subscriptions, live rooms).
    pub fn buyer_checkout(self) -> bool {
        matches!(self, Channel::Web | Channel::App | Channel::ScanToOrder)
    }
}

/// Who brought the sale: empty until the social and livestream issues fill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attribution {
    pub shop_id: Option<ShopId>,
    pub streamer_id: Option<AccountId>,
    pub room_id: Option<RoomId>,
}

/// One priced line of an order. Prices come from the server, never the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub sku: SkuId,
    pub supplier: SupplierId,
    pub qty: i64,
    pub unit_price_minor: i64,
    /// qty × unit price.
    pub amount_minor: i64,
}

/// A line request before pricing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRequest {
    pub sku: SkuId,
    pub qty: i64,
}

/// Checks a cart's lines: 1..=MAX_LINES lines, each quantity valid, each SKU once.
pub fn check_lines(lines: &[LineRequest]) -> DomainResult<()> {
    if lines.is_empty() {
        return Err(DomainError::invalid("An order needs at least one line."));
    }
    if lines.len() > MAX_LINES {
        return Err(DomainError::invalid(format!(
            "An order may have at most {MAX_LINES} lines."
        )));
    }
    for (i, l) in lines.iter().enumerate() {
        crate::stock::check_qty(l.qty)?;
        if lines[..i].iter().any(|o| o.sku == l.sku) {
            return Err(DomainError::invalid(format!(
                "SKU {} appears twice; give one line per SKU.",
                l.sku
            )));
        }
    }
    Ok(())
}

/// qty × unit price, refusing overflow.
pub fn line_amount(qty: i64, unit_price_minor: i64) -> DomainResult<i64> {
    qty.checked_mul(unit_price_minor)
        .ok_or_else(|| DomainError::new(ErrorCode::InvalidAmount, "The line total is too large."))
}

/// Sum of line amounts, refusing overflow.
pub fn total(lines: &[Line]) -> DomainResult<i64> {
    lines.iter().try_fold(0_i64, |acc, l| {
        acc.checked_add(l.amount_minor).ok_or_else(|| {
            DomainError::new(ErrorCode::InvalidAmount, "The order total is too large.")
        })
    })
}

/// The per-supplier gross of an order, in first-seen order (the ledger splits on it).
pub fn gross_by_supplier(lines: &[Line]) -> DomainResult<Vec<(SupplierId, i64)>> {
    let mut out: Vec<(SupplierId, i64)> = Vec::new();
    for l in lines {
        match out.iter_mut().find(|(s, _)| *s == l.supplier) {
            Some((_, v)) => {
                *v = v.checked_add(l.amount_minor).ok_or_else(|| {
                    DomainError::new(ErrorCode::InvalidAmount, "The order total is too large.")
                })?
            }
            None => out.push((l.supplier, l.amount_minor)),
        }
    }
    Ok(out)
}

/// A fulfilment: the lines one location sends. An order has one per location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentPlan {
    pub location: LocationId,
    /// Indexes into the order's lines.
    pub lines: Vec<usize>,
}

/// Groups lines by the location their stock was reserved at: one fulfilment per location.
pub fn split_fulfilment(line_locations: &[LocationId]) -> Vec<FulfilmentPlan> {
    let mut out: Vec<FulfilmentPlan> = Vec::new();
    for (i, loc) in line_locations.iter().enumerate() {
        match out.iter_mut().find(|f| f.location == *loc) {
            Some(f) => f.lines.push(i),
            None => out.push(FulfilmentPlan {
                location: *loc,
                lines: vec![i],
            }),
        }
    }
    out
}

/// An order's money in one currency, as the ledger must reconcile it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderAmounts {
    pub currency: Currency,
    pub total_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn happy_path_is_legal() {
        let mut s = OrderState::PendingPayment;
        for c in [
            OrderCommand::Pay,
            OrderCommand::Allocate,
            OrderCommand::Ship,
            OrderCommand::Deliver,
            OrderCommand::Complete,
        ] {
            s = decide(s, c).unwrap_or(OrderState::Cancelled);
        }
        assert_eq!(s, OrderState::Completed);
    }

    #[test]
    fn illegal_moves_are_refused() {
        let code = |s, c| decide(s, c).map_err(|e| e.code);
        assert_eq!(
            code(OrderState::PendingPayment, OrderCommand::Ship),
            Err(ErrorCode::IllegalTransition)
        );
        assert_eq!(
            code(OrderState::Shipped, OrderCommand::Cancel),
            Err(ErrorCode::IllegalTransition)
        );
        assert_eq!(
            code(OrderState::PendingPayment, OrderCommand::RefundPart),
            Err(ErrorCode::IllegalTransition)
        );
        for c in [
            OrderCommand::Pay,
            OrderCommand::Cancel,
            OrderCommand::RefundAll,
            OrderCommand::Ship,
        ] {
            assert!(decide(OrderState::Cancelled, c).is_err());
            assert!(decide(OrderState::Refunded, c).is_err());
        }
        assert_eq!(
            decide(OrderState::Paid, OrderCommand::Pay).map_err(|e| e.code),
            Err(ErrorCode::IllegalTransition)
        );
    }

    #[test]
    fn states_round_trip() {
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(*s));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn one_fulfilment_per_location() {
        let f = split_fulfilment(&[LocationId(1), LocationId(2), LocationId(1)]);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].lines, vec![0, 2]);
        assert_eq!(f[1].lines, vec![1]);
    }

    #[test]
    fn duplicate_skus_and_bad_quantities_are_refused() {
        let l = |s, q| LineRequest {
            sku: SkuId(s),
            qty: q,
        };
        assert!(check_lines(&[]).is_err());
        assert!(check_lines(&[l(1, 1), l(1, 2)]).is_err());
        assert!(check_lines(&[l(1, 0)]).is_err());
        assert!(check_lines(&[l(1, 1), l(2, 3)]).is_ok());
        assert!(line_amount(i64::MAX, 2).is_err());
    }
}
