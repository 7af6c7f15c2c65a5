//! Locations service: cloud warehouses and stores (platform-owned) and
//! supplier warehouses (supplier-owned).

use crate::clock::Clock;
use souk_core::access::{
    acting_supplier, may_manage_location, may_view_location, LocationOwner, Principal,
};
use souk_core::error::{DomainError, DomainResult};
use souk_core::ids::{LocationId, SupplierId};
use souk_core::location::{parse_name, Address, Capabilities, LocationKind};
use souk_store::locations::{self as repo, LocationChange, LocationRow, NewLocation};
use souk_store::{catalog as catalog_repo, Db};
use std::sync::Arc;

pub struct Locations {
    db: Db,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Clone)]
pub struct LocationInput {
    pub kind: LocationKind,
    pub name: String,
    pub supplier_id: Option<SupplierId>,
    pub address: Address,
    pub capabilities: Capabilities,
}

#[derive(Debug, Clone, Default)]
pub struct LocationPatch {
    pub name: Option<String>,
    pub address: Option<Address>,
    pub capabilities: Option<Capabilities>,
}

pub fn owner_of(l: &LocationRow) -> LocationOwner {
    match l.supplier_id {
        Some(s) => LocationOwner::Supplier(s),
        None => LocationOwner::Platform,
    }
}

impl Locations {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// Operators create any location; a supplier user creates its own supplier's
    /// warehouses (naming the supplier when it acts for several).
    pub async fn create(&self, p: &Principal, input: LocationInput) -> DomainResult<LocationRow> {
        let owner = match input.kind {
            LocationKind::SupplierWarehouse => {
                LocationOwner::Supplier(acting_supplier(p, input.supplier_id)?)
            }
            _ => {
                if !may_manage_location(p, LocationOwner::Platform) {
                    return Err(DomainError::forbidden(
                        "Only operators may create cloud warehouses and stores.",
                    ));
                }
                if input.supplier_id.is_some() {
                    return Err(DomainError::invalid(
                        "Only a supplier warehouse belongs to a supplier.",
                    ));
                }
                LocationOwner::Platform
            }
        };
        self.insert(input, owner).await
    }

    /// Creates a location with no acting principal (seeding).
    pub async fn insert(
        &self,
        input: LocationInput,
        owner: LocationOwner,
    ) -> DomainResult<LocationRow> {
        let name = parse_name("location", &input.name)?;
        let address = input.address.validate()?;
        let capabilities = input.capabilities.check_for(input.kind)?;
        let supplier_id = match owner {
            LocationOwner::Supplier(s) => {
                if catalog_repo::supplier(self.db.pool(), s).await?.is_none() {
                    return Err(DomainError::invalid(format!(
                        "Supplier {s} does not exist."
                    )));
                }
                Some(s)
            }
            LocationOwner::Platform => None,
        };
        let id = repo::insert(
            self.db.pool(),
            NewLocation {
                kind: input.kind,
                name: &name,
                supplier_id,
                address: &address,
                capabilities,
            },
            self.clock.now_ms(),
        )
        .await?;
        repo::get(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::internal("location vanished"))
    }

    pub async fn get(&self, p: &Principal, id: LocationId) -> DomainResult<LocationRow> {
        let l = repo::get(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::not_found("The location"))?;
        if !may_view_location(p, l.id, owner_of(&l)) {
            return Err(DomainError::not_found("The location"));
        }
        Ok(l)
    }

    /// The locations `p` may see.
    pub async fn list(&self, p: &Principal) -> DomainResult<Vec<LocationRow>> {
        Ok(repo::list_all(self.db.pool())
            .await?
            .into_iter()
            .filter(|l| may_view_location(p, l.id, owner_of(l)))
            .collect())
    }

    /// Every location, unfiltered, for internal use (routing, availability).
    pub async fn all(&self) -> DomainResult<Vec<LocationRow>> {
        Ok(repo::list_all(self.db.pool()).await?)
    }

    /// Stores, for buyers choosing where to pick up: public, name and address only.
    pub async fn stores(&self) -> DomainResult<Vec<LocationRow>> {
        Ok(repo::list_all(self.db.pool())
            .await?
            .into_iter()
            .filter(|l| l.kind == LocationKind::Store)
            .collect())
    }

    pub async fn update(
        &self,
        p: &Principal,
        id: LocationId,
        patch: LocationPatch,
    ) -> DomainResult<LocationRow> {
        let l = self.get(p, id).await?;
        if !may_manage_location(p, owner_of(&l)) {
            return Err(DomainError::forbidden("You may not change this location."));
        }
        let name = match &patch.name {
            Some(n) => parse_name("location", n)?,
            None => l.name.clone(),
        };
        let address = match patch.address {
            Some(a) => a.validate()?,
            None => l.address.clone(),
        };
        let capabilities = patch
            .capabilities
            .unwrap_or(l.capabilities)
            .check_for(l.kind)?;
        repo::update(
            self.db.pool(),
            id,
            LocationChange {
                name: &name,
                address: &address,
                capabilities,
            },
        )
        .await?;
        repo::get(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::internal("location vanished"))
    }
}
