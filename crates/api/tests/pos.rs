//! The till and scan-to-order, through HTTP on both databases: a cash sale
//! takes shelf stock at once and completes with a receipt and change; card,
//! QR, members and in-store coupons; an abandoned QR sale puts the goods
//! back; hostile input and other stores' clerks are refused without moving
//! stock; concurrent sales never sell more than the shelf holds; a SKU
//! scanned in a store is ordered home from where routing picks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/order_fixture.rs"]
mod fixture;

use common::TestApp;
use fixture::*;
use futures::future::join_all;
use serde_json::{json, Value};

/// (on-hand, reserved) of `sku` at `location`.
async fn shelf(app: &TestApp, op: &str, sku: i64, location: i64) -> (i64, i64) {
    let s = app
        .get(&format!("/api/v1/stock?sku_id={sku}"), Some(op))
        .await
        .expect(200)
        .json();
    s["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location_id"].as_i64() == Some(location))
        .map(|l| {
            (
                l["on_hand"].as_i64().unwrap(),
                l["reserved"].as_i64().unwrap(),
            )
        })
        .unwrap_or((0, 0))
}

fn sale(store: i64, sku: i64, qty: i64, method: &str) -> Value {
    json!({"location_id": store, "lines": [{"sku_id": sku, "qty": qty}], "payment_method": method})
}

fn history(o: &Value) -> Vec<String> {
    o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap().to_owned())
        .collect()
}

async fn cash_sale_takes_shelf_stock_and_prints_a_receipt(app: TestApp) {
    let m = market(&app).await;
    let clerk = clerk(&app, m.store).await;
    let mut body = sale(m.store, m.sku, 2, "cash");
    body["cash_tendered_minor"] = json!(25_000);
    let s = app
        .post("/api/v1/pos/sales", Some(&clerk), body)
        .await
        .expect(201)
        .json();
    assert_eq!(s["order"]["channel"], "pos", "{s}");
    assert_eq!(s["order"]["fulfilment_kind"], "in_store");
    assert_eq!(s["order"]["state"], "completed");
    assert_eq!(s["payment"]["state"], "captured");
    assert_eq!(s["next_action"]["type"], "none");
    // No delivery fee at the till.
    assert_eq!(s["order"]["totals"]["total_minor"], 20_000);
    let r = &s["receipt"];
    assert_eq!(r["total_minor"], 20_000, "{r}");
    assert_eq!(r["tendered_minor"], 25_000);
    assert_eq!(r["change_minor"], 5_000);
    assert_eq!(r["location"]["id"].as_i64(), Some(m.store));
    assert_eq!(r["lines"][0]["title"], "Order Dress");
    let text = r["text"].as_str().unwrap();
    assert!(
        text.contains("CNY 50.00") && text.contains("Change"),
        "{text}"
    );
    // The goods left the shelf at once, as a pos_sale movement; nothing is held.
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (3, 0));
    let mv = app
        .get(
            &format!("/api/v1/stock/movements?sku_id={}", m.sku),
            Some(&m.op),
        )
        .await
        .expect(200)
        .json();
    let last = mv["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "pos_sale", "{mv}");
    assert_eq!(last["location_id"].as_i64(), Some(m.store));
    let check = app
        .get("/api/v1/stock/check", Some(&m.op))
        .await
        .expect(200)
        .json();
    assert_eq!(check["consistent"], true, "{check}");

    // History walks the whole state machine, one event per step.
    let order = s["order"]["id"].as_i64().unwrap();
    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&clerk))
        .await
        .expect(200)
        .json();
    assert_eq!(
        history(&o),
        [
            "pending_payment",
            "paid",
            "allocated",
            "shipped",
            "delivered",
            "completed"
        ]
    );
    trial_balance_is_zero(&app, &m.op).await;

    // The receipt again: the clerk yes; a buyer, another store's clerk: no such receipt.
    let again = app
        .get(&format!("/api/v1/pos/sales/{order}/receipt"), Some(&clerk))
        .await
        .expect(200)
        .json();
    assert_eq!(again["text"], r["text"]);
    let other_store = location(&app, &m.op, "store", "Other Store").await;
    let other_clerk = fixture::clerk(&app, other_store).await;
    let buyer = app.buyer("+8613700000401").await;
    for t in [&other_clerk, &buyer] {
        app.get(&format!("/api/v1/pos/sales/{order}/receipt"), Some(t))
            .await
            .expect_error(404, "not_found");
        app.get(&format!("/api/v1/orders/{order}"), Some(t))
            .await
            .expect_error(404, "not_found");
    }
}

async fn members_coupons_card_and_qr(app: TestApp) {
    let m = market(&app).await;
    let clerk = clerk(&app, m.store).await;
    let member = app.buyer("+8613700000402").await;
    let in_store = shared_coupon(&app, &m.op, json!({"channel": "in_store"})).await;

    // Card terminal, for a member, with an in-store coupon.
    let mut body = sale(m.store, m.sku, 1, "card_terminal");
    body["member_phone"] = json!("+86 137 0000 0402");
    body["codes"] = json!([in_store]);
    let s = app
        .post("/api/v1/pos/sales", Some(&clerk), body)
        .await
        .expect(201)
        .json();
    assert_eq!(s["order"]["state"], "completed", "{s}");
    assert_eq!(s["order"]["totals"]["total_minor"], 8_500);
    assert_eq!(s["receipt"]["codes"], json!([in_store]));
    assert_eq!(s["receipt"]["member"]["tier"], "regular");
    assert!(s["receipt"]["member"]["phone_masked"]
        .as_str()
        .unwrap()
        .contains('*'));
    assert!(s["receipt"]["tendered_minor"].is_null());
    // The member sees the sale among their orders, and it counts to their tier.
    let mine = app
        .get("/api/v1/orders", Some(&member))
        .await
        .expect(200)
        .json();
    assert_eq!(mine["items"][0]["id"], s["order"]["id"]);
    let t = app
        .get("/api/v1/me/tier", Some(&member))
        .await
        .expect(200)
        .json();
    assert_eq!(t["spend_12m"]["amount_minor"], 8_500);

    // QR: the goods are on the counter (off the shelf) until the wallet pays.
    let q = app
        .post(
            "/api/v1/pos/sales",
            Some(&clerk),
            sale(m.store, m.sku, 1, "wechat_pay"),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(q["next_action"]["type"], "scan_qr", "{q}");
    assert!(q["receipt"].is_null());
    assert_eq!(q["order"]["state"], "pending_payment");
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (3, 0));
    let order = q["order"]["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/pos/sales/{order}/receipt"), Some(&clerk))
        .await
        .expect_error(409, "illegal_transition");
    pay_by_qr(&app, &q).await;
    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&clerk))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "completed", "{o}");
    let r = app
        .get(&format!("/api/v1/pos/sales/{order}/receipt"), Some(&clerk))
        .await
        .expect(200)
        .json();
    assert_eq!(r["payment_state"], "captured");

    // The sandbox terminal declines totals ending in 13 minor units: the sale
    // is called off at once and nothing leaves the shelf.
    let odd = shared_coupon(
        &app,
        &m.op,
        json!({"channel": "in_store", "discount": {"type": "amount_off", "amount_minor": 87}}),
    )
    .await;
    let mut declined = sale(m.store, m.sku, 1, "card_terminal");
    declined["codes"] = json!([odd]);
    app.post("/api/v1/pos/sales", Some(&clerk), declined)
        .await
        .expect_error(409, "payment_declined");
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (3, 0));
    let latest = app
        .get("/api/v1/orders", Some(&clerk))
        .await
        .expect(200)
        .json();
    assert_eq!(latest["items"][0]["state"], "cancelled", "{latest}");
    assert_eq!(latest["items"][0]["payments"][0]["state"], "voided");

    // An abandoned QR sale, cancelled: the goods go back on the shelf.
    let q = app
        .post(
            "/api/v1/pos/sales",
            Some(&clerk),
            sale(m.store, m.sku, 2, "alipay"),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (1, 0));
    app.post(
        &format!("/api/v1/orders/{}/cancel", q["order"]["id"]),
        Some(&m.op),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (3, 0));
    trial_balance_is_zero(&app, &m.op).await;
}

async fn hostile_input_moves_nothing(app: TestApp) {
    let m = market(&app).await;
    let clerk = clerk(&app, m.store).await;
    let buyer = app.buyer("+8613700000403").await;
    let other_store = location(&app, &m.op, "store", "Other Store").await;
    let mut short = sale(m.store, m.sku, 1, "cash");
    short["cash_tendered_minor"] = json!(9_999);
    let mut card_cash = sale(m.store, m.sku, 1, "card_terminal");
    card_cash["cash_tendered_minor"] = json!(10_000);
    let mut huge_cash = sale(m.store, m.sku, 1, "cash");
    huge_cash["cash_tendered_minor"] = json!(i64::MAX);
    let mut stranger = sale(m.store, m.sku, 1, "cash");
    stranger["member_phone"] = json!("+8613799999999");
    let mut bad_code = sale(m.store, m.sku, 1, "cash");
    bad_code["codes"] = json!(["NOPE-NOPE"]);
    let mut price = sale(m.store, m.sku, 1, "cash");
    price["lines"][0]["unit_price_minor"] = json!(1);
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        ("short cash", &clerk, short, 422, "invalid_amount"),
        ("cash with a card", &clerk, card_cash, 422, "invalid_field"),
        ("absurd cash", &clerk, huge_cash, 422, "invalid_amount"),
        (
            "stored card at a till",
            &clerk,
            sale(m.store, m.sku, 1, "stored_card"),
            422,
            "invalid_field",
        ),
        (
            "unknown method",
            &clerk,
            sale(m.store, m.sku, 1, "bitcoin"),
            422,
            "invalid_field",
        ),
        (
            "zero",
            &clerk,
            sale(m.store, m.sku, 0, "cash"),
            422,
            "invalid_quantity",
        ),
        (
            "negative",
            &clerk,
            sale(m.store, m.sku, -3, "cash"),
            422,
            "invalid_quantity",
        ),
        (
            "huge",
            &clerk,
            sale(m.store, m.sku, i64::MAX, "cash"),
            422,
            "invalid_quantity",
        ),
        (
            "more than the shelf",
            &clerk,
            sale(m.store, m.sku, 6, "cash"),
            409,
            "out_of_stock",
        ),
        (
            "unknown SKU",
            &clerk,
            sale(m.store, 999_999, 1, "cash"),
            404,
            "not_found",
        ),
        (
            "another store",
            &clerk,
            sale(other_store, m.sku, 1, "cash"),
            404,
            "not_found",
        ),
        (
            "unknown store",
            &clerk,
            sale(999_999, m.sku, 1, "cash"),
            404,
            "not_found",
        ),
        (
            "a warehouse",
            &m.op,
            sale(m.warehouse, m.sku, 1, "cash"),
            422,
            "invalid_field",
        ),
        (
            "a buyer",
            &buyer,
            sale(m.store, m.sku, 1, "cash"),
            404,
            "not_found",
        ),
        ("unknown member", &clerk, stranger, 404, "not_found"),
        ("unknown coupon", &clerk, bad_code, 404, "not_found"),
        ("a client price", &clerk, price, 422, "invalid_body"),
    ];
    for (what, token, body, status, code) in cases {
        let r = app.post("/api/v1/pos/sales", Some(token), body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (status, code.to_owned()),
            "{what}: {:?}",
            r.json()
        );
    }
    app.post("/api/v1/pos/sales", None, sale(m.store, m.sku, 1, "cash"))
        .await
        .expect_error(401, "unauthenticated");
    // Nothing moved, nothing was sold.
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (5, 0));
    let orders = app
        .get("/api/v1/orders", Some(&m.op))
        .await
        .expect(200)
        .json();
    assert_eq!(orders["items"].as_array().unwrap().len(), 0, "{orders}");

    // Units reserved online for pickup cannot be sold over the counter.
    let mut pickup = qr_checkout(m.sku, 4);
    pickup["fulfilment"] = json!({"type": "pickup", "store_id": m.store});
    checkout(&app, &buyer, pickup).await;
    app.post(
        "/api/v1/pos/sales",
        Some(&clerk),
        sale(m.store, m.sku, 2, "cash"),
    )
    .await
    .expect_error(409, "out_of_stock");
    app.post(
        "/api/v1/pos/sales",
        Some(&clerk),
        sale(m.store, m.sku, 1, "cash"),
    )
    .await
    .expect(201);
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (4, 4));
}

async fn concurrent_sales_never_oversell_the_shelf(app: TestApp) {
    let m = market(&app).await;
    let clerk = clerk(&app, m.store).await;
    // 12 tills at once for the 5 on the shelf, while 4 buyers reserve online for pickup.
    let mut buyers = Vec::new();
    for i in 0..4 {
        buyers.push(app.buyer(&format!("+86137000005{i:02}")).await);
    }
    let till = join_all((0..12).map(|_| {
        app.post(
            "/api/v1/pos/sales",
            Some(&clerk),
            sale(m.store, m.sku, 1, "cash"),
        )
    }));
    let online = join_all(buyers.iter().map(|b| {
        let mut body = qr_checkout(m.sku, 1);
        body["fulfilment"] = json!({"type": "pickup", "store_id": m.store});
        app.post("/api/v1/checkout", Some(b), body)
    }));
    let (till, online) = tokio::join!(till, online);
    let sold = till.iter().filter(|r| r.status.as_u16() == 201).count() as i64;
    let held = online.iter().filter(|r| r.status.as_u16() == 201).count() as i64;
    for r in till
        .iter()
        .chain(online.iter())
        .filter(|r| r.status.as_u16() != 201)
    {
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (409, "out_of_stock".to_owned())
        );
    }
    assert_eq!(sold + held, 5, "sold {sold}, held {held}");
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (5 - sold, held));
    let check = app
        .get("/api/v1/stock/check", Some(&m.op))
        .await
        .expect(200)
        .json();
    assert_eq!(check["consistent"], true, "{check}");
    trial_balance_is_zero(&app, &m.op).await;
}

async fn scan_to_order_delivers_home_from_the_routed_location(app: TestApp) {
    let m = market(&app).await;
    let clerk = clerk(&app, m.store).await;
    let buyer = app.buyer("+8613700000404").await;
    // The buyer scans the shelf label in the store.
    let product = app
        .get(&format!("/api/v1/products/{}", m.product), Some(&buyer))
        .await
        .expect(200)
        .json();
    let code = product["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_i64() == Some(m.sku))
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let scanned = app
        .get(&format!("/api/v1/skus/by-code/{code}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(scanned["sku"]["id"].as_i64(), Some(m.sku));
    let mut body = qr_checkout(m.sku, 1);
    body["channel"] = json!("scan_to_order");
    body["origin_location_id"] = json!(m.store);
    let c = checkout(&app, &buyer, body).await;
    assert_eq!(c["order"]["channel"], "scan_to_order", "{c}");
    assert_eq!(c["order"]["origin_location_id"].as_i64(), Some(m.store));
    // Delivered home: routing prefers the cloud warehouse to the store's shelf.
    assert_eq!(
        c["order"]["lines"][0]["location_id"].as_i64(),
        Some(m.warehouse)
    );
    assert_eq!(shelf(&app, &m.op, m.sku, m.store).await, (5, 0));
    // The store where it was scanned sees the order it brought in.
    app.get(
        &format!("/api/v1/orders/{}", c["order"]["id"]),
        Some(&clerk),
    )
    .await
    .expect(200);
    // Without the store it was scanned in, a scan-to-order is refused.
    let mut body = qr_checkout(m.sku, 1);
    body["channel"] = json!("scan_to_order");
    app.post("/api/v1/checkout", Some(&buyer), body)
        .await
        .expect_error(422, "invalid_field");
}

on_both_databases!(
    cash_sale_takes_shelf_stock_and_prints_a_receipt,
    members_coupons_card_and_qr,
    hostile_input_moves_nothing,
    concurrent_sales_never_oversell_the_shelf,
    scan_to_order_delivers_home_from_the_routed_location,
);
