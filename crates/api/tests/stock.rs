//! Omnichannel stock through HTTP: receive, reserve, commit, release, expiry,
//! transfers, routing, the ledger rebuild and access. The last-unit race is
//! in `races.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::TestApp;
use serde_json::{json, Value};

struct Market {
    op: String,
    sku: i64,
    warehouse: i64,
    store_a: i64,
    store_b: i64,
}

async fn location(app: &TestApp, op: &str, kind: &str, name: &str, region: &str) -> i64 {
    let caps = if kind == "store" {
        json!({"ship": true, "pickup": true, "sell_in_person": true})
    } else {
        json!({"ship": true})
    };
    app.post(
        "/api/v1/locations",
        Some(op),
        json!({"kind": kind, "name": name, "capabilities": caps,
               "address": {"line1": "1 Road", "city": "City", "region": region, "country": "CN"}}),
    )
    .await
    .expect(201)
    .json()["id"]
        .as_i64()
        .unwrap()
}

async fn market(app: &TestApp) -> Market {
    let op = app.operator().await;
    let (_, sup) = app.supplier("Stock Supplier").await;
    let product = app.product(&sup, "Stocked Dress").await;
    let pid = product["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/products/{pid}/status"),
        Some(&sup),
        json!({"status": "active"}),
    )
    .await
    .expect(200);
    let sku = product["skus"][0]["id"].as_i64().unwrap();
    Market {
        sku,
        warehouse: location(app, &op, "cloud_warehouse", "Cloud", "Shanghai").await,
        store_a: location(app, &op, "store", "Store A", "Zhejiang").await,
        store_b: location(app, &op, "store", "Store B", "Jiangsu").await,
        op,
    }
}

async fn receive(app: &TestApp, m: &Market, loc: i64, qty: i64) -> Value {
    app.post(
        "/api/v1/stock/receive",
        Some(&m.op),
        json!({"sku_id": m.sku, "location_id": loc, "qty": qty}),
    )
    .await
    .expect(200)
    .json()
}

async fn reserve(app: &TestApp, token: &str, body: Value) -> common::Reply {
    app.post("/api/v1/reservations", Some(token), body).await
}

async fn ledger_is_consistent(app: &TestApp, op: &str) {
    let check = app
        .get("/api/v1/stock/check", Some(op))
        .await
        .expect(200)
        .json();
    assert_eq!(check["consistent"], true, "{check}");
}

async fn reserve_commit_release_and_ledger(app: TestApp) {
    let m = market(&app).await;
    let level = receive(&app, &m, m.warehouse, 10).await;
    assert_eq!(
        (level["on_hand"].as_i64(), level["available"].as_i64()),
        (Some(10), Some(10))
    );
    let buyer = app.buyer("+8613700000001").await;

    let r = reserve(&app, &buyer, json!({"sku_id": m.sku, "qty": 3}))
        .await
        .expect(201)
        .json();
    assert_eq!(r["state"], "held");
    assert_eq!(r["location_id"].as_i64(), Some(m.warehouse));
    let atp = app
        .get(&format!("/api/v1/skus/{}/availability", m.sku), None)
        .await
        .expect(200)
        .json();
    assert_eq!(atp["available_to_promise"].as_i64(), Some(7));

    // The holder may release; stock returns to the pool.
    let rid = r["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/reservations/{rid}/release"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/reservations/{rid}/release"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");

    // Another is committed (shipped) by the operator: on-hand drops.
    let r2 = reserve(&app, &buyer, json!({"sku_id": m.sku, "qty": 4}))
        .await
        .expect(201)
        .json();
    let rid2 = r2["id"].as_i64().unwrap();
    // The buyer cannot ship it.
    app.post(
        &format!("/api/v1/reservations/{rid2}/commit"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");
    let c = app
        .post(
            &format!("/api/v1/reservations/{rid2}/commit"),
            Some(&m.op),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(c["state"], "committed");
    let levels = app
        .get(&format!("/api/v1/stock?sku_id={}", m.sku), Some(&m.op))
        .await
        .expect(200)
        .json();
    let wh = levels["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location_id"].as_i64() == Some(m.warehouse))
        .unwrap()
        .clone();
    assert_eq!(
        (wh["on_hand"].as_i64(), wh["reserved"].as_i64()),
        (Some(6), Some(0))
    );

    // The ledger tells the same story: receive, reserve, release, reserve, commit.
    let mv = app
        .get(
            &format!("/api/v1/stock/movements?sku_id={}", m.sku),
            Some(&m.op),
        )
        .await
        .expect(200)
        .json();
    let reasons: Vec<&str> = mv["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["receive", "reserve", "release", "reserve", "commit"]
    );
    ledger_is_consistent(&app, &m.op).await;
}

async fn no_overselling_and_bad_quantities(app: TestApp) {
    let m = market(&app).await;
    receive(&app, &m, m.warehouse, 2).await;
    let buyer = app.buyer("+8613700000002").await;
    reserve(&app, &buyer, json!({"sku_id": m.sku, "qty": 3}))
        .await
        .expect_error(409, "out_of_stock");
    for qty in [0, -1, i64::MAX] {
        reserve(&app, &buyer, json!({"sku_id": m.sku, "qty": qty}))
            .await
            .expect_error(422, "invalid_quantity");
        app.post(
            "/api/v1/stock/receive",
            Some(&m.op),
            json!({"sku_id": m.sku, "location_id": m.warehouse, "qty": qty}),
        )
        .await
        .expect_error(422, "invalid_quantity");
    }
    reserve(&app, &buyer, json!({"sku_id": 999_999, "qty": 1}))
        .await
        .expect_error(404, "not_found");
    app.post(
        "/api/v1/stock/receive",
        Some(&m.op),
        json!({"sku_id": 999_999, "location_id": m.warehouse, "qty": 1}),
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        "/api/v1/stock/receive",
        Some(&m.op),
        json!({"sku_id": m.sku, "location_id": 999_999, "qty": 1}),
    )
    .await
    .expect_error(404, "not_found");
    // A count cannot take away units already promised.
    reserve(&app, &buyer, json!({"sku_id": m.sku, "qty": 2}))
        .await
        .expect(201);
    app.post(
        "/api/v1/stock/adjust",
        Some(&m.op),
        json!({"sku_id": m.sku, "location_id": m.warehouse, "delta": -1, "note": "count"}),
    )
    .await
    .expect_error(409, "illegal_transition");
    app.post(
        "/api/v1/stock/adjust",
        Some(&m.op),
        json!({"sku_id": m.sku, "location_id": m.warehouse, "delta": 1, "note": ""}),
    )
    .await
    .expect_error(422, "invalid_field");
    ledger_is_consistent(&app, &m.op).await;
}

async fn expired_holds_return_to_the_pool_and_cannot_be_committed(app: TestApp) {
    let m = market(&app).await;
    receive(&app, &m, m.warehouse, 1).await;
    let buyer = app.buyer("+8613700000003").await;
    let r = reserve(
        &app,
        &buyer,
        json!({"sku_id": m.sku, "qty": 1, "hold_seconds": 60}),
    )
    .await
    .expect(201)
    .json();
    let rid = r["id"].as_i64().unwrap();
    let other = app.buyer("+8613700000004").await;
    reserve(&app, &other, json!({"sku_id": m.sku, "qty": 1}))
        .await
        .expect_error(409, "out_of_stock");

    app.clock.advance_ms(61_000);
    // Past expiry, before the sweep: commit is refused.
    app.post(
        &format!("/api/v1/reservations/{rid}/commit"),
        Some(&m.op),
        json!({}),
    )
    .await
    .expect_error(409, "reservation_expired");
    let expired = app.services.stock.expire_due().await.unwrap();
    assert_eq!(expired, 1);
    let r = app
        .get(&format!("/api/v1/reservations/{rid}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(r["state"], "expired");
    reserve(&app, &other, json!({"sku_id": m.sku, "qty": 1}))
        .await
        .expect(201);
    ledger_is_consistent(&app, &m.op).await;
}

async fn routing_transfers_and_pickup(app: TestApp) {
    let m = market(&app).await;
    receive(&app, &m, m.warehouse, 5).await;
    receive(&app, &m, m.store_a, 2).await;
    let buyer = app.buyer("+8613700000005").await;
    // A buyer in Zhejiang is served from the Zhejiang store first.
    let r = reserve(&app, &buyer, json!({"sku_id": m.sku, "qty": 1, "fulfilment": {"type": "deliver_home", "region": "Zhejiang"}}))
        .await
        .expect(201)
        .json();
    assert_eq!(r["location_id"].as_i64(), Some(m.store_a));
    // Unknown region: the cloud warehouse.
    let r = reserve(&app, &buyer, json!({"sku_id": m.sku, "qty": 1}))
        .await
        .expect(201)
        .json();
    assert_eq!(r["location_id"].as_i64(), Some(m.warehouse));
    // Pickup only from the chosen store.
    reserve(
        &app,
        &buyer,
        json!({"sku_id": m.sku, "qty": 1, "fulfilment": {"type": "pickup", "store_id": m.store_b}}),
    )
    .await
    .expect_error(409, "out_of_stock");

    // Transfer 3 from the warehouse to store B: out now, in on receipt.
    let t = app
        .post("/api/v1/transfers", Some(&m.op), json!({"sku_id": m.sku, "from_location_id": m.warehouse, "to_location_id": m.store_b, "qty": 3}))
        .await
        .expect(201)
        .json();
    assert_eq!(t["state"], "in_transit");
    let tid = t["id"].as_i64().unwrap();
    reserve(
        &app,
        &buyer,
        json!({"sku_id": m.sku, "qty": 1, "fulfilment": {"type": "pickup", "store_id": m.store_b}}),
    )
    .await
    .expect_error(409, "out_of_stock");
    app.post(
        &format!("/api/v1/transfers/{tid}/receive"),
        Some(&m.op),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/transfers/{tid}/receive"),
        Some(&m.op),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    let r = reserve(
        &app,
        &buyer,
        json!({"sku_id": m.sku, "qty": 1, "fulfilment": {"type": "pickup", "store_id": m.store_b}}),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(r["location_id"].as_i64(), Some(m.store_b));
    // Too many units to move.
    app.post("/api/v1/transfers", Some(&m.op), json!({"sku_id": m.sku, "from_location_id": m.warehouse, "to_location_id": m.store_b, "qty": 100}))
        .await
        .expect_error(409, "out_of_stock");
    ledger_is_consistent(&app, &m.op).await;
}

async fn only_managers_move_stock(app: TestApp) {
    let m = market(&app).await;
    let clerk_a = app
        .console_user(
            "clerk-a@stock.test",
            vec![souk_core::access::Grant::StoreClerk {
                location_id: souk_core::ids::LocationId(m.store_a),
            }],
        )
        .await;
    let buyer = app.buyer("+8613700000006").await;
    // A clerk receives at its own store, not at another.
    app.post(
        "/api/v1/stock/receive",
        Some(&clerk_a),
        json!({"sku_id": m.sku, "location_id": m.store_a, "qty": 4}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/stock/receive",
        Some(&clerk_a),
        json!({"sku_id": m.sku, "location_id": m.store_b, "qty": 4}),
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        "/api/v1/stock/receive",
        Some(&buyer),
        json!({"sku_id": m.sku, "location_id": m.store_a, "qty": 4}),
    )
    .await
    .expect_error(404, "not_found");
    // The clerk sees its store's row only; a buyer sees no figures.
    let rows = app
        .get(&format!("/api/v1/stock?sku_id={}", m.sku), Some(&clerk_a))
        .await
        .expect(200)
        .json();
    assert!(rows["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["location_id"].as_i64() == Some(m.store_a)));
    app.get(&format!("/api/v1/stock?sku_id={}", m.sku), Some(&buyer))
        .await
        .expect_error(404, "not_found");
    app.get("/api/v1/stock/check", Some(&buyer))
        .await
        .expect_error(403, "forbidden");
    // Someone else's reservation is invisible.
    let r = reserve(&app, &buyer, json!({"sku_id": m.sku, "qty": 1}))
        .await
        .expect(201)
        .json();
    let rid = r["id"].as_i64().unwrap();
    let other = app.buyer("+8613700000007").await;
    app.get(&format!("/api/v1/reservations/{rid}"), Some(&other))
        .await
        .expect_error(404, "not_found");
    app.post(
        &format!("/api/v1/reservations/{rid}/release"),
        Some(&other),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
}

async fn supplier_warehouses_hold_only_their_own_goods(app: TestApp) {
    let m = market(&app).await;
    let (other_id, other) = app.supplier("Other Supplier").await;
    let wh = app
        .post(
            "/api/v1/locations",
            Some(&other),
            json!({"kind": "supplier_warehouse", "name": "Other WH", "capabilities": {"ship": true},
                   "address": {"line1": "2 Road", "city": "City", "country": "CN"}}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(wh["supplier_id"].as_i64(), Some(other_id));
    let wh = wh["id"].as_i64().unwrap();
    // m.sku belongs to "Stock Supplier": it cannot be booked into Other's warehouse,
    // by Other or by an operator, nor transferred there.
    for token in [&other, &m.op] {
        app.post(
            "/api/v1/stock/receive",
            Some(token),
            json!({"sku_id": m.sku, "location_id": wh, "qty": 3}),
        )
        .await
        .expect_error(422, "invalid_field");
    }
    receive(&app, &m, m.warehouse, 3).await;
    app.post(
        "/api/v1/transfers",
        Some(&m.op),
        json!({"sku_id": m.sku, "from_location_id": m.warehouse, "to_location_id": wh, "qty": 1}),
    )
    .await
    .expect_error(422, "invalid_field");
    // Its own product is fine.
    let own = app.product(&other, "Other's Tote").await;
    let own_sku = own["skus"][0]["id"].as_i64().unwrap();
    app.post(
        "/api/v1/stock/receive",
        Some(&other),
        json!({"sku_id": own_sku, "location_id": wh, "qty": 3}),
    )
    .await
    .expect(200);
}

on_both_databases!(
    reserve_commit_release_and_ledger,
    no_overselling_and_bad_quantities,
    expired_holds_return_to_the_pool_and_cannot_be_committed,
    routing_transfers_and_pickup,
    only_managers_move_stock,
    supplier_warehouses_hold_only_their_own_goods,
);
