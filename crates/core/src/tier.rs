//! Member tiers by rolling 12-month spend (M11).
//!
//! A buyer's spend is the sum of what they paid (orders on payment, POS sales
//! attached to them) in the last [`SPEND_WINDOW_MS`], in the market currency,
//! net of refunds. The tier is the highest whose threshold that spend reaches;
//! its discount (basis points) goes into [`crate::pricing::quote`].

use crate::error::{DomainError, DomainResult};
use crate::pricing::BPS_ONE;
use serde::{Deserialize, Serialize};

/// The rolling window: 365 days, in milliseconds.
pub const SPEND_WINDOW_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// The tiers souk knows, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierLevel {
    Regular,
    Silver,
    Gold,
}

impl TierLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            TierLevel::Regular => "regular",
            TierLevel::Silver => "silver",
            TierLevel::Gold => "gold",
        }
    }
}

/// One tier: reached from `min_spend_minor` (market currency), worth `discount_bps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub level: TierLevel,
    pub min_spend_minor: i64,
    pub discount_bps: u32,
}

/// The tiers of a market, lowest first; the first starts at 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierTable {
    pub tiers: Vec<Tier>,
}

impl Default for TierTable {
    /// regular from 0 (no discount); silver from ¥2,000 a year (3% off);
    /// gold from ¥10,000 a year (5% off).
    fn default() -> Self {
        Self {
            tiers: vec![
                Tier {
                    level: TierLevel::Regular,
                    min_spend_minor: 0,
                    discount_bps: 0,
                },
                Tier {
                    level: TierLevel::Silver,
                    min_spend_minor: 200_000,
                    discount_bps: 300,
                },
                Tier {
                    level: TierLevel::Gold,
                    min_spend_minor: 1_000_000,
                    discount_bps: 500,
                },
            ],
        }
    }
}

impl TierTable {
    /// Lowest tier starts at 0; thresholds and levels strictly increase;
    /// discounts at most 100%.
    pub fn validate(&self) -> DomainResult<()> {
        let first = self
            .tiers
            .first()
            .ok_or_else(|| DomainError::invalid("A market has at least one tier."))?;
        if first.min_spend_minor != 0 {
            return Err(DomainError::invalid(
                "The lowest tier starts at a spend of 0.",
            ));
        }
        for w in self.tiers.windows(2) {
            if w[1].min_spend_minor <= w[0].min_spend_minor || w[1].level <= w[0].level {
                return Err(DomainError::invalid(
                    "Tiers are listed lowest first, with increasing thresholds.",
                ));
            }
        }
        if self.tiers.iter().any(|t| t.discount_bps > BPS_ONE) {
            return Err(DomainError::invalid(
                "A tier discount is at most 10000 basis points.",
            ));
        }
        Ok(())
    }

    /// The tier a 12-month spend reaches. Negative spend (refunds beyond
    /// purchases) counts as 0.
    pub fn tier_for(&self, spend_minor: i64) -> Tier {
        let lowest = Tier {
            level: TierLevel::Regular,
            min_spend_minor: 0,
            discount_bps: 0,
        };
        self.tiers
            .iter()
            .rev()
            .find(|t| spend_minor.max(0) >= t.min_spend_minor)
            .copied()
            .unwrap_or(lowest)
    }

    /// The next tier above `current`, if any.
    pub fn next_after(&self, current: TierLevel) -> Option<Tier> {
        self.tiers.iter().find(|t| t.level > current).copied()
    }
}

/// Start (inclusive, UTC ms) of the spend window that ends at `now_ms`.
pub fn window_start(now_ms: i64) -> i64 {
    now_ms.saturating_sub(SPEND_WINDOW_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let t = TierTable::default();
        assert!(t.validate().is_ok());
        assert_eq!(t.tier_for(-5).level, TierLevel::Regular);
        assert_eq!(t.tier_for(199_999).level, TierLevel::Regular);
        assert_eq!(t.tier_for(200_000).level, TierLevel::Silver);
        assert_eq!(t.tier_for(1_000_000).discount_bps, 500);
        assert_eq!(
            t.next_after(TierLevel::Silver).map(|t| t.level),
            Some(TierLevel::Gold)
        );
        assert_eq!(t.next_after(TierLevel::Gold), None);
        let bad = TierTable {
            tiers: vec![t.tiers[1], t.tiers[0]],
        };
        assert!(bad.validate().is_err());
    }
}
