//! Catalog service (M1): suppliers, categories, brands, products and SKUs.
//!
//! Product reads are served from an in-memory cache of whole product records
//! (every language), invalidated on every write through this service. That is
//! what makes the product page cheap: one hash lookup instead of five queries.
//! Next to each record the cache keeps the product page's response body per
//! language, rendered by the API on first use and dropped with the record.
//! `SOUK_CATALOG_CACHE=off` turns the cache off (for benchmarks).

use crate::clock::Clock;
use dashmap::DashMap;
use souk_core::access::{
    acting_supplier, may_view_supplier, require_operator, require_supplier_manager, Principal,
};
use souk_core::catalog::{
    self, expand_variants, parse_option, parse_search, parse_sku_code, transition_status,
    validate_attributes, validate_media, validate_prices, validate_translations, PriceInput,
    ProductStatus, Translation,
};
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_core::ids::{BrandId, CategoryId, ProductId, SkuId, SupplierId};
use souk_core::locale::Locale;
use souk_core::location::parse_name;
use souk_core::page::{decode_cursor, encode_cursor, page_size};
use souk_store::catalog::{
    self as repo, BrandRow, CategoryRow, NewProduct, ProductChange, ProductFilter, ProductRecord,
    SupplierRow, Visibility,
};
use souk_store::{Db, StoreError, WriteTx};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

pub struct Catalog {
    db: Db,
    clock: Arc<dyn Clock>,
    products: DashMap<ProductId, Arc<CachedProduct>>,
    /// False when `SOUK_CATALOG_CACHE=off`: every read goes to the database.
    cache_enabled: bool,
    /// Bumped by every product write; a read that raced a write does not cache.
    write_epoch: AtomicU64,
    categories: RwLock<Option<Arc<Vec<CategoryRow>>>>,
}

/// Variants to create with a product or later: colours × sizes, one price list for all.
#[derive(Debug, Clone)]
pub struct VariantsInput {
    pub colors: Vec<String>,
    pub sizes: Vec<String>,
    pub prices: Vec<PriceInput>,
}

#[derive(Debug, Clone)]
pub struct ProductInput {
    /// Operators name the supplier; a supplier user's own is implied.
    pub supplier_id: Option<SupplierId>,
    pub category_id: Option<CategoryId>,
    pub brand_id: Option<BrandId>,
    pub texts: BTreeMap<Locale, Translation>,
    pub attributes: BTreeMap<String, String>,
    pub media: Vec<String>,
    pub variants: Option<VariantsInput>,
}

/// A change to a product; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub category_id: Option<Option<CategoryId>>,
    pub brand_id: Option<Option<BrandId>>,
    pub texts: Option<BTreeMap<Locale, Translation>>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub media: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct SkuInput {
    pub code: Option<String>,
    pub color: String,
    pub size: String,
    pub prices: Vec<PriceInput>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub q: Option<String>,
    pub category: Option<CategoryId>,
    pub attributes: Vec<String>,
    pub supplier_id: Option<SupplierId>,
    pub status: Option<ProductStatus>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A product record as cached, with its rendered response bodies, one per
/// language (index in [`Locale::ALL`]); all dropped together on a write.
pub struct CachedProduct {
    pub record: Arc<ProductRecord>,
    rendered: Vec<OnceLock<bytes::Bytes>>,
}

impl CachedProduct {
    fn new(record: Arc<ProductRecord>) -> Self {
        Self {
            record,
            rendered: Locale::ALL.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    fn slot(&self, locale: Locale) -> Option<&OnceLock<bytes::Bytes>> {
        let i = Locale::ALL.iter().position(|l| *l == locale)?;
        self.rendered.get(i)
    }

    /// The response body rendered earlier for `locale`, if any.
    pub fn rendered(&self, locale: Locale) -> Option<bytes::Bytes> {
        self.slot(locale)?.get().cloned()
    }

    /// Keeps a rendered body for `locale` (it must depend only on the record and `locale`).
    pub fn keep_rendered(&self, locale: Locale, body: bytes::Bytes) {
        if let Some(s) = self.slot(locale) {
            let _ = s.set(body);
        }
    }
}

pub struct SearchPage {
    pub items: Vec<Arc<ProductRecord>>,
    pub next_cursor: Option<String>,
}

impl Catalog {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            clock,
            products: DashMap::new(),
            cache_enabled: std::env::var("SOUK_CATALOG_CACHE").map_or(true, |v| v != "off"),
            write_epoch: AtomicU64::new(0),
            categories: RwLock::new(None),
        }
    }

    // ----- suppliers -----

    pub async fn create_supplier(
        &self,
        p: &Principal,
        name: &str,
        contact_email: &str,
    ) -> DomainResult<SupplierRow> {
        require_operator(p)?;
        self.insert_supplier(name, contact_email).await
    }

    /// Creates a supplier with no acting principal (seeding).
    pub async fn insert_supplier(
        &self,
        name: &str,
        contact_email: &str,
    ) -> DomainResult<SupplierRow> {
        let name = parse_name("supplier", name)?;
        catalog::check_text("supplier name", &name, false)?;
        let email = if contact_email.trim().is_empty() {
            String::new()
        } else {
            crate::accounts::parse_email(contact_email)?
        };
        let id =
            match repo::insert_supplier(self.db.pool(), &name, &email, self.clock.now_ms()).await {
                Err(e) if e.is_unique_violation() => {
                    return Err(DomainError::new(
                        ErrorCode::NameTaken,
                        format!("A supplier named {name:?} exists."),
                    ))
                }
                r => r?,
            };
        repo::supplier(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::internal("supplier vanished"))
    }

    pub async fn supplier(&self, p: &Principal, id: SupplierId) -> DomainResult<SupplierRow> {
        if !may_view_supplier(p, id) {
            return Err(DomainError::not_found("The supplier"));
        }
        repo::supplier(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::not_found("The supplier"))
    }

    pub async fn suppliers(&self, p: &Principal) -> DomainResult<Vec<SupplierRow>> {
        let all = repo::suppliers(self.db.pool()).await?;
        Ok(all
            .into_iter()
            .filter(|s| may_view_supplier(p, s.id))
            .collect())
    }

    pub async fn supplier_by_name(&self, name: &str) -> DomainResult<Option<SupplierRow>> {
        Ok(repo::supplier_by_name(self.db.pool(), name).await?)
    }

    // ----- categories -----

    pub async fn create_category(
        &self,
        p: &Principal,
        parent: Option<CategoryId>,
        names: BTreeMap<Locale, String>,
    ) -> DomainResult<CategoryRow> {
        require_operator(p)?;
        self.insert_category(parent, names).await
    }

    pub async fn insert_category(
        &self,
        parent: Option<CategoryId>,
        names: BTreeMap<Locale, String>,
    ) -> DomainResult<CategoryRow> {
        if names.is_empty() {
            return Err(DomainError::invalid(
                "A category needs a name in at least one language.",
            ));
        }
        let names: BTreeMap<Locale, String> = names
            .into_iter()
            .map(|(l, n)| {
                let n = parse_name("category", &n)?;
                catalog::check_text("category name", &n, false)?;
                Ok((l, n))
            })
            .collect::<DomainResult<_>>()?;
        let mut tx = self.db.begin_write().await?;
        let parent = match parent {
            None => None,
            Some(pid) => {
                let row = repo::category(&mut tx, pid).await?.ok_or_else(|| {
                    DomainError::invalid(format!("Parent category {pid} does not exist."))
                })?;
                Some((pid, row.path))
            }
        };
        let id = repo::insert_category(
            &mut tx,
            parent.as_ref().map(|(i, p)| (*i, p.as_str())),
            &names,
            self.clock.now_ms(),
        )
        .await?;
        let row = repo::category(&mut tx, id)
            .await?
            .ok_or_else(|| DomainError::internal("category vanished"))?;
        souk_store::commit(tx).await?;
        if let Ok(mut c) = self.categories.write() {
            *c = None;
        }
        Ok(row)
    }

    pub async fn categories(&self) -> DomainResult<Arc<Vec<CategoryRow>>> {
        if let Some(c) = self.categories.read().ok().and_then(|c| c.clone()) {
            return Ok(c);
        }
        let all = Arc::new(repo::categories(self.db.pool()).await?);
        if let Ok(mut c) = self.categories.write() {
            *c = Some(all.clone());
        }
        Ok(all)
    }

    async fn category_exists(&self, id: CategoryId) -> DomainResult<CategoryRow> {
        self.categories()
            .await?
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| DomainError::invalid(format!("Category {id} does not exist.")))
    }

    // ----- brands -----

    pub async fn create_brand(&self, p: &Principal, name: &str) -> DomainResult<BrandRow> {
        require_operator(p)?;
        self.insert_brand(name).await
    }

    pub async fn insert_brand(&self, name: &str) -> DomainResult<BrandRow> {
        let name = parse_name("brand", name)?;
        catalog::check_text("brand name", &name, false)?;
        let id = match repo::insert_brand(self.db.pool(), &name, self.clock.now_ms()).await {
            Err(e) if e.is_unique_violation() => {
                return Err(DomainError::new(
                    ErrorCode::NameTaken,
                    format!("A brand named {name:?} exists."),
                ))
            }
            r => r?,
        };
        Ok(BrandRow { id, name })
    }

    pub async fn brands(&self) -> DomainResult<Vec<BrandRow>> {
        Ok(repo::brands(self.db.pool()).await?)
    }

    async fn brand_exists(&self, id: BrandId) -> DomainResult<()> {
        repo::brand(self.db.pool(), id)
            .await?
            .map(|_| ())
            .ok_or_else(|| DomainError::invalid(format!("Brand {id} does not exist.")))
    }

    // ----- products -----

    /// Which supplier a new product belongs to, from who is asking.
    fn owning_supplier(
        &self,
        p: &Principal,
        requested: Option<SupplierId>,
    ) -> DomainResult<SupplierId> {
        acting_supplier(p, requested)
    }

    pub async fn create_product(
        &self,
        p: &Principal,
        input: ProductInput,
    ) -> DomainResult<Arc<ProductRecord>> {
        let supplier = self.owning_supplier(p, input.supplier_id)?;
        self.insert_product(supplier, input).await
    }

    /// Creates a product for `supplier` (already authorised).
    pub async fn insert_product(
        &self,
        supplier: SupplierId,
        input: ProductInput,
    ) -> DomainResult<Arc<ProductRecord>> {
        let texts = validate_translations(&input.texts)?;
        validate_attributes(&input.attributes)?;
        validate_media(&input.media)?;
        if let Some(c) = input.category_id {
            self.category_exists(c).await?;
        }
        if let Some(b) = input.brand_id {
            self.brand_exists(b).await?;
        }
        let variants = match &input.variants {
            Some(v) => Some((
                expand_variants(&v.colors, &v.sizes)?,
                validate_prices(&v.prices)?,
            )),
            None => None,
        };
        if repo::supplier(self.db.pool(), supplier).await?.is_none() {
            return Err(DomainError::invalid(format!(
                "Supplier {supplier} does not exist."
            )));
        }
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let id = repo::insert_product(
            &mut *tx,
            NewProduct {
                supplier_id: supplier,
                category_id: input.category_id,
                brand_id: input.brand_id,
                media: &input.media,
            },
            now,
        )
        .await?;
        repo::replace_texts(&mut tx, id, &texts).await?;
        repo::replace_attributes(&mut tx, id, &input.attributes).await?;
        if let Some((pairs, prices)) = variants {
            for (i, (color, size)) in pairs.iter().enumerate() {
                let code = catalog::generated_sku_code(id, i + 1);
                let sku = repo::insert_sku(&mut *tx, id, &code, color, size, now).await?;
                repo::replace_prices(&mut tx, sku, &prices).await?;
            }
        }
        souk_store::commit(tx).await?;
        self.invalidate(id);
        self.load(id)
            .await?
            .ok_or_else(|| DomainError::internal("product vanished"))
    }

    /// Loads a product for a change by `p`, or says not found / forbidden.
    async fn for_change(&self, p: &Principal, id: ProductId) -> DomainResult<Arc<ProductRecord>> {
        let rec = self
            .load(id)
            .await?
            .ok_or_else(|| DomainError::not_found("The product"))?;
        if !may_view_supplier(p, rec.supplier_id) {
            // Another tenant's product: not confirmed to exist.
            return Err(DomainError::not_found("The product"));
        }
        require_supplier_manager(p, rec.supplier_id)?;
        Ok(rec)
    }

    pub async fn update_product(
        &self,
        p: &Principal,
        id: ProductId,
        patch: ProductPatch,
    ) -> DomainResult<Arc<ProductRecord>> {
        self.for_change(p, id).await?;
        let texts = patch
            .texts
            .as_ref()
            .map(validate_translations)
            .transpose()?;
        if let Some(a) = &patch.attributes {
            validate_attributes(a)?;
        }
        if let Some(m) = &patch.media {
            validate_media(m)?;
        }
        if let Some(Some(c)) = patch.category_id {
            self.category_exists(c).await?;
        }
        if let Some(Some(b)) = patch.brand_id {
            self.brand_exists(b).await?;
        }
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        // Absent fields keep what is stored now, not what a cached copy says:
        // a racing patch of another field must not be undone.
        let cur = self.locked(&mut tx, id).await?;
        let category_id = patch.category_id.unwrap_or(cur.category_id);
        let brand_id = patch.brand_id.unwrap_or(cur.brand.as_ref().map(|b| b.id));
        let media = patch.media.unwrap_or(cur.media);
        repo::update_product(
            &mut *tx,
            id,
            ProductChange {
                category_id,
                brand_id,
                media: &media,
            },
            now,
        )
        .await?;
        if let Some(t) = &texts {
            repo::replace_texts(&mut tx, id, t).await?;
        }
        if let Some(a) = &patch.attributes {
            repo::replace_attributes(&mut tx, id, a).await?;
        }
        souk_store::commit(tx).await?;
        self.invalidate(id);
        self.load(id)
            .await?
            .ok_or_else(|| DomainError::internal("product vanished"))
    }

    pub async fn set_status(
        &self,
        p: &Principal,
        id: ProductId,
        to: ProductStatus,
    ) -> DomainResult<Arc<ProductRecord>> {
        self.for_change(p, id).await?;
        let mut tx = self.db.begin_write().await?;
        // Re-read under the product's lock so two racing changes cannot both pass the rule.
        let rec = self.locked(&mut tx, id).await?;
        let priced = rec.skus.iter().filter(|s| !s.prices.is_empty()).count();
        transition_status(rec.status, to, priced)?;
        repo::set_status(&mut *tx, id, to, self.clock.now_ms()).await?;
        souk_store::commit(tx).await?;
        self.invalidate(id);
        self.load(id)
            .await?
            .ok_or_else(|| DomainError::internal("product vanished"))
    }

    pub async fn add_sku(
        &self,
        p: &Principal,
        id: ProductId,
        input: SkuInput,
    ) -> DomainResult<Arc<ProductRecord>> {
        self.for_change(p, id).await?;
        let color = parse_option("colour", &input.color)?;
        let size = parse_option("size", &input.size)?;
        let prices = validate_prices(&input.prices)?;
        let custom_code = input
            .code
            .as_deref()
            .map(catalog::parse_custom_sku_code)
            .transpose()?;
        let mut tx = self.db.begin_write().await?;
        // Under the product's lock, so that racing adds see each other: the
        // generated code's ordinal, the SKU limit and the variant check.
        let rec = self.locked(&mut tx, id).await?;
        if rec.skus.len() >= catalog::MAX_SKUS_PER_PRODUCT {
            return Err(DomainError::invalid(format!(
                "A product may have at most {} SKUs.",
                catalog::MAX_SKUS_PER_PRODUCT
            )));
        }
        let code =
            custom_code.unwrap_or_else(|| catalog::generated_sku_code(id, rec.skus.len() + 1));
        if rec.skus.iter().any(|s| s.color == color && s.size == size) {
            return Err(DomainError::new(
                ErrorCode::DuplicateVariant,
                format!("{color} / {size} already exists."),
            ));
        }
        let sku =
            match repo::insert_sku(&mut *tx, id, &code, &color, &size, self.clock.now_ms()).await {
                Err(e) if e.is_unique_violation() => {
                    // On PostgreSQL the failed insert aborted the transaction:
                    // end it before asking which constraint refused the row.
                    tx.rollback().await.map_err(StoreError::from)?;
                    let taken = repo::sku_by_code(self.db.pool(), &code).await?.is_some();
                    return Err(if taken {
                        DomainError::new(
                            ErrorCode::SkuCodeTaken,
                            format!("SKU code {code} is taken."),
                        )
                    } else {
                        DomainError::new(
                            ErrorCode::DuplicateVariant,
                            format!("{color} / {size} already exists."),
                        )
                    });
                }
                r => r?,
            };
        repo::replace_prices(&mut tx, sku, &prices).await?;
        souk_store::commit(tx).await?;
        self.invalidate(id);
        self.load(id)
            .await?
            .ok_or_else(|| DomainError::internal("product vanished"))
    }

    pub async fn set_prices(
        &self,
        p: &Principal,
        sku: SkuId,
        prices: &[PriceInput],
    ) -> DomainResult<Arc<ProductRecord>> {
        let product = repo::product_of_sku(self.db.pool(), sku)
            .await?
            .ok_or_else(|| DomainError::not_found("The SKU"))?;
        self.for_change(p, product).await.map_err(|e| {
            if e.code == ErrorCode::NotFound {
                DomainError::not_found("The SKU")
            } else {
                e
            }
        })?;
        let prices = validate_prices(prices)?;
        if prices.is_empty() {
            return Err(DomainError::invalid("Give at least one price."));
        }
        let mut tx = self.db.begin_write().await?;
        self.locked(&mut tx, product).await?;
        repo::replace_prices(&mut tx, sku, &prices).await?;
        souk_store::commit(tx).await?;
        self.invalidate(product);
        self.load(product)
            .await?
            .ok_or_else(|| DomainError::internal("product vanished"))
    }

    /// Takes `id`'s lock for the rest of `tx` and reads it as stored now.
    async fn locked(&self, tx: &mut WriteTx, id: ProductId) -> DomainResult<ProductRecord> {
        if !repo::lock_product(tx, self.db.dialect(), id).await? {
            return Err(DomainError::not_found("The product"));
        }
        repo::load_product(tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("The product"))
    }

    fn invalidate(&self, id: ProductId) {
        self.write_epoch.fetch_add(1, Ordering::SeqCst);
        self.products.remove(&id);
    }

    /// A product record from the cache, or the database on a miss.
    async fn load(&self, id: ProductId) -> DomainResult<Option<Arc<ProductRecord>>> {
        Ok(self.load_cached(id).await?.map(|c| c.record.clone()))
    }

    async fn load_cached(&self, id: ProductId) -> DomainResult<Option<Arc<CachedProduct>>> {
        if let Some(hit) = self.products.get(&id) {
            return Ok(Some(hit.clone()));
        }
        let epoch = self.write_epoch.load(Ordering::SeqCst);
        let mut conn = self.db.pool().acquire().await.map_err(StoreError::from)?;
        let Some(rec) = repo::load_product(&mut conn, id).await? else {
            return Ok(None);
        };
        let entry = Arc::new(CachedProduct::new(Arc::new(rec)));
        if self.cache_enabled && self.write_epoch.load(Ordering::SeqCst) == epoch {
            self.products.insert(id, entry.clone());
        }
        Ok(Some(entry))
    }

    /// A product as `viewer` may see it: active ones are public; others only
    /// to their supplier and operators (everyone else gets not found).
    pub async fn product(
        &self,
        viewer: Option<&Principal>,
        id: ProductId,
    ) -> DomainResult<Arc<ProductRecord>> {
        Ok(self.product_page(viewer, id).await?.record.clone())
    }

    /// Like [`Catalog::product`], with the cache entry that holds its rendered pages.
    pub async fn product_page(
        &self,
        viewer: Option<&Principal>,
        id: ProductId,
    ) -> DomainResult<Arc<CachedProduct>> {
        let entry = self
            .load_cached(id)
            .await?
            .ok_or_else(|| DomainError::not_found("The product"))?;
        let rec = &entry.record;
        if rec.status == ProductStatus::Active
            || viewer.is_some_and(|p| may_view_supplier(p, rec.supplier_id))
        {
            Ok(entry)
        } else {
            Err(DomainError::not_found("The product"))
        }
    }

    /// The SKU with this code (a scanned barcode or QR) and its product.
    pub async fn sku_by_code(
        &self,
        viewer: Option<&Principal>,
        code: &str,
    ) -> DomainResult<(Arc<ProductRecord>, SkuId)> {
        let code = parse_sku_code(code).map_err(|_| DomainError::not_found("The SKU"))?;
        let (sku, product) = repo::sku_by_code(self.db.pool(), &code)
            .await?
            .ok_or_else(|| DomainError::not_found("The SKU"))?;
        let rec = self
            .product(viewer, product)
            .await
            .map_err(|_| DomainError::not_found("The SKU"))?;
        Ok((rec, sku))
    }

    pub async fn search(
        &self,
        viewer: Option<&Principal>,
        params: SearchParams,
    ) -> DomainResult<SearchPage> {
        let limit = page_size(params.limit)?;
        let query = parse_search(params.q.as_deref(), &params.attributes)?;
        let after_id = params
            .cursor
            .as_deref()
            .map(decode_cursor)
            .transpose()?
            .unwrap_or(0);
        let category_path = match params.category {
            Some(c) => Some(
                self.categories()
                    .await?
                    .iter()
                    .find(|x| x.id == c)
                    .map(|x| x.path.clone())
                    .ok_or_else(|| {
                        DomainError::new(
                            ErrorCode::InvalidQuery,
                            format!("Category {c} does not exist."),
                        )
                    })?,
            ),
            None => None,
        };
        let visibility = match viewer {
            Some(p) if p.is_operator() => Visibility::All,
            Some(p) => match p.sole_supplier() {
                Some(s) => Visibility::ActiveOrOwn(s),
                None => Visibility::ActiveOnly,
            },
            None => Visibility::ActiveOnly,
        };
        let filter = ProductFilter {
            title_like: query.text.as_deref().map(catalog::like_pattern),
            category_path,
            attributes: query.attributes,
            supplier_id: params.supplier_id,
            status: params.status,
            visibility,
            after_id,
            limit: limit + 1,
        };
        let mut ids = repo::search_ids(self.db.pool(), self.db.dialect(), &filter).await?;
        let more = ids.len() > limit as usize;
        ids.truncate(limit as usize);
        let mut items = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(rec) = self.load(*id).await? {
                items.push(rec);
            }
        }
        let next_cursor = if more {
            ids.last().map(|id| encode_cursor(id.0))
        } else {
            None
        };
        Ok(SearchPage { items, next_cursor })
    }

    /// The product a SKU belongs to, as `viewer` may see it (else not found).
    pub async fn product_of_sku(
        &self,
        viewer: Option<&Principal>,
        sku: SkuId,
    ) -> DomainResult<Arc<ProductRecord>> {
        let product = repo::product_of_sku(self.db.pool(), sku)
            .await?
            .ok_or_else(|| DomainError::not_found("The SKU"))?;
        self.product(viewer, product)
            .await
            .map_err(|_| DomainError::not_found("The SKU"))
    }

    /// The product a SKU belongs to, whatever its status (for internal rules).
    pub async fn any_product_of_sku(&self, sku: SkuId) -> DomainResult<Arc<ProductRecord>> {
        let product = repo::product_of_sku(self.db.pool(), sku)
            .await?
            .ok_or_else(|| DomainError::not_found("The SKU"))?;
        self.load(product)
            .await?
            .ok_or_else(|| DomainError::not_found("The SKU"))
    }

    /// Number of products cached in memory (for metrics).
    pub fn cached_products(&self) -> usize {
        self.products.len()
    }
}
