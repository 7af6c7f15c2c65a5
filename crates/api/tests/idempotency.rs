//! `Idempotency-Key` with Stripe's semantics, through HTTP: the first result
//! is stored and replayed byte for byte; a reuse with another request is a
//! 409; concurrent requests with one key run once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const PRODUCTS: &str = "/api/v1/products";
const REPLAYED: &str = "idempotent-replayed";

fn body(title: &str) -> Value {
    json!({
        "translations": {"en": {"title": title}},
        "variants": {"colors": ["Red", "Blue"], "sizes": ["S"], "prices": [{"currency": "CNY", "amount_minor": 990}]}
    })
}

async fn with_key(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    key: &str,
) -> Reply {
    app.send(method, path, token, body, &[("idempotency-key", key)])
        .await
}

/// Product ids an operator sees.
async fn all_products(app: &TestApp, op: &str) -> Vec<i64> {
    app.get("/api/v1/products?limit=100", Some(op))
        .await
        .expect(200)
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

fn replayed(r: &Reply) -> bool {
    r.headers.get(REPLAYED).is_some_and(|v| v == "true")
}

async fn retry_replays_the_first_result(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Retrier").await;
    let b = body("Once");
    let first = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&b),
        "create-once",
    )
    .await
    .expect(201);
    assert!(!replayed(&first), "the first run is not a replay");
    let second = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&b),
        "create-once",
    )
    .await
    .expect(201);
    assert!(replayed(&second));
    assert_eq!(first.bytes, second.bytes, "byte-identical");
    assert_eq!(
        second.headers.get("content-type").unwrap(),
        first.headers.get("content-type").unwrap()
    );
    // Even when the product changed since, the retry gets the first answer.
    let id = first.json()["id"].as_i64().unwrap();
    app.patch(
        &format!("{PRODUCTS}/{id}"),
        Some(&tok),
        json!({"translations": {"en": {"title": "Changed"}}}),
    )
    .await
    .expect(200);
    let third = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&b),
        "create-once",
    )
    .await
    .expect(201);
    assert_eq!(first.bytes, third.bytes);
    assert_eq!(all_products(&app, &op).await, vec![id], "one product only");

    // The same for the other writes: a retried SKU add is not a duplicate.
    let sku = json!({"code": "ONCE-1", "color": "Green", "size": "S", "prices": []});
    let path = format!("{PRODUCTS}/{id}/skus");
    let a = with_key(
        &app,
        Method::POST,
        &path,
        Some(&tok),
        Some(&sku),
        "sku-once",
    )
    .await
    .expect(201);
    let b2 = with_key(
        &app,
        Method::POST,
        &path,
        Some(&tok),
        Some(&sku),
        "sku-once",
    )
    .await
    .expect(201);
    assert_eq!(a.bytes, b2.bytes);
    assert!(replayed(&b2));
    // Without the key, the same request is a new one (and a duplicate).
    app.post(&path, Some(&tok), sku.clone())
        .await
        .expect_error(409, "duplicate_variant");
    let g = app
        .get(&format!("{PRODUCTS}/{id}"), Some(&tok))
        .await
        .expect(200)
        .json();
    assert_eq!(g["skus"].as_array().unwrap().len(), 3);
    // A status change and a PATCH replay too.
    let sku_id = g["skus"][0]["id"].as_i64().unwrap();
    let prices = json!({"prices": [{"currency": "USD", "amount_minor": 5}]});
    let p1 = with_key(
        &app,
        Method::PUT,
        &format!("/api/v1/skus/{sku_id}/prices"),
        Some(&tok),
        Some(&prices),
        "prices-1",
    )
    .await
    .expect(200);
    let p2 = with_key(
        &app,
        Method::PUT,
        &format!("/api/v1/skus/{sku_id}/prices"),
        Some(&tok),
        Some(&prices),
        "prices-1",
    )
    .await
    .expect(200);
    assert_eq!(p1.bytes, p2.bytes);
    assert!(replayed(&p2));
    let st = json!({"status": "active"});
    let s1 = with_key(
        &app,
        Method::POST,
        &format!("{PRODUCTS}/{id}/status"),
        Some(&tok),
        Some(&st),
        "publish-1",
    )
    .await
    .expect(200);
    let s2 = with_key(
        &app,
        Method::POST,
        &format!("{PRODUCTS}/{id}/status"),
        Some(&tok),
        Some(&st),
        "publish-1",
    )
    .await
    .expect(200);
    assert_eq!(
        s1.bytes, s2.bytes,
        "not a 409 illegal_transition: the first result"
    );
    // Operator-only creates.
    let brand = json!({"name": "Once Brand"});
    let b1 = with_key(
        &app,
        Method::POST,
        "/api/v1/brands",
        Some(&op),
        Some(&brand),
        "brand-1",
    )
    .await
    .expect(201);
    let b3 = with_key(
        &app,
        Method::POST,
        "/api/v1/brands",
        Some(&op),
        Some(&brand),
        "brand-1",
    )
    .await
    .expect(201);
    assert_eq!(b1.bytes, b3.bytes);
    assert_eq!(
        app.get("/api/v1/brands", None).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn reuse_with_another_request_is_refused(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Reuser").await;
    let first = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&body("First")),
        "k-1",
    )
    .await
    .expect(201);
    let id = first.json()["id"].as_i64().unwrap();
    // Another body.
    with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&body("Second")),
        "k-1",
    )
    .await
    .expect_error(409, "idempotency_key_reused");
    // Another path.
    with_key(
        &app,
        Method::POST,
        &format!("{PRODUCTS}/{id}/skus"),
        Some(&tok),
        Some(&json!({"color": "Green", "size": "S", "prices": []})),
        "k-1",
    )
    .await
    .expect_error(409, "idempotency_key_reused");
    // Another method on the same path.
    with_key(
        &app,
        Method::PUT,
        PRODUCTS,
        Some(&tok),
        Some(&body("First")),
        "k-1",
    )
    .await
    .expect_error(409, "idempotency_key_reused");
    // Another query string.
    with_key(
        &app,
        Method::POST,
        &format!("{PRODUCTS}?x=1"),
        Some(&tok),
        Some(&body("First")),
        "k-1",
    )
    .await
    .expect_error(409, "idempotency_key_reused");
    assert_eq!(all_products(&app, &op).await, vec![id]);
    let g = app
        .get(&format!("{PRODUCTS}/{id}"), Some(&tok))
        .await
        .json();
    assert_eq!(
        g["skus"].as_array().unwrap().len(),
        2,
        "the SKU add did not run"
    );
    // The original still replays.
    let again = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&body("First")),
        "k-1",
    )
    .await
    .expect(201);
    assert_eq!(again.bytes, first.bytes);
}

async fn concurrent_requests_run_once(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Racer").await;
    let b = body("Raced");
    for round in 0..3 {
        let key = format!("race-{round}");
        let replies = futures::future::join_all(
            (0..8).map(|_| with_key(&app, Method::POST, PRODUCTS, Some(&tok), Some(&b), &key)),
        )
        .await;
        let ran: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status.as_u16() == 201 && !replayed(r))
            .collect();
        assert_eq!(
            ran.len(),
            1,
            "exactly one ran: {:?}",
            replies.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        let original = &ran[0].bytes;
        for r in &replies {
            match r.status.as_u16() {
                201 => assert_eq!(&r.bytes, original, "a replay is identical"),
                409 => assert_eq!(r.code(), "idempotency_key_in_flight"),
                other => panic!("unexpected {other}: {}", String::from_utf8_lossy(&r.bytes)),
            }
        }
        // Afterwards every retry is a replay.
        let after = with_key(&app, Method::POST, PRODUCTS, Some(&tok), Some(&b), &key)
            .await
            .expect(201);
        assert!(replayed(&after));
        assert_eq!(&after.bytes, original);
    }
    assert_eq!(
        all_products(&app, &op).await.len(),
        3,
        "one product per key"
    );

    // Concurrent requests with one key but different bodies: one runs, the rest are refused.
    let replies = futures::future::join_all((0..6).map(|i| {
        let b = body(&format!("Different {i}"));
        let app = &app;
        let tok = tok.clone();
        async move {
            with_key(
                app,
                Method::POST,
                PRODUCTS,
                Some(&tok),
                Some(&b),
                "race-diff",
            )
            .await
        }
    }))
    .await;
    let created = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    assert_eq!(created, 1);
    for r in replies.iter().filter(|r| r.status.as_u16() != 201) {
        assert_eq!(r.status.as_u16(), 409);
        assert!(
            matches!(
                r.code().as_str(),
                "idempotency_key_reused" | "idempotency_key_in_flight"
            ),
            "{}",
            r.code()
        );
    }
    assert_eq!(all_products(&app, &op).await.len(), 4);
}

async fn keys_are_scoped_per_credential(app: TestApp) {
    let op = app.operator().await;
    let (a, tok_a) = app.supplier("Scope A").await;
    let (b, tok_b) = app.supplier("Scope B").await;
    let same = body("Same body");
    let ra = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok_a),
        Some(&same),
        "shared-key",
    )
    .await
    .expect(201);
    let rb = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok_b),
        Some(&same),
        "shared-key",
    )
    .await
    .expect(201);
    assert!(!replayed(&rb), "B's request ran on its own");
    assert_eq!(ra.json()["supplier_id"], a);
    assert_eq!(rb.json()["supplier_id"], b);
    assert_ne!(ra.json()["id"], rb.json()["id"]);
    // Within one credential a key is still one request; another credential may use it freely.
    with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok_b),
        Some(&body("Other")),
        "shared-key",
    )
    .await
    .expect_error(409, "idempotency_key_reused");
    let (_, tok_c) = app.supplier("Scope C").await;
    with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok_c),
        Some(&body("Other")),
        "shared-key",
    )
    .await
    .expect(201);
    // Requests without credentials are scoped too, and never see a signed-in user's result.
    let anon = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        None,
        Some(&same),
        "shared-key",
    )
    .await
    .expect_error(401, "unauthenticated");
    assert!(!replayed(&anon));
    assert_eq!(all_products(&app, &op).await.len(), 3);
}

async fn invalid_keys_are_refused(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Keys").await;
    let long = "k".repeat(300);
    for key in [
        "",
        " ",
        "has space",
        long.as_str(),
        "ключ",
        "clé-1",
        "tab\tkey",
    ] {
        let r = app
            .send(
                Method::POST,
                PRODUCTS,
                Some(&tok),
                Some(&body("Keyed")),
                &[("idempotency-key", key)],
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, "invalid_idempotency_key".to_owned()),
            "key {key:?}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
    }
    // Raw bytes that are not UTF-8 at all.
    let r = app
        .client
        .post(format!("{}{PRODUCTS}", app.url))
        .bearer_auth(&tok)
        .json(&body("Keyed"))
        .header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes(b"\xff\xfe-key").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "invalid_idempotency_key"
    );
    assert!(all_products(&app, &op).await.is_empty(), "nothing ran");
    // The longest key allowed works.
    let max = "k".repeat(255);
    with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&body("Keyed")),
        &max,
    )
    .await
    .expect(201);
    let r = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&body("Keyed")),
        &max,
    )
    .await
    .expect(201);
    assert!(replayed(&r));
    assert_eq!(all_products(&app, &op).await.len(), 1);
}

async fn client_errors_are_replayed_too(app: TestApp) {
    let (_, tok) = app.supplier("Errors").await;
    let p = app
        .post(
            PRODUCTS,
            Some(&tok),
            json!({"translations": {"en": {"title": "Unpriced"}}, "variants": {"colors": ["Red"], "sizes": ["S"], "prices": []}}),
        )
        .await
        .expect(201)
        .json();
    let id = p["id"].as_i64().unwrap();
    let sku = p["skus"][0]["id"].as_i64().unwrap();
    let status_path = format!("{PRODUCTS}/{id}/status");
    let st = json!({"status": "active"});
    let first = with_key(
        &app,
        Method::POST,
        &status_path,
        Some(&tok),
        Some(&st),
        "publish-early",
    )
    .await
    .expect_error(409, "illegal_transition");
    // Make the request one that would now succeed...
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&tok),
        json!({"prices": [{"currency": "CNY", "amount_minor": 100}]}),
    )
    .await
    .expect(200);
    // ...the retry still gets the first answer, and nothing ran.
    let again = with_key(
        &app,
        Method::POST,
        &status_path,
        Some(&tok),
        Some(&st),
        "publish-early",
    )
    .await
    .expect_error(409, "illegal_transition");
    assert!(replayed(&again));
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(
        app.get(&format!("{PRODUCTS}/{id}"), Some(&tok))
            .await
            .json()["status"],
        "draft"
    );
    // A new key runs it.
    with_key(
        &app,
        Method::POST,
        &status_path,
        Some(&tok),
        Some(&st),
        "publish-now",
    )
    .await
    .expect(200);

    // Validation errors and malformed bodies replay as well.
    let bad = json!({"translations": {"en": {"title": ""}}});
    let a = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&bad),
        "bad-1",
    )
    .await
    .expect_error(422, "invalid_field");
    let b = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&bad),
        "bad-1",
    )
    .await
    .expect_error(422, "invalid_field");
    assert_eq!(a.bytes, b.bytes);
    assert!(replayed(&b));
}

async fn reads_ignore_the_header(app: TestApp) {
    let (_, tok) = app.supplier("Reader").await;
    let id = app.product(&tok, "Read me").await["id"].as_i64().unwrap();
    let path = format!("{PRODUCTS}/{id}");
    let r1 = with_key(&app, Method::GET, &path, Some(&tok), None, "read-key")
        .await
        .expect(200);
    assert!(!replayed(&r1));
    assert_eq!(r1.json()["title"], "Read me");
    app.patch(
        &path,
        Some(&tok),
        json!({"translations": {"en": {"title": "Read me again"}}}),
    )
    .await
    .expect(200);
    let r2 = with_key(&app, Method::GET, &path, Some(&tok), None, "read-key")
        .await
        .expect(200);
    assert!(!replayed(&r2));
    assert_eq!(
        r2.json()["title"],
        "Read me again",
        "a GET is never replayed"
    );
    // Not even an invalid key matters on a read.
    with_key(&app, Method::GET, &path, Some(&tok), None, "")
        .await
        .expect(200);
    // A GET did not spend the key: a write may still use it.
    let created = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&body("Keyed write")),
        "read-key",
    )
    .await
    .expect(201);
    assert!(!replayed(&created));
}

async fn requests_without_a_key_run_every_time(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Keyless").await;
    // Sent without the header at all (post_raw does not add one).
    let raw = serde_json::to_vec(&body("Keyless")).unwrap();
    let a = app
        .post_raw(PRODUCTS, Some(&tok), "application/json", raw.clone())
        .await
        .expect(201);
    let b = app
        .post_raw(PRODUCTS, Some(&tok), "application/json", raw)
        .await
        .expect(201);
    assert!(!replayed(&a) && !replayed(&b));
    let ids: BTreeSet<i64> = all_products(&app, &op).await.into_iter().collect();
    assert_eq!(ids.len(), 2);
}

/// The service under the middleware, with the test clock: a first request
/// that died in flight is taken over after a minute, results are kept a day.
async fn stale_keys_and_retention(app: TestApp) {
    use souk_engine::idempotency::Begin;
    let svc = &app.services.idempotency;
    let is_run = |b: &Result<Begin, souk_core::DomainError>| matches!(b, Ok(Begin::Run));
    let code = |b: Result<Begin, souk_core::DomainError>| b.err().map(|e| e.code.as_str());
    assert!(is_run(&svc.begin("scope-a", "k", "h1").await));
    assert_eq!(
        code(svc.begin("scope-a", "k", "h1").await),
        Some("idempotency_key_in_flight")
    );
    assert_eq!(
        code(svc.begin("scope-a", "k", "h2").await),
        Some("idempotency_key_reused")
    );
    // Another scope is another key.
    assert!(is_run(&svc.begin("scope-b", "k", "h2").await));
    // Still running after 30 s: still in flight. After a minute: taken to have died.
    app.clock.advance_ms(30_000);
    assert_eq!(
        code(svc.begin("scope-a", "k", "h1").await),
        Some("idempotency_key_in_flight")
    );
    app.clock.advance_ms(31_000);
    assert_eq!(
        code(svc.begin("scope-a", "k", "h2").await),
        Some("idempotency_key_reused"),
        "only the same request may take over"
    );
    assert!(is_run(&svc.begin("scope-a", "k", "h1").await));
    assert_eq!(
        code(svc.begin("scope-a", "k", "h1").await),
        Some("idempotency_key_in_flight"),
        "the takeover is the one running now"
    );
    svc.finish("scope-a", "k", 201, Some("application/json"), b"{\"id\":1}")
        .await
        .unwrap();
    match svc.begin("scope-a", "k", "h1").await {
        Ok(Begin::Replay {
            status_code,
            content_type,
            body,
        }) => {
            assert_eq!(status_code, 201);
            assert_eq!(content_type.as_deref(), Some("application/json"));
            assert_eq!(body, b"{\"id\":1}");
        }
        other => panic!("expected a replay, got {other:?}"),
    }
    // A finished request is never taken over, however old.
    app.clock.advance_ms(120_000);
    assert!(matches!(
        svc.begin("scope-a", "k", "h1").await,
        Ok(Begin::Replay { .. })
    ));
    // A request that failed on the server gives its key back.
    assert!(is_run(&svc.begin("scope-a", "k2", "h").await));
    svc.abandon("scope-a", "k2").await.unwrap();
    assert!(is_run(&svc.begin("scope-a", "k2", "h").await));
    // After a day, stored results are purged and the key is free again.
    app.clock.advance_ms(24 * 60 * 60 * 1000 + 1_000);
    assert!(
        svc.purge().await.unwrap() >= 1,
        "the finished scope-a k at least"
    );
    assert!(is_run(&svc.begin("scope-a", "k", "h2").await));
    // The one left in flight long ago may run again too.
    assert!(is_run(&svc.begin("scope-b", "k", "h2").await));
}

/// A key stored before a restart is still known after it: the new node
/// loads the stored keys and replays the first answer, not a second run.
async fn keys_stored_before_a_restart_replay_after_it(app: TestApp) {
    let op = app.operator().await;
    let (_, tok) = app.supplier("Restarter").await;
    let b = body("Before the restart");
    let first = with_key(
        &app,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&b),
        "k-restart",
    )
    .await
    .expect(201);
    let node = app.restarted().await;
    for _ in 0..500 {
        if node.services.idempotency.keys_loaded() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(node.services.idempotency.keys_loaded());
    let again = with_key(
        &node,
        Method::POST,
        PRODUCTS,
        Some(&tok),
        Some(&b),
        "k-restart",
    )
    .await
    .expect(201);
    assert!(replayed(&again));
    assert_eq!(first.bytes, again.bytes);
    // A key the new node has never seen runs.
    let other = with_key(&node, Method::POST, PRODUCTS, Some(&tok), Some(&b), "k-new")
        .await
        .expect(201);
    assert!(!replayed(&other));
    assert_eq!(all_products(&app, &op).await.len(), 2);
}

on_both_databases!(
    keys_stored_before_a_restart_replay_after_it,
    stale_keys_and_retention,
    retry_replays_the_first_result,
    reuse_with_another_request_is_refused,
    concurrent_requests_run_once,
    keys_are_scoped_per_credential,
    invalid_keys_are_refused,
    client_errors_are_replayed_too,
    reads_ignore_the_header,
    requests_without_a_key_run_every_time,
);
