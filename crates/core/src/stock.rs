//! Omnichannel stock (M2): the figures per (SKU, location), the movements that
//! change them, and the rules that keep them honest.
//!
//! `decide` checks a command against the current level and returns the
//! movement it causes; `apply` folds a movement into a level. Current figures
//! are always the fold of the movement ledger, so they can be rebuilt.

use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::ids::{LocationId, SkuId};
use serde::{Deserialize, Serialize};

pub mod allocation;

/// Largest quantity one movement may carry.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// Stock of one SKU at one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Level {
    /// Units physically there.
    pub on_hand: i64,
    /// Units promised to reservations not yet shipped or released.
    pub reserved: i64,
    /// Units kept back from sale (damaged-in-transit buffer, display stock).
    pub safety: i64,
}

impl Level {
    /// What can still be promised: on-hand − reserved − safety, never below zero.
    pub fn available(&self) -> i64 {
        (self.on_hand - self.reserved - self.safety).max(0)
    }

    /// on_hand ≥ 0, reserved ≥ 0, reserved ≤ on_hand, safety ≥ 0.
    pub fn holds_invariants(&self) -> bool {
        self.on_hand >= 0 && self.reserved >= 0 && self.reserved <= self.on_hand && self.safety >= 0
    }
}

/// Why stock moved. Stored as text in the movement ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Receive,
    Reserve,
    Release,
    /// A reservation leaves as a shipment: on-hand and reserved both drop.
    Commit,
    TransferOut,
    TransferIn,
    Adjust,
    Return,
    PosSale,
    SetSafety,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Receive => "receive",
            Reason::Reserve => "reserve",
            Reason::Release => "release",
            Reason::Commit => "commit",
            Reason::TransferOut => "transfer_out",
            Reason::TransferIn => "transfer_in",
            Reason::Adjust => "adjust",
            Reason::Return => "return",
            Reason::PosSale => "pos_sale",
            Reason::SetSafety => "set_safety",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "receive" => Reason::Receive,
            "reserve" => Reason::Reserve,
            "release" => Reason::Release,
            "commit" => Reason::Commit,
            "transfer_out" => Reason::TransferOut,
            "transfer_in" => Reason::TransferIn,
            "adjust" => Reason::Adjust,
            "return" => Reason::Return,
            "pos_sale" => Reason::PosSale,
            "set_safety" => Reason::SetSafety,
            _ => return None,
        })
    }
}

/// One change to one level, as the ledger records it: signed deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    pub sku: SkuId,
    pub location: LocationId,
    pub reason: Reason,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub safety_delta: i64,
}

/// What a caller asks of one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Receive {
        qty: i64,
    },
    Reserve {
        qty: i64,
    },
    Release {
        qty: i64,
    },
    Commit {
        qty: i64,
    },
    TransferOut {
        qty: i64,
    },
    TransferIn {
        qty: i64,
    },
    /// A counted correction, up or down.
    Adjust {
        delta: i64,
    },
    Return {
        qty: i64,
    },
    /// Sold over the counter: leaves on-hand at once, from unreserved stock.
    PosSale {
        qty: i64,
    },
    SetSafety {
        safety: i64,
    },
}

/// A quantity is 1 to [`MAX_QUANTITY`].
pub fn check_qty(qty: i64) -> DomainResult<()> {
    if qty <= 0 || qty > MAX_QUANTITY {
        return Err(DomainError::new(
            ErrorCode::InvalidQuantity,
            format!("A quantity must be 1 to {MAX_QUANTITY}; got {qty}."),
        ));
    }
    Ok(())
}

fn out_of_stock(available: i64, qty: i64) -> DomainError {
    DomainError::new(
        ErrorCode::OutOfStock,
        format!("Only {available} available; {qty} requested."),
    )
}

/// Checks `cmd` against `level` and returns the movement it causes.
pub fn decide(
    level: &Level,
    sku: SkuId,
    location: LocationId,
    cmd: Command,
) -> DomainResult<Movement> {
    let m = |reason, on_hand_delta, reserved_delta, safety_delta| Movement {
        sku,
        location,
        reason,
        on_hand_delta,
        reserved_delta,
        safety_delta,
    };
    let movement = match cmd {
        Command::Receive { qty } => {
            check_qty(qty)?;
            m(Reason::Receive, qty, 0, 0)
        }
        Command::Reserve { qty } => {
            check_qty(qty)?;
            if level.available() < qty {
                return Err(out_of_stock(level.available(), qty));
            }
            m(Reason::Reserve, 0, qty, 0)
        }
        Command::Release { qty } => {
            check_qty(qty)?;
            if level.reserved < qty {
                return Err(DomainError::new(
                    ErrorCode::IllegalTransition,
                    "Cannot release more than is reserved.",
                ));
            }
            m(Reason::Release, 0, -qty, 0)
        }
        Command::Commit { qty } => {
            check_qty(qty)?;
            if level.reserved < qty || level.on_hand < qty {
                return Err(DomainError::new(
                    ErrorCode::IllegalTransition,
                    "Cannot ship more than is reserved.",
                ));
            }
            m(Reason::Commit, -qty, -qty, 0)
        }
        Command::TransferOut { qty } => {
            check_qty(qty)?;
            if level.available() < qty {
                return Err(out_of_stock(level.available(), qty));
            }
            m(Reason::TransferOut, -qty, 0, 0)
        }
        Command::TransferIn { qty } => {
            check_qty(qty)?;
            m(Reason::TransferIn, qty, 0, 0)
        }
        Command::Adjust { delta } => {
            if delta == 0 || delta.unsigned_abs() > MAX_QUANTITY.unsigned_abs() {
                return Err(DomainError::new(
                    ErrorCode::InvalidQuantity,
                    format!(
                        "An adjustment must be non-zero and at most {MAX_QUANTITY} either way."
                    ),
                ));
            }
            // A count may not take away units already promised to buyers.
            if level.on_hand + delta < level.reserved {
                return Err(DomainError::new(
                    ErrorCode::IllegalTransition,
                    format!(
                        "On-hand would fall to {} but {} are reserved; release reservations first.",
                        level.on_hand + delta,
                        level.reserved
                    ),
                ));
            }
            m(Reason::Adjust, delta, 0, 0)
        }
        Command::Return { qty } => {
            check_qty(qty)?;
            m(Reason::Return, qty, 0, 0)
        }
        Command::PosSale { qty } => {
            check_qty(qty)?;
            if level.on_hand - level.reserved < qty {
                return Err(out_of_stock(level.on_hand - level.reserved, qty));
            }
            m(Reason::PosSale, -qty, 0, 0)
        }
        Command::SetSafety { safety } => {
            if !(0..=MAX_QUANTITY).contains(&safety) {
                return Err(DomainError::new(
                    ErrorCode::InvalidQuantity,
                    "Safety stock must be 0 or more.",
                ));
            }
            m(Reason::SetSafety, 0, 0, safety - level.safety)
        }
    };
    let mut after = *level;
    apply(&mut after, &movement);
    debug_assert!(
        after.holds_invariants(),
        "{level:?} + {movement:?} broke an invariant"
    );
    if !after.holds_invariants() {
        return Err(DomainError::internal("stock rule broke an invariant"));
    }
    Ok(movement)
}

/// Folds a movement into a level.
pub fn apply(level: &mut Level, m: &Movement) {
    level.on_hand += m.on_hand_delta;
    level.reserved += m.reserved_delta;
    level.safety += m.safety_delta;
}

/// Where a reservation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    Held,
    Released,
    Committed,
    Expired,
}

impl HoldState {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Held => "held",
            HoldState::Released => "released",
            HoldState::Committed => "committed",
            HoldState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "held" => HoldState::Held,
            "released" => HoldState::Released,
            "committed" => HoldState::Committed,
            "expired" => HoldState::Expired,
            _ => return None,
        })
    }
}

/// May a hold in `state`, expiring at `expires_at_ms`, be committed at `now_ms`?
pub fn may_commit(state: HoldState, expires_at_ms: i64, now_ms: i64) -> DomainResult<()> {
    match state {
        HoldState::Held if now_ms < expires_at_ms => Ok(()),
        HoldState::Held | HoldState::Expired => Err(DomainError::new(
            ErrorCode::ReservationExpired,
            "The reservation has expired; its stock went back to the pool.",
        )),
        HoldState::Released | HoldState::Committed => Err(DomainError::new(
            ErrorCode::IllegalTransition,
            format!("The reservation is already {}.", state.as_str()),
        )),
    }
}

/// A place that could fulfil an order line, as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub location: LocationId,
    pub kind: crate::location::LocationKind,
    /// The location's region (province), e.g. "Zhejiang".
    pub region: String,
    pub available: i64,
    pub can_ship: bool,
    pub can_pickup: bool,
}

/// How the buyer gets the goods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fulfilment {
    /// Delivered to an address in `region` (empty: unknown).
    DeliverHome { region: String },
    /// Collected at this store.
    Pickup { store: LocationId },
}

/// The routing rule for choosing where stock is taken from:
///
/// 1. Pickup takes from the chosen store only, if it can hand over and has stock.
/// 2. Deliver-home considers locations that can ship and hold enough stock;
///    it prefers one in the buyer's region; then the cloud warehouse (inspected
///    goods, fastest dispatch) over stores over supplier warehouses; then the
///    deepest stock (leaves thin shelves for walk-in buyers); then the lowest id.
pub fn choose_location(candidates: &[Candidate], qty: i64, how: &Fulfilment) -> Option<LocationId> {
    use crate::location::LocationKind;
    match how {
        Fulfilment::Pickup { store } => candidates
            .iter()
            .find(|c| c.location == *store && c.can_pickup && c.available >= qty)
            .map(|c| c.location),
        Fulfilment::DeliverHome { region } => {
            let kind_rank = |k: LocationKind| match k {
                LocationKind::CloudWarehouse => 0,
                LocationKind::Store => 1,
                LocationKind::SupplierWarehouse => 2,
            };
            candidates
                .iter()
                .filter(|c| c.can_ship && c.available >= qty)
                .min_by_key(|c| {
                    let same_region = !region.is_empty() && c.region.eq_ignore_ascii_case(region);
                    (
                        !same_region,
                        kind_rank(c.kind),
                        std::cmp::Reverse(c.available),
                        c.location,
                    )
                })
                .map(|c| c.location)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: SkuId = SkuId(1);
    const L: LocationId = LocationId(1);

    fn run(level: &mut Level, cmd: Command) -> DomainResult<Movement> {
        let m = decide(level, S, L, cmd)?;
        apply(level, &m);
        Ok(m)
    }

    #[test]
    fn reserve_then_commit_ships() {
        let mut l = Level::default();
        run(&mut l, Command::Receive { qty: 10 }).ok();
        run(&mut l, Command::Reserve { qty: 4 }).ok();
        assert_eq!(l.available(), 6);
        run(&mut l, Command::Commit { qty: 4 }).ok();
        assert_eq!(
            l,
            Level {
                on_hand: 6,
                reserved: 0,
                safety: 0
            }
        );
    }

    #[test]
    fn no_overselling_and_safety_is_kept_back() {
        let mut l = Level {
            on_hand: 5,
            reserved: 0,
            safety: 2,
        };
        assert_eq!(
            run(&mut l, Command::Reserve { qty: 4 }).map_err(|e| e.code),
            Err(ErrorCode::OutOfStock)
        );
        assert!(run(&mut l, Command::Reserve { qty: 3 }).is_ok());
        assert_eq!(l.available(), 0);
    }

    #[test]
    fn adjust_cannot_take_promised_units() {
        let mut l = Level {
            on_hand: 5,
            reserved: 4,
            safety: 0,
        };
        assert!(run(&mut l, Command::Adjust { delta: -2 }).is_err());
        assert!(run(&mut l, Command::Adjust { delta: -1 }).is_ok());
    }

    #[test]
    fn quantities_are_bounded() {
        let l = Level::default();
        for q in [0, -1, i64::MAX, MAX_QUANTITY + 1] {
            assert!(
                decide(&l, S, L, Command::Receive { qty: q }).is_err(),
                "{q}"
            );
        }
        assert!(decide(&l, S, L, Command::Adjust { delta: i64::MIN }).is_err());
    }

    #[test]
    fn expired_holds_cannot_be_committed() {
        assert!(may_commit(HoldState::Held, 100, 99).is_ok());
        assert_eq!(
            may_commit(HoldState::Held, 100, 100).map_err(|e| e.code),
            Err(ErrorCode::ReservationExpired)
        );
        assert!(may_commit(HoldState::Released, 100, 0).is_err());
    }

    fn cand(
        id: i64,
        kind: crate::location::LocationKind,
        region: &str,
        available: i64,
    ) -> Candidate {
        Candidate {
            location: LocationId(id),
            kind,
            region: region.into(),
            available,
            can_ship: true,
            can_pickup: kind == crate::location::LocationKind::Store,
        }
    }

    #[test]
    fn routing_prefers_region_then_warehouse_then_depth() {
        use crate::location::LocationKind::*;
        let c = vec![
            cand(1, CloudWarehouse, "Shanghai", 5),
            cand(2, Store, "Zhejiang", 3),
            cand(3, Store, "Shanghai", 9),
            cand(4, SupplierWarehouse, "Zhejiang", 50),
        ];
        let home = |r: &str| Fulfilment::DeliverHome { region: r.into() };
        assert_eq!(
            choose_location(&c, 2, &home("Zhejiang")),
            Some(LocationId(2))
        );
        assert_eq!(
            choose_location(&c, 4, &home("Zhejiang")),
            Some(LocationId(4))
        );
        assert_eq!(choose_location(&c, 2, &home("")), Some(LocationId(1)));
        assert_eq!(choose_location(&c, 6, &home("")), Some(LocationId(3)));
        assert_eq!(choose_location(&c, 60, &home("")), None);
        assert_eq!(
            choose_location(
                &c,
                3,
                &Fulfilment::Pickup {
                    store: LocationId(2)
                }
            ),
            Some(LocationId(2))
        );
        assert_eq!(
            choose_location(
                &c,
                4,
                &Fulfilment::Pickup {
                    store: LocationId(2)
                }
            ),
            None
        );
        assert_eq!(
            choose_location(
                &c,
                1,
                &Fulfilment::Pickup {
                    store: LocationId(1)
                }
            ),
            None
        );
    }

    fn command() -> impl Strategy<Value = Command> {
        let q = -3i64..40;
        prop_oneof![
            q.clone().prop_map(|qty| Command::Receive { qty }),
            q.clone().prop_map(|qty| Command::Reserve { qty }),
            q.clone().prop_map(|qty| Command::Release { qty }),
            q.clone().prop_map(|qty| Command::Commit { qty }),
            q.clone().prop_map(|qty| Command::TransferOut { qty }),
            q.clone().prop_map(|qty| Command::TransferIn { qty }),
            (-40i64..40).prop_map(|delta| Command::Adjust { delta }),
            q.clone().prop_map(|qty| Command::Return { qty }),
            q.clone().prop_map(|qty| Command::PosSale { qty }),
            (-2i64..10).prop_map(|safety| Command::SetSafety { safety }),
        ]
    }

    proptest! {
        /// Against a simple model: any sequence keeps the invariants, and the
        /// level equals the fold of the accepted movements.
        #[test]
        fn invariants_hold_for_any_sequence(cmds in proptest::collection::vec(command(), 0..200)) {
            let mut level = Level::default();
            let mut ledger = Vec::new();
            for c in cmds {
                if let Ok(m) = decide(&level, S, L, c) {
                    apply(&mut level, &m);
                    ledger.push(m);
                }
                prop_assert!(level.holds_invariants(), "{:?}", level);
            }
            let mut rebuilt = Level::default();
            for m in &ledger { apply(&mut rebuilt, m); }
            prop_assert_eq!(rebuilt, level);
        }
    }
}
