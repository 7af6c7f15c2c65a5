//! Orders through HTTP on both databases: checkout paid by the QR sandbox,
//! cash confirmed by a clerk, the state machine, server-side prices, and who
//! sees which order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/order_fixture.rs"]
mod fixture;

use common::TestApp;
use fixture::*;
use serde_json::json;

async fn web_checkout_paid_by_qr_webhook(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000101").await;
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 2)).await;
    assert_eq!(c["order"]["state"], "pending_payment", "{c}");
    assert_eq!(c["order"]["channel"], "web");
    assert_eq!(c["next_action"]["type"], "scan_qr");
    assert!(c["next_action"]["qr_payload"]
        .as_str()
        .unwrap()
        .contains("alipay"));
    // 2 × CNY 100.00; delivery is free from CNY 99.00.
    assert_eq!(c["order"]["totals"]["total_minor"].as_i64(), Some(20_000));
    assert_eq!(c["payment"]["amount_minor"].as_i64(), Some(20_000));
    assert_eq!(c["payment"]["state"], "requires_action");
    assert_eq!(c["order"]["fulfilments"].as_array().unwrap().len(), 1);
    assert_eq!(stock(&app, &m.op, m.sku).await, (15, 2));

    let pay = c["payment"]["id"].as_i64().unwrap();
    let order = c["order"]["id"].as_i64().unwrap();
    let (body, sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    let w = webhook(&app, "alipay", &body, &sig)
        .await
        .expect(200)
        .json();
    assert_eq!(w["outcome"], "captured");

    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "paid", "{o}");
    assert_eq!(o["payments"][0]["state"], "captured");
    assert_eq!(o["totals"]["captured_minor"].as_i64(), Some(20_000));
    let history: Vec<&str> = o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(history, vec!["pending_payment", "paid"]);
    // The reservation is kept for the paid order.
    assert_eq!(stock(&app, &m.op, m.sku).await, (15, 2));
    assert_eq!(captures(&app, pay).await, 1);

    // The capture split: supplier 90 %, platform 10 % (default take rate).
    let ledger = app
        .get(&format!("/api/v1/orders/{order}/ledger"), Some(&m.op))
        .await
        .expect(200)
        .json();
    let amount = |acct: &str| {
        ledger
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["account"] == acct)
            .map(|p| p["amount_minor"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(amount("buyer_payments_clearing"), 20_000, "{ledger}");
    assert_eq!(
        amount(&format!("supplier_payable:{}", m.supplier_id)),
        -18_000
    );
    assert_eq!(amount("platform_revenue"), -2_000);
    trial_balance_is_zero(&app, &m.op).await;
    // Buyers may not read the ledger.
    app.get("/api/v1/ledger/trial-balance", Some(&buyer))
        .await
        .expect_error(403, "forbidden");
}

async fn client_sent_price_is_never_trusted(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000102").await;
    for extra in [
        json!({"unit_price_minor": 1}),
        json!({"total_minor": 1}),
        json!({"price": {"currency": "CNY", "amount_minor": 1}}),
    ] {
        let mut body = qr_checkout(m.sku, 1);
        let line = body["lines"][0].as_object_mut().unwrap();
        for (k, v) in extra.as_object().unwrap() {
            line.insert(k.clone(), v.clone());
        }
        app.post("/api/v1/checkout", Some(&buyer), body)
            .await
            .expect_error(422, "invalid_body");
        let mut body = qr_checkout(m.sku, 1);
        for (k, v) in extra.as_object().unwrap() {
            body.as_object_mut().unwrap().insert(k.clone(), v.clone());
        }
        app.post("/api/v1/checkout", Some(&buyer), body)
            .await
            .expect_error(422, "invalid_body");
    }
    // Nothing was reserved by the refused attempts; the real price is the server's.
    assert_eq!(stock(&app, &m.op, m.sku).await, (15, 0));
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 1)).await;
    assert_eq!(
        c["order"]["lines"][0]["unit_price_minor"].as_i64(),
        Some(10_000)
    );
    // Under CNY 99.00 of goods? No: CNY 100.00 ships free. Two SKUs, two lines.
    let c2 = checkout(
        &app,
        &buyer,
        json!({"lines": [{"sku_id": m.sku, "qty": 1}, {"sku_id": m.sku2, "qty": 3}],
               "fulfilment": {"type": "deliver"}, "payment_method": "wechat_pay"}),
    )
    .await;
    assert_eq!(c2["order"]["totals"]["total_minor"].as_i64(), Some(40_000));
    // Bad input: unknown SKU, zero quantity, duplicate SKU, unknown method, no stock.
    for (body, status, code) in [
        (
            json!({"lines": [{"sku_id": 999_999, "qty": 1}], "fulfilment": {"type": "deliver"}, "payment_method": "alipay"}),
            404,
            "not_found",
        ),
        (
            json!({"lines": [{"sku_id": m.sku, "qty": 0}], "fulfilment": {"type": "deliver"}, "payment_method": "alipay"}),
            422,
            "invalid_quantity",
        ),
        (
            json!({"lines": [{"sku_id": m.sku, "qty": 1}, {"sku_id": m.sku, "qty": 1}], "fulfilment": {"type": "deliver"}, "payment_method": "alipay"}),
            422,
            "invalid_field",
        ),
        (
            json!({"lines": [{"sku_id": m.sku, "qty": 1}], "fulfilment": {"type": "deliver"}, "payment_method": "bitcoin"}),
            422,
            "invalid_field",
        ),
        (
            json!({"lines": [], "fulfilment": {"type": "deliver"}, "payment_method": "alipay"}),
            422,
            "invalid_field",
        ),
        (
            json!({"lines": [{"sku_id": m.sku, "qty": 1000}], "fulfilment": {"type": "deliver"}, "payment_method": "alipay"}),
            409,
            "out_of_stock",
        ),
        (
            json!({"lines": [{"sku_id": m.sku, "qty": 1}], "currency": "USD", "fulfilment": {"type": "deliver"}, "payment_method": "alipay"}),
            422,
            "price_unavailable",
        ),
    ] {
        app.post("/api/v1/checkout", Some(&buyer), body)
            .await
            .expect_error(status, code);
    }
    // A failed multi-line checkout releases what it had reserved.
    app.post(
        "/api/v1/checkout",
        Some(&buyer),
        json!({"lines": [{"sku_id": m.sku2, "qty": 1}, {"sku_id": m.sku, "qty": 1000}],
               "fulfilment": {"type": "deliver"}, "payment_method": "alipay"}),
    )
    .await
    .expect_error(409, "out_of_stock");
    assert_eq!(stock(&app, &m.op, m.sku2).await, (10, 3));
    // Console users are not buyers.
    app.post("/api/v1/checkout", Some(&m.sup), qr_checkout(m.sku, 1))
        .await
        .expect_error(403, "forbidden");
}

async fn illegal_transitions_are_409(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000103").await;
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 1)).await;
    let order = c["order"]["id"].as_i64().unwrap();
    let t = |cmd: &'static str| {
        let app = &app;
        let op = m.op.clone();
        async move {
            app.post(
                &format!("/api/v1/orders/{order}/transitions"),
                Some(&op),
                json!({"command": cmd}),
            )
            .await
        }
    };
    for cmd in ["allocate", "ship", "deliver", "complete"] {
        t(cmd).await.expect_error(409, "illegal_transition");
    }
    t("teleport").await.expect_error(422, "invalid_field");
    // A buyer may not move orders along, even its own.
    app.post(
        &format!("/api/v1/orders/{order}/transitions"),
        Some(&buyer),
        json!({"command": "allocate"}),
    )
    .await
    .expect_error(403, "forbidden");
    // Cancel an unpaid order: payment voided, stock released.
    let o = app
        .post(
            &format!("/api/v1/orders/{order}/cancel"),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "cancelled");
    assert_eq!(o["payments"][0]["state"], "voided");
    assert_eq!(stock(&app, &m.op, m.sku).await, (15, 0));
    app.post(
        &format!("/api/v1/orders/{order}/cancel"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(409, "illegal_transition");
    // A late webhook for a voided payment captures nothing: the money goes
    // back (payments.rs covers it) and the order stays cancelled.
    let (body, sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    let w = webhook(&app, "alipay", &body, &sig)
        .await
        .expect(200)
        .json();
    assert_eq!(w["outcome"], "refunded_late", "{w}");
    t("allocate").await.expect_error(409, "illegal_transition");
    let hist = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await
        .expect(200)
        .json()["history"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(hist, 2, "only the legal transitions are events");
    trial_balance_is_zero(&app, &m.op).await;
}

async fn cash_paid_at_the_store_confirmed_by_its_clerk(app: TestApp) {
    let m = market(&app).await;
    let other_store = location(&app, &m.op, "store", "Other").await;
    let clerk = app
        .console_user(
            "clerk@store.test",
            vec![souk_core::access::Grant::StoreClerk {
                location_id: souk_core::ids::LocationId(m.store),
            }],
        )
        .await;
    let other_clerk = app
        .console_user(
            "clerk@other.test",
            vec![souk_core::access::Grant::StoreClerk {
                location_id: souk_core::ids::LocationId(other_store),
            }],
        )
        .await;
    let buyer = app.buyer("+8613700000104").await;
    let c = checkout(
        &app,
        &buyer,
        json!({"lines": [{"sku_id": m.sku, "qty": 2}], "fulfilment": {"type": "pickup", "store_id": m.store},
               "payment_method": "cash"}),
    )
    .await;
    assert_eq!(c["next_action"]["type"], "pay_at_till");
    assert_eq!(
        c["order"]["lines"][0]["location_id"].as_i64(),
        Some(m.store)
    );
    assert_eq!(c["order"]["fulfilment_kind"], "pickup");
    let pay = c["payment"]["id"].as_i64().unwrap();
    let order = c["order"]["id"].as_i64().unwrap();
    // Neither the buyer nor another store's clerk can confirm cash.
    app.post(
        &format!("/api/v1/payments/{pay}/confirm"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        &format!("/api/v1/payments/{pay}/confirm"),
        Some(&other_clerk),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    let p = app
        .post(
            &format!("/api/v1/payments/{pay}/confirm"),
            Some(&clerk),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(p["state"], "captured");
    app.post(
        &format!("/api/v1/payments/{pay}/confirm"),
        Some(&clerk),
        json!({}),
    )
    .await
    .expect_error(409, "already_captured");
    // The clerk hands the goods over: allocate, ship (stock leaves), deliver, complete.
    for cmd in ["allocate", "ship", "deliver", "complete"] {
        let o = app
            .post(
                &format!("/api/v1/orders/{order}/transitions"),
                Some(&clerk),
                json!({"command": cmd}),
            )
            .await
            .expect(200)
            .json();
        if cmd == "ship" {
            assert_eq!(o["state"], "shipped");
        }
    }
    assert_eq!(stock(&app, &m.op, m.sku).await, (13, 0));
    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "completed");
    assert_eq!(o["history"].as_array().unwrap().len(), 6, "{o}");
    // Cancelling a completed order is illegal.
    app.post(
        &format!("/api/v1/orders/{order}/cancel"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(409, "illegal_transition");
    trial_balance_is_zero(&app, &m.op).await;
}

async fn nobody_sees_more_than_theirs(app: TestApp) {
    let m = market(&app).await;
    let (_, sup_b) = app.supplier("Second Supplier").await;
    let product_b = app.product(&sup_b, "Other Shirt").await;
    let pid = product_b["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/products/{pid}/status"),
        Some(&sup_b),
        json!({"status": "active"}),
    )
    .await
    .expect(200);
    let sku_b = product_b["skus"][0]["id"].as_i64().unwrap();
    app.post(
        "/api/v1/stock/receive",
        Some(&m.op),
        json!({"sku_id": sku_b, "location_id": m.warehouse, "qty": 5}),
    )
    .await
    .expect(200);
    let store_clerk = app
        .console_user(
            "clerk@view.test",
            vec![souk_core::access::Grant::StoreClerk {
                location_id: souk_core::ids::LocationId(m.store),
            }],
        )
        .await;

    let alice = app.buyer("+8613700000105").await;
    let bob = app.buyer("+8613700000106").await;
    let c = checkout(
        &app,
        &alice,
        json!({"lines": [{"sku_id": m.sku2, "qty": 1}, {"sku_id": sku_b, "qty": 2}],
               "fulfilment": {"type": "deliver"}, "payment_method": "alipay"}),
    )
    .await;
    let order = c["order"]["id"].as_i64().unwrap();
    let pay = c["payment"]["id"].as_i64().unwrap();
    let bob_order = checkout(&app, &bob, qr_checkout(m.sku2, 1)).await["order"]["id"]
        .as_i64()
        .unwrap();

    // Bob cannot see Alice's order or payment, and his list has only his.
    app.get(&format!("/api/v1/orders/{order}"), Some(&bob))
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/api/v1/payments/{pay}"), Some(&bob))
        .await
        .expect_error(404, "not_found");
    app.post(
        &format!("/api/v1/orders/{order}/cancel"),
        Some(&bob),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        &format!("/api/v1/payments/{pay}/return"),
        Some(&bob),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    let ids = |v: serde_json::Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(app
            .get("/api/v1/orders", Some(&bob))
            .await
            .expect(200)
            .json()),
        vec![bob_order]
    );
    assert_eq!(
        ids(app
            .get("/api/v1/orders", Some(&alice))
            .await
            .expect(200)
            .json()),
        vec![order]
    );

    // Supplier A sees its line only, no totals, no payments.
    let a = app
        .get(&format!("/api/v1/orders/{order}"), Some(&m.sup))
        .await
        .expect(200)
        .json();
    assert_eq!(a["lines"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(a["lines"][0]["sku_id"].as_i64(), Some(m.sku2));
    assert!(a["totals"].is_null() && a["payments"].as_array().unwrap().is_empty());
    let b = app
        .get(&format!("/api/v1/orders/{order}"), Some(&sup_b))
        .await
        .expect(200)
        .json();
    assert_eq!(b["lines"].as_array().unwrap().len(), 1);
    assert_eq!(b["lines"][0]["sku_id"].as_i64(), Some(sku_b));
    // Supplier B has no line in Bob's order: not found, and not listed.
    app.get(&format!("/api/v1/orders/{bob_order}"), Some(&sup_b))
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        ids(app
            .get("/api/v1/orders", Some(&sup_b))
            .await
            .expect(200)
            .json()),
        vec![order]
    );
    // Supplier A may not read the ledger of an order.
    app.get(&format!("/api/v1/orders/{order}/ledger"), Some(&m.sup))
        .await
        .expect_error(403, "forbidden");
    // The store's clerk: these orders ship from the warehouse, not the store.
    app.get(&format!("/api/v1/orders/{order}"), Some(&store_clerk))
        .await
        .expect_error(404, "not_found");
    assert!(ids(app
        .get("/api/v1/orders", Some(&store_clerk))
        .await
        .expect(200)
        .json())
    .is_empty());
    // A pickup at the store is the clerk's to see.
    let pick = checkout(
        &app,
        &bob,
        json!({"lines": [{"sku_id": m.sku, "qty": 1}], "fulfilment": {"type": "pickup", "store_id": m.store},
               "payment_method": "cash"}),
    )
    .await["order"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        ids(app
            .get("/api/v1/orders", Some(&store_clerk))
            .await
            .expect(200)
            .json()),
        vec![pick]
    );
    // The operator sees all three.
    assert_eq!(
        ids(app
            .get("/api/v1/orders", Some(&m.op))
            .await
            .expect(200)
            .json()),
        vec![pick, bob_order, order]
    );
    // Unsigned: 401.
    app.get("/api/v1/orders", None)
        .await
        .expect_error(401, "unauthenticated");
}

on_both_databases!(
    web_checkout_paid_by_qr_webhook,
    client_sent_price_is_never_trusted,
    illegal_transitions_are_409,
    cash_paid_at_the_store_confirmed_by_its_clerk,
    nobody_sees_more_than_theirs,
);
