//! Roles, the organisations they act for, and who may touch what.
//!
//! One account may hold several grants: a person can be a buyer and also a
//! clerk of one store. Each rule below is a plain function of the principal and
//! the resource's owner, so that a newcomer finds it by name.

use crate::error::{DomainError, DomainResult};
use crate::ids::{AccountId, LocationId, ShopId, SupplierId};
use serde::{Deserialize, Serialize};

/// A role, scoped to the organisation it acts for where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case", deny_unknown_fields)]
pub enum Grant {
    /// The platform team: configures the market, sees everything.
    Operator,
    /// A user of one supplier.
    Supplier { supplier_id: SupplierId },
    /// A clerk of one store (a location of kind `store`).
    StoreClerk { location_id: LocationId },
    /// The owner of one shop.
    ShopOwner { shop_id: ShopId },
    /// A streamer running live rooms.
    Streamer,
    /// A buyer.
    Buyer,
}

impl Grant {
    /// (role name, organisation id) as stored in the `grants` table.
    pub fn to_row(self) -> (&'static str, Option<i64>) {
        match self {
            Grant::Operator => ("operator", None),
            Grant::Supplier { supplier_id } => ("supplier", Some(supplier_id.0)),
            Grant::StoreClerk { location_id } => ("store_clerk", Some(location_id.0)),
            Grant::ShopOwner { shop_id } => ("shop_owner", Some(shop_id.0)),
            Grant::Streamer => ("streamer", None),
            Grant::Buyer => ("buyer", None),
        }
    }

    pub fn from_row(role: &str, org: Option<i64>) -> Option<Grant> {
        Some(match (role, org) {
            ("operator", None) => Grant::Operator,
            ("supplier", Some(id)) => Grant::Supplier {
                supplier_id: SupplierId(id),
            },
            ("store_clerk", Some(id)) => Grant::StoreClerk {
                location_id: LocationId(id),
            },
            ("shop_owner", Some(id)) => Grant::ShopOwner {
                shop_id: ShopId(id),
            },
            ("streamer", None) => Grant::Streamer,
            ("buyer", None) => Grant::Buyer,
            _ => return None,
        })
    }

    /// Console roles sign in with a password; buyers use a phone code.
    pub fn is_console(self) -> bool {
        matches!(
            self,
            Grant::Operator | Grant::Supplier { .. } | Grant::StoreClerk { .. }
        )
    }
}

/// How the principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    Session,
    ApiKey,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: AccountId,
    pub grants: Vec<Grant>,
    pub credential: Credential,
}

impl Principal {
    pub fn is_operator(&self) -> bool {
        self.grants.contains(&Grant::Operator)
    }

    pub fn is_buyer(&self) -> bool {
        self.grants.contains(&Grant::Buyer)
    }

    /// Suppliers this principal acts for.
    pub fn supplier_ids(&self) -> impl Iterator<Item = SupplierId> + '_ {
        self.grants.iter().filter_map(|g| match g {
            Grant::Supplier { supplier_id } => Some(*supplier_id),
            _ => None,
        })
    }

    /// Stores this principal clerks at.
    pub fn store_ids(&self) -> impl Iterator<Item = LocationId> + '_ {
        self.grants.iter().filter_map(|g| match g {
            Grant::StoreClerk { location_id } => Some(*location_id),
            _ => None,
        })
    }

    /// The single supplier a supplier user acts for, when it has exactly one.
    pub fn sole_supplier(&self) -> Option<SupplierId> {
        let mut it = self.supplier_ids();
        match (it.next(), it.next()) {
            (Some(s), None) => Some(s),
            _ => None,
        }
    }
}

/// Operators only: market configuration, accounts of others, categories, brands, suppliers.
pub fn require_operator(p: &Principal) -> DomainResult<()> {
    if p.is_operator() {
        Ok(())
    } else {
        Err(DomainError::forbidden("Only an operator may do this."))
    }
}

/// May this principal change what belongs to `supplier`? Operators may change all.
pub fn may_manage_supplier(p: &Principal, supplier: SupplierId) -> bool {
    p.is_operator() || p.supplier_ids().any(|s| s == supplier)
}

/// Rejects with `forbidden` unless [`may_manage_supplier`].
pub fn require_supplier_manager(p: &Principal, supplier: SupplierId) -> DomainResult<()> {
    if may_manage_supplier(p, supplier) {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "You may only manage your own supplier's objects.",
        ))
    }
}

/// The supplier a new object (a product, a supplier warehouse) is created for.
///
/// A named supplier must be one the principal manages (operators manage all).
/// Unnamed, it is the principal's only supplier; an operator, or a user of
/// several suppliers, must name it.
pub fn acting_supplier(p: &Principal, requested: Option<SupplierId>) -> DomainResult<SupplierId> {
    match requested {
        Some(s) => {
            require_supplier_manager(p, s)?;
            Ok(s)
        }
        None if p.is_operator() => Err(DomainError::invalid(
            "An operator must name the supplier_id.",
        )),
        None => {
            let mut own = p.supplier_ids();
            match (own.next(), own.next()) {
                (Some(s), None) => Ok(s),
                (Some(_), Some(_)) => Err(DomainError::invalid(
                    "You act for several suppliers: name the supplier_id.",
                )),
                (None, _) => Err(DomainError::forbidden(
                    "Only suppliers and operators may do this.",
                )),
            }
        }
    }
}

/// May this principal see the (possibly unpublished) objects of `supplier`?
pub fn may_view_supplier(p: &Principal, supplier: SupplierId) -> bool {
    may_manage_supplier(p, supplier)
}

/// Who owns a location: the platform (cloud warehouses, stores) or a supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationOwner {
    Platform,
    Supplier(SupplierId),
}

/// May this principal see a location's details? Operators see all; a supplier
/// sees its own warehouses; a clerk sees the store it works at.
pub fn may_view_location(p: &Principal, id: LocationId, owner: LocationOwner) -> bool {
    if p.is_operator() {
        return true;
    }
    match owner {
        LocationOwner::Supplier(s) => p.supplier_ids().any(|x| x == s),
        LocationOwner::Platform => p.store_ids().any(|x| x == id),
    }
}

/// May this principal change a location? Operators all; a supplier its own warehouses.
pub fn may_manage_location(p: &Principal, owner: LocationOwner) -> bool {
    if p.is_operator() {
        return true;
    }
    match owner {
        LocationOwner::Supplier(s) => p.supplier_ids().any(|x| x == s),
        LocationOwner::Platform => false,
    }
}

/// May this principal see another account? Only itself, or an operator.
pub fn may_view_account(p: &Principal, account: AccountId) -> bool {
    p.is_operator() || p.account_id == account
}

/// May this principal move stock at a location (receive, adjust, ship, transfer)?
/// Operators everywhere; a supplier at its own warehouses; a clerk at its store.
/// Today these are exactly the people who may see the location.
pub fn may_manage_stock_at(p: &Principal, id: LocationId, owner: LocationOwner) -> bool {
    may_view_location(p, id, owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(grants: Vec<Grant>) -> Principal {
        Principal {
            account_id: AccountId(1),
            grants,
            credential: Credential::Session,
        }
    }

    #[test]
    fn supplier_manages_only_its_own() {
        let p = principal(vec![Grant::Supplier {
            supplier_id: SupplierId(7),
        }]);
        assert!(may_manage_supplier(&p, SupplierId(7)));
        assert!(!may_manage_supplier(&p, SupplierId(8)));
        assert!(require_operator(&p).is_err());
    }

    #[test]
    fn acting_supplier_is_named_or_the_only_one() {
        let s = |i| Grant::Supplier {
            supplier_id: SupplierId(i),
        };
        let one = principal(vec![s(7)]);
        assert_eq!(acting_supplier(&one, None), Ok(SupplierId(7)));
        assert_eq!(
            acting_supplier(&one, Some(SupplierId(7))),
            Ok(SupplierId(7))
        );
        let code = |r: DomainResult<SupplierId>| r.map_err(|e| e.code);
        assert_eq!(
            code(acting_supplier(&one, Some(SupplierId(8)))),
            Err(crate::ErrorCode::Forbidden)
        );
        let two = principal(vec![s(7), s(8)]);
        assert_eq!(
            acting_supplier(&two, Some(SupplierId(8))),
            Ok(SupplierId(8))
        );
        assert_eq!(
            code(acting_supplier(&two, None)),
            Err(crate::ErrorCode::InvalidField)
        );
        let buyer = principal(vec![Grant::Buyer]);
        assert_eq!(
            code(acting_supplier(&buyer, None)),
            Err(crate::ErrorCode::Forbidden)
        );
        assert_eq!(
            code(acting_supplier(&buyer, Some(SupplierId(7)))),
            Err(crate::ErrorCode::Forbidden)
        );
        let op = principal(vec![Grant::Operator]);
        assert_eq!(acting_supplier(&op, Some(SupplierId(9))), Ok(SupplierId(9)));
        assert_eq!(
            code(acting_supplier(&op, None)),
            Err(crate::ErrorCode::InvalidField)
        );
    }

    #[test]
    fn operator_manages_all() {
        let p = principal(vec![Grant::Operator]);
        assert!(may_manage_supplier(&p, SupplierId(8)));
        assert!(may_view_location(
            &p,
            LocationId(1),
            LocationOwner::Platform
        ));
    }

    #[test]
    fn clerk_sees_only_its_store() {
        let p = principal(vec![Grant::StoreClerk {
            location_id: LocationId(3),
        }]);
        assert!(may_view_location(
            &p,
            LocationId(3),
            LocationOwner::Platform
        ));
        assert!(!may_view_location(
            &p,
            LocationId(4),
            LocationOwner::Platform
        ));
        assert!(!may_manage_location(&p, LocationOwner::Platform));
    }

    #[test]
    fn grant_rows_round_trip() {
        for g in [
            Grant::Operator,
            Grant::Supplier {
                supplier_id: SupplierId(2),
            },
            Grant::StoreClerk {
                location_id: LocationId(3),
            },
            Grant::ShopOwner { shop_id: ShopId(4) },
            Grant::Streamer,
            Grant::Buyer,
        ] {
            let (r, o) = g.to_row();
            assert_eq!(Grant::from_row(r, o), Some(g));
        }
        assert_eq!(Grant::from_row("supplier", None), None);
    }
}
