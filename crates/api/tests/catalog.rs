//! Catalog (M1) through HTTP: products with variants as SKUs, codes, prices,
//! status, visibility, search and pagination, languages, categories, brands,
//! partial updates and the in-memory product cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{Reply, TestApp};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Creates a product with the given English (and optional Chinese) title and
/// attributes, one SKU priced CNY 10.00; returns its id.
async fn product_with(
    app: &TestApp,
    token: &str,
    en: Option<&str>,
    zh: Option<&str>,
    attributes: Value,
    category: Option<i64>,
) -> i64 {
    let mut tr = serde_json::Map::new();
    if let Some(t) = en {
        tr.insert("en".into(), json!({"title": t}));
    }
    if let Some(t) = zh {
        tr.insert("zh-CN".into(), json!({"title": t}));
    }
    app.post(
        "/api/v1/products",
        Some(token),
        json!({
            "translations": tr,
            "attributes": attributes,
            "category_id": category,
            "variants": {"colors": ["Black"], "sizes": ["One"], "prices": [{"currency": "CNY", "amount_minor": 1000}]}
        }),
    )
    .await
    .expect(201)
    .json()["id"]
        .as_i64()
        .unwrap()
}

async fn publish(app: &TestApp, token: &str, id: i64) -> Value {
    app.post(
        &format!("/api/v1/products/{id}/status"),
        Some(token),
        json!({"status": "active"}),
    )
    .await
    .expect(200)
    .json()
}

/// Ids of one search page, and its next cursor.
fn page_ids(r: &Reply) -> (Vec<i64>, Option<String>) {
    let j = r.json();
    let ids = j["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    (ids, j["next_cursor"].as_str().map(str::to_owned))
}

async fn search(app: &TestApp, query: &str, token: Option<&str>) -> Vec<i64> {
    let r = app
        .get(&format!("/api/v1/products?{query}"), token)
        .await
        .expect(200);
    page_ids(&r).0
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn variants_and_sku_codes(app: TestApp) {
    let (supplier, tok) = app.supplier("Variant Works").await;
    let (_, other) = app.supplier("Other Works").await;
    let p = app
        .post(
            "/api/v1/products",
            Some(&tok),
            json!({
                "translations": {"en": {"title": "Tee"}},
                "variants": {
                    "colors": ["Red", "Blue", "Green", " Red "],
                    "sizes": ["S", "M"],
                    "prices": [{"currency": "CNY", "amount_minor": 9900}, {"currency": "USD", "amount_minor": 1500}]
                }
            }),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(p["supplier_id"], supplier);
    assert_eq!(p["status"], "draft");
    let skus = p["skus"].as_array().unwrap();
    assert_eq!(skus.len(), 6, "3 colours x 2 sizes, the repeated Red once");
    let pairs: BTreeSet<(String, String)> = skus
        .iter()
        .map(|s| {
            (
                s["color"].as_str().unwrap().to_owned(),
                s["size"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = ["Red", "Blue", "Green"]
        .iter()
        .flat_map(|c| {
            ["S", "M"]
                .iter()
                .map(move |s| (c.to_string(), s.to_string()))
        })
        .collect();
    assert_eq!(pairs, want);
    let codes: BTreeSet<&str> = skus.iter().map(|s| s["code"].as_str().unwrap()).collect();
    assert_eq!(codes.len(), 6, "codes are unique");
    for s in skus {
        assert_eq!(
            s["prices"],
            json!([{"currency": "CNY", "amount_minor": 9900}, {"currency": "USD", "amount_minor": 1500}])
        );
    }
    assert_eq!(p["options"]["colors"], json!(["Red", "Blue", "Green"]));
    assert_eq!(p["options"]["sizes"], json!(["S", "M"]));
    let id = p["id"].as_i64().unwrap();

    // A custom code, given in lower case, is stored in upper case.
    let p2 = app
        .post(
            &format!("/api/v1/products/{id}/skus"),
            Some(&tok),
            json!({"code": "tee-blk-xl", "color": "Black", "size": "XL", "prices": [{"currency": "CNY", "amount_minor": 10900}]}),
        )
        .await
        .expect(201)
        .json();
    let added = p2["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["color"] == "Black")
        .unwrap()
        .clone();
    assert_eq!(added["code"], "TEE-BLK-XL");
    assert_eq!(p2["skus"].as_array().unwrap().len(), 7);

    // The same code again, in any case and on any product, is taken.
    app.post(
        &format!("/api/v1/products/{id}/skus"),
        Some(&tok),
        json!({"code": "TEE-blk-XL", "color": "White", "size": "XL", "prices": []}),
    )
    .await
    .expect_error(409, "sku_code_taken");
    let other_id = app.product(&other, "Other tee").await["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/products/{other_id}/skus"),
        Some(&other),
        json!({"code": "tee-blk-xl", "color": "White", "size": "XL", "prices": []}),
    )
    .await
    .expect_error(409, "sku_code_taken");
    // Codes of the generated form are not for choosing, taken or not.
    let generated = skus[0]["code"].as_str().unwrap();
    for code in [generated, &generated.to_lowercase(), "SK9999999-001"] {
        app.post(
            &format!("/api/v1/products/{other_id}/skus"),
            Some(&other),
            json!({"code": code, "color": "White", "size": "L", "prices": []}),
        )
        .await
        .expect_error(422, "invalid_field");
    }

    // The same colour and size twice is one variant.
    app.post(
        &format!("/api/v1/products/{id}/skus"),
        Some(&tok),
        json!({"color": "Red", "size": "M", "prices": []}),
    )
    .await
    .expect_error(409, "duplicate_variant");
    app.post(
        &format!("/api/v1/products/{id}/skus"),
        Some(&tok),
        json!({"code": "BRAND-NEW-1", "color": "Red", "size": "M", "prices": []}),
    )
    .await
    .expect_error(409, "duplicate_variant");
    // A SKU without a code gets a fresh generated one.
    let p3 = app
        .post(
            &format!("/api/v1/products/{id}/skus"),
            Some(&tok),
            json!({"color": "White", "size": "S", "prices": []}),
        )
        .await
        .expect(201)
        .json();
    let all: Vec<&str> = p3["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(all.len(), 8);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 8, "{all:?}");

    // By code (the barcode / QR payload): a draft is only for its supplier.
    app.get("/api/v1/skus/by-code/tee-blk-xl", None)
        .await
        .expect_error(404, "not_found");
    let scan = app
        .get("/api/v1/skus/by-code/tee-blk-xl", Some(&tok))
        .await
        .expect(200)
        .json();
    assert_eq!(scan["sku"]["code"], "TEE-BLK-XL");
    assert_eq!(scan["sku"]["id"], added["id"]);
    assert_eq!(scan["sku"]["prices"][0]["amount_minor"], 10900);
    assert_eq!(scan["product"]["id"], id);
    assert_eq!(
        scan["product"]["skus"].as_array().unwrap().len(),
        8,
        "the product keeps all its SKUs"
    );
    publish(&app, &tok, id).await;
    let scan = app
        .get(&format!("/api/v1/skus/by-code/{generated}"), None)
        .await
        .expect(200)
        .json();
    assert_eq!(scan["sku"]["code"], generated);
    assert_eq!(scan["product"]["id"], id);
    app.get("/api/v1/skus/by-code/NO-SUCH-CODE", None)
        .await
        .expect_error(404, "not_found");
    app.get("/api/v1/skus/by-code/%20", None)
        .await
        .expect_error(404, "not_found");

    // By id (order lines name SKUs by id): the same answer as by code.
    let by_id = app
        .get(&format!("/api/v1/skus/{}", scan["sku"]["id"]), None)
        .await
        .expect(200)
        .json();
    assert_eq!(by_id, scan);
    app.get("/api/v1/skus/999999999", None)
        .await
        .expect_error(404, "not_found");
}

/// A supplier must not be able to squat the code another product would be
/// given (that product's creation would then fail).
async fn generated_codes_cannot_be_squatted(app: TestApp) {
    let (_, tok) = app.supplier("Squatter").await;
    let first = app.product(&tok, "First").await;
    let first_id = first["id"].as_i64().unwrap();
    let first_code = first["skus"][0]["code"].as_str().unwrap().to_owned();
    // The code the next product's first SKU would get if ids run on.
    let next_code = first_code.replace(&format!("{first_id:07}"), &format!("{:07}", first_id + 1));
    assert_ne!(next_code, first_code);
    let r = app
        .post(
            &format!("/api/v1/products/{first_id}/skus"),
            Some(&tok),
            json!({"code": next_code, "color": "Gold", "size": "S", "prices": []}),
        )
        .await;
    r.expect_error(422, "invalid_field");
    let (_, victim) = app.supplier("Victim").await;
    let second = app.product(&victim, "Second").await;
    let codes: BTreeSet<&str> = second["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 4);
}

async fn prices_per_currency(app: TestApp) {
    let (_, tok) = app.supplier("Pricing").await;
    let p = app.product(&tok, "Priced").await;
    let id = p["id"].as_i64().unwrap();
    let sku = p["skus"][0]["id"].as_i64().unwrap();
    let untouched = p["skus"][1]["id"].as_i64().unwrap();
    let r = app
        .put(
            &format!("/api/v1/skus/{sku}/prices"),
            Some(&tok),
            json!({"prices": [
                {"currency": "USD", "amount_minor": 1999},
                {"currency": "CNY", "amount_minor": 12900},
                {"currency": "JPY", "amount_minor": 2000}
            ]}),
        )
        .await
        .expect(200)
        .json();
    let s = r["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sku)
        .unwrap();
    let prices: BTreeMap<String, i64> = s["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["currency"].as_str().unwrap().to_owned(),
                p["amount_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        prices,
        BTreeMap::from([
            ("CNY".into(), 12900),
            ("JPY".into(), 2000),
            ("USD".into(), 1999)
        ])
    );
    // Replacing is replacing, not merging; other SKUs keep theirs.
    let r = app
        .put(
            &format!("/api/v1/skus/{sku}/prices"),
            Some(&tok),
            json!({"prices": [{"currency": "EUR", "amount_minor": 500}]}),
        )
        .await
        .expect(200)
        .json();
    let s = r["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sku)
        .unwrap();
    assert_eq!(
        s["prices"],
        json!([{"currency": "EUR", "amount_minor": 500}])
    );
    let u = r["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == untouched)
        .unwrap();
    assert_eq!(
        u["prices"],
        json!([{"currency": "CNY", "amount_minor": 10000}])
    );
    // One price per currency, at least one price.
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok),
        json!({"prices": [{"currency": "EUR", "amount_minor": 500}, {"currency": "EUR", "amount_minor": 600}]}),
    )
    .await
    .expect_error(422, "invalid_field");
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok),
        json!({"prices": []}),
    )
    .await
    .expect_error(422, "invalid_field");
    let got = app
        .get(&format!("/api/v1/products/{id}"), Some(&tok))
        .await
        .expect(200)
        .json();
    let s = got["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sku)
        .unwrap();
    assert_eq!(
        s["prices"],
        json!([{"currency": "EUR", "amount_minor": 500}]),
        "refused changes change nothing"
    );

    // price_from in search: the lowest price in the asked currency.
    publish(&app, &tok, id).await;
    let r = app
        .get("/api/v1/products?currency=EUR", None)
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["items"][0]["price_from"],
        json!({"currency": "EUR", "amount_minor": 500})
    );
    let r = app
        .get("/api/v1/products?currency=CNY", None)
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["items"][0]["price_from"],
        json!({"currency": "CNY", "amount_minor": 10000})
    );
}

async fn status_machine(app: TestApp) {
    let (_, tok) = app.supplier("Statuses").await;
    let op = app.operator().await;
    let p = app
        .post(
            "/api/v1/products",
            Some(&tok),
            json!({
                "translations": {"en": {"title": "Unpriced"}},
                "variants": {"colors": ["Red"], "sizes": ["S"], "prices": []}
            }),
        )
        .await
        .expect(201)
        .json();
    let id = p["id"].as_i64().unwrap();
    let sku = p["skus"][0]["id"].as_i64().unwrap();
    let status = |to: &'static str| {
        let app = &app;
        let tok = tok.clone();
        async move {
            app.post(
                &format!("/api/v1/products/{id}/status"),
                Some(&tok),
                json!({"status": to}),
            )
            .await
        }
    };
    status("active")
        .await
        .expect_error(409, "illegal_transition");
    // A product with no SKU at all cannot be published either.
    let bare = app
        .post(
            "/api/v1/products",
            Some(&tok),
            json!({"translations": {"en": {"title": "Bare"}}}),
        )
        .await
        .expect(201)
        .json();
    app.post(
        &format!("/api/v1/products/{}/status", bare["id"]),
        Some(&tok),
        json!({"status": "active"}),
    )
    .await
    .expect_error(409, "illegal_transition");

    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok),
        json!({"prices": [{"currency": "CNY", "amount_minor": 100}]}),
    )
    .await
    .expect(200);
    assert_eq!(
        status("active").await.expect(200).json()["status"],
        "active"
    );
    status("active")
        .await
        .expect_error(409, "illegal_transition");
    status("draft")
        .await
        .expect_error(409, "illegal_transition");
    status("published").await.expect_error(422, "invalid_field");
    assert_eq!(
        status("archived").await.expect(200).json()["status"],
        "archived"
    );
    status("active")
        .await
        .expect_error(409, "illegal_transition");
    assert_eq!(status("draft").await.expect(200).json()["status"], "draft");
    // Operators may move any supplier's product.
    let r = app
        .post(
            &format!("/api/v1/products/{id}/status"),
            Some(&op),
            json!({"status": "active"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["status"], "active");
    assert_eq!(
        app.get(&format!("/api/v1/products/{id}"), None)
            .await
            .expect(200)
            .json()["status"],
        "active"
    );
}

async fn drafts_are_private(app: TestApp) {
    let (_, tok) = app.supplier("Private").await;
    let (_, other) = app.supplier("Nosy").await;
    let op = app.operator().await;
    let buyer = app.buyer("+8613800138001").await;
    let id = app.product(&tok, "Secret draft").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/products/{id}");
    app.get(&path, None).await.expect_error(404, "not_found");
    app.get(&path, Some(&buyer))
        .await
        .expect_error(404, "not_found");
    app.get(&path, Some(&other))
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        app.get(&path, Some(&tok)).await.expect(200).json()["id"],
        id
    );
    assert_eq!(app.get(&path, Some(&op)).await.expect(200).json()["id"], id);
    // Search: only the supplier and operators see drafts.
    assert!(search(&app, "q=secret", None).await.is_empty());
    assert!(search(&app, "q=secret", Some(&buyer)).await.is_empty());
    assert!(search(&app, "q=secret", Some(&other)).await.is_empty());
    assert!(search(&app, "q=secret&status=draft", Some(&other))
        .await
        .is_empty());
    assert_eq!(search(&app, "q=secret", Some(&tok)).await, vec![id]);
    assert_eq!(
        search(&app, "q=secret&status=draft", Some(&op)).await,
        vec![id]
    );
    assert!(search(&app, "q=secret&status=active", Some(&op))
        .await
        .is_empty());

    publish(&app, &tok, id).await;
    for t in [None, Some(buyer.as_str()), Some(other.as_str())] {
        assert_eq!(
            app.get(&path, t).await.expect(200).json()["status"],
            "active"
        );
        assert_eq!(search(&app, "q=secret", t).await, vec![id]);
    }
    // Archived is withdrawn from the public again.
    app.post(
        &format!("{path}/status"),
        Some(&tok),
        json!({"status": "archived"}),
    )
    .await
    .expect(200);
    app.get(&path, None).await.expect_error(404, "not_found");
    app.get(&path, Some(&buyer))
        .await
        .expect_error(404, "not_found");
    assert!(search(&app, "q=secret", None).await.is_empty());
    assert_eq!(
        app.get(&path, Some(&tok)).await.expect(200).json()["status"],
        "archived"
    );
}

async fn search_by_text_category_and_attributes(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Searchable").await;
    let clothing = app.category(&op, "Clothing", None).await;
    let tops = app.category(&op, "Tops", Some(clothing)).await;
    let shirts = app.category(&op, "Shirts", Some(tops)).await;
    let beauty = app.category(&op, "Beauty", None).await;

    let linen = product_with(
        &app,
        &tok,
        Some("Linen Shirt"),
        Some("亚麻衬衫"),
        json!({"material": "linen", "fit": "slim"}),
        Some(shirts),
    )
    .await;
    let silk = product_with(
        &app,
        &tok,
        Some("Silk Dress"),
        Some("真丝连衣裙"),
        json!({"material": "silk"}),
        Some(clothing),
    )
    .await;
    let tee = product_with(
        &app,
        &tok,
        Some("100% Cotton Tee"),
        Some("纯棉T恤"),
        json!({"material": "cotton", "fit": "slim"}),
        Some(tops),
    )
    .await;
    let plain = product_with(
        &app,
        &tok,
        Some("Cotton blend tee"),
        None,
        json!({"material": "cotton", "fit": "loose"}),
        Some(tops),
    )
    .await;
    let snake = product_with(
        &app,
        &tok,
        Some("Blue_Tee"),
        None,
        json!({"material": "cotton"}),
        None,
    )
    .await;
    let spaced = product_with(&app, &tok, Some("Blue Tee"), None, json!({}), None).await;
    let cream = product_with(
        &app,
        &tok,
        Some("Face Cream"),
        Some("面霜"),
        json!({"skin_type": "dry"}),
        Some(beauty),
    )
    .await;
    let draft = product_with(
        &app,
        &tok,
        Some("Linen Draft Shirt"),
        None,
        json!({"material": "linen"}),
        Some(shirts),
    )
    .await;
    let mug = product_with(&app, &tok, Some("ÄRGER CAFÉ Mug"), None, json!({}), None).await;
    for id in [linen, silk, tee, plain, snake, spaced, cream, mug] {
        publish(&app, &tok, id).await;
    }
    let _ = draft;

    // Text, case-insensitively, in English and in Chinese.
    assert_eq!(search(&app, "q=shirt", None).await, vec![linen]);
    assert_eq!(search(&app, "q=LINEN%20SHIRT", None).await, vec![linen]);
    assert_eq!(search(&app, "q=SiLk", None).await, vec![silk]);
    assert_eq!(
        search(&app, &format!("q={}", enc("衬衫")), None).await,
        vec![linen]
    );
    assert_eq!(
        search(&app, &format!("q={}", enc("连衣裙")), None).await,
        vec![silk]
    );
    assert_eq!(
        search(&app, "q=tee", None).await,
        vec![tee, plain, snake, spaced]
    );
    assert_eq!(
        search(&app, &format!("q={}", enc("  cotton  ")), None).await,
        vec![tee, plain]
    );
    assert!(search(&app, "q=velvet", None).await.is_empty());
    // Case folding is not only for ASCII.
    assert_eq!(
        search(&app, &format!("q={}", enc("ärger café")), None).await,
        vec![mug]
    );
    assert_eq!(
        search(&app, &format!("q={}", enc("Café MUG")), None).await,
        vec![mug]
    );
    // LIKE wildcards in q are matched literally.
    assert_eq!(
        search(&app, &format!("q={}", enc("%")), None).await,
        vec![tee]
    );
    assert_eq!(
        search(&app, &format!("q={}", enc("100%")), None).await,
        vec![tee]
    );
    assert_eq!(
        search(&app, &format!("q={}", enc("_")), None).await,
        vec![snake]
    );
    assert_eq!(
        search(&app, &format!("q={}", enc("e_t")), None).await,
        vec![snake]
    );
    assert_eq!(
        search(&app, &format!("q={}", enc("\\")), None).await,
        Vec::<i64>::new()
    );
    // An empty q is no filter.
    assert_eq!(search(&app, "q=", None).await.len(), 8);

    // A category includes everything below it.
    assert_eq!(
        search(&app, &format!("category={clothing}"), None).await,
        vec![linen, silk, tee, plain]
    );
    assert_eq!(
        search(&app, &format!("category={tops}"), None).await,
        vec![linen, tee, plain]
    );
    assert_eq!(
        search(&app, &format!("category={shirts}"), None).await,
        vec![linen]
    );
    assert_eq!(
        search(&app, &format!("category={beauty}"), None).await,
        vec![cream]
    );
    assert_eq!(
        search(&app, &format!("category={shirts}"), Some(&tok)).await,
        vec![linen, draft],
        "the supplier also sees its draft"
    );
    app.get("/api/v1/products?category=999999", None)
        .await
        .expect_error(422, "invalid_query");

    // Attributes, repeatable: all must match.
    assert_eq!(
        search(&app, "attr=material:cotton", None).await,
        vec![tee, plain, snake]
    );
    assert_eq!(
        search(&app, "attr=material:cotton&attr=fit:slim", None).await,
        vec![tee]
    );
    assert_eq!(search(&app, "attr=fit:slim", None).await, vec![linen, tee]);
    assert!(search(&app, "attr=material:wool", None).await.is_empty());
    assert!(search(&app, "attr=colour:cotton", None).await.is_empty());
    // Everything together.
    assert_eq!(
        search(&app, &format!("q=tee&category={tops}&attr=fit:loose"), None).await,
        vec![plain]
    );
    // Summaries carry the title in the asked language and a price.
    let r = app
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/products?category={shirts}"),
            None,
            None,
            &[("accept-language", "zh-CN")],
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["items"][0]["title"], "亚麻衬衫");
    assert_eq!(
        r["items"][0]["price_from"],
        json!({"currency": "CNY", "amount_minor": 1000})
    );
    let r = app
        .get(&format!("/api/v1/products?category={shirts}"), None)
        .await
        .expect(200)
        .json();
    assert_eq!(r["items"][0]["title"], "Linen Shirt");
}

async fn pagination_walks_every_product_once(app: TestApp) {
    let (_, tok) = app.supplier("Many").await;
    let (_, tok2) = app.supplier("Many more").await;
    let op = app.operator().await;
    let mut active = BTreeSet::new();
    let mut all = BTreeSet::new();
    for i in 0..23 {
        let t = if i % 2 == 0 { &tok } else { &tok2 };
        let id = product_with(&app, t, Some(&format!("Item {i}")), None, json!({}), None).await;
        all.insert(id);
        if i % 8 != 3 {
            publish(&app, t, id).await;
            active.insert(id);
        }
    }
    assert_eq!(active.len(), 20);

    async fn walk(app: &TestApp, token: Option<&str>, limit: u32) -> (Vec<i64>, Vec<usize>) {
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let path = match &cursor {
                Some(c) => format!("/api/v1/products?limit={limit}&cursor={c}"),
                None => format!("/api/v1/products?limit={limit}"),
            };
            let r = app.get(&path, token).await.expect(200);
            let (ids, next) = page_ids(&r);
            assert!(ids.len() <= limit as usize);
            sizes.push(ids.len());
            seen.extend(ids);
            match next {
                Some(c) => cursor = Some(c),
                None => return (seen, sizes),
            }
        }
        panic!("pagination does not end");
    }

    let (seen, sizes) = walk(&app, None, 7).await;
    assert_eq!(sizes, vec![7, 7, 6]);
    assert_eq!(seen.len(), 20, "no product twice: {seen:?}");
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), active);
    // A last page that is exactly full says there is no more.
    let (seen, sizes) = walk(&app, None, 5).await;
    assert_eq!(sizes, vec![5, 5, 5, 5]);
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), active);
    let (seen, _) = walk(&app, Some(&op), 100).await;
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), all);
    let (seen, sizes) = walk(&app, Some(&op), 1).await;
    assert_eq!(sizes.len(), 23);
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), all);
    // The default page size is 20.
    let r = app.get("/api/v1/products", Some(&op)).await.expect(200);
    let (ids, next) = page_ids(&r);
    assert_eq!(ids.len(), 20);
    assert!(next.is_some());

    for bad in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=4294967296",
    ] {
        app.get(&format!("/api/v1/products?{bad}"), None)
            .await
            .expect_error(422, "invalid_query");
    }
    for bad in [
        "garbage",
        "c",
        "c-5",
        "czzz",
        "ffff",
        "c0",
        "c11111111111111111",
        "%00",
    ] {
        app.get(&format!("/api/v1/products?cursor={bad}"), None)
            .await
            .expect_error(422, "invalid_cursor");
    }
}

async fn accept_language(app: TestApp) {
    let (_, tok) = app.supplier("Bilingual").await;
    let id = app
        .post(
            "/api/v1/products",
            Some(&tok),
            json!({
                "translations": {
                    "en": {"title": "Silk Scarf", "description": "Soft."},
                    "zh-CN": {"title": "真丝围巾", "description": "柔软。"}
                },
                "variants": {"colors": ["Red"], "sizes": ["One"], "prices": [{"currency": "CNY", "amount_minor": 100}]}
            }),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    publish(&app, &tok, id).await;
    let get = |lang: Option<&'static str>| {
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> =
                lang.map(|l| ("accept-language", l)).into_iter().collect();
            let r = app
                .send(
                    reqwest::Method::GET,
                    &format!("/api/v1/products/{id}"),
                    None,
                    None,
                    &headers,
                )
                .await
                .expect(200);
            let cl = r
                .headers
                .get("content-language")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let j = r.json();
            assert_eq!(j["locale"], cl.as_str(), "body and header agree");
            (
                j["title"].as_str().unwrap().to_owned(),
                j["description"].as_str().unwrap().to_owned(),
                cl,
            )
        }
    };
    assert_eq!(
        get(Some("zh-CN")).await,
        ("真丝围巾".into(), "柔软。".into(), "zh-CN".into())
    );
    assert_eq!(get(Some("zh")).await.2, "zh-CN");
    assert_eq!(get(Some("zh-Hans-CN")).await.2, "zh-CN");
    assert_eq!(
        get(Some("en")).await,
        ("Silk Scarf".into(), "Soft.".into(), "en".into())
    );
    assert_eq!(get(Some("en-GB")).await.2, "en");
    assert_eq!(get(Some("fr")).await.2, "en", "fallback is English");
    assert_eq!(get(Some("fr-FR, de;q=0.9")).await.2, "en");
    assert_eq!(get(None).await.2, "en");
    assert_eq!(
        get(Some("en;q=0.5, zh-CN;q=0.9")).await.2,
        "zh-CN",
        "q-values count, not order"
    );
    assert_eq!(get(Some("zh-CN;q=0.3, en;q=0.8")).await.2, "en");
    assert_eq!(get(Some("fr, zh;q=0.9, en;q=0.8")).await.2, "zh-CN");
    assert_eq!(
        get(Some("zh;q=0, en;q=0.1")).await.2,
        "en",
        "q=0 means not acceptable"
    );
    assert_eq!(get(Some("*")).await.2, "en");
    assert_eq!(get(Some(";;;,,q=zz")).await.2, "en", "junk falls back");
    let r = app.get(&format!("/api/v1/products/{id}"), None).await;
    assert!(r
        .headers
        .get("vary")
        .unwrap()
        .to_str()
        .unwrap()
        .to_ascii_lowercase()
        .contains("accept-language"));

    // Only Chinese text: an English client is served the Chinese text and told so.
    let zh_only = product_with(&app, &tok, None, Some("只有中文"), json!({}), None).await;
    publish(&app, &tok, zh_only).await;
    let r = app
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/products/{zh_only}"),
            None,
            None,
            &[("accept-language", "en")],
        )
        .await
        .expect(200);
    assert_eq!(r.headers.get("content-language").unwrap(), "zh-CN");
    assert_eq!(r.json()["title"], "只有中文");
    assert_eq!(
        r.json()["translations"],
        json!({"zh-CN": {"title": "只有中文", "description": ""}})
    );
    // ...and in search results too.
    let r = app
        .send(
            reqwest::Method::GET,
            "/api/v1/products?q=%E5%8F%AA%E6%9C%89",
            None,
            None,
            &[("accept-language", "en")],
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["items"][0]["title"], "只有中文");
    // Every language is there in `translations`.
    let j = app
        .get(&format!("/api/v1/products/{id}"), None)
        .await
        .json();
    assert_eq!(j["translations"]["zh-CN"]["title"], "真丝围巾");
    assert_eq!(j["translations"]["en"]["title"], "Silk Scarf");
}

async fn categories_and_brands(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Tree").await;
    let buyer = app.buyer("+8613800138002").await;
    let root = app
        .post(
            "/api/v1/categories",
            Some(&op),
            json!({"names": {"en": "Home", "zh-CN": "家居"}}),
        )
        .await
        .expect(201)
        .json();
    let root_id = root["id"].as_i64().unwrap();
    assert_eq!(root["parent_id"], Value::Null);
    assert_eq!(root["path"], format!("/{root_id}/"));
    let kitchen = app
        .post(
            "/api/v1/categories",
            Some(&op),
            json!({"parent_id": root_id, "names": {"en": "Kitchen", "zh-CN": "厨房"}}),
        )
        .await
        .expect(201)
        .json();
    let kitchen_id = kitchen["id"].as_i64().unwrap();
    assert_eq!(kitchen["parent_id"], root_id);
    assert_eq!(kitchen["path"], format!("/{root_id}/{kitchen_id}/"));
    let en_only = app
        .post(
            "/api/v1/categories",
            Some(&op),
            json!({"parent_id": kitchen_id, "names": {"en": "Knives"}}),
        )
        .await
        .expect(201)
        .json();

    // The list reflects every create at once (the category cache is invalidated).
    let list = app
        .send(
            reqwest::Method::GET,
            "/api/v1/categories",
            None,
            None,
            &[("accept-language", "zh-CN")],
        )
        .await
        .expect(200)
        .json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["name"], "家居");
    assert_eq!(items[1]["name"], "厨房");
    assert_eq!(items[2]["name"], "Knives", "falls back to what there is");
    assert_eq!(items[1]["names"], json!({"en": "Kitchen", "zh-CN": "厨房"}));
    let list = app.get("/api/v1/categories", None).await.expect(200).json();
    assert_eq!(list["items"][0]["name"], "Home");
    assert_eq!(list["items"][2]["parent_id"], kitchen_id);
    assert_eq!(list["items"][2]["id"], en_only["id"]);

    // Only operators shape the tree.
    for t in [&tok, &buyer] {
        app.post(
            "/api/v1/categories",
            Some(t),
            json!({"names": {"en": "Mine"}}),
        )
        .await
        .expect_error(403, "forbidden");
        app.post("/api/v1/brands", Some(t), json!({"name": "Mine"}))
            .await
            .expect_error(403, "forbidden");
    }
    app.post("/api/v1/categories", None, json!({"names": {"en": "Anon"}}))
        .await
        .expect_error(401, "unauthenticated");
    app.post(
        "/api/v1/categories",
        Some(&op),
        json!({"parent_id": 999999, "names": {"en": "Orphan"}}),
    )
    .await
    .expect_error(422, "invalid_field");
    app.post("/api/v1/categories", Some(&op), json!({"names": {}}))
        .await
        .expect_error(422, "invalid_field");
    app.post(
        "/api/v1/categories",
        Some(&op),
        json!({"names": {"fr": "Maison"}}),
    )
    .await
    .expect_error(422, "invalid_body");
    assert_eq!(
        app.get("/api/v1/categories", None).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "refused creates leave nothing behind"
    );

    // Brands.
    let acme = app
        .post("/api/v1/brands", Some(&op), json!({"name": "Acme"}))
        .await
        .expect(201)
        .json();
    app.post("/api/v1/brands", Some(&op), json!({"name": "Zeta"}))
        .await
        .expect(201);
    app.post("/api/v1/brands", Some(&op), json!({"name": "Acme"}))
        .await
        .expect_error(409, "name_taken");
    let brands = app.get("/api/v1/brands", None).await.expect(200).json();
    let names: Vec<&str> = brands["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Acme", "Zeta"]);

    // A product in a category with a brand.
    let p = app
        .post(
            "/api/v1/products",
            Some(&tok),
            json!({"translations": {"en": {"title": "Chef knife"}}, "category_id": en_only["id"], "brand_id": acme["id"]}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(p["category_id"], en_only["id"]);
    assert_eq!(p["brand"], json!({"id": acme["id"], "name": "Acme"}));
    app.post(
        "/api/v1/products",
        Some(&tok),
        json!({"translations": {"en": {"title": "No brand"}}, "brand_id": 999999}),
    )
    .await
    .expect_error(422, "invalid_field");
    app.post(
        "/api/v1/products",
        Some(&tok),
        json!({"translations": {"en": {"title": "No category"}}, "category_id": 999999}),
    )
    .await
    .expect_error(422, "invalid_field");
}

async fn patch_and_cache_invalidation(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Patcher").await;
    let cat = app.category(&op, "Bags", None).await;
    let brand = app
        .post("/api/v1/brands", Some(&op), json!({"name": "Tote Co"}))
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    let id = app
        .post(
            "/api/v1/products",
            Some(&tok),
            json!({
                "translations": {"en": {"title": "Tote", "description": "Roomy."}, "zh-CN": {"title": "托特包"}},
                "category_id": cat,
                "brand_id": brand,
                "attributes": {"material": "canvas"},
                "media": ["https://img.example/tote.jpg"],
                "variants": {"colors": ["Natural"], "sizes": ["One"], "prices": [{"currency": "CNY", "amount_minor": 5900}]}
            }),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    publish(&app, &tok, id).await;
    let path = format!("/api/v1/products/{id}");
    // Warm the cache.
    let before = app.get(&path, None).await.expect(200).json();
    assert_eq!(before["title"], "Tote");
    assert_eq!(app.get(&path, None).await.expect(200).json(), before);

    // Only the attributes change; everything else stays.
    let r = app
        .patch(
            &path,
            Some(&tok),
            json!({"attributes": {"material": "linen", "closure": "zip"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["attributes"],
        json!({"closure": "zip", "material": "linen"})
    );
    let g = app.get(&path, None).await.expect(200).json();
    assert_eq!(
        g["attributes"],
        json!({"closure": "zip", "material": "linen"})
    );
    assert_eq!(g["title"], "Tote");
    assert_eq!(g["category_id"], cat);
    assert_eq!(g["brand"]["id"], brand);
    assert_eq!(g["media"], json!(["https://img.example/tote.jpg"]));
    assert_eq!(g["translations"]["zh-CN"]["title"], "托特包");
    assert_eq!(search(&app, "attr=material:linen", None).await, vec![id]);
    assert!(search(&app, "attr=material:canvas", None).await.is_empty());

    // An empty patch changes nothing.
    let r = app
        .patch(&path, Some(&tok), json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(r["attributes"], g["attributes"]);
    assert_eq!(r["category_id"], cat);

    // Texts: replaced, seen at once in the page and in search.
    app.patch(
        &path,
        Some(&tok),
        json!({"translations": {"en": {"title": "Market Tote", "description": "Roomier."}, "zh-CN": {"title": "市场托特包"}}}),
    )
    .await
    .expect(200);
    let g = app.get(&path, None).await.expect(200).json();
    assert_eq!(g["title"], "Market Tote");
    assert_eq!(g["description"], "Roomier.");
    assert_eq!(search(&app, "q=market", None).await, vec![id]);
    let s = app.get("/api/v1/products?q=market", None).await.json();
    assert_eq!(s["items"][0]["title"], "Market Tote");

    // null clears; absent keeps.
    let r = app
        .patch(&path, Some(&tok), json!({"category_id": null}))
        .await
        .expect(200)
        .json();
    assert_eq!(r["category_id"], Value::Null);
    assert_eq!(r["brand"]["id"], brand, "brand kept");
    let g = app.get(&path, None).await.expect(200).json();
    assert_eq!(g["category_id"], Value::Null);
    assert!(search(&app, &format!("category={cat}"), None)
        .await
        .is_empty());
    app.patch(
        &path,
        Some(&tok),
        json!({"category_id": cat, "brand_id": null, "media": []}),
    )
    .await
    .expect(200);
    let g = app.get(&path, None).await.expect(200).json();
    assert_eq!(g["category_id"], cat);
    assert_eq!(g["brand"], Value::Null);
    assert_eq!(g["media"], json!([]));
    assert_eq!(
        search(&app, &format!("category={cat}"), None).await,
        vec![id]
    );

    // A refused patch changes nothing.
    app.patch(
        &path,
        Some(&tok),
        json!({"category_id": 999999, "attributes": {"x": "y"}}),
    )
    .await
    .expect_error(422, "invalid_field");
    let g2 = app.get(&path, None).await.expect(200).json();
    assert_eq!(g2, g);

    // New SKUs, prices and status are seen at once too.
    app.post(
        &format!("{path}/skus"),
        Some(&tok),
        json!({"code": "TOTE-BLK", "color": "Black", "size": "One", "prices": [{"currency": "CNY", "amount_minor": 6900}]}),
    )
    .await
    .expect(201);
    let g = app.get(&path, None).await.expect(200).json();
    assert_eq!(g["skus"].as_array().unwrap().len(), 2);
    assert_eq!(g["options"]["colors"], json!(["Natural", "Black"]));
    let sku = g["skus"][1]["id"].as_i64().unwrap();
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok),
        json!({"prices": [{"currency": "CNY", "amount_minor": 4900}]}),
    )
    .await
    .expect(200);
    let g = app.get(&path, None).await.expect(200).json();
    assert_eq!(
        g["skus"][1]["prices"],
        json!([{"currency": "CNY", "amount_minor": 4900}])
    );
    let scan = app
        .get("/api/v1/skus/by-code/TOTE-BLK", None)
        .await
        .expect(200)
        .json();
    assert_eq!(
        scan["sku"]["prices"],
        json!([{"currency": "CNY", "amount_minor": 4900}])
    );
    let s = app.get("/api/v1/products?q=tote", None).await.json();
    assert_eq!(s["items"][0]["price_from"]["amount_minor"], 4900);
    app.post(
        &format!("{path}/status"),
        Some(&tok),
        json!({"status": "archived"}),
    )
    .await
    .expect(200);
    app.get(&path, None).await.expect_error(404, "not_found");
    assert!(search(&app, "q=tote", None).await.is_empty());
    // Updated-at moves on with writes.
    let g = app.get(&path, Some(&tok)).await.expect(200).json();
    assert!(g["updated_at_ms"].as_i64().unwrap() >= before["updated_at_ms"].as_i64().unwrap());
    assert_eq!(g["created_at_ms"], before["created_at_ms"]);
}

async fn suppliers_manage_only_their_own(app: TestApp) {
    let op = app.operator().await;
    let (a, tok_a) = app.supplier("Alpha").await;
    let (b, tok_b) = app.supplier("Beta").await;
    let p = app.product(&tok_a, "Alpha bag").await;
    let id = p["id"].as_i64().unwrap();
    let sku = p["skus"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/products/{id}");
    // Beta cannot see or touch Alpha's product: not found, as if it did not exist.
    app.get(&path, Some(&tok_b))
        .await
        .expect_error(404, "not_found");
    app.patch(&path, Some(&tok_b), json!({"attributes": {}}))
        .await
        .expect_error(404, "not_found");
    app.post(
        &format!("{path}/status"),
        Some(&tok_b),
        json!({"status": "archived"}),
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        &format!("{path}/skus"),
        Some(&tok_b),
        json!({"color": "X", "size": "Y", "prices": []}),
    )
    .await
    .expect_error(404, "not_found");
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok_b),
        json!({"prices": [{"currency": "CNY", "amount_minor": 1}]}),
    )
    .await
    .expect_error(404, "not_found");
    // Even once public, only its supplier changes it; to others it is still
    // "not found" for writing, as every other tenant's id is.
    publish(&app, &tok_a, id).await;
    app.patch(&path, Some(&tok_b), json!({"attributes": {}}))
        .await
        .expect_error(404, "not_found");
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok_b),
        json!({"prices": [{"currency": "CNY", "amount_minor": 1}]}),
    )
    .await
    .expect_error(404, "not_found");
    let g = app.get(&path, None).await.expect(200).json();
    assert_eq!(g["attributes"], json!({"material": "cotton"}));
    assert_eq!(
        g["skus"][0]["prices"],
        json!([{"currency": "CNY", "amount_minor": 10000}])
    );

    // Operators manage everyone's and must say for whom they create.
    app.patch(
        &path,
        Some(&op),
        json!({"attributes": {"material": "wool"}}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            "/api/v1/products",
            Some(&op),
            json!({"supplier_id": b, "translations": {"en": {"title": "For Beta"}}}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(r["supplier_id"], b);
    // Supplier listings: each sees its own.
    let la = app
        .get("/api/v1/suppliers", Some(&tok_a))
        .await
        .expect(200)
        .json();
    assert_eq!(la["items"].as_array().unwrap().len(), 1);
    assert_eq!(la["items"][0]["id"], a);
    app.get(&format!("/api/v1/suppliers/{b}"), Some(&tok_a))
        .await
        .expect_error(404, "not_found");
    let lo = app
        .get("/api/v1/suppliers", Some(&op))
        .await
        .expect(200)
        .json();
    assert_eq!(lo["items"].as_array().unwrap().len(), 2);
    // Beta's draft search with Alpha's filter shows nothing of Beta's drafts.
    assert!(
        search(&app, &format!("supplier_id={b}&status=draft"), Some(&tok_a))
            .await
            .is_empty()
    );
    assert_eq!(
        search(&app, &format!("supplier_id={b}&status=draft"), Some(&tok_b)).await,
        vec![r["id"].as_i64().unwrap()]
    );
}

/// Writes racing on one product: each is applied whole, and the rules hold.
async fn concurrent_writes_to_one_product(app: TestApp) {
    let (_, tok) = app.supplier("Racing").await;
    let p = app
        .post(
            "/api/v1/products",
            Some(&tok),
            json!({"translations": {"en": {"title": "Raced"}}, "variants": {"colors": ["Red"], "sizes": ["S"], "prices": []}}),
        )
        .await
        .expect(201)
        .json();
    let id = p["id"].as_i64().unwrap();
    let sku = p["skus"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/products/{id}");
    let skus_path = format!("{path}/skus");
    let status_path = format!("{path}/status");
    let prices_path = format!("/api/v1/skus/{sku}/prices");

    // New SKUs without codes, all at once: each gets its own code.
    let replies = futures::future::join_all((0..6).map(|i| {
        app.post(
            &skus_path,
            Some(&tok),
            json!({"color": format!("Colour {i}"), "size": "S", "prices": []}),
        )
    }))
    .await;
    for r in &replies {
        assert_eq!(
            r.status.as_u16(),
            201,
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
    }
    let g = app.get(&path, Some(&tok)).await.expect(200).json();
    let codes: BTreeSet<&str> = g["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 7);

    // The same new variant, all at once: exactly one is added.
    let replies = futures::future::join_all((0..5).map(|_| {
        app.post(
            &skus_path,
            Some(&tok),
            json!({"color": "Same", "size": "S", "prices": []}),
        )
    }))
    .await;
    let added = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    assert_eq!(added, 1);
    for r in replies.iter().filter(|r| r.status.as_u16() != 201) {
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (409, "duplicate_variant".to_owned())
        );
    }

    // Prices and texts replaced at once: every write succeeds, one wins whole.
    let replies = futures::future::join_all((1..=6).map(|i| {
        app.put(
            &prices_path,
            Some(&tok),
            json!({"prices": [{"currency": "CNY", "amount_minor": i * 100}, {"currency": "USD", "amount_minor": i}]}),
        )
    }))
    .await;
    for r in &replies {
        assert_eq!(
            r.status.as_u16(),
            200,
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
    }
    let replies = futures::future::join_all((1..=6).map(|i| {
        app.patch(
            &path,
            Some(&tok),
            json!({"translations": {"en": {"title": format!("Title {i}")}, "zh-CN": {"title": format!("标题 {i}")}},
                   "attributes": {"round": i.to_string(), "material": "cotton"}}),
        )
    }))
    .await;
    for r in &replies {
        assert_eq!(
            r.status.as_u16(),
            200,
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
    }
    let g = app.get(&path, Some(&tok)).await.expect(200).json();
    let s0 = g["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sku)
        .unwrap()
        .clone();
    let cny = s0["prices"][0]["amount_minor"].as_i64().unwrap();
    assert_eq!(
        s0["prices"],
        json!([{"currency": "CNY", "amount_minor": cny}, {"currency": "USD", "amount_minor": cny / 100}])
    );
    let round = g["attributes"]["round"].as_str().unwrap().to_owned();
    assert_eq!(
        g["title"],
        format!("Title {round}"),
        "texts and attributes of one write"
    );
    assert_eq!(g["translations"]["zh-CN"]["title"], format!("标题 {round}"));

    // Publishing at once: one succeeds, the others find it already active.
    let replies = futures::future::join_all(
        (0..5).map(|_| app.post(&status_path, Some(&tok), json!({"status": "active"}))),
    )
    .await;
    let ok = replies.iter().filter(|r| r.status.as_u16() == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status.as_u16() != 200) {
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (409, "illegal_transition".to_owned())
        );
    }
}

on_both_databases!(
    concurrent_writes_to_one_product,
    variants_and_sku_codes,
    generated_codes_cannot_be_squatted,
    prices_per_currency,
    status_machine,
    drafts_are_private,
    search_by_text_category_and_attributes,
    pagination_walks_every_product_once,
    accept_language,
    categories_and_brands,
    patch_and_cache_invalidation,
    suppliers_manage_only_their_own,
);
