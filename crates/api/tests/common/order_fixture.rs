//! Shared set-up for the order and payment tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::{self, TestApp};
use serde_json::{json, Value};

pub struct Market {
    pub op: String,
    pub sup: String,
    pub supplier_id: i64,
    pub product: i64,
    pub sku: i64,
    pub sku2: i64,
    pub warehouse: i64,
    pub store: i64,
}

pub async fn location(app: &TestApp, op: &str, kind: &str, name: &str) -> i64 {
    let caps = if kind == "store" {
        json!({"ship": true, "pickup": true, "sell_in_person": true})
    } else {
        json!({"ship": true})
    };
    app.post(
        "/api/v1/locations",
        Some(op),
        json!({"kind": kind, "name": name, "capabilities": caps,
               "address": {"line1": "1 Road", "city": "City", "region": "Shanghai", "country": "CN"}}),
    )
    .await
    .expect(201)
    .json()["id"]
        .as_i64()
        .unwrap()
}

/// A supplier with an active product (4 SKUs at CNY 100.00), a cloud
/// warehouse with 10 of two SKUs and a store with 5 of the first.
pub async fn market(app: &TestApp) -> Market {
    let op = app.operator().await;
    let (supplier_id, sup) = app.supplier("Order Supplier").await;
    let product = app.product(&sup, "Order Dress").await;
    let pid = product["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/products/{pid}/status"),
        Some(&sup),
        json!({"status": "active"}),
    )
    .await
    .expect(200);
    let sku = product["skus"][0]["id"].as_i64().unwrap();
    let sku2 = product["skus"][1]["id"].as_i64().unwrap();
    let warehouse = location(app, &op, "cloud_warehouse", "Cloud").await;
    let store = location(app, &op, "store", "Store").await;
    for (s, l, q) in [(sku, warehouse, 10), (sku2, warehouse, 10), (sku, store, 5)] {
        app.post(
            "/api/v1/stock/receive",
            Some(&op),
            json!({"sku_id": s, "location_id": l, "qty": q}),
        )
        .await
        .expect(200);
    }
    Market {
        op,
        sup,
        supplier_id,
        product: pid,
        sku,
        sku2,
        warehouse,
        store,
    }
}

pub async fn checkout(app: &TestApp, buyer: &str, body: Value) -> Value {
    app.post("/api/v1/checkout", Some(buyer), body)
        .await
        .expect(201)
        .json()
}

pub fn qr_checkout(sku: i64, qty: i64) -> Value {
    json!({"lines": [{"sku_id": sku, "qty": qty}], "fulfilment": {"type": "deliver", "region": "Shanghai"},
           "payment_method": "alipay"})
}

pub async fn webhook(app: &TestApp, provider: &str, body: &str, sig: &str) -> common::Reply {
    let res = app
        .client
        .post(format!("{}/api/v1/payments/webhooks/{provider}", app.url))
        .header("content-type", "application/json")
        .header("souk-signature", sig)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    common::Reply {
        status: res.status(),
        headers: res.headers().clone(),
        bytes: res.bytes().await.unwrap().to_vec(),
    }
}

/// The sandbox wallet approves; returns the signed webhook without sending it.
pub async fn approve(app: &TestApp, provider_ref: &str) -> (String, String) {
    let a = app
        .post(
            &format!("/api/v1/sandbox/payments/{provider_ref}/approve"),
            None,
            json!({"deliver_webhook": false}),
        )
        .await
        .expect(200)
        .json();
    (
        a["webhook_body"].as_str().unwrap().to_owned(),
        a["signature"].as_str().unwrap().to_owned(),
    )
}

pub async fn trial_balance_is_zero(app: &TestApp, op: &str) -> Value {
    let tb = app
        .get("/api/v1/ledger/trial-balance", Some(op))
        .await
        .expect(200)
        .json();
    assert_eq!(tb["balanced"], true, "{tb}");
    for t in tb["totals"].as_array().unwrap() {
        assert_eq!(t["total_minor"].as_i64(), Some(0), "{tb}");
    }
    tb
}

pub async fn captures(app: &TestApp, intent: i64) -> i64 {
    souk_store::orders::count_payment_events(
        app.services.db.pool(),
        souk_core::ids::PaymentIntentId(intent),
        souk_core::payment::IntentState::Captured,
    )
    .await
    .unwrap()
}

/// (on-hand, reserved) of a SKU summed over locations.
pub async fn stock(app: &TestApp, op: &str, sku: i64) -> (i64, i64) {
    let s = app
        .get(&format!("/api/v1/stock?sku_id={sku}"), Some(op))
        .await
        .expect(200)
        .json();
    let items = s["items"].as_array().unwrap_or_else(|| panic!("{s}"));
    let sum = |k: &str| items.iter().map(|l| l[k].as_i64().unwrap_or(0)).sum();
    (sum("on_hand"), sum("reserved"))
}

/// A console user clerking at `store` only.
pub async fn clerk(app: &TestApp, store: i64) -> String {
    app.console_user(
        &format!("clerk-{}@test.souk", uuid::Uuid::new_v4().simple()),
        vec![souk_core::access::Grant::StoreClerk {
            location_id: souk_core::ids::LocationId(store),
        }],
    )
    .await
}

/// Receives `qty` of `sku` at `location`.
pub async fn receive(app: &TestApp, op: &str, sku: i64, location: i64, qty: i64) {
    app.post(
        "/api/v1/stock/receive",
        Some(op),
        json!({"sku_id": sku, "location_id": location, "qty": qty}),
    )
    .await
    .expect(200);
}

/// A shared coupon code for `campaign` overrides, valid now for 30 days.
pub async fn shared_coupon(app: &TestApp, op: &str, extra: Value) -> String {
    use souk_engine::Clock;
    let now = app.clock.now_ms();
    let day = 24 * 60 * 60 * 1000;
    let mut b = json!({
        "name": "Test campaign",
        "currency": "CNY",
        "discount": {"type": "amount_off", "amount_minor": 1_500},
        "channel": "any",
        "starts_at_ms": now - day,
        "ends_at_ms": now + 30 * day,
        "code_kind": "shared",
        "code": format!("C{}", &uuid::Uuid::new_v4().simple().to_string()[..10]).to_uppercase(),
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    app.post("/api/v1/campaigns", Some(op), b)
        .await
        .expect(201)
        .json()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Pays a QR checkout through the sandbox wallet and its signed webhook.
pub async fn pay_by_qr(app: &TestApp, checkout: &Value) {
    let provider = checkout["payment"]["method"].as_str().unwrap().to_owned();
    let (body, sig) = approve(app, checkout["payment"]["provider_ref"].as_str().unwrap()).await;
    let w = webhook(app, &provider, &body, &sig)
        .await
        .expect(200)
        .json();
    assert_eq!(w["outcome"], "captured", "{w}");
}
