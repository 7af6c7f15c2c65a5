//! Typed ids: no bare integer crosses a module boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 { self.0 }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self { Self(v) }
        }
    )+};
}

typed_id! {
    /// A person or machine that signs in.
    AccountId,
    /// A supplier organisation (S in S2b2c).
    SupplierId,
    /// A shop run by a shop owner (small b).
    ShopId,
    /// A warehouse or store.
    LocationId,
    /// A product (a style).
    ProductId,
    /// A stock-keeping unit: one variant of a product (colour × size).
    SkuId,
    /// A node of the category tree.
    CategoryId,
    /// A brand.
    BrandId,
    /// A coupon campaign.
    CampaignId,
    /// One coupon code of a campaign (a shared code or one single-use code).
    CouponCodeId,
    /// One redemption of a coupon.
    RedemptionId,
    /// A sign-in session (a bearer token).
    SessionId,
    /// A machine client's API key.
    ApiKeyId,
    /// A live room (livestream selling); orders carry it as attribution.
    RoomId,
    /// A buyer's cart.
    CartId,
    /// An order.
    OrderId,
    /// The lines one location sends for an order.
    FulfilmentId,
    /// A payment intent: an amount to collect for an order by one method.
    PaymentIntentId,
    /// A provider token a buyer saved to be charged later (pay-on-win).
    StoredCardId,
    /// One balanced transaction of the double-entry ledger.
    LedgerTxnId,
}
