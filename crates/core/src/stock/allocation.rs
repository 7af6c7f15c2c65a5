//! Channel allocations: "200 units of this SKU for live room 42".
//!
//! The *pool* of a SKU is its available-to-promise: the sum of `available`
//! over every location that ships. An open allocation carves `remaining`
//! (allocated − taken) units out of that pool for one channel key:
//!
//! * a channel with an open allocation is served from it and capped by it —
//!   once it is used up the channel gets `out_of_stock`, it does not fall
//!   back to the pool;
//! * every other channel may take only the pool minus all open allocations'
//!   remaining units;
//! * a hold taken from an allocation and released (or expired) while the
//!   allocation is open goes back to the allocation; once it is closed, to
//!   the pool (a released hold simply raises `available`);
//! * closing returns the untaken rest to the pool.
//!
//! Allocations move no stock: levels and the movement ledger are unchanged,
//! they only change who may take what. Taking from a location still needs the
//! units physically available there ([`super::decide`]).

use super::check_qty;
use crate::error::{DomainError, DomainResult, ErrorCode};

/// An open allocation's figures as the rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The channel key it serves, e.g. `livestream:room:42`.
    pub channel: String,
    /// Units allocated.
    pub qty: i64,
    /// Units held or shipped through it (holds given back while open are not counted).
    pub taken: i64,
}

impl Allocation {
    /// Units still carved out for the channel: allocated − taken.
    pub fn remaining(&self) -> i64 {
        (self.qty - self.taken).max(0)
    }

    /// 0 ≤ taken ≤ qty, qty > 0.
    pub fn holds_invariants(&self) -> bool {
        self.qty > 0 && self.taken >= 0 && self.taken <= self.qty
    }
}

/// The pool less every open allocation's remaining units, never below zero.
pub fn unallocated(pool: i64, open: &[Allocation]) -> i64 {
    let carved: i64 = open.iter().map(Allocation::remaining).sum();
    (pool - carved).max(0)
}

/// The open allocation serving `channel`, if any.
pub fn allocation_of<'a>(open: &'a [Allocation], channel: &str) -> Option<&'a Allocation> {
    open.iter().find(|a| a.channel == channel)
}

/// The figure `channel` can take now: its allocation's remaining units (never
/// more than the pool), or the pool less every open allocation.
pub fn available_to(pool: i64, open: &[Allocation], channel: &str) -> i64 {
    match allocation_of(open, channel) {
        Some(a) => a.remaining().min(pool.max(0)),
        None => unallocated(pool, open),
    }
}

/// Checks a new allocation of `qty` for `channel` against the pool and the
/// allocations already open; returns it, nothing taken yet. One open
/// allocation per channel and SKU.
pub fn open(pool: i64, open: &[Allocation], channel: &str, qty: i64) -> DomainResult<Allocation> {
    check_qty(qty)?;
    if allocation_of(open, channel).is_some() {
        return Err(DomainError::new(
            ErrorCode::IllegalTransition,
            format!(
                "Channel {channel} already has an open allocation of this SKU; close it first."
            ),
        ));
    }
    let free = unallocated(pool, open);
    if qty > free {
        return Err(DomainError::new(
            ErrorCode::OutOfStock,
            format!("Only {free} units are free to allocate; {qty} requested."),
        ));
    }
    Ok(Allocation {
        channel: channel.to_owned(),
        qty,
        taken: 0,
    })
}

/// Where a reservation's units come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// From the channel's open allocation (the index into `open`).
    Allocation(usize),
    /// From the unallocated pool.
    Pool,
}

/// May `channel` take `qty` units? `in_pool` says whether the location they
/// come from ships (counts in the pool); units from elsewhere (a pickup-only
/// store) do not touch other channels' allocations.
pub fn take(
    pool: i64,
    open: &[Allocation],
    channel: &str,
    qty: i64,
    in_pool: bool,
) -> DomainResult<Source> {
    check_qty(qty)?;
    if let Some(i) = open.iter().position(|a| a.channel == channel) {
        let left = open[i].remaining();
        if qty > left {
            return Err(DomainError::new(
                ErrorCode::OutOfStock,
                format!("The allocation for {channel} has {left} left; {qty} requested."),
            ));
        }
        return Ok(Source::Allocation(i));
    }
    if in_pool {
        let free = unallocated(pool, open);
        if qty > free {
            return Err(DomainError::new(
                ErrorCode::OutOfStock,
                format!("Only {free} available to {channel}; {qty} requested."),
            ));
        }
    }
    Ok(Source::Pool)
}

/// The allocation after `qty` more units were taken from it.
pub fn taken(a: &Allocation, qty: i64) -> Allocation {
    Allocation {
        taken: (a.taken + qty).min(a.qty),
        ..a.clone()
    }
}

/// The allocation after a hold of `qty` taken from it was released or
/// expired while it is open: the units are the channel's again.
pub fn given_back(a: &Allocation, qty: i64) -> Allocation {
    Allocation {
        taken: (a.taken - qty).max(0),
        ..a.clone()
    }
}

/// Units closing `a` returns to the pool: its untaken rest.
pub fn returned_on_close(a: &Allocation) -> i64 {
    a.remaining()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LocationId, SkuId};
    use crate::stock::{apply, decide, Command, Level};
    use proptest::prelude::*;

    const ROOM: &str = "livestream:room:42";

    fn alloc(channel: &str, qty: i64, taken: i64) -> Allocation {
        Allocation {
            channel: channel.into(),
            qty,
            taken,
        }
    }

    #[test]
    fn opening_carves_units_out_of_the_pool() {
        let opened = [alloc(ROOM, 200, 0)];
        assert_eq!(open(300, &[], ROOM, 200), Ok(opened[0].clone()));
        assert_eq!(available_to(300, &opened, "web"), 100);
        assert_eq!(available_to(300, &opened, ROOM), 200);
        // Not more than is free, not twice for one channel.
        assert_eq!(
            open(300, &opened, "livestream:room:7", 101).map_err(|e| e.code),
            Err(ErrorCode::OutOfStock)
        );
        assert_eq!(
            open(300, &opened, ROOM, 1).map_err(|e| e.code),
            Err(ErrorCode::IllegalTransition)
        );
        for q in [0, -1, i64::MAX] {
            assert_eq!(
                open(300, &[], ROOM, q).map_err(|e| e.code),
                Err(ErrorCode::InvalidQuantity)
            );
        }
    }

    #[test]
    fn an_allocation_is_a_cap_and_others_keep_off_it() {
        let opened = [alloc(ROOM, 20, 18)];
        assert_eq!(take(100, &opened, ROOM, 2, true), Ok(Source::Allocation(0)));
        assert_eq!(
            take(100, &opened, ROOM, 3, true).map_err(|e| e.code),
            Err(ErrorCode::OutOfStock)
        );
        // web may take 100 − 2 remaining = 98, not 99.
        assert_eq!(take(100, &opened, "web", 98, true), Ok(Source::Pool));
        assert!(take(100, &opened, "web", 99, true).is_err());
        // A pickup-only store is outside the pool.
        assert_eq!(take(100, &opened, "web", 99, false), Ok(Source::Pool));
    }

    #[test]
    fn give_back_and_close() {
        let a = alloc(ROOM, 10, 0);
        let a = taken(&a, 4);
        assert_eq!(a.remaining(), 6);
        let a = given_back(&a, 1);
        assert_eq!((a.taken, a.remaining()), (3, 7));
        assert_eq!(returned_on_close(&a), 7);
        // A shrunken pool (a count found units missing) caps what the channel sees.
        let opened = [a];
        assert_eq!(available_to(5, &opened, ROOM), 5);
        assert_eq!(available_to(5, &opened, "web"), 0);
    }

    /// A command against one shipping location with allocations on top.
    #[derive(Debug, Clone)]
    enum Step {
        Receive(i64),
        /// Reserve `qty` for channel `c` (0: web, 1 and 2: rooms).
        Reserve(usize, i64),
        /// Release the n-th live hold.
        Release(usize),
        /// Ship the n-th live hold.
        Commit(usize),
        Open(usize, i64),
        Close(usize),
    }

    const CHANNELS: [&str; 3] = ["web", "livestream:room:1", "livestream:room:2"];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (-2i64..30).prop_map(Step::Receive),
            (0usize..3, -2i64..15).prop_map(|(c, q)| Step::Reserve(c, q)),
            (0usize..8).prop_map(Step::Release),
            (0usize..8).prop_map(Step::Commit),
            (1usize..3, -2i64..25).prop_map(|(c, q)| Step::Open(c, q)),
            (1usize..3).prop_map(Step::Close),
        ]
    }

    proptest! {
        /// The stock model of `super::tests` with allocations: whatever the
        /// sequence, levels keep their invariants, 0 ≤ taken ≤ allocated, an
        /// allocated channel never holds more through an allocation than it
        /// was given, and (no count shrinks stock here) the open allocations
        /// are always covered by the pool, so no channel sees a negative figure.
        #[test]
        fn allocations_keep_the_pool_honest(steps in proptest::collection::vec(step(), 0..200)) {
            let (s, l) = (SkuId(1), LocationId(1));
            let mut level = Level::default();
            let mut opened: Vec<Allocation> = Vec::new();
            // Live holds: (qty, channel, taken from an allocation still open?)
            let mut holds: Vec<(i64, usize, bool)> = Vec::new();
            for st in steps {
                match st {
                    Step::Receive(q) => {
                        if let Ok(m) = decide(&level, s, l, Command::Receive { qty: q }) {
                            apply(&mut level, &m);
                        }
                    }
                    Step::Reserve(c, q) => {
                        let pool = level.available();
                        if let Ok(src) = take(pool, &opened, CHANNELS[c], q, true) {
                            let m = decide(&level, s, l, Command::Reserve { qty: q });
                            // The allocation is covered by the pool: a take it allows fits.
                            prop_assert!(m.is_ok(), "{:?} {:?} {}", level, opened, q);
                            if let Ok(m) = m { apply(&mut level, &m); }
                            let from_alloc = matches!(src, Source::Allocation(_));
                            if let Source::Allocation(i) = src {
                                opened[i] = taken(&opened[i], q);
                            }
                            holds.push((q, c, from_alloc));
                        }
                    }
                    Step::Release(n) | Step::Commit(n) if n < holds.len() => {
                        let (q, c, from_alloc) = holds.remove(n);
                        let cmd = if matches!(st, Step::Release(_)) {
                            Command::Release { qty: q }
                        } else {
                            Command::Commit { qty: q }
                        };
                        let m = decide(&level, s, l, cmd);
                        prop_assert!(m.is_ok());
                        if let Ok(m) = m { apply(&mut level, &m); }
                        if from_alloc && matches!(st, Step::Release(_)) {
                            if let Some(a) = opened.iter_mut().find(|a| a.channel == CHANNELS[c]) {
                                *a = given_back(a, q);
                            }
                        }
                    }
                    Step::Release(_) | Step::Commit(_) => {}
                    Step::Open(c, q) => {
                        if let Ok(a) = open(level.available(), &opened, CHANNELS[c], q) {
                            opened.push(a);
                        }
                    }
                    Step::Close(c) => {
                        if let Some(i) = opened.iter().position(|a| a.channel == CHANNELS[c]) {
                            let a = opened.remove(i);
                            let before = unallocated(level.available(), &opened);
                            prop_assert!(returned_on_close(&a) <= level.available());
                            prop_assert!(before >= returned_on_close(&a));
                            // Holds taken from it now belong to the pool.
                            for h in holds.iter_mut().filter(|h| h.1 == c) { h.2 = false; }
                        }
                    }
                }
                prop_assert!(level.holds_invariants(), "{:?}", level);
                for a in &opened {
                    prop_assert!(a.holds_invariants(), "{:?}", a);
                    let held: i64 = holds.iter().filter(|h| h.2 && CHANNELS[h.1] == a.channel).map(|h| h.0).sum();
                    prop_assert!(held <= a.taken, "{:?} holds {}", a, held);
                }
                let carved: i64 = opened.iter().map(Allocation::remaining).sum();
                prop_assert!(carved <= level.available(), "{:?} {:?}", level, opened);
                for c in CHANNELS {
                    prop_assert!(available_to(level.available(), &opened, c) >= 0);
                }
            }
        }
    }
}
