//! Catalog storage (M1): suppliers, shops, categories, brands, products,
//! their texts, attributes, SKUs and prices.

use crate::db::Dialect;
use crate::error::{StoreError, StoreResult};
use souk_core::catalog::{ProductStatus, Translation};
use souk_core::ids::{AccountId, BrandId, CategoryId, ProductId, ShopId, SkuId, SupplierId};
use souk_core::locale::Locale;
use souk_core::money::{Currency, Money};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};
use std::collections::BTreeMap;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn locale_of(tag: &str) -> StoreResult<Locale> {
    Locale::ALL
        .iter()
        .copied()
        .find(|l| l.tag() == tag)
        .ok_or_else(|| corrupt(format!("locale {tag}")))
}

// ---------- suppliers ----------

#[derive(Debug, Clone)]
pub struct SupplierRow {
    pub id: SupplierId,
    pub name: String,
    pub contact_email: String,
    pub created_at_ms: i64,
}

fn supplier_from(r: &AnyRow) -> StoreResult<SupplierRow> {
    Ok(SupplierRow {
        id: SupplierId(r.try_get("id")?),
        name: r.try_get("name")?,
        contact_email: r.try_get("contact_email")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub async fn insert_supplier<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    name: &str,
    contact_email: &str,
    now_ms: i64,
) -> StoreResult<SupplierId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO suppliers (name, contact_email, created_at_ms) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(contact_email)
    .bind(now_ms)
    .fetch_one(ex)
    .await?;
    Ok(SupplierId(id))
}

pub async fn supplier<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: SupplierId,
) -> StoreResult<Option<SupplierRow>> {
    let row =
        sqlx::query("SELECT id, name, contact_email, created_at_ms FROM suppliers WHERE id = $1")
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    row.as_ref().map(supplier_from).transpose()
}

pub async fn supplier_by_name<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    name: &str,
) -> StoreResult<Option<SupplierRow>> {
    let row =
        sqlx::query("SELECT id, name, contact_email, created_at_ms FROM suppliers WHERE name = $1")
            .bind(name)
            .fetch_optional(ex)
            .await?;
    row.as_ref().map(supplier_from).transpose()
}

pub async fn suppliers<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> StoreResult<Vec<SupplierRow>> {
    let rows =
        sqlx::query("SELECT id, name, contact_email, created_at_ms FROM suppliers ORDER BY id")
            .fetch_all(ex)
            .await?;
    rows.iter().map(supplier_from).collect()
}

// ---------- shops ----------

pub async fn insert_shop<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    name: &str,
    owner: AccountId,
    now_ms: i64,
) -> StoreResult<ShopId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO shops (name, owner_id, created_at_ms) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(owner.0)
    .bind(now_ms)
    .fetch_one(ex)
    .await?;
    Ok(ShopId(id))
}

pub async fn shop_of_owner<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: AccountId,
) -> StoreResult<Option<ShopId>> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM shops WHERE owner_id = $1 ORDER BY id LIMIT 1")
            .bind(owner.0)
            .fetch_optional(ex)
            .await?;
    Ok(id.map(ShopId))
}

// ---------- categories ----------

#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub path: String,
    pub names: BTreeMap<Locale, String>,
}

/// Inserts a category under `parent` (whose path is given) and sets its path.
pub async fn insert_category(
    conn: &mut AnyConnection,
    parent: Option<(CategoryId, &str)>,
    names: &BTreeMap<Locale, String>,
    now_ms: i64,
) -> StoreResult<CategoryId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO categories (parent_id, path, created_at_ms) VALUES ($1, '', $2) RETURNING id",
    )
    .bind(parent.map(|p| p.0 .0))
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    let path = format!("{}{id}/", parent.map(|p| p.1).unwrap_or("/"));
    sqlx::query("UPDATE categories SET path = $1 WHERE id = $2")
        .bind(&path)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (locale, name) in names {
        sqlx::query("INSERT INTO category_names (category_id, locale, name) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(locale.tag())
            .bind(name)
            .execute(&mut *conn)
            .await?;
    }
    Ok(CategoryId(id))
}

pub async fn categories<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> StoreResult<Vec<CategoryRow>> {
    let rows = sqlx::query(
        "SELECT c.id, c.parent_id, c.path, n.locale, n.name FROM categories c \
         LEFT JOIN category_names n ON n.category_id = c.id ORDER BY c.id",
    )
    .fetch_all(ex)
    .await?;
    let mut out: Vec<CategoryRow> = Vec::new();
    for r in &rows {
        let id = CategoryId(r.try_get("id")?);
        if out.last().map(|c| c.id) != Some(id) {
            out.push(CategoryRow {
                id,
                parent_id: r.try_get::<Option<i64>, _>("parent_id")?.map(CategoryId),
                path: r.try_get("path")?,
                names: BTreeMap::new(),
            });
        }
        let locale: Option<String> = r.try_get("locale")?;
        let name: Option<String> = r.try_get("name")?;
        if let (Some(l), Some(n), Some(c)) = (locale, name, out.last_mut()) {
            c.names.insert(locale_of(&l)?, n);
        }
    }
    Ok(out)
}

pub async fn category(
    conn: &mut AnyConnection,
    id: CategoryId,
) -> StoreResult<Option<CategoryRow>> {
    let row = sqlx::query("SELECT id, parent_id, path FROM categories WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let names = sqlx::query("SELECT locale, name FROM category_names WHERE category_id = $1")
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|n| {
            Ok((
                locale_of(&n.try_get::<String, _>("locale")?)?,
                n.try_get("name")?,
            ))
        })
        .collect::<StoreResult<_>>()?;
    Ok(Some(CategoryRow {
        id,
        parent_id: r.try_get::<Option<i64>, _>("parent_id")?.map(CategoryId),
        path: r.try_get("path")?,
        names,
    }))
}

// ---------- brands ----------

#[derive(Debug, Clone)]
pub struct BrandRow {
    pub id: BrandId,
    pub name: String,
}

pub async fn insert_brand<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    name: &str,
    now_ms: i64,
) -> StoreResult<BrandId> {
    let id: i64 =
        sqlx::query_scalar("INSERT INTO brands (name, created_at_ms) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now_ms)
            .fetch_one(ex)
            .await?;
    Ok(BrandId(id))
}

pub async fn brands<'e, E: Executor<'e, Database = Any>>(ex: E) -> StoreResult<Vec<BrandRow>> {
    let rows = sqlx::query("SELECT id, name FROM brands ORDER BY name")
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BrandRow {
                id: BrandId(r.try_get("id")?),
                name: r.try_get("name")?,
            })
        })
        .collect()
}

pub async fn brand<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: BrandId,
) -> StoreResult<Option<BrandRow>> {
    let row = sqlx::query("SELECT id, name FROM brands WHERE id = $1")
        .bind(id.0)
        .fetch_optional(ex)
        .await?;
    row.map(|r| {
        Ok(BrandRow {
            id: BrandId(r.try_get("id")?),
            name: r.try_get("name")?,
        })
    })
    .transpose()
}

// ---------- products ----------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuRecord {
    pub id: SkuId,
    pub code: String,
    pub color: String,
    pub size: String,
    pub prices: Vec<Money>,
}

/// Everything about one product, in every language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRecord {
    pub id: ProductId,
    pub supplier_id: SupplierId,
    pub category_id: Option<CategoryId>,
    pub brand: Option<BrandRow>,
    pub status: ProductStatus,
    pub media: Vec<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub texts: BTreeMap<Locale, Translation>,
    pub attributes: BTreeMap<String, String>,
    pub skus: Vec<SkuRecord>,
}

impl PartialEq for BrandRow {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id && self.name == o.name
    }
}
impl Eq for BrandRow {}

pub struct NewProduct<'a> {
    pub supplier_id: SupplierId,
    pub category_id: Option<CategoryId>,
    pub brand_id: Option<BrandId>,
    pub media: &'a [String],
}

pub async fn insert_product<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    p: NewProduct<'_>,
    now_ms: i64,
) -> StoreResult<ProductId> {
    let media = serde_json::to_string(p.media).map_err(corrupt)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO products (supplier_id, category_id, brand_id, status, media_json, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, 'draft', $4, $5, $5) RETURNING id",
    )
    .bind(p.supplier_id.0)
    .bind(p.category_id.map(|c| c.0))
    .bind(p.brand_id.map(|b| b.0))
    .bind(media)
    .bind(now_ms)
    .fetch_one(ex)
    .await?;
    Ok(ProductId(id))
}

pub struct ProductChange<'a> {
    pub category_id: Option<CategoryId>,
    pub brand_id: Option<BrandId>,
    pub media: &'a [String],
}

pub async fn update_product<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: ProductId,
    c: ProductChange<'_>,
    now_ms: i64,
) -> StoreResult<()> {
    let media = serde_json::to_string(c.media).map_err(corrupt)?;
    sqlx::query("UPDATE products SET category_id = $1, brand_id = $2, media_json = $3, updated_at_ms = $4 WHERE id = $5")
        .bind(c.category_id.map(|c| c.0))
        .bind(c.brand_id.map(|b| b.0))
        .bind(media)
        .bind(now_ms)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}

/// Takes the product's row lock for the rest of the write transaction, so
/// that writes to one product run one after another and each sees the one
/// before (texts, attributes and prices are replaced by delete-then-insert;
/// racing, two would collide). On SQLite a write transaction already holds
/// the database's write lock. Returns false if there is no such product.
pub async fn lock_product(
    conn: &mut AnyConnection,
    dialect: Dialect,
    id: ProductId,
) -> StoreResult<bool> {
    let sql = match dialect {
        Dialect::Postgres => "SELECT id FROM products WHERE id = $1 FOR UPDATE",
        Dialect::Sqlite => "SELECT id FROM products WHERE id = $1",
    };
    let row: Option<i64> = sqlx::query_scalar(sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

pub async fn set_status<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: ProductId,
    status: ProductStatus,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE products SET status = $1, updated_at_ms = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now_ms)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn replace_texts(
    conn: &mut AnyConnection,
    id: ProductId,
    texts: &BTreeMap<Locale, Translation>,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_texts WHERE product_id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    for (locale, t) in texts {
        sqlx::query(
            "INSERT INTO product_texts (product_id, locale, title, description, search_text) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(locale.tag())
        .bind(&t.title)
        .bind(&t.description)
        .bind(t.title.to_lowercase())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn replace_attributes(
    conn: &mut AnyConnection,
    id: ProductId,
    attributes: &BTreeMap<String, String>,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_attributes WHERE product_id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    for (k, v) in attributes {
        sqlx::query("INSERT INTO product_attributes (product_id, key, value) VALUES ($1, $2, $3)")
            .bind(id.0)
            .bind(k)
            .bind(v.trim())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn insert_sku<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    product: ProductId,
    code: &str,
    color: &str,
    size: &str,
    now_ms: i64,
) -> StoreResult<SkuId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO skus (product_id, code, color, size, created_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(product.0)
    .bind(code)
    .bind(color)
    .bind(size)
    .bind(now_ms)
    .fetch_one(ex)
    .await?;
    Ok(SkuId(id))
}

pub async fn replace_prices(
    conn: &mut AnyConnection,
    sku: SkuId,
    prices: &[Money],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM sku_prices WHERE sku_id = $1")
        .bind(sku.0)
        .execute(&mut *conn)
        .await?;
    for p in prices {
        sqlx::query("INSERT INTO sku_prices (sku_id, currency, amount_minor) VALUES ($1, $2, $3)")
            .bind(sku.0)
            .bind(p.currency.code())
            .bind(p.amount_minor)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The product a SKU belongs to, by SKU id.
pub async fn product_of_sku<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    sku: SkuId,
) -> StoreResult<Option<ProductId>> {
    let id: Option<i64> = sqlx::query_scalar("SELECT product_id FROM skus WHERE id = $1")
        .bind(sku.0)
        .fetch_optional(ex)
        .await?;
    Ok(id.map(ProductId))
}

/// A SKU by its code (the barcode / QR payload).
pub async fn sku_by_code<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    code: &str,
) -> StoreResult<Option<(SkuId, ProductId)>> {
    let row = sqlx::query("SELECT id, product_id FROM skus WHERE code = $1")
        .bind(code)
        .fetch_optional(ex)
        .await?;
    row.map(|r| Ok((SkuId(r.try_get("id")?), ProductId(r.try_get("product_id")?))))
        .transpose()
}

pub async fn load_product(
    conn: &mut AnyConnection,
    id: ProductId,
) -> StoreResult<Option<ProductRecord>> {
    let row = sqlx::query(
        "SELECT p.id, p.supplier_id, p.category_id, p.brand_id, b.name AS brand_name, p.status, p.media_json, \
         p.created_at_ms, p.updated_at_ms FROM products p LEFT JOIN brands b ON b.id = p.brand_id WHERE p.id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let status: String = r.try_get("status")?;
    let media: String = r.try_get("media_json")?;
    let brand = match (
        r.try_get::<Option<i64>, _>("brand_id")?,
        r.try_get::<Option<String>, _>("brand_name")?,
    ) {
        (Some(id), Some(name)) => Some(BrandRow {
            id: BrandId(id),
            name,
        }),
        _ => None,
    };

    let texts =
        sqlx::query("SELECT locale, title, description FROM product_texts WHERE product_id = $1")
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|t| {
                Ok((
                    locale_of(&t.try_get::<String, _>("locale")?)?,
                    Translation {
                        title: t.try_get("title")?,
                        description: t.try_get("description")?,
                    },
                ))
            })
            .collect::<StoreResult<BTreeMap<_, _>>>()?;

    let attributes =
        sqlx::query("SELECT key, value FROM product_attributes WHERE product_id = $1 ORDER BY key")
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|a| Ok((a.try_get("key")?, a.try_get("value")?)))
            .collect::<StoreResult<BTreeMap<_, _>>>()?;

    let sku_rows = sqlx::query(
        "SELECT s.id, s.code, s.color, s.size, p.currency, p.amount_minor FROM skus s \
         LEFT JOIN sku_prices p ON p.sku_id = s.id WHERE s.product_id = $1 ORDER BY s.id, p.currency",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut skus: Vec<SkuRecord> = Vec::new();
    for s in &sku_rows {
        let sid = SkuId(s.try_get("id")?);
        if skus.last().map(|x| x.id) != Some(sid) {
            skus.push(SkuRecord {
                id: sid,
                code: s.try_get("code")?,
                color: s.try_get("color")?,
                size: s.try_get("size")?,
                prices: Vec::new(),
            });
        }
        let currency: Option<String> = s.try_get("currency")?;
        let amount: Option<i64> = s.try_get("amount_minor")?;
        if let (Some(c), Some(a), Some(last)) = (currency, amount, skus.last_mut()) {
            let currency = Currency::parse(&c).map_err(|e| corrupt(e.message))?;
            last.prices.push(Money {
                amount_minor: a,
                currency,
            });
        }
    }

    Ok(Some(ProductRecord {
        id,
        supplier_id: SupplierId(r.try_get("supplier_id")?),
        category_id: r.try_get::<Option<i64>, _>("category_id")?.map(CategoryId),
        brand,
        status: ProductStatus::parse(&status).ok_or_else(|| corrupt(format!("status {status}")))?,
        media: serde_json::from_str(&media).map_err(corrupt)?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        texts,
        attributes,
        skus,
    }))
}

/// Which products a search may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Buyers and the public: active products only.
    ActiveOnly,
    /// A supplier: active products, and its own in any status.
    ActiveOrOwn(SupplierId),
    /// Operators: everything.
    All,
}

#[derive(Debug, Clone)]
pub struct ProductFilter {
    /// A LIKE pattern on lower-cased titles, already escaped with `\`.
    pub title_like: Option<String>,
    /// A category path prefix: the category and all below it.
    pub category_path: Option<String>,
    pub attributes: Vec<(String, String)>,
    pub supplier_id: Option<SupplierId>,
    pub status: Option<ProductStatus>,
    pub visibility: Visibility,
    pub after_id: i64,
    pub limit: u32,
}

/// Ids of the products matching `f`, in id order, at most `f.limit`.
pub async fn search_ids<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    dialect: Dialect,
    f: &ProductFilter,
) -> StoreResult<Vec<ProductId>> {
    let _ = dialect; // both dialects take the same SQL today; kept for the day they don't
    let mut q = crate::sql::SqlBuilder::new("SELECT p.id FROM products p WHERE ");
    let mut conds: Vec<String> = Vec::new();
    let after = q.bind(f.after_id)?;
    conds.push(format!("p.id > {after}"));
    match f.visibility {
        Visibility::ActiveOnly => conds.push("p.status = 'active'".into()),
        Visibility::ActiveOrOwn(s) => {
            let s = q.bind(s.0)?;
            conds.push(format!("(p.status = 'active' OR p.supplier_id = {s})"));
        }
        Visibility::All => {}
    }
    if let Some(st) = f.status {
        let s = q.bind(st.as_str().to_owned())?;
        conds.push(format!("p.status = {s}"));
    }
    if let Some(s) = f.supplier_id {
        let s = q.bind(s.0)?;
        conds.push(format!("p.supplier_id = {s}"));
    }
    if let Some(path) = &f.category_path {
        let s = q.bind(format!("{path}%"))?;
        conds.push(format!(
            "p.category_id IN (SELECT id FROM categories WHERE path LIKE {s})"
        ));
    }
    if let Some(like) = &f.title_like {
        let s = q.bind(like.clone())?;
        conds.push(format!(
            "EXISTS (SELECT 1 FROM product_texts t WHERE t.product_id = p.id AND t.search_text LIKE {s} ESCAPE '\\')"
        ));
    }
    for (k, v) in &f.attributes {
        let k = q.bind(k.clone())?;
        let v = q.bind(v.clone())?;
        conds.push(format!(
            "EXISTS (SELECT 1 FROM product_attributes a WHERE a.product_id = p.id AND a.key = {k} AND a.value = {v})"
        ));
    }
    let limit = q.bind(i64::from(f.limit))?;
    q.text.push_str(&conds.join(" AND "));
    q.text.push_str(&format!(" ORDER BY p.id LIMIT {limit}"));
    let ids: Vec<i64> = sqlx::query_scalar_with(&q.text, q.args)
        .fetch_all(ex)
        .await?;
    Ok(ids.into_iter().map(ProductId).collect())
}
