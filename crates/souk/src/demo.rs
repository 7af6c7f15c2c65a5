//! The demo market: suppliers, a category tree, brands, 200 products in two
//! languages with colour × size variants, a cloud warehouse, two stores,
//! console users, buyers and shop owners. Seeding is idempotent: a market
//! already seeded is left as it is.

use souk_core::access::{Grant, LocationOwner};
use souk_core::catalog::{PriceInput, Translation};
use souk_core::ids::{CategoryId, LocationId, SupplierId};
use souk_core::locale::Locale;
use souk_core::location::{Address, Capabilities, LocationKind};
use souk_engine::accounts::NewConsoleUser;
use souk_engine::catalog::{ProductInput, VariantsInput};
use souk_engine::locations::LocationInput;
use souk_engine::{LogSender, Services, SystemClock};
use souk_store::Db;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const OPERATOR_EMAIL: &str = "operator@souk.demo";
/// Coupon codes the demo prints: 10 % off online; ¥15 off from ¥99 at the tills.
pub const DEMO_ONLINE_CODE: &str = "WELCOME10";
pub const DEMO_STORE_CODE: &str = "STORE15";
pub const DEMO_PASSWORD: &str = "souk-demo-password";
pub const BUYER_PHONES: [&str; 3] = ["+8613800000001", "+8613800000002", "+8613800000003"];
const MARKER_SUPPLIER: &str = "Hangzhou Silk Works";

/// What the banner tells a newcomer.
pub struct Seeded {
    pub freshly_seeded: bool,
    pub products: usize,
}

struct SupplierSeed {
    name: &'static str,
    email: &'static str,
    login: &'static str,
}

const SUPPLIERS: [SupplierSeed; 3] = [
    SupplierSeed {
        name: MARKER_SUPPLIER,
        email: "sales@silkworks.demo",
        login: "supplier1@souk.demo",
    },
    SupplierSeed {
        name: "Guangzhou Urban Apparel",
        email: "hello@urbanapparel.demo",
        login: "supplier2@souk.demo",
    },
    SupplierSeed {
        name: "Yunnan Garden Beauty",
        email: "care@gardenbeauty.demo",
        login: "supplier3@souk.demo",
    },
];

/// (en, zh-CN) pairs.
const STYLES: [(&str, &str); 10] = [
    ("Classic", "经典"),
    ("Summer", "夏日"),
    ("Everyday", "日常"),
    ("Vintage", "复古"),
    ("Minimal", "极简"),
    ("Cozy", "舒适"),
    ("Urban", "都市"),
    ("Silk", "真丝"),
    ("Linen", "亚麻"),
    ("Premium", "精选"),
];

struct Kind {
    en: &'static str,
    zh: &'static str,
    category: usize,
    sizes: &'static [&'static str],
    base_price: i64,
    image: &'static str,
}

const KINDS: [Kind; 10] = [
    Kind {
        en: "Dress",
        zh: "连衣裙",
        category: 0,
        sizes: &["S", "M", "L", "XL"],
        base_price: 29900,
        image: "dress",
    },
    Kind {
        en: "Blouse",
        zh: "衬衫",
        category: 1,
        sizes: &["S", "M", "L"],
        base_price: 15900,
        image: "top",
    },
    Kind {
        en: "T-shirt",
        zh: "T恤",
        category: 1,
        sizes: &["S", "M", "L", "XL"],
        base_price: 7900,
        image: "top",
    },
    Kind {
        en: "Shirt",
        zh: "男士衬衫",
        category: 2,
        sizes: &["M", "L", "XL", "XXL"],
        base_price: 18900,
        image: "shirt",
    },
    Kind {
        en: "Trousers",
        zh: "长裤",
        category: 3,
        sizes: &["28", "30", "32", "34"],
        base_price: 21900,
        image: "trousers",
    },
    Kind {
        en: "Scarf",
        zh: "围巾",
        category: 4,
        sizes: &["One size"],
        base_price: 9900,
        image: "scarf",
    },
    Kind {
        en: "Face Cream",
        zh: "面霜",
        category: 5,
        sizes: &["30ml", "50ml"],
        base_price: 16800,
        image: "cream",
    },
    Kind {
        en: "Serum",
        zh: "精华液",
        category: 5,
        sizes: &["15ml", "30ml"],
        base_price: 22800,
        image: "cream",
    },
    Kind {
        en: "Sneakers",
        zh: "运动鞋",
        category: 6,
        sizes: &["38", "39", "40", "41", "42"],
        base_price: 39900,
        image: "shoe",
    },
    Kind {
        en: "Tote Bag",
        zh: "托特包",
        category: 4,
        sizes: &["One size"],
        base_price: 12900,
        image: "bag",
    },
];

const COLORS: [&str; 6] = ["Red", "Navy", "Black", "White", "Green", "Beige"];

/// Category tree: (en, zh-CN, parent index).
const CATEGORIES: [(&str, &str, Option<usize>); 10] = [
    ("Dresses", "连衣裙", Some(7)),
    ("Tops", "上衣", Some(7)),
    ("Shirts", "衬衫", Some(8)),
    ("Trousers", "裤装", Some(8)),
    ("Accessories", "配饰", None),
    ("Skincare", "护肤", Some(9)),
    ("Shoes", "鞋履", None),
    ("Women", "女装", None),
    ("Men", "男装", None),
    ("Beauty", "美妆", None),
];

fn address(line1: &str, city: &str, region: &str) -> Address {
    Address {
        line1: line1.into(),
        line2: String::new(),
        city: city.into(),
        region: region.into(),
        postal_code: String::new(),
        country: "CN".into(),
    }
}

pub async fn seed(db: &Db) -> anyhow::Result<Seeded> {
    let svc = Services::new(db.clone(), Arc::new(SystemClock), Arc::new(LogSender));
    if svc
        .catalog
        .supplier_by_name(MARKER_SUPPLIER)
        .await
        .map_err(err)?
        .is_some()
    {
        return Ok(Seeded {
            freshly_seeded: false,
            products: 200,
        });
    }
    tracing::info!("seeding the demo market");

    // Suppliers first: the marker row is written last of all below would be
    // better, but ids must exist for grants; a half-seeded market is reseeded
    // only by deleting the demo database.
    let mut supplier_ids: Vec<SupplierId> = Vec::new();
    for s in &SUPPLIERS {
        supplier_ids.push(
            svc.catalog
                .insert_supplier(s.name, s.email)
                .await
                .map_err(err)?
                .id,
        );
    }

    // Categories in an order where parents come first.
    let mut cat_ids: [Option<CategoryId>; 10] = [None; 10];
    let order = [7, 8, 9, 4, 6, 0, 1, 2, 3, 5];
    for i in order {
        let (en, zh, parent) = CATEGORIES[i];
        let names = BTreeMap::from([(Locale::En, en.to_owned()), (Locale::ZhCn, zh.to_owned())]);
        let parent_id = parent.and_then(|p| cat_ids[p]);
        cat_ids[i] = Some(
            svc.catalog
                .insert_category(parent_id, names)
                .await
                .map_err(err)?
                .id,
        );
    }

    let mut brand_ids = Vec::new();
    for b in ["West Lake", "Pearl River", "Cloud Garden", "Jade Thread"] {
        brand_ids.push(svc.catalog.insert_brand(b).await.map_err(err)?.id);
    }

    // Locations: one cloud warehouse, two stores, one warehouse per supplier.
    let warehouse = LocationInput {
        kind: LocationKind::CloudWarehouse,
        name: "Shanghai Cloud Warehouse".into(),
        supplier_id: None,
        address: address("88 Jiangchang Rd", "Shanghai", "Shanghai"),
        capabilities: Capabilities {
            ship: true,
            pickup: false,
            sell_in_person: false,
        },
    };
    let warehouse_id = svc
        .locations
        .insert(warehouse, LocationOwner::Platform)
        .await
        .map_err(err)?
        .id;
    let mut stores: Vec<LocationId> = Vec::new();
    for (name, line1, city, region) in [
        ("West Lake Store", "12 Hubin Rd", "Hangzhou", "Zhejiang"),
        (
            "Jing'an Store",
            "1601 Nanjing West Rd",
            "Shanghai",
            "Shanghai",
        ),
    ] {
        let store = LocationInput {
            kind: LocationKind::Store,
            name: name.into(),
            supplier_id: None,
            address: address(line1, city, region),
            capabilities: Capabilities {
                ship: true,
                pickup: true,
                sell_in_person: true,
            },
        };
        stores.push(
            svc.locations
                .insert(store, LocationOwner::Platform)
                .await
                .map_err(err)?
                .id,
        );
    }
    for (i, s) in supplier_ids.iter().enumerate() {
        let wh = LocationInput {
            kind: LocationKind::SupplierWarehouse,
            name: format!("{} Warehouse", SUPPLIERS[i].name),
            supplier_id: Some(*s),
            address: address(
                "1 Factory Rd",
                ["Hangzhou", "Guangzhou", "Kunming"][i],
                ["Zhejiang", "Guangdong", "Yunnan"][i],
            ),
            capabilities: Capabilities {
                ship: true,
                pickup: false,
                sell_in_person: false,
            },
        };
        svc.locations
            .insert(wh, LocationOwner::Supplier(*s))
            .await
            .map_err(err)?;
    }

    // Console users.
    let console = |email: &str, name: &str, grants: Vec<Grant>| NewConsoleUser {
        email: email.into(),
        password: DEMO_PASSWORD.into(),
        display_name: name.into(),
        grants,
    };
    let operator = svc
        .accounts
        .insert_console_user(console(
            OPERATOR_EMAIL,
            "Market Operator",
            vec![Grant::Operator],
        ))
        .await
        .map_err(err)?;
    for (i, s) in SUPPLIERS.iter().enumerate() {
        svc.accounts
            .insert_console_user(console(
                s.login,
                s.name,
                vec![Grant::Supplier {
                    supplier_id: supplier_ids[i],
                }],
            ))
            .await
            .map_err(err)?;
    }
    for (i, store) in stores.iter().enumerate() {
        svc.accounts
            .insert_console_user(console(
                &format!("clerk{}@souk.demo", i + 1),
                &format!("Clerk {}", i + 1),
                vec![Grant::StoreClerk {
                    location_id: *store,
                }],
            ))
            .await
            .map_err(err)?;
    }

    // Buyers and shop owners sign in by phone; their accounts exist up front.
    let pool = db.pool();
    let now = souk_engine::Clock::now_ms(&SystemClock);
    for (i, phone) in BUYER_PHONES.iter().enumerate() {
        let id = souk_store::accounts::insert_account(
            pool,
            souk_store::accounts::NewAccount {
                display_name: &format!("Buyer {}", i + 1),
                phone: Some(phone),
                email: None,
                password_hash: None,
            },
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
        souk_store::accounts::add_grant(pool, id, Grant::Buyer)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
    }
    for (i, (phone, shop)) in [
        ("+8613900000001", "Lily's Closet"),
        ("+8613900000002", "Skin Notes by Mei"),
    ]
    .iter()
    .enumerate()
    {
        let id = souk_store::accounts::insert_account(
            pool,
            souk_store::accounts::NewAccount {
                display_name: &format!("Shop owner {}", i + 1),
                phone: Some(phone),
                email: None,
                password_hash: None,
            },
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
        let shop_id = souk_store::catalog::insert_shop(pool, shop, id, now)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        souk_store::accounts::add_grant(pool, id, Grant::Buyer)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        souk_store::accounts::add_grant(pool, id, Grant::ShopOwner { shop_id })
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
    }

    // 200 products: 10 styles × 10 kinds × 2 editions, spread over suppliers.
    let mut n = 0usize;
    for edition in 0..2 {
        for (si, (style_en, style_zh)) in STYLES.iter().enumerate() {
            for (ki, kind) in KINDS.iter().enumerate() {
                n += 1;
                let supplier = if kind.category == 5 {
                    supplier_ids[2]
                } else {
                    supplier_ids[(si + ki) % 2]
                };
                let colors: Vec<String> = (0..3)
                    .map(|c| COLORS[(si + ki + c + edition) % COLORS.len()].to_owned())
                    .collect();
                let sizes: Vec<String> = kind.sizes.iter().map(|s| (*s).to_owned()).collect();
                let price = kind.base_price + (si as i64) * 1000 + (edition as i64) * 500;
                let edition_en = if edition == 0 { "" } else { " II" };
                let edition_zh = if edition == 0 { "" } else { "二代" };
                let texts = BTreeMap::from([
                    (
                        Locale::En,
                        Translation {
                            title: format!("{style_en} {}{edition_en}", kind.en),
                            description: format!(
                                "A {} {} made for every day. Comes in {}.",
                                style_en.to_lowercase(),
                                kind.en.to_lowercase(),
                                colors.join(", ")
                            ),
                        },
                    ),
                    (
                        Locale::ZhCn,
                        Translation {
                            title: format!("{style_zh}{}{edition_zh}", kind.zh),
                            description: format!("{style_zh}风格的{}，日常百搭。", kind.zh),
                        },
                    ),
                ]);
                let attributes = BTreeMap::from([
                    (
                        "material".to_owned(),
                        ["cotton", "silk", "linen", "polyester"][(si + ki) % 4].to_owned(),
                    ),
                    (
                        "season".to_owned(),
                        ["spring", "summer", "autumn", "winter"][(si + edition) % 4].to_owned(),
                    ),
                ]);
                let input = ProductInput {
                    supplier_id: Some(supplier),
                    category_id: cat_ids[kind.category],
                    brand_id: Some(brand_ids[(si + ki) % brand_ids.len()]),
                    texts,
                    attributes,
                    media: vec![format!("/assets/img/{}.svg", kind.image)],
                    variants: Some(VariantsInput {
                        colors,
                        sizes,
                        prices: vec![
                            PriceInput {
                                currency: "CNY".into(),
                                amount_minor: price,
                            },
                            PriceInput {
                                currency: "USD".into(),
                                amount_minor: price / 7,
                            },
                        ],
                    }),
                };
                let product = svc
                    .catalog
                    .insert_product(supplier, input)
                    .await
                    .map_err(err)?;
                // Every tenth product stays a draft so consoles have something to publish.
                if !n.is_multiple_of(10) {
                    let owner = souk_core::access::Principal {
                        account_id: souk_core::ids::AccountId(0),
                        grants: vec![Grant::Supplier {
                            supplier_id: supplier,
                        }],
                        credential: souk_core::access::Credential::Session,
                    };
                    svc.catalog
                        .set_status(
                            &owner,
                            product.id,
                            souk_core::catalog::ProductStatus::Active,
                        )
                        .await
                        .map_err(err)?;
                    stock_up(&svc, &product, warehouse_id, &stores).await?;
                }
            }
        }
    }
    seed_coupons(&svc, operator).await?;
    db.analyze().await.map_err(|e| anyhow::anyhow!(e))?;
    tracing::info!(products = n, "demo market seeded");
    Ok(Seeded {
        freshly_seeded: true,
        products: n,
    })
}

/// Shelves for a published product: 40 of each SKU in the cloud warehouse,
/// a few in each store (the first store carries every SKU, the second some),
/// so the storefront, the till and routing all have something to work with.
async fn stock_up(
    svc: &Services,
    product: &souk_store::catalog::ProductRecord,
    warehouse: LocationId,
    stores: &[LocationId],
) -> anyhow::Result<()> {
    let system = souk_engine::stock::Actor {
        account: souk_core::ids::AccountId(0),
        privileged: true,
    };
    let mut receipts = Vec::new();
    for (i, sku) in product.skus.iter().enumerate() {
        receipts.push((sku.id, warehouse, 40));
        if let Some(s) = stores.first() {
            receipts.push((sku.id, *s, 5));
        }
        if let Some(s) = stores.get(1).filter(|_| i % 2 == 0) {
            receipts.push((sku.id, *s, 2));
        }
    }
    // Concurrent, so the stock owner commits them as one group.
    let done = futures::future::join_all(receipts.into_iter().map(|(sku, at, qty)| {
        svc.stock.change(
            system,
            sku,
            at,
            souk_core::stock::Command::Receive { qty },
            "demo opening stock".into(),
        )
    }))
    .await;
    for d in done {
        d.map_err(err)?;
    }
    Ok(())
}

/// Two shared codes printed in the banner: one online, one for the tills.
async fn seed_coupons(svc: &Services, operator: souk_core::ids::AccountId) -> anyhow::Result<()> {
    use souk_core::coupon::{CampaignSpec, CodeKind, CouponChannel};
    use souk_core::pricing::Discount;
    let op = souk_core::access::Principal {
        account_id: operator,
        grants: vec![Grant::Operator],
        credential: souk_core::access::Credential::Session,
    };
    let now = souk_engine::Clock::now_ms(&SystemClock);
    let year = 365 * 24 * 60 * 60 * 1000;
    for (code, name, discount, min_spend, channel, per_buyer) in [
        (
            DEMO_ONLINE_CODE,
            "Welcome: 10 % off online",
            Discount::PercentOff { bps: 1_000 },
            0,
            CouponChannel::Online,
            Some(3),
        ),
        (
            DEMO_STORE_CODE,
            "¥15 off in store from ¥99",
            Discount::AmountOff {
                amount: souk_core::money::Money {
                    amount_minor: 1_500,
                    currency: souk_core::money::Currency::Cny,
                },
            },
            9_900,
            CouponChannel::InStore,
            // Walk-in buyers have no account to count against.
            None,
        ),
    ] {
        svc.coupons
            .create_campaign(
                &op,
                CampaignSpec {
                    name: name.into(),
                    currency: souk_core::money::Currency::Cny,
                    discount,
                    min_spend_minor: min_spend,
                    max_discount_minor: Some(5_000),
                    channel,
                    starts_at_ms: now - 60_000,
                    ends_at_ms: now + year,
                    max_redemptions: None,
                    budget_minor: Some(10_000_000),
                    per_buyer_limit: per_buyer,
                    code_kind: CodeKind::Shared,
                    shared_code: Some(code.into()),
                    stackable: false,
                },
            )
            .await
            .map_err(err)?;
    }
    Ok(())
}

fn err(e: souk_core::DomainError) -> anyhow::Error {
    anyhow::anyhow!(e.to_string())
}

pub fn print_banner(url: &str, seeded: &Seeded) {
    let state = if seeded.freshly_seeded {
        "seeded just now"
    } else {
        "already seeded"
    };
    println!();
    println!("souk demo market ({state}; {} products)", seeded.products);
    println!("  storefront      {url}/");
    println!(
        "  sign in (phone) {url}/signin.html  buyers {}  (the code is printed in this log)",
        BUYER_PHONES.join(", ")
    );
    println!("  API docs        {url}/api/docs   OpenAPI {url}/api/openapi.json");
    println!("  health/metrics  {url}/healthz  {url}/metrics");
    println!("  console sign-in POST {url}/api/v1/auth/password  password {DEMO_PASSWORD:?}");
    println!("                  {OPERATOR_EMAIL}, supplier1..3@souk.demo, clerk1..2@souk.demo");
    println!("  cart            {url}/cart.html   coupon {DEMO_ONLINE_CODE} (online), {DEMO_STORE_CODE} (in store)");
    println!("  till (POS)      {url}/console/pos.html   as clerk1@souk.demo");
    println!();
}
