//! Bad input through HTTP: every case gets a 4xx with a machine-readable code,
//! changes nothing, and never a 5xx.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{Backend, Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use souk_api::ApiConfig;

const PRODUCTS: &str = "/api/v1/products";

/// Asserts a client error (never 2xx, never 5xx) with a code and a message.
#[track_caller]
fn refused(r: &Reply) -> String {
    assert!(
        r.status.is_client_error(),
        "expected a 4xx, got {}: {}",
        r.status,
        String::from_utf8_lossy(&r.bytes)
    );
    let j = r.json();
    let code = j["code"].as_str().unwrap_or("").to_owned();
    assert!(
        !code.is_empty(),
        "no code in {}",
        String::from_utf8_lossy(&r.bytes)
    );
    assert!(j["message"].as_str().is_some_and(|m| !m.is_empty()));
    code
}

/// How many products an operator sees (any status).
async fn product_count(app: &TestApp, op: &str) -> usize {
    let r = app
        .get("/api/v1/products?limit=100", Some(op))
        .await
        .expect(200);
    r.json()["items"].as_array().unwrap().len()
}

fn valid_product() -> Value {
    json!({
        "translations": {"en": {"title": "Valid"}},
        "variants": {"colors": ["Red"], "sizes": ["S"], "prices": [{"currency": "CNY", "amount_minor": 100}]}
    })
}

async fn malformed_json(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Malformed").await;
    for body in [
        &b"{\"translations\":"[..],
        b"not json",
        b"",
        b"{\"translations\": {\"en\": {\"title\": \"x\"}}} trailing",
        b"{'translations': {}}",
        b"{\"translations\": {\"en\": {\"title\": \"x\",}}}",
        b"\xff\xfe{}",
        b"{\"translations\": NaN}",
        b"{\"translations\": {\"en\": {\"title\": \"x\"}}, \"brand_id\": 1e400}",
    ] {
        app.post_raw(PRODUCTS, Some(&tok), "application/json", body.to_vec())
            .await
            .expect_error(400, "malformed_json");
    }
    // Deep nesting is refused, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = app
        .post_raw(PRODUCTS, Some(&tok), "application/json", deep.into_bytes())
        .await;
    refused(&r);
    // Same on the other JSON endpoints.
    app.post_raw(
        "/api/v1/categories",
        Some(&op),
        "application/json",
        b"{".to_vec(),
    )
    .await
    .expect_error(400, "malformed_json");
    app.post_raw(
        "/api/v1/brands",
        Some(&op),
        "application/json",
        b"[".to_vec(),
    )
    .await
    .expect_error(400, "malformed_json");
    assert_eq!(product_count(&app, &op).await, 0);
}

async fn wrong_types_and_unknown_fields(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Types").await;
    for body in [
        json!([]),
        json!(null),
        json!("a product"),
        json!({"translations": "Tee"}),
        json!({"translations": {"en": {"title": 5}}}),
        json!({"translations": {"en": {"title": "Tee"}}, "attributes": ["material", "cotton"]}),
        json!({"translations": {"en": {"title": "Tee"}}, "attributes": {"material": 5}}),
        json!({"translations": {"en": {"title": "Tee"}}, "media": "https://x/y.jpg"}),
        json!({"translations": {"en": {"title": "Tee"}}, "category_id": "1"}),
        json!({"translations": {"en": {"title": "Tee"}}, "category_id": 1.5}),
        json!({"translations": {"en": {"title": "Tee"}}, "variants": {"colors": "Red", "sizes": ["S"], "prices": []}}),
        json!({"translations": {"en": {"title": "Tee"}}, "variants": {"colors": ["Red"], "sizes": ["S"]}}),
        json!({"translations": {"en": {"title": "Tee"}}, "variants": {"colors": ["Red"], "sizes": ["S"], "prices": [{"currency": "CNY", "amount_minor": "100"}]}}),
        json!({"translations": {"en": {"title": "Tee"}}, "variants": {"colors": ["Red"], "sizes": ["S"], "prices": [{"currency": "CNY"}]}}),
        json!({}),
        // Unknown fields, at any depth, and languages souk does not know.
        json!({"translations": {"en": {"title": "Tee"}}, "colour": "red"}),
        json!({"translations": {"en": {"title": "Tee", "subtitle": "x"}}}),
        json!({"translations": {"en": {"title": "Tee"}}, "variants": {"colors": ["Red"], "sizes": ["S"], "prices": [], "stock": 5}}),
        json!({"translations": {"en": {"title": "Tee"}}, "variants": {"colors": ["Red"], "sizes": ["S"], "prices": [{"currency": "CNY", "amount_minor": 100, "tax": 1}]}}),
        json!({"translations": {"fr": {"title": "Tee"}}}),
    ] {
        app.post(PRODUCTS, Some(&tok), body.clone())
            .await
            .expect_error(422, "invalid_body");
    }
    // Numbers that do not fit an id.
    for raw in [
        r#"{"translations": {"en": {"title": "Tee"}}, "brand_id": 99999999999999999999}"#,
        r#"{"translations": {"en": {"title": "Tee"}}, "category_id": -99999999999999999999}"#,
    ] {
        app.post_raw(
            PRODUCTS,
            Some(&tok),
            "application/json",
            raw.as_bytes().to_vec(),
        )
        .await
        .expect_error(422, "invalid_body");
    }
    // Other endpoints refuse unknown fields too.
    let id = app.product(&tok, "Typed").await["id"].as_i64().unwrap();
    app.patch(
        &format!("{PRODUCTS}/{id}"),
        Some(&tok),
        json!({"title": "x"}),
    )
    .await
    .expect_error(422, "invalid_body");
    app.patch(
        &format!("{PRODUCTS}/{id}"),
        Some(&tok),
        json!({"attributes": "x"}),
    )
    .await
    .expect_error(422, "invalid_body");
    app.post(
        &format!("{PRODUCTS}/{id}/status"),
        Some(&tok),
        json!({"status": 1}),
    )
    .await
    .expect_error(422, "invalid_body");
    app.post(
        &format!("{PRODUCTS}/{id}/skus"),
        Some(&tok),
        json!({"color": "Red", "size": "L", "prices": [], "stock": 1}),
    )
    .await
    .expect_error(422, "invalid_body");
    app.post(
        "/api/v1/categories",
        Some(&op),
        json!({"names": {"en": "X"}, "slug": "x"}),
    )
    .await
    .expect_error(422, "invalid_body");
    app.post("/api/v1/brands", Some(&op), json!({"name": ["X"]}))
        .await
        .expect_error(422, "invalid_body");
    assert_eq!(product_count(&app, &op).await, 1);
}

async fn absurd_prices(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Prices").await;
    let amounts = [
        "0",
        "-1",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "10000000001",
        "1e309",
        "-1e309",
        "\"NaN\"",
        "\"100\"",
        "12.5",
        "1e2",
        "null",
        "true",
        "NaN",
        "Infinity",
    ];
    for a in amounts {
        let body = format!(
            r#"{{"translations": {{"en": {{"title": "Priced"}}}}, "variants": {{"colors": ["Red"], "sizes": ["S"], "prices": [{{"currency": "CNY", "amount_minor": {a}}}]}}}}"#
        );
        let r = app
            .post_raw(PRODUCTS, Some(&tok), "application/json", body.into_bytes())
            .await;
        let code = refused(&r);
        match a {
            "0" | "-1" | "9223372036854775807" | "10000000001" | "-9223372036854775808" => {
                assert_eq!(
                    (r.status.as_u16(), code.as_str()),
                    (422, "invalid_amount"),
                    "{a}"
                )
            }
            _ => assert!(
                matches!(code.as_str(), "invalid_body" | "malformed_json"),
                "{a}: {code}"
            ),
        }
    }
    assert_eq!(product_count(&app, &op).await, 0, "nothing was created");

    // The same on a SKU's prices and on a new SKU; the stored price stays.
    let p = app.product(&tok, "Kept").await;
    let id = p["id"].as_i64().unwrap();
    let sku = p["skus"][0]["id"].as_i64().unwrap();
    for a in amounts {
        let body = format!(r#"{{"prices": [{{"currency": "USD", "amount_minor": {a}}}]}}"#);
        let r = app
            .client
            .put(format!("{}/api/v1/skus/{sku}/prices", app.url))
            .bearer_auth(&tok)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let r = Reply {
            status: r.status(),
            headers: r.headers().clone(),
            bytes: r.bytes().await.unwrap().to_vec(),
        };
        refused(&r);
        let body = format!(
            r#"{{"color": "Gold", "size": "XL", "prices": [{{"currency": "USD", "amount_minor": {a}}}]}}"#
        );
        let r = app
            .post_raw(
                &format!("{PRODUCTS}/{id}/skus"),
                Some(&tok),
                "application/json",
                body.into_bytes(),
            )
            .await;
        refused(&r);
    }
    let g = app
        .get(&format!("{PRODUCTS}/{id}"), Some(&tok))
        .await
        .expect(200)
        .json();
    assert_eq!(g["skus"].as_array().unwrap().len(), 4, "no SKU was added");
    assert_eq!(
        g["skus"][0]["prices"],
        json!([{"currency": "CNY", "amount_minor": 10000}])
    );
    // The largest accepted price is accepted, the next one is not.
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok),
        json!({"prices": [{"currency": "CNY", "amount_minor": 10_000_000_000i64}]}),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok),
        json!({"prices": [{"currency": "CNY", "amount_minor": 10_000_000_001i64}]}),
    )
    .await
    .expect_error(422, "invalid_amount");
}

async fn unknown_currency(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Currencies").await;
    for c in ["XYZ", "cny", "", "CNYY", "￥", "BTC"] {
        app.post(
            PRODUCTS,
            Some(&tok),
            json!({"translations": {"en": {"title": "Tee"}}, "variants": {"colors": ["Red"], "sizes": ["S"], "prices": [{"currency": c, "amount_minor": 100}]}}),
        )
        .await
        .expect_error(422, "unknown_currency");
    }
    assert_eq!(product_count(&app, &op).await, 0);
    let sku = app.product(&tok, "Tee").await["skus"][0]["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok),
        json!({"prices": [{"currency": "XYZ", "amount_minor": 100}]}),
    )
    .await
    .expect_error(422, "unknown_currency");
    app.get("/api/v1/products?currency=XYZ", None)
        .await
        .expect_error(422, "unknown_currency");
}

async fn content_type_is_required(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Media types").await;
    let body = serde_json::to_vec(&valid_product()).unwrap();
    // No Content-Type at all.
    let r = app
        .client
        .post(format!("{}{PRODUCTS}", app.url))
        .bearer_auth(&tok)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["code"], "unsupported_media_type");
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        app.post_raw(PRODUCTS, Some(&tok), ct, body.clone())
            .await
            .expect_error(415, "unsupported_media_type");
    }
    assert_eq!(product_count(&app, &op).await, 0);
    // application/json with a charset is fine.
    app.post_raw(
        PRODUCTS,
        Some(&tok),
        "application/json; charset=utf-8",
        body,
    )
    .await
    .expect(201);
}

/// A product body of about `bytes` bytes (a long description).
fn big_product(bytes: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "translations": {"en": {"title": "Big", "description": "x".repeat(bytes)}}
    }))
    .unwrap()
}

async fn body_over_the_default_limit(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Big bodies").await;
    let body = big_product(2 * 1024 * 1024);
    // Without an idempotency key (the JSON extractor's limit)...
    app.post_raw(PRODUCTS, Some(&tok), "application/json", body.clone())
        .await
        .expect_error(413, "body_too_large");
    // ...and with one (the idempotency layer buffers the body itself).
    let r = app
        .client
        .post(format!("{}{PRODUCTS}", app.url))
        .bearer_auth(&tok)
        .header("content-type", "application/json")
        .header("idempotency-key", "big-body-1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "body_too_large");
    assert_eq!(product_count(&app, &op).await, 0);
    // A body under the limit but over the field limits is a 422, not a 413.
    app.post_raw(
        PRODUCTS,
        Some(&tok),
        "application/json",
        big_product(100_000),
    )
    .await
    .expect_error(422, "invalid_field");
}

async fn body_over_a_small_limit(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        ApiConfig {
            body_limit_bytes: 2048,
            read_rate_per_sec: 0,
            write_rate_per_sec: 0,
            ..ApiConfig::default()
        },
    )
    .await
    else {
        return;
    };
    let op = app.operator().await;
    let (_, tok) = app.supplier("Small bodies").await;
    // Just under: accepted (the description limit is 5000 characters).
    let ok = big_product(1800);
    assert!(ok.len() < 2048);
    app.post_raw(PRODUCTS, Some(&tok), "application/json", ok)
        .await
        .expect(201);
    let over = big_product(3000);
    assert!(over.len() > 2048);
    app.post_raw(PRODUCTS, Some(&tok), "application/json", over.clone())
        .await
        .expect_error(413, "body_too_large");
    let r = app
        .send(
            Method::POST,
            PRODUCTS,
            Some(&tok),
            Some(&serde_json::from_slice(&over).unwrap()),
            &[("idempotency-key", "small-limit-1")],
        )
        .await;
    r.expect_error(413, "body_too_large");
    // A chunked body (no Content-Length) is cut off too.
    let (status, reply) = chunked_post(&app, PRODUCTS, &tok, &over).await;
    assert_eq!(status, 413, "{reply}");
    assert!(reply.contains("body_too_large"), "{reply}");
    assert_eq!(product_count(&app, &op).await, 1);
}

/// Sends a POST with `Transfer-Encoding: chunked` over a raw connection;
/// returns the status and the whole reply.
async fn chunked_post(app: &TestApp, path: &str, token: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for c in body.chunks(500) {
        req.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        req.extend_from_slice(c);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    // The server may answer before reading everything; a failed write is fine.
    let _ = s.write_all(&req).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

async fn server_owned_fields(app: TestApp) {
    let op = app.operator().await;
    let (a, tok_a) = app.supplier("Owner A").await;
    let (b, _tok_b) = app.supplier("Owner B").await;
    let extras = [
        ("id", json!(424242)),
        ("status", json!("active")),
        ("created_at_ms", json!(0)),
        ("updated_at_ms", json!(0)),
        ("skus", json!([])),
        ("brand", json!({"id": 1, "name": "X"})),
    ];
    for (k, v) in &extras {
        let mut body = valid_product();
        body[k] = v.clone();
        app.post(PRODUCTS, Some(&tok_a), body)
            .await
            .expect_error(422, "invalid_body");
    }
    assert_eq!(product_count(&app, &op).await, 0);
    // Its own supplier_id is fine; someone else's is forbidden.
    let mut body = valid_product();
    body["supplier_id"] = json!(a);
    let p = app
        .post(PRODUCTS, Some(&tok_a), body)
        .await
        .expect(201)
        .json();
    assert_eq!(p["supplier_id"], a);
    assert_eq!(p["status"], "draft", "a product always starts as a draft");
    let mut body = valid_product();
    body["supplier_id"] = json!(b);
    app.post(PRODUCTS, Some(&tok_a), body)
        .await
        .expect_error(403, "forbidden");
    let mut body = valid_product();
    body["supplier_id"] = json!(999_999);
    app.post(PRODUCTS, Some(&tok_a), body)
        .await
        .expect_error(403, "forbidden");
    // Operators must name an existing supplier.
    app.post(PRODUCTS, Some(&op), valid_product())
        .await
        .expect_error(422, "invalid_field");
    let mut body = valid_product();
    body["supplier_id"] = json!(999_999);
    app.post(PRODUCTS, Some(&op), body)
        .await
        .expect_error(422, "invalid_field");
    assert_eq!(product_count(&app, &op).await, 1);
    // A patch cannot carry server-owned fields either.
    let id = p["id"].as_i64().unwrap();
    for (k, v) in [
        ("status", json!("active")),
        ("supplier_id", json!(b)),
        ("id", json!(7)),
        ("created_at_ms", json!(0)),
        ("skus", json!([])),
    ] {
        app.patch(&format!("{PRODUCTS}/{id}"), Some(&tok_a), json!({k: v}))
            .await
            .expect_error(422, "invalid_body");
    }
    let g = app
        .get(&format!("{PRODUCTS}/{id}"), Some(&tok_a))
        .await
        .expect(200)
        .json();
    assert_eq!(g["status"], "draft");
    assert_eq!(g["supplier_id"], a);
    assert_eq!(g["created_at_ms"], p["created_at_ms"]);
    app.get(&format!("{PRODUCTS}/{id}"), None)
        .await
        .expect_error(404, "not_found");
    // Nobody but suppliers and operators creates products.
    let buyer = app.buyer("+8613800138010").await;
    app.post(PRODUCTS, Some(&buyer), valid_product())
        .await
        .expect_error(403, "forbidden");
    app.post(PRODUCTS, None, valid_product())
        .await
        .expect_error(401, "unauthenticated");
    app.post(PRODUCTS, Some("not-a-token"), valid_product())
        .await
        .expect_error(401, "unauthenticated");
    assert_eq!(product_count(&app, &op).await, 1);
}

async fn huge_and_hostile_strings(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Strings").await;
    let long = "长".repeat(10_000);
    let cases = [
        json!({"translations": {"en": {"title": long}}}),
        json!({"translations": {"en": {"title": "x".repeat(201)}}}),
        json!({"translations": {"en": {"title": "   "}}}),
        json!({"translations": {}}),
        json!({"translations": {"en": {"title": "Ok", "description": "d".repeat(10_000)}}}),
        json!({"translations": {"en": {"title": "Ok"}}, "attributes": {"material": "v".repeat(10_000)}}),
        json!({"translations": {"en": {"title": "Ok"}}, "attributes": {"k".repeat(10_000): "v"}}),
        json!({"translations": {"en": {"title": "Ok"}}, "attributes": {"Material": "cotton"}}),
        json!({"translations": {"en": {"title": "Ok"}}, "attributes": {"material": ""}}),
        json!({"translations": {"en": {"title": "Ok"}}, "media": [format!("https://x/{}", "a".repeat(10_000))]}),
        json!({"translations": {"en": {"title": "Ok"}}, "media": ["javascript:alert(1)"]}),
        json!({"translations": {"en": {"title": "Ok"}}, "media": vec!["https://x/y.jpg"; 21]}),
        json!({"translations": {"en": {"title": "Ok"}}, "variants": {"colors": ["c".repeat(10_000)], "sizes": ["S"], "prices": []}}),
        json!({"translations": {"en": {"title": "Ok"}}, "variants": {"colors": [""], "sizes": ["S"], "prices": []}}),
        json!({"translations": {"en": {"title": "Ok"}}, "variants": {"colors": [], "sizes": ["S"], "prices": []}}),
        json!({"translations": {"en": {"title": "Ok"}}, "variants": {"colors": (0..15).map(|i| format!("c{i}")).collect::<Vec<_>>(), "sizes": (0..15).map(|i| format!("s{i}")).collect::<Vec<_>>(), "prices": []}}),
        // Control characters (PostgreSQL cannot even store a NUL).
        json!({"translations": {"en": {"title": "nul\u{0}byte"}}}),
        json!({"translations": {"en": {"title": "bell\u{7}"}}}),
        json!({"translations": {"en": {"title": "Ok", "description": "nul\u{0}"}}}),
        json!({"translations": {"en": {"title": "Ok"}}, "attributes": {"material": "a\u{0}b"}}),
        json!({"translations": {"en": {"title": "Ok"}}, "variants": {"colors": ["R\u{0}"], "sizes": ["S"], "prices": []}}),
    ];
    for body in cases {
        let r = app.post(PRODUCTS, Some(&tok), body.clone()).await;
        assert_eq!(
            refused(&r),
            "invalid_field",
            "{}",
            &body.to_string()[..body.to_string().len().min(200)]
        );
        assert_eq!(r.status.as_u16(), 422);
    }
    assert_eq!(product_count(&app, &op).await, 0);
    // A description may have line breaks and tabs.
    let p = app
        .post(
            PRODUCTS,
            Some(&tok),
            json!({"translations": {"en": {"title": "Lines", "description": "a\nb\tc"}}}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(p["description"], "a\nb\tc");
    let id = p["id"].as_i64().unwrap();
    // SKU codes and options.
    for body in [
        json!({"code": "ab", "color": "Red", "size": "S", "prices": []}),
        json!({"code": "A".repeat(41), "color": "Red", "size": "S", "prices": []}),
        json!({"code": "has space", "color": "Red", "size": "S", "prices": []}),
        json!({"code": "ÄÖÜ-123", "color": "Red", "size": "S", "prices": []}),
        json!({"code": "NUL\u{0}123", "color": "Red", "size": "S", "prices": []}),
        json!({"color": "Red", "size": "s".repeat(41), "prices": []}),
        json!({"color": "Red\u{0}", "size": "S", "prices": []}),
    ] {
        app.post(&format!("{PRODUCTS}/{id}/skus"), Some(&tok), body)
            .await
            .expect_error(422, "invalid_field");
    }
    // Names of categories and brands.
    for names in [
        json!({"en": "n".repeat(10_000)}),
        json!({"en": ""}),
        json!({"en": "a\u{0}b"}),
    ] {
        app.post("/api/v1/categories", Some(&op), json!({"names": names}))
            .await
            .expect_error(422, "invalid_field");
    }
    for name in ["n".repeat(10_000), String::new(), "a\u{0}b".into()] {
        app.post("/api/v1/brands", Some(&op), json!({"name": name}))
            .await
            .expect_error(422, "invalid_field");
    }
    assert!(app.get("/api/v1/categories", None).await.json()["items"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(app.get("/api/v1/brands", None).await.json()["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // Search text.
    for q in [
        format!("q={}", "x".repeat(10_000)),
        "q=a%00b".into(),
        "attr=material:a%00b".into(),
    ] {
        app.get(&format!("{PRODUCTS}?{q}"), None)
            .await
            .expect_error(422, "invalid_query");
    }
}

async fn bad_path_ids(app: TestApp) {
    let (_, tok) = app.supplier("Paths").await;
    for id in [
        "abc",
        "-1",
        "0",
        "99999999999999999999",
        "1.5",
        "%00",
        "1e3",
        "999999",
    ] {
        for (method, path) in [
            (Method::GET, format!("{PRODUCTS}/{id}")),
            (Method::PATCH, format!("{PRODUCTS}/{id}")),
            (Method::POST, format!("{PRODUCTS}/{id}/status")),
            (Method::POST, format!("{PRODUCTS}/{id}/skus")),
            (Method::PUT, format!("/api/v1/skus/{id}/prices")),
            (Method::GET, format!("/api/v1/suppliers/{id}")),
        ] {
            let body = match method {
                Method::PATCH => Some(json!({})),
                Method::POST if path.ends_with("status") => Some(json!({"status": "active"})),
                Method::POST => Some(json!({"color": "Red", "size": "S", "prices": []})),
                Method::PUT => Some(json!({"prices": [{"currency": "CNY", "amount_minor": 1}]})),
                _ => None,
            };
            let r = app
                .send(method.clone(), &path, Some(&tok), body.as_ref(), &[])
                .await;
            assert_eq!(
                r.status.as_u16(),
                404,
                "{method} {path}: {}",
                String::from_utf8_lossy(&r.bytes)
            );
            assert_eq!(r.code(), "not_found", "{method} {path}");
            assert_eq!(
                r.headers.get("content-type").unwrap().to_str().unwrap(),
                "application/json"
            );
        }
    }
    app.get("/api/v1/skus/by-code/%00%01", None)
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/api/v1/skus/by-code/{}", "A".repeat(5000)), None)
        .await
        .expect_error(404, "not_found");
    app.get("/api/v1/no/such/route", None)
        .await
        .expect_error(404, "route_not_found");
    // A wrong method is a JSON error too.
    let r = app
        .delete(&format!("{PRODUCTS}/1/status"), Some(&tok))
        .await;
    refused(&r);
}

async fn bad_queries(app: TestApp) {
    for q in [
        "attr=material",
        "attr=:cotton",
        "attr=Material:cotton",
        "attr=a:1&attr=b:2&attr=c:3&attr=d:4&attr=e:5&attr=f:6",
        "limit=abc",
        "category=abc",
        "category=99999999999999999999",
        "supplier_id=x",
        "status=live",
        "sort=price",
    ] {
        let r = app.get(&format!("{PRODUCTS}?{q}"), None).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_query".into()),
            "{q}"
        );
    }
    app.get(&format!("{PRODUCTS}?cursor=%FF%FE"), None)
        .await
        .expect_error(422, "invalid_cursor");
    // A colon in the value is kept: key is what comes before the first one.
    app.get(&format!("{PRODUCTS}?attr=size:1:2"), None)
        .await
        .expect(200);
}

async fn other_tenants_ids(app: TestApp) {
    let op = app.operator().await;
    let (_, tok_a) = app.supplier("Tenant A").await;
    let (_, tok_b) = app.supplier("Tenant B").await;
    let p = app.product(&tok_a, "A's product").await;
    let id = p["id"].as_i64().unwrap();
    let sku = p["skus"][0]["id"].as_i64().unwrap();
    let code = p["skus"][0]["code"].as_str().unwrap().to_owned();
    let before = app
        .get(&format!("{PRODUCTS}/{id}"), Some(&op))
        .await
        .expect(200)
        .json();
    for (method, path, body) in [
        (Method::GET, format!("{PRODUCTS}/{id}"), None),
        (Method::GET, format!("/api/v1/skus/by-code/{code}"), None),
        (
            Method::PATCH,
            format!("{PRODUCTS}/{id}"),
            Some(json!({"translations": {"en": {"title": "Mine now"}}})),
        ),
        (
            Method::POST,
            format!("{PRODUCTS}/{id}/status"),
            Some(json!({"status": "archived"})),
        ),
        (
            Method::POST,
            format!("{PRODUCTS}/{id}/skus"),
            Some(json!({"color": "Mine", "size": "S", "prices": []})),
        ),
        (
            Method::PUT,
            format!("/api/v1/skus/{sku}/prices"),
            Some(json!({"prices": [{"currency": "CNY", "amount_minor": 1}]})),
        ),
    ] {
        app.send(method, &path, Some(&tok_b), body.as_ref(), &[])
            .await
            .expect_error(404, "not_found");
    }
    let after = app
        .get(&format!("{PRODUCTS}/{id}"), Some(&op))
        .await
        .expect(200)
        .json();
    assert_eq!(before, after, "nothing changed");
}

async fn rate_limits(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        ApiConfig {
            read_rate_per_sec: 2,
            write_rate_per_sec: 2,
            ..ApiConfig::default()
        },
    )
    .await
    else {
        return;
    };
    let op = app.operator().await;
    let (_, tok) = app.supplier("Hasty").await;
    // Writes, by credential: the burst is 4, the refill two a second.
    let mut created = 0;
    let mut limited: Option<(Reply, String)> = None;
    for i in 0..10 {
        let key = format!("hasty-{i}");
        let r = app
            .send(
                Method::POST,
                PRODUCTS,
                Some(&tok),
                Some(&valid_product()),
                &[("idempotency-key", &key)],
            )
            .await;
        if r.status.as_u16() == 429 {
            limited = Some((r, key));
            break;
        }
        r.expect(201);
        created += 1;
    }
    let (r, key) = limited.expect("ten writes at once are limited");
    assert!(created >= 1);
    let r = r.expect_error(429, "rate_limited");
    let retry: u64 = r
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    // Another client has its own budget.
    let (_, other) = app.supplier("Patient").await;
    app.post(PRODUCTS, Some(&other), valid_product())
        .await
        .expect(201);
    // A refused request did not run, and its key was not spent: a retry runs it.
    let mut outcome = None;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let r = app
            .send(
                Method::POST,
                PRODUCTS,
                Some(&tok),
                Some(&valid_product()),
                &[("idempotency-key", &key)],
            )
            .await;
        if r.status.as_u16() != 429 {
            outcome = Some(r);
            break;
        }
    }
    let r = outcome.expect("the limit lifts");
    r.expect(201);
    assert!(operator_sees(&app, &op, created + 2).await);

    // Reads, by address.
    let mut saw = false;
    for _ in 0..30 {
        let r = app.get(PRODUCTS, None).await;
        if r.status.as_u16() == 429 {
            r.expect_error(429, "rate_limited");
            saw = true;
            break;
        }
        r.expect(200);
    }
    assert!(saw, "thirty reads at once are limited");
}

/// The operator sees exactly `n` products (read with retries past the read limit).
async fn operator_sees(app: &TestApp, op: &str, n: usize) -> bool {
    for _ in 0..40 {
        let r = app.get("/api/v1/products?limit=100", Some(op)).await;
        if r.status.as_u16() == 429 {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            continue;
        }
        return r.expect(200).json()["items"].as_array().unwrap().len() == n;
    }
    false
}

on_both_databases!(
    malformed_json,
    wrong_types_and_unknown_fields,
    absurd_prices,
    unknown_currency,
    content_type_is_required,
    body_over_the_default_limit,
    server_owned_fields,
    huge_and_hostile_strings,
    bad_path_ids,
    bad_queries,
    other_tenants_ids,
);

/// These start their own app with other limits, on each database.
mod limits {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_body_limit_sqlite() {
        body_over_a_small_limit(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_body_limit_postgres() {
        body_over_a_small_limit(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rate_limits_sqlite() {
        rate_limits(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rate_limits_postgres() {
        rate_limits(Backend::Postgres).await;
    }
}
