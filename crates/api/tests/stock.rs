//! Omnichannel stock through HTTP: receive, reserve, commit, release, expiry,
//! transfers, routing, the ledger rebuild, access and channel allocations.
//! The last-unit race is in `races.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::TestApp;
use serde_json::{json, Value};

struct Market {
    op: String,
    /// A user of the SKU's supplier.
    sup: String,
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
        sup,
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

const ROOM: &str = "livestream:room:42";

async fn atp(app: &TestApp, sku: i64, channel: Option<&str>) -> i64 {
    let path = match channel {
        Some(c) => format!("/api/v1/skus/{sku}/availability?channel={c}"),
        None => format!("/api/v1/skus/{sku}/availability"),
    };
    app.get(&path, None).await.expect(200).json()["available_to_promise"]
        .as_i64()
        .unwrap()
}

async fn open_allocation(
    app: &TestApp,
    token: &str,
    sku: i64,
    channel: &str,
    qty: i64,
) -> common::Reply {
    app.post(
        "/api/v1/allocations",
        Some(token),
        json!({"sku_id": sku, "channel": channel, "qty": qty}),
    )
    .await
}

async fn allocation(app: &TestApp, token: &str, id: i64) -> Value {
    app.get(&format!("/api/v1/allocations/{id}"), Some(token))
        .await
        .expect(200)
        .json()
}

async fn release(app: &TestApp, token: &str, reservation: &Value) {
    let id = reservation["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/reservations/{id}/release"),
        Some(token),
        json!({}),
    )
    .await
    .expect(200);
}

/// "200 units for this live room": the room is served from them and capped by
/// them, web sees the pool less them, a release while open goes back to the
/// room, closing returns the rest, and a release after close goes to the pool.
async fn allocation_serves_caps_and_returns(app: TestApp) {
    let m = market(&app).await;
    receive(&app, &m, m.warehouse, 250).await;
    receive(&app, &m, m.store_a, 50).await;
    let a = open_allocation(&app, &m.op, m.sku, ROOM, 200)
        .await
        .expect(201)
        .json();
    assert_eq!(
        (
            a["state"].as_str(),
            a["qty"].as_i64(),
            a["taken"].as_i64(),
            a["remaining"].as_i64()
        ),
        (Some("open"), Some(200), Some(0), Some(200))
    );
    let aid = a["id"].as_i64().unwrap();
    assert_eq!(atp(&app, m.sku, None).await, 100);
    assert_eq!(atp(&app, m.sku, Some("web")).await, 100);
    assert_eq!(atp(&app, m.sku, Some("livestream:room:7")).await, 100);
    let seen = app
        .get(
            &format!("/api/v1/skus/{}/availability?channel={ROOM}", m.sku),
            None,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(seen["available_to_promise"].as_i64(), Some(200));
    assert_eq!(seen["allocation_id"].as_i64(), Some(aid));
    assert_eq!(seen["channel"], ROOM);

    // The room takes from its allocation, up to the cap, never from the pool.
    let fan = app.buyer("+8613700000101").await;
    let r1 = reserve(
        &app,
        &fan,
        json!({"sku_id": m.sku, "qty": 150, "channel": ROOM}),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(r1["allocation_id"].as_i64(), Some(aid));
    assert_eq!(r1["channel"], ROOM);
    let r2 = reserve(
        &app,
        &fan,
        json!({"sku_id": m.sku, "qty": 30, "channel": ROOM}),
    )
    .await
    .expect(201)
    .json();
    reserve(
        &app,
        &fan,
        json!({"sku_id": m.sku, "qty": 21, "channel": ROOM}),
    )
    .await
    .expect_error(409, "out_of_stock");
    assert_eq!(atp(&app, m.sku, Some(ROOM)).await, 20);
    // Web still sees 100 and cannot take 101, from any location.
    let web = app.buyer("+8613700000102").await;
    assert_eq!(atp(&app, m.sku, None).await, 100);
    reserve(&app, &web, json!({"sku_id": m.sku, "qty": 101}))
        .await
        .expect_error(409, "out_of_stock");
    reserve(
        &app,
        &web,
        json!({"sku_id": m.sku, "qty": 50, "location_id": m.store_a}),
    )
    .await
    .expect(201);
    let w = reserve(&app, &web, json!({"sku_id": m.sku, "qty": 50}))
        .await
        .expect(201)
        .json();
    assert!(w["allocation_id"].is_null());
    reserve(&app, &web, json!({"sku_id": m.sku, "qty": 1}))
        .await
        .expect_error(409, "out_of_stock");
    assert_eq!(atp(&app, m.sku, None).await, 0);
    assert_eq!(atp(&app, m.sku, Some(ROOM)).await, 20);
    // The room's 20 left are still there for it.
    let r3 = reserve(
        &app,
        &fan,
        json!({"sku_id": m.sku, "qty": 20, "channel": ROOM}),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(atp(&app, m.sku, Some(ROOM)).await, 0);
    reserve(
        &app,
        &fan,
        json!({"sku_id": m.sku, "qty": 1, "channel": ROOM}),
    )
    .await
    .expect_error(409, "out_of_stock");

    // Released while open: back to the room, not to web.
    release(&app, &fan, &r2).await;
    assert_eq!(atp(&app, m.sku, Some(ROOM)).await, 30);
    assert_eq!(atp(&app, m.sku, None).await, 0);
    release(&app, &fan, &r3).await;
    let a = allocation(&app, &m.op, aid).await;
    assert_eq!(
        (a["taken"].as_i64(), a["remaining"].as_i64()),
        (Some(150), Some(50))
    );

    // Closing returns the untaken 50 to the pool; closing twice is a conflict.
    let closed = app
        .post(
            &format!("/api/v1/allocations/{aid}/close"),
            Some(&m.sup),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        (
            closed["state"].as_str(),
            closed["returned"].as_i64(),
            closed["remaining"].as_i64()
        ),
        (Some("closed"), Some(50), Some(0))
    );
    app.post(
        &format!("/api/v1/allocations/{aid}/close"),
        Some(&m.op),
        json!({}),
    )
    .await
    .expect_error(409, "illegal_transition");
    assert_eq!(atp(&app, m.sku, None).await, 50);
    // Without an allocation the room is a channel like any other.
    assert_eq!(atp(&app, m.sku, Some(ROOM)).await, 50);
    // A hold taken from the allocation, released after close: to the pool.
    release(&app, &fan, &r1).await;
    assert_eq!(atp(&app, m.sku, None).await, 200);
    let a = allocation(&app, &m.op, aid).await;
    assert_eq!(a["taken"].as_i64(), Some(150), "frozen at close");
    // The room may now take from the pool, with no allocation to cap it.
    let r4 = reserve(
        &app,
        &fan,
        json!({"sku_id": m.sku, "qty": 60, "channel": ROOM}),
    )
    .await
    .expect(201)
    .json();
    assert!(r4["allocation_id"].is_null());

    // A new allocation for the room may open once the old one is closed.
    let b = open_allocation(&app, &m.sup, m.sku, ROOM, 140)
        .await
        .expect(201)
        .json();
    let list = app
        .get(
            &format!("/api/v1/allocations?sku_id={}", m.sku),
            Some(&m.op),
        )
        .await
        .expect(200)
        .json();
    let states: Vec<(i64, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["id"].as_i64().unwrap(), x["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [(aid, "closed"), (b["id"].as_i64().unwrap(), "open")]
    );
    assert_eq!(atp(&app, m.sku, None).await, 0);
    // Allocations move no stock: the ledger still rebuilds the levels.
    ledger_is_consistent(&app, &m.op).await;
}

/// An expired hold taken from an allocation goes back to it.
async fn expired_allocation_holds_go_back_to_the_allocation(app: TestApp) {
    let m = market(&app).await;
    receive(&app, &m, m.warehouse, 10).await;
    let aid = open_allocation(&app, &m.op, m.sku, ROOM, 4)
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    let fan = app.buyer("+8613700000103").await;
    reserve(
        &app,
        &fan,
        json!({"sku_id": m.sku, "qty": 3, "channel": ROOM, "hold_seconds": 60}),
    )
    .await
    .expect(201);
    assert_eq!(atp(&app, m.sku, Some(ROOM)).await, 1);
    app.clock.advance_ms(61_000);
    assert_eq!(app.services.stock.expire_due().await.unwrap(), 1);
    assert_eq!(atp(&app, m.sku, Some(ROOM)).await, 4);
    assert_eq!(atp(&app, m.sku, None).await, 6);
    assert_eq!(
        allocation(&app, &m.op, aid).await["taken"].as_i64(),
        Some(0)
    );
    ledger_is_consistent(&app, &m.op).await;
}

/// A new stock owner (a restart) reads open allocations and the holds taken
/// from them back from the database and goes on applying the same rules.
async fn allocations_survive_a_restart(app: TestApp) {
    use souk_core::ids::{AccountId, SkuId};
    use souk_core::stock::Fulfilment;
    use souk_engine::stock::{Actor, ReserveRequest, Stock};
    let m = market(&app).await;
    receive(&app, &m, m.warehouse, 10).await;
    let aid = open_allocation(&app, &m.op, m.sku, ROOM, 5)
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    let fan = app.buyer("+8613700000105").await;
    let r = reserve(
        &app,
        &fan,
        json!({"sku_id": m.sku, "qty": 3, "channel": ROOM}),
    )
    .await
    .expect(201)
    .json();

    let restarted = Stock::start(
        app.services.db.clone(),
        souk_store::batch::Writer::open(&app.services.db),
        app.services.clock.clone(),
    );
    let system = Actor {
        account: AccountId(0),
        privileged: true,
    };
    let ask = |channel: &str, qty: i64| ReserveRequest {
        sku: SkuId(m.sku),
        qty,
        location: None,
        fulfilment: Fulfilment::DeliverHome {
            region: String::new(),
        },
        channel: channel.into(),
        hold_ms: 60_000,
    };
    let refused = restarted.reserve(system, ask(ROOM, 3)).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "out_of_stock");
    let refused = restarted.reserve(system, ask("web", 6)).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "out_of_stock");
    let held = restarted.reserve(system, ask(ROOM, 2)).await.unwrap();
    assert_eq!(held.allocation_id, Some(aid));
    restarted
        .release(system, r["id"].as_i64().unwrap())
        .await
        .unwrap();
    let a = restarted.allocation(aid).await.unwrap().unwrap();
    assert_eq!((a.taken, a.open), (2, true));
    let closed = restarted.close_allocation(system, aid).await.unwrap();
    assert_eq!(closed.returned, 3);
    let again = restarted.close_allocation(system, aid).await.unwrap_err();
    assert_eq!(again.code.as_str(), "illegal_transition");
}

/// 50 fans race for an allocation of 20 while 50 web buyers race for the
/// 40 units outside it, 2 at a time: exactly 20 and 20 win.
async fn allocation_race(app: TestApp) {
    let m = market(&app).await;
    receive(&app, &m, m.warehouse, 60).await;
    let aid = open_allocation(&app, &m.op, m.sku, ROOM, 20)
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    let mut buyers = Vec::new();
    for i in 0..50 {
        buyers.push(app.buyer(&format!("+86135000{i:05}")).await);
    }
    let room = buyers
        .iter()
        .map(|b| reserve(&app, b, json!({"sku_id": m.sku, "qty": 1, "channel": ROOM})));
    let web = buyers
        .iter()
        .map(|b| reserve(&app, b, json!({"sku_id": m.sku, "qty": 2})));
    let (room, web) = futures::future::join(
        futures::future::join_all(room),
        futures::future::join_all(web),
    )
    .await;
    for (name, replies, wins) in [("room", &room, 20), ("web", &web, 20)] {
        let won = replies.iter().filter(|r| r.status.as_u16() == 201).count();
        let lost = replies
            .iter()
            .filter(|r| r.status.as_u16() == 409 && r.code() == "out_of_stock")
            .count();
        assert_eq!((won, lost), (wins, 50 - wins), "{name}");
    }
    assert!(room
        .iter()
        .filter(|r| r.status.as_u16() == 201)
        .all(|r| r.json()["allocation_id"].as_i64() == Some(aid)));
    let a = allocation(&app, &m.op, aid).await;
    assert_eq!(
        (a["taken"].as_i64(), a["remaining"].as_i64()),
        (Some(20), Some(0))
    );
    let levels = app
        .get(&format!("/api/v1/stock?sku_id={}", m.sku), Some(&m.op))
        .await
        .expect(200)
        .json();
    assert_eq!(
        (
            levels["items"][0]["reserved"].as_i64(),
            levels["items"][0]["available"].as_i64()
        ),
        (Some(60), Some(0))
    );
    ledger_is_consistent(&app, &m.op).await;
}

async fn allocation_hostile_input_and_access(app: TestApp) {
    let m = market(&app).await;
    receive(&app, &m, m.warehouse, 10).await;
    for qty in [0, -1, -200, i64::MAX, 1_000_001] {
        open_allocation(&app, &m.op, m.sku, ROOM, qty)
            .await
            .expect_error(422, "invalid_quantity");
    }
    let huge = app
        .post_raw(
            "/api/v1/allocations",
            Some(&m.op),
            "application/json",
            format!(
                r#"{{"sku_id": {}, "channel": "{ROOM}", "qty": 99999999999999999999}}"#,
                m.sku
            )
            .into_bytes(),
        )
        .await;
    assert_eq!(huge.status.as_u16(), 422, "{huge:?}");
    for channel in [
        "telegram",
        "livestream:",
        "livestream:Room 42",
        "web;drop",
        "",
    ] {
        open_allocation(&app, &m.op, m.sku, channel, 1)
            .await
            .expect_error(422, "invalid_field");
    }
    let long = format!("livestream:{}", "r".repeat(100));
    open_allocation(&app, &m.op, m.sku, &long, 1)
        .await
        .expect_error(422, "invalid_field");
    app.get(
        &format!("/api/v1/skus/{}/availability?channel=telegram", m.sku),
        None,
    )
    .await
    .expect_error(422, "invalid_field");
    app.post(
        "/api/v1/allocations",
        Some(&m.op),
        json!({"sku_id": m.sku, "channel": ROOM, "qty": 1, "taken": 0}),
    )
    .await
    .expect(422);
    // Unknown SKU; more than is free; a second open allocation for one channel.
    open_allocation(&app, &m.op, 999_999, ROOM, 1)
        .await
        .expect_error(404, "not_found");
    open_allocation(&app, &m.op, m.sku, ROOM, 11)
        .await
        .expect_error(409, "out_of_stock");
    let aid = open_allocation(&app, &m.sup, m.sku, ROOM, 6)
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    open_allocation(&app, &m.op, m.sku, ROOM, 1)
        .await
        .expect_error(409, "illegal_transition");
    open_allocation(&app, &m.op, m.sku, "livestream:room:7", 5)
        .await
        .expect_error(409, "out_of_stock");
    open_allocation(&app, &m.op, m.sku, "livestream:room:7", 4)
        .await
        .expect(201);
    // Another supplier, a buyer, a clerk: the SKU and its allocations do not exist for them.
    let (_, other) = app.supplier("Rival Supplier").await;
    let buyer = app.buyer("+8613700000104").await;
    let clerk = app
        .console_user(
            "clerk-alloc@stock.test",
            vec![souk_core::access::Grant::StoreClerk {
                location_id: souk_core::ids::LocationId(m.store_a),
            }],
        )
        .await;
    for token in [&other, &buyer, &clerk] {
        open_allocation(&app, token, m.sku, "livestream:room:9", 1)
            .await
            .expect_error(404, "not_found");
        app.get(
            &format!("/api/v1/allocations?sku_id={}", m.sku),
            Some(token),
        )
        .await
        .expect_error(404, "not_found");
        app.get(&format!("/api/v1/allocations/{aid}"), Some(token))
            .await
            .expect_error(404, "not_found");
        app.post(
            &format!("/api/v1/allocations/{aid}/close"),
            Some(token),
            json!({}),
        )
        .await
        .expect_error(404, "not_found");
    }
    app.post(
        "/api/v1/allocations",
        None,
        json!({"sku_id": m.sku, "channel": ROOM, "qty": 1}),
    )
    .await
    .expect_error(401, "unauthenticated");
    app.post("/api/v1/allocations/999999/close", Some(&m.op), json!({}))
        .await
        .expect_error(404, "not_found");
    assert_eq!(allocation(&app, &m.sup, aid).await["state"], "open");
    // A retried close with the same Idempotency-Key is answered once, not twice.
    let key = [("idempotency-key", "close-room-7-once")];
    let room7 = app
        .get(
            &format!("/api/v1/allocations?sku_id={}", m.sku),
            Some(&m.op),
        )
        .await
        .expect(200)
        .json()["items"][1]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/allocations/{room7}/close");
    for _ in 0..2 {
        let r = app
            .send(
                reqwest::Method::POST,
                &path,
                Some(&m.op),
                Some(&json!({})),
                &key,
            )
            .await
            .expect(200);
        assert_eq!(r.json()["returned"].as_i64(), Some(4));
    }
    open_allocation(&app, &m.op, m.sku, "livestream:room:7", 4)
        .await
        .expect(201);
    // Nothing above moved stock.
    assert_eq!(atp(&app, m.sku, None).await, 0);
    assert_eq!(atp(&app, m.sku, Some(ROOM)).await, 6);
}

on_both_databases!(
    allocation_serves_caps_and_returns,
    expired_allocation_holds_go_back_to_the_allocation,
    allocations_survive_a_restart,
    allocation_race,
    allocation_hostile_input_and_access,
    reserve_commit_release_and_ledger,
    no_overselling_and_bad_quantities,
    expired_holds_return_to_the_pool_and_cannot_be_committed,
    routing_transfers_and_pickup,
    only_managers_move_stock,
    supplier_warehouses_hold_only_their_own_goods,
);
