//! Shapes shared by several route modules.

use serde::{Deserialize, Deserializer, Serialize};
use souk_core::access::Grant;
use souk_core::money::Money;
use utoipa::ToSchema;

/// An amount in minor units (fen, cents) of a currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceDto {
    /// ISO 4217 code, e.g. `CNY`.
    #[schema(example = "CNY")]
    pub currency: String,
    /// Integer minor units: 12900 is ¥129.00.
    #[schema(example = 12900)]
    pub amount_minor: i64,
}

impl From<&Money> for PriceDto {
    fn from(m: &Money) -> Self {
        PriceDto {
            currency: m.currency.code().to_owned(),
            amount_minor: m.amount_minor,
        }
    }
}

impl From<&PriceDto> for souk_core::catalog::PriceInput {
    fn from(p: &PriceDto) -> Self {
        souk_core::catalog::PriceInput {
            currency: p.currency.clone(),
            amount_minor: p.amount_minor,
        }
    }
}

/// A role and the organisation it acts for.
///
/// The roles without an organisation are written as empty struct variants, not
/// unit variants: serde ignores unknown fields next to the tag of a unit
/// variant, so `{"role": "operator", "supplier_id": 5}` (a supplier grant with
/// a typo in the role) would silently grant operator. With `{}` it is refused.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "role", rename_all = "snake_case", deny_unknown_fields)]
pub enum GrantDto {
    Operator {},
    Supplier { supplier_id: i64 },
    StoreClerk { location_id: i64 },
    ShopOwner { shop_id: i64 },
    Streamer {},
    Buyer {},
}

impl From<Grant> for GrantDto {
    fn from(g: Grant) -> Self {
        match g {
            Grant::Operator => GrantDto::Operator {},
            Grant::Supplier { supplier_id } => GrantDto::Supplier {
                supplier_id: supplier_id.0,
            },
            Grant::StoreClerk { location_id } => GrantDto::StoreClerk {
                location_id: location_id.0,
            },
            Grant::ShopOwner { shop_id } => GrantDto::ShopOwner { shop_id: shop_id.0 },
            Grant::Streamer => GrantDto::Streamer {},
            Grant::Buyer => GrantDto::Buyer {},
        }
    }
}

impl From<GrantDto> for Grant {
    fn from(g: GrantDto) -> Self {
        use souk_core::ids::*;
        match g {
            GrantDto::Operator {} => Grant::Operator,
            GrantDto::Supplier { supplier_id } => Grant::Supplier {
                supplier_id: SupplierId(supplier_id),
            },
            GrantDto::StoreClerk { location_id } => Grant::StoreClerk {
                location_id: LocationId(location_id),
            },
            GrantDto::ShopOwner { shop_id } => Grant::ShopOwner {
                shop_id: ShopId(shop_id),
            },
            GrantDto::Streamer {} => Grant::Streamer,
            GrantDto::Buyer {} => Grant::Buyer,
        }
    }
}

/// A page of results and the cursor of the next page, if any.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A list without pagination.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    pub items: Vec<T>,
}

/// For PATCH fields that may be set to null: absent = keep, null = clear, value = set.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
