//! Catalog (M1): suppliers, categories, brands, products, SKUs, search.

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::dto::{double_option, List, Page, PriceDto};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use souk_core::catalog::{ProductStatus, Translation};
use souk_core::ids::{BrandId, CategoryId, ProductId, SkuId, SupplierId};
use souk_core::locale::Locale;
use souk_core::money::{Currency, Money};
use souk_engine::catalog::{ProductInput, ProductPatch, SearchParams, SkuInput, VariantsInput};
use souk_store::catalog::{CategoryRow, ProductRecord, SupplierRow};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_suppliers, create_supplier))
        .routes(routes!(get_supplier))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(list_brands, create_brand))
        .routes(routes!(search_products, create_product))
        .routes(routes!(get_product, update_product))
        .routes(routes!(set_product_status))
        .routes(routes!(add_sku))
        .routes(routes!(set_sku_prices))
        .routes(routes!(sku_by_code))
        .routes(routes!(get_sku))
}

/// The language a request asked for, among those `available`.
fn pick_locale(headers: &HeaderMap, available: &[Locale]) -> Locale {
    let h = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Locale::negotiate(h, available).unwrap_or(Locale::FALLBACK)
}

/// A product's title in the language the request asked for (carts, receipts).
pub(crate) fn title_of(headers: &HeaderMap, rec: &souk_store::catalog::ProductRecord) -> String {
    let available: Vec<Locale> = rec.texts.keys().copied().collect();
    let locale = pick_locale(headers, &available);
    rec.texts
        .get(&locale)
        .or_else(|| rec.texts.values().next())
        .map(|t| t.title.clone())
        .unwrap_or_default()
}

// ----- suppliers -----

#[derive(Serialize, ToSchema)]
pub struct SupplierDto {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub created_at_ms: i64,
}

impl From<SupplierRow> for SupplierDto {
    fn from(s: SupplierRow) -> Self {
        SupplierDto {
            id: s.id.0,
            name: s.name,
            contact_email: s.contact_email,
            created_at_ms: s.created_at_ms,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupplier {
    pub name: String,
    #[serde(default)]
    pub contact_email: String,
}

/// Suppliers the caller may see: all for operators, its own for a supplier user.
#[utoipa::path(get, path = "/api/v1/suppliers", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = List<SupplierDto>), (status = 401, body = ErrorBody)))]
async fn list_suppliers(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<List<SupplierDto>>> {
    let items = s
        .services
        .catalog
        .suppliers(&p)
        .await?
        .into_iter()
        .map(SupplierDto::from)
        .collect();
    Ok(Json(List { items }))
}

/// Registers a supplier (operators only).
#[utoipa::path(post, path = "/api/v1/suppliers", tag = "catalog", security(("bearer" = [])), request_body = NewSupplier,
    responses((status = 201, body = SupplierDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_supplier(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewSupplier>,
) -> ApiResult<(StatusCode, Json<SupplierDto>)> {
    let row = s
        .services
        .catalog
        .create_supplier(&p, &b.name, &b.contact_email)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// One supplier (operators, or its own users; others get 404).
#[utoipa::path(get, path = "/api/v1/suppliers/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = SupplierDto), (status = 404, body = ErrorBody)))]
async fn get_supplier(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<SupplierDto>> {
    Ok(Json(
        s.services
            .catalog
            .supplier(&p, SupplierId(id))
            .await?
            .into(),
    ))
}

// ----- categories -----

#[derive(Serialize, ToSchema)]
pub struct CategoryDto {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// Name in the requested language.
    pub name: String,
    /// Names in every language.
    pub names: BTreeMap<String, String>,
    /// Ids from the root, e.g. `/1/4/`.
    pub path: String,
}

fn category_dto(c: &CategoryRow, headers: &HeaderMap) -> CategoryDto {
    let available: Vec<Locale> = c.names.keys().copied().collect();
    let l = pick_locale(headers, &available);
    CategoryDto {
        id: c.id.0,
        parent_id: c.parent_id.map(|p| p.0),
        name: c.names.get(&l).cloned().unwrap_or_default(),
        names: c
            .names
            .iter()
            .map(|(l, n)| (l.tag().to_owned(), n.clone()))
            .collect(),
        path: c.path.clone(),
    }
}

/// The category tree, flattened in id order; names in the `Accept-Language` language.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog",
    responses((status = 200, body = List<CategoryDto>)))]
async fn list_categories(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<List<CategoryDto>>> {
    let all = s.services.catalog.categories().await?;
    Ok(Json(List {
        items: all.iter().map(|c| category_dto(c, &headers)).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    pub parent_id: Option<i64>,
    /// Names by language tag: `{"en": "Dresses", "zh-CN": "连衣裙"}`.
    #[schema(value_type = BTreeMap<String, String>)]
    pub names: BTreeMap<Locale, String>,
}

/// Adds a category (operators only).
#[utoipa::path(post, path = "/api/v1/categories", tag = "catalog", security(("bearer" = [])), request_body = NewCategory,
    responses((status = 201, body = CategoryDto), (status = 403, body = ErrorBody)))]
async fn create_category(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Json(b): Json<NewCategory>,
) -> ApiResult<(StatusCode, Json<CategoryDto>)> {
    let row = s
        .services
        .catalog
        .create_category(&p, b.parent_id.map(CategoryId), b.names)
        .await?;
    Ok((StatusCode::CREATED, Json(category_dto(&row, &headers))))
}

// ----- brands -----

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BrandDto {
    pub id: i64,
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBrand {
    pub name: String,
}

/// All brands.
#[utoipa::path(get, path = "/api/v1/brands", tag = "catalog", responses((status = 200, body = List<BrandDto>)))]
async fn list_brands(State(s): State<AppState>) -> ApiResult<Json<List<BrandDto>>> {
    let items = s
        .services
        .catalog
        .brands()
        .await?
        .into_iter()
        .map(|b| BrandDto {
            id: b.id.0,
            name: b.name,
        })
        .collect();
    Ok(Json(List { items }))
}

/// Adds a brand (operators only).
#[utoipa::path(post, path = "/api/v1/brands", tag = "catalog", security(("bearer" = [])), request_body = NewBrand,
    responses((status = 201, body = BrandDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_brand(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewBrand>,
) -> ApiResult<(StatusCode, Json<BrandDto>)> {
    let row = s.services.catalog.create_brand(&p, &b.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(BrandDto {
            id: row.id.0,
            name: row.name,
        }),
    ))
}

// ----- products -----

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranslationDto {
    pub title: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Serialize, ToSchema)]
pub struct SkuDto {
    pub id: i64,
    /// Unique; doubles as the barcode / QR payload.
    pub code: String,
    pub color: String,
    pub size: String,
    pub prices: Vec<PriceDto>,
}

#[derive(Serialize, ToSchema)]
pub struct OptionsDto {
    pub colors: Vec<String>,
    pub sizes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductDto {
    pub id: i64,
    pub supplier_id: i64,
    pub category_id: Option<i64>,
    pub brand: Option<BrandDto>,
    /// `draft`, `active` or `archived`.
    pub status: &'static str,
    /// The language of `title` and `description`.
    pub locale: &'static str,
    pub title: String,
    pub description: String,
    pub attributes: BTreeMap<String, String>,
    pub media: Vec<String>,
    /// Colours and sizes in the order first seen.
    pub options: OptionsDto,
    pub skus: Vec<SkuDto>,
    /// Every language's text.
    pub translations: BTreeMap<String, TranslationDto>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

fn product_dto(r: &ProductRecord, locale: Locale) -> ProductDto {
    let text = r.texts.get(&locale).or_else(|| r.texts.values().next());
    let mut colors = Vec::new();
    let mut sizes = Vec::new();
    for s in &r.skus {
        push_unique(&mut colors, &s.color);
        push_unique(&mut sizes, &s.size);
    }
    ProductDto {
        id: r.id.0,
        supplier_id: r.supplier_id.0,
        category_id: r.category_id.map(|c| c.0),
        brand: r.brand.as_ref().map(|b| BrandDto {
            id: b.id.0,
            name: b.name.clone(),
        }),
        status: r.status.as_str(),
        locale: locale.tag(),
        title: text.map(|t| t.title.clone()).unwrap_or_default(),
        description: text.map(|t| t.description.clone()).unwrap_or_default(),
        attributes: r.attributes.clone(),
        media: r.media.clone(),
        options: OptionsDto { colors, sizes },
        skus: r
            .skus
            .iter()
            .map(|s| SkuDto {
                id: s.id.0,
                code: s.code.clone(),
                color: s.color.clone(),
                size: s.size.clone(),
                prices: s.prices.iter().map(PriceDto::from).collect(),
            })
            .collect(),
        translations: r
            .texts
            .iter()
            .map(|(l, t)| {
                (
                    l.tag().to_owned(),
                    TranslationDto {
                        title: t.title.clone(),
                        description: t.description.clone(),
                    },
                )
            })
            .collect(),
        created_at_ms: r.created_at_ms,
        updated_at_ms: r.updated_at_ms,
    }
}

/// A product response in the language the client asked for, saying which it is.
fn product_response(status: StatusCode, r: &ProductRecord, headers: &HeaderMap) -> Response {
    let available: Vec<Locale> = r.texts.keys().copied().collect();
    let locale = pick_locale(headers, &available);
    with_language(
        (status, Json(product_dto(r, locale))).into_response(),
        locale,
    )
}

fn with_language(mut res: Response, locale: Locale) -> Response {
    res.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(locale.tag()),
    );
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    res
}

#[derive(Serialize, ToSchema)]
pub struct ProductSummaryDto {
    pub id: i64,
    pub title: String,
    pub supplier_id: i64,
    pub category_id: Option<i64>,
    pub brand: Option<String>,
    pub status: &'static str,
    /// The lowest SKU price in the requested currency (or the product's first currency).
    pub price_from: Option<PriceDto>,
    pub image: Option<String>,
}

fn price_from(r: &ProductRecord, currency: Currency) -> Option<Money> {
    let all = || r.skus.iter().flat_map(|s| s.prices.iter());
    all()
        .filter(|p| p.currency == currency)
        .min_by_key(|p| p.amount_minor)
        .or_else(|| {
            let first = all().next()?.currency;
            all()
                .filter(|p| p.currency == first)
                .min_by_key(|p| p.amount_minor)
        })
        .copied()
}

fn summary_dto(r: &ProductRecord, headers: &HeaderMap, currency: Currency) -> ProductSummaryDto {
    let available: Vec<Locale> = r.texts.keys().copied().collect();
    let locale = pick_locale(headers, &available);
    ProductSummaryDto {
        id: r.id.0,
        title: r
            .texts
            .get(&locale)
            .map(|t| t.title.clone())
            .unwrap_or_default(),
        supplier_id: r.supplier_id.0,
        category_id: r.category_id.map(|c| c.0),
        brand: r.brand.as_ref().map(|b| b.name.clone()),
        status: r.status.as_str(),
        price_from: price_from(r, currency).as_ref().map(PriceDto::from),
        image: r.media.first().cloned(),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    /// Words to find in a title, in any language.
    pub q: Option<String>,
    /// A category id: matches it and everything below it.
    pub category: Option<i64>,
    /// `key:value` attribute filters; repeat for several (all must match).
    #[serde(default)]
    pub attr: Vec<String>,
    pub supplier_id: Option<i64>,
    /// `draft`, `active` or `archived` (non-active only for the supplier and operators).
    pub status: Option<String>,
    /// Currency of `price_from`; default CNY.
    pub currency: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100; default 20.
    pub limit: Option<u32>,
}

/// Searches products by text, category and attributes, with cursor pagination.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(ProductQuery),
    responses((status = 200, body = Page<ProductSummaryDto>), (status = 422, body = ErrorBody)))]
async fn search_products(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    headers: HeaderMap,
    Query(q): Query<ProductQuery>,
) -> ApiResult<Json<Page<ProductSummaryDto>>> {
    let status = match q.status.as_deref() {
        None => None,
        Some(st) => Some(ProductStatus::parse(st).ok_or_else(|| {
            souk_core::DomainError::new(
                souk_core::ErrorCode::InvalidQuery,
                format!("Unknown status {st:?}."),
            )
        })?),
    };
    let currency = match q.currency.as_deref() {
        None => Currency::Cny,
        Some(c) => Currency::parse(c)?,
    };
    let page = s
        .services
        .catalog
        .search(
            p.as_ref(),
            SearchParams {
                q: q.q,
                category: q.category.map(CategoryId),
                attributes: q.attr,
                supplier_id: q.supplier_id.map(SupplierId),
                status,
                cursor: q.cursor,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(Page {
        items: page
            .items
            .iter()
            .map(|r| summary_dto(r, &headers, currency))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantsDto {
    pub colors: Vec<String>,
    pub sizes: Vec<String>,
    /// Prices given to every SKU created.
    pub prices: Vec<PriceDto>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductDto {
    /// Operators must name the supplier; a supplier user may omit it (its own is used).
    pub supplier_id: Option<i64>,
    pub category_id: Option<i64>,
    pub brand_id: Option<i64>,
    /// Texts by language tag (`zh-CN`, `en`).
    #[schema(value_type = BTreeMap<String, TranslationDto>)]
    pub translations: BTreeMap<Locale, TranslationDto>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub media: Vec<String>,
    /// Creates one SKU per colour × size.
    pub variants: Option<VariantsDto>,
}

fn texts(t: BTreeMap<Locale, TranslationDto>) -> BTreeMap<Locale, Translation> {
    t.into_iter()
        .map(|(l, t)| {
            (
                l,
                Translation {
                    title: t.title,
                    description: t.description,
                },
            )
        })
        .collect()
}

/// Creates a product in `draft` (suppliers for themselves, operators for any supplier).
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", security(("bearer" = [])), request_body = NewProductDto,
    responses((status = 201, body = ProductDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_product(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Json(b): Json<NewProductDto>,
) -> ApiResult<Response> {
    let rec = s
        .services
        .catalog
        .create_product(
            &p,
            ProductInput {
                supplier_id: b.supplier_id.map(SupplierId),
                category_id: b.category_id.map(CategoryId),
                brand_id: b.brand_id.map(BrandId),
                texts: texts(b.translations),
                attributes: b.attributes,
                media: b.media,
                variants: b.variants.map(|v| VariantsInput {
                    colors: v.colors,
                    sizes: v.sizes,
                    prices: v.prices.iter().map(Into::into).collect(),
                }),
            },
        )
        .await?;
    Ok(product_response(StatusCode::CREATED, &rec, &headers))
}

/// One product in the `Accept-Language` language (with fallback). Drafts are visible only to their supplier and operators.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = ProductDto), (status = 404, body = ErrorBody)))]
async fn get_product(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let page = s
        .services
        .catalog
        .product_page(p.as_ref(), ProductId(id))
        .await?;
    let available: Vec<Locale> = page.record.texts.keys().copied().collect();
    let locale = pick_locale(&headers, &available);
    // The body depends only on the record and the language, so it is rendered
    // once per cached record and language (the hot path; see docs/BENCHMARKS.md).
    let body = match page.rendered(locale) {
        Some(b) => b,
        None => {
            let b = serde_json::to_vec(&product_dto(&page.record, locale))
                .map_err(|e| souk_core::DomainError::internal(format!("product JSON: {e}")))?;
            let b = bytes::Bytes::from(b);
            page.keep_rendered(locale, b.clone());
            b
        }
    };
    let res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    Ok(with_language(res, locale))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchDto {
    /// null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub brand_id: Option<Option<i64>>,
    /// Replaces all texts.
    #[schema(value_type = Option<BTreeMap<String, TranslationDto>>)]
    pub translations: Option<BTreeMap<Locale, TranslationDto>>,
    /// Replaces all attributes.
    pub attributes: Option<BTreeMap<String, String>>,
    pub media: Option<Vec<String>>,
}

/// Changes a product (its supplier or operators). Absent fields stay as they are.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ProductPatchDto,
    responses((status = 200, body = ProductDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_product(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(b): Json<ProductPatchDto>,
) -> ApiResult<Response> {
    let rec = s
        .services
        .catalog
        .update_product(
            &p,
            ProductId(id),
            ProductPatch {
                category_id: b.category_id.map(|c| c.map(CategoryId)),
                brand_id: b.brand_id.map(|c| c.map(BrandId)),
                texts: b.translations.map(texts),
                attributes: b.attributes,
                media: b.media,
            },
        )
        .await?;
    Ok(product_response(StatusCode::OK, &rec, &headers))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `draft`, `active` or `archived`.
    pub status: String,
}

/// Moves a product through draft → active → archived (→ draft). Publishing needs a priced SKU.
#[utoipa::path(post, path = "/api/v1/products/{id}/status", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = StatusChange,
    responses((status = 200, body = ProductDto), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_product_status(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(b): Json<StatusChange>,
) -> ApiResult<Response> {
    let to = ProductStatus::parse(&b.status).ok_or_else(|| {
        souk_core::DomainError::invalid(format!(
            "Unknown status {:?}; use draft, active or archived.",
            b.status
        ))
    })?;
    let rec = s.services.catalog.set_status(&p, ProductId(id), to).await?;
    Ok(product_response(StatusCode::OK, &rec, &headers))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSkuDto {
    /// Optional; generated when absent. 3 to 40 of A-Z 0-9 - _ .
    pub code: Option<String>,
    pub color: String,
    pub size: String,
    pub prices: Vec<PriceDto>,
}

/// Adds one variant (SKU) to a product.
#[utoipa::path(post, path = "/api/v1/products/{id}/skus", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NewSkuDto,
    responses((status = 201, body = ProductDto), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_sku(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(b): Json<NewSkuDto>,
) -> ApiResult<Response> {
    let rec = s
        .services
        .catalog
        .add_sku(
            &p,
            ProductId(id),
            SkuInput {
                code: b.code,
                color: b.color,
                size: b.size,
                prices: b.prices.iter().map(Into::into).collect(),
            },
        )
        .await?;
    Ok(product_response(StatusCode::CREATED, &rec, &headers))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PricesDto {
    pub prices: Vec<PriceDto>,
}

/// Replaces a SKU's prices (one per currency).
#[utoipa::path(put, path = "/api/v1/skus/{id}/prices", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = PricesDto,
    responses((status = 200, body = ProductDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_sku_prices(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(b): Json<PricesDto>,
) -> ApiResult<Response> {
    let prices: Vec<_> = b.prices.iter().map(Into::into).collect();
    let rec = s
        .services
        .catalog
        .set_prices(&p, SkuId(id), &prices)
        .await?;
    Ok(product_response(StatusCode::OK, &rec, &headers))
}

#[derive(Serialize, ToSchema)]
pub struct ScannedSkuDto {
    pub sku: SkuDto,
    pub product: ProductDto,
}

/// Finds a SKU by its code: what a barcode or QR scan gives.
#[utoipa::path(get, path = "/api/v1/skus/by-code/{code}", tag = "catalog", params(("code" = String, Path)),
    responses((status = 200, body = ScannedSkuDto), (status = 404, body = ErrorBody)))]
async fn sku_by_code(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> ApiResult<Json<ScannedSkuDto>> {
    let (rec, sku) = s.services.catalog.sku_by_code(p.as_ref(), &code).await?;
    let available: Vec<Locale> = rec.texts.keys().copied().collect();
    let mut product = product_dto(&rec, pick_locale(&headers, &available));
    let idx = product.skus.iter().position(|x| x.id == sku.0).unwrap_or(0);
    let sku = product.skus.swap_remove(idx);
    product = product_dto(&rec, pick_locale(&headers, &available));
    Ok(Json(ScannedSkuDto { sku, product }))
}

/// A SKU by its id with its product (order lines and carts name SKUs by id).
#[utoipa::path(get, path = "/api/v1/skus/{id}", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = ScannedSkuDto), (status = 404, body = ErrorBody)))]
async fn get_sku(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Json<ScannedSkuDto>> {
    let rec = s
        .services
        .catalog
        .product_of_sku(p.as_ref(), SkuId(id))
        .await?;
    let available: Vec<Locale> = rec.texts.keys().copied().collect();
    let mut product = product_dto(&rec, pick_locale(&headers, &available));
    let idx = product
        .skus
        .iter()
        .position(|x| x.id == id)
        .ok_or_else(|| souk_core::DomainError::not_found("The SKU"))?;
    let sku = product.skus.swap_remove(idx);
    product = product_dto(&rec, pick_locale(&headers, &available));
    Ok(Json(ScannedSkuDto { sku, product }))
}
