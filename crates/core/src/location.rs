//! Locations (M2's places): cloud warehouses, stores and supplier warehouses,
//! with an address and what each can do.

use crate::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// The platform's warehouse; goods are inspected on the way in.
    CloudWarehouse,
    /// A physical store; its shelf stock is part of the shared pool.
    Store,
    /// A supplier's own warehouse.
    SupplierWarehouse,
}

impl LocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::CloudWarehouse => "cloud_warehouse",
            LocationKind::Store => "store",
            LocationKind::SupplierWarehouse => "supplier_warehouse",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cloud_warehouse" => Some(Self::CloudWarehouse),
            "store" => Some(Self::Store),
            "supplier_warehouse" => Some(Self::SupplierWarehouse),
            _ => None,
        }
    }
}

/// What a location can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Ships parcels to buyers' homes.
    #[serde(default)]
    pub ship: bool,
    /// Hands orders over to buyers who come to collect them.
    #[serde(default)]
    pub pickup: bool,
    /// Sells to buyers in person (a POS).
    #[serde(default)]
    pub sell_in_person: bool,
}

impl Capabilities {
    /// Which capabilities a kind of location may have: only stores pick up and sell in person.
    pub fn check_for(self, kind: LocationKind) -> DomainResult<Self> {
        if kind != LocationKind::Store && (self.pickup || self.sell_in_person) {
            return Err(DomainError::invalid(format!(
                "A {} cannot offer pickup or in-person sales; only a store can.",
                kind.as_str()
            )));
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. CN.
    pub country: String,
}

impl Address {
    pub fn validate(self) -> DomainResult<Self> {
        let field = |name: &str, v: &str, required: bool| -> DomainResult<()> {
            crate::text::check_text(&format!("address {name}"), v, false)?;
            let n = v.trim().chars().count();
            if (required && n == 0) || n > 200 {
                return Err(DomainError::invalid(format!(
                    "Address {name} must be {} 200 characters.",
                    if required { "1 to" } else { "at most" }
                )));
            }
            Ok(())
        };
        field("line1", &self.line1, true)?;
        field("line2", &self.line2, false)?;
        field("city", &self.city, true)?;
        field("region", &self.region, false)?;
        field("postal_code", &self.postal_code, false)?;
        if self.country.len() != 2 || !self.country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(DomainError::invalid(
                "Address country must be a two-letter ISO code such as CN.",
            ));
        }
        Ok(self)
    }
}

pub use crate::text::parse_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stores_pick_up() {
        let c = Capabilities {
            ship: true,
            pickup: true,
            sell_in_person: false,
        };
        assert!(c.check_for(LocationKind::Store).is_ok());
        assert!(c.check_for(LocationKind::CloudWarehouse).is_err());
    }

    #[test]
    fn address_rules() {
        let a = Address {
            line1: "1 Nanjing Rd".into(),
            line2: String::new(),
            city: "Shanghai".into(),
            region: String::new(),
            postal_code: String::new(),
            country: "CN".into(),
        };
        assert!(a.clone().validate().is_ok());
        assert!(Address {
            country: "China".into(),
            ..a.clone()
        }
        .validate()
        .is_err());
        assert!(Address {
            city: " ".into(),
            ..a
        }
        .validate()
        .is_err());
    }
}
