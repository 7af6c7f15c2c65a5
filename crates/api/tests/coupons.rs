//! Coupons through HTTP: campaign rules, bad input, single-use and shared
//! codes, holders, idempotent replays, the conversion report, and the
//! budget / per-buyer races (the single-use race is in `races.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::TestApp;
use futures::future::join_all;
use serde_json::{json, Value};
use souk_core::access::Grant;
use souk_core::ids::LocationId;

const DAY: i64 = 24 * 60 * 60 * 1000;

struct Market {
    op: String,
    sku: i64,
    clerk: String,
}

async fn market(app: &TestApp) -> Market {
    let op = app.operator().await;
    let (_, sup) = app.supplier("Coupon Supplier").await;
    let product = app.product(&sup, "Coupon Dress").await; // CNY 100.00
    let pid = product["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/products/{pid}/status"),
        Some(&sup),
        json!({"status": "active"}),
    )
    .await
    .expect(200);
    let store = app
        .post(
            "/api/v1/locations",
            Some(&op),
            json!({"kind": "store", "name": "Store", "capabilities": {"sell_in_person": true, "pickup": true},
                   "address": {"line1": "1 Road", "city": "Hangzhou", "country": "CN"}}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    let clerk = app
        .console_user(
            &format!("clerk-{}@test.souk", uuid::Uuid::new_v4().simple()),
            vec![Grant::StoreClerk {
                location_id: LocationId(store),
            }],
        )
        .await;
    Market {
        op,
        sku: product["skus"][0]["id"].as_i64().unwrap(),
        clerk,
    }
}

fn now(app: &TestApp) -> i64 {
    use souk_engine::Clock;
    app.clock.now_ms()
}

/// A campaign body valid now for 30 days; `extra` overrides fields.
fn campaign(app: &TestApp, extra: Value) -> Value {
    let mut b = json!({
        "name": "Spring sale",
        "currency": "CNY",
        "discount": {"type": "percent_off", "bps": 1000},
        "channel": "any",
        "starts_at_ms": now(app) - DAY,
        "ends_at_ms": now(app) + 30 * DAY,
        "code_kind": "shared",
        "code": format!("S{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

async fn create(app: &TestApp, m: &Market, extra: Value) -> Value {
    app.post("/api/v1/campaigns", Some(&m.op), campaign(app, extra))
        .await
        .expect(201)
        .json()
}

fn cart(m: &Market, qty: i64, codes: &[&str]) -> Value {
    json!({"lines": [{"sku_id": m.sku, "qty": qty}], "codes": codes})
}

async fn rules_and_prices(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613711110001").await;
    let c = create(&app, &m, json!({})).await;
    let code = c["code"].as_str().unwrap().to_owned();

    // 2 × ¥100, 10% off; free shipping from ¥99.
    let q = app
        .post(
            "/api/v1/coupons/preview",
            Some(&buyer),
            cart(&m, 2, &[&code.to_lowercase()]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(q["subtotal"]["amount_minor"], 20_000);
    assert_eq!(q["coupons"][0]["discount"]["amount_minor"], 2_000);
    assert_eq!(q["shipping"]["amount_minor"], 0);
    assert_eq!(q["total"]["amount_minor"], 18_000);

    // An amount-off larger than the cart takes goods to 0, never below; shipping stays.
    let big = create(
        &app,
        &m,
        json!({"discount": {"type": "amount_off", "amount_minor": 50_000}}),
    )
    .await;
    let q = app
        .post(
            "/api/v1/coupons/preview",
            Some(&buyer),
            cart(&m, 1, &[big["code"].as_str().unwrap()]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(q["coupons"][0]["discount"]["amount_minor"], 10_000);
    assert_eq!(q["shipping"]["amount_minor"], 1_000);
    assert_eq!(q["total"]["amount_minor"], 1_000);

    // Both coupons stack only if both are stackable (neither is).
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 1, &[&code, big["code"].as_str().unwrap()]),
    )
    .await
    .expect_error(422, "coupon_not_stackable");
    let s1 = create(&app, &m, json!({"stackable": true})).await;
    let s2 = create(
        &app,
        &m,
        json!({"stackable": true, "discount": {"type": "amount_off", "amount_minor": 500}}),
    )
    .await;
    let q = app
        .post(
            "/api/v1/coupons/preview",
            Some(&buyer),
            cart(
                &m,
                1,
                &[s2["code"].as_str().unwrap(), s1["code"].as_str().unwrap()],
            ),
        )
        .await
        .expect(200)
        .json();
    // percent first: 10% of 100 = 10, then 5 off: goods 85.00 < 99 → shipping 10.00
    assert_eq!(q["discount_total"]["amount_minor"], 1_500);
    assert_eq!(q["total"]["amount_minor"], 8_500 + 1_000);

    // Wrong channel, window, minimum spend, unknown code, same code twice.
    let in_store = create(&app, &m, json!({"channel": "in_store"})).await;
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 1, &[in_store["code"].as_str().unwrap()]),
    )
    .await
    .expect_error(422, "coupon_wrong_channel");
    app.post(
        "/api/v1/coupons/preview",
        Some(&m.clerk),
        cart(&m, 1, &[in_store["code"].as_str().unwrap()]),
    )
    .await
    .expect(200);
    let online = create(&app, &m, json!({"channel": "online"})).await;
    app.post(
        "/api/v1/coupons/preview",
        Some(&m.clerk),
        cart(&m, 1, &[online["code"].as_str().unwrap()]),
    )
    .await
    .expect_error(422, "coupon_wrong_channel");
    let past = create(
        &app,
        &m,
        json!({"starts_at_ms": now(&app) - 10 * DAY, "ends_at_ms": now(&app) - DAY}),
    )
    .await;
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 1, &[past["code"].as_str().unwrap()]),
    )
    .await
    .expect_error(422, "coupon_expired");
    let future = create(
        &app,
        &m,
        json!({"starts_at_ms": now(&app) + DAY, "ends_at_ms": now(&app) + 10 * DAY}),
    )
    .await;
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 1, &[future["code"].as_str().unwrap()]),
    )
    .await
    .expect_error(422, "coupon_not_yet_valid");
    app.clock.advance_ms(DAY + 1);
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 1, &[future["code"].as_str().unwrap()]),
    )
    .await
    .expect(200);
    let min = create(&app, &m, json!({"min_spend_minor": 30_000})).await;
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 2, &[min["code"].as_str().unwrap()]),
    )
    .await
    .expect_error(422, "coupon_min_spend_not_met");
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 3, &[min["code"].as_str().unwrap()]),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 1, &["NOSUCHCODE"]),
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 1, &[&code, &code]),
    )
    .await
    .expect_error(422, "invalid_field");
    // A campaign in another currency than the market's.
    let usd = create(&app, &m, json!({"currency": "USD"})).await;
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        cart(&m, 1, &[usd["code"].as_str().unwrap()]),
    )
    .await
    .expect_error(422, "currency_mismatch");
    // Cap per redemption.
    let capped = create(
        &app,
        &m,
        json!({"discount": {"type": "percent_off", "bps": 5000}, "max_discount_minor": 1234}),
    )
    .await;
    let q = app
        .post(
            "/api/v1/coupons/preview",
            None,
            cart(&m, 1, &[capped["code"].as_str().unwrap()]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(q["discount_total"]["amount_minor"], 1_234);
}

async fn bad_input(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613711110002").await;
    let post = |body: Value| {
        let app = &app;
        let op = m.op.clone();
        async move { app.post("/api/v1/campaigns", Some(&op), body).await }
    };
    for bps in [-5, 0, 10_001, 1_000_000_000_000_i64] {
        post(campaign(
            &app,
            json!({"discount": {"type": "percent_off", "bps": bps}}),
        ))
        .await
        .expect_error(422, "invalid_amount");
    }
    for amount in [-1, 0, 10_000_000_001_i64, i64::MAX] {
        post(campaign(
            &app,
            json!({"discount": {"type": "amount_off", "amount_minor": amount}}),
        ))
        .await
        .expect_error(422, "invalid_amount");
    }
    post(campaign(&app, json!({"min_spend_minor": -1})))
        .await
        .expect_error(422, "invalid_amount");
    post(campaign(&app, json!({"max_redemptions": 0})))
        .await
        .expect_error(422, "invalid_amount");
    post(campaign(&app, json!({"per_buyer_limit": -3})))
        .await
        .expect_error(422, "invalid_amount");
    post(campaign(&app, json!({"currency": "XXX"})))
        .await
        .expect_error(422, "unknown_currency");
    post(campaign(&app, json!({"channel": "moon"})))
        .await
        .expect_error(422, "invalid_field");
    post(campaign(&app, json!({"ends_at_ms": now(&app) - 2 * DAY})))
        .await
        .expect_error(422, "invalid_field");
    post(campaign(&app, json!({"code": "a b!"})))
        .await
        .expect_error(422, "invalid_field");
    post(campaign(&app, json!({"code_kind": "single_use"})))
        .await
        .expect_error(422, "invalid_field");
    post(campaign(
        &app,
        json!({"discount": {"type": "percent_off", "bps": "ten"}}),
    ))
    .await
    .expect_error(422, "invalid_body");
    let c = create(&app, &m, json!({})).await;
    post(campaign(&app, json!({"code": c["code"]})))
        .await
        .expect_error(409, "coupon_code_taken");

    // Only operators create and see campaigns.
    app.post("/api/v1/campaigns", Some(&buyer), campaign(&app, json!({})))
        .await
        .expect_error(403, "forbidden");
    app.post(
        "/api/v1/campaigns",
        Some(&m.clerk),
        campaign(&app, json!({})),
    )
    .await
    .expect_error(403, "forbidden");
    app.post("/api/v1/campaigns", None, campaign(&app, json!({})))
        .await
        .expect_error(401, "unauthenticated");
    let id = c["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/campaigns/{id}"), Some(&buyer))
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/api/v1/campaigns/{id}/report"), Some(&m.clerk))
        .await
        .expect_error(404, "not_found");
    app.get("/api/v1/campaigns/report", Some(&buyer))
        .await
        .expect_error(403, "forbidden");
    app.get(&format!("/api/v1/campaigns/{id}"), Some(&m.op))
        .await
        .expect(200);

    // Carts: bad quantities, empty, unknown SKUs; buyers may not attach members.
    let code = c["code"].as_str().unwrap();
    for qty in [0, -1, 1_000_001] {
        app.post(
            "/api/v1/coupons/preview",
            Some(&buyer),
            cart(&m, qty, &[code]),
        )
        .await
        .expect_error(422, "invalid_quantity");
    }
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        json!({"lines": [], "codes": [code]}),
    )
    .await
    .expect_error(422, "empty_cart");
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        json!({"lines": [{"sku_id": 999_999, "qty": 1}]}),
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        json!({"lines": [{"sku_id": m.sku, "qty": 1}], "member_phone": "+8613711110001"}),
    )
    .await
    .expect_error(422, "field_not_allowed");
    app.post(
        "/api/v1/coupons/preview",
        Some(&buyer),
        json!({"lines": [{"sku_id": m.sku, "qty": 1}], "price": 1}),
    )
    .await
    .expect_error(422, "invalid_body");
    // Operators do not redeem.
    app.post("/api/v1/coupons/redeem", Some(&m.op), cart(&m, 1, &[code]))
        .await
        .expect_error(403, "forbidden");
}

async fn single_use_codes_holders_and_replays(app: TestApp) {
    let m = market(&app).await;
    let a = app.buyer("+8613711110003").await;
    let b = app.buyer("+8613711110004").await;
    let c = create(&app, &m, json!({"code_kind": "single_use", "code": null, "discount": {"type": "amount_off", "amount_minor": 2_000}})).await;
    let id = c["id"].as_i64().unwrap();
    let codes = app
        .post(
            &format!("/api/v1/campaigns/{id}/codes"),
            Some(&m.op),
            json!({"count": 3, "prefix": "vip"}),
        )
        .await
        .expect(201)
        .json()["codes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes.len(), 3);
    assert!(codes
        .iter()
        .all(|c| c.as_str().unwrap().starts_with("VIP-")));
    for bad in [0, -1, 10_001] {
        app.post(
            &format!("/api/v1/campaigns/{id}/codes"),
            Some(&m.op),
            json!({"count": bad}),
        )
        .await
        .expect_error(422, "invalid_field");
    }
    let listed = app
        .get(&format!("/api/v1/campaigns/{id}/codes"), Some(&m.op))
        .await
        .expect(200)
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);

    // Redeemed once at the POS; the second time is a conflict.
    let code0 = codes[0].as_str().unwrap();
    let r = app
        .post(
            "/api/v1/coupons/redeem",
            Some(&m.clerk),
            cart(&m, 1, &[code0]),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(r["quote"]["total"]["amount_minor"], 8_000); // no shipping at the POS
    app.post(
        "/api/v1/coupons/redeem",
        Some(&m.clerk),
        cart(&m, 1, &[code0]),
    )
    .await
    .expect_error(409, "coupon_already_redeemed");
    app.post("/api/v1/coupons/preview", Some(&a), cart(&m, 1, &[code0]))
        .await
        .expect_error(409, "coupon_already_redeemed");

    // A code claimed by A is A's: B cannot see or use it.
    let code1 = codes[1].as_str().unwrap();
    app.post("/api/v1/coupons/claim", Some(&a), json!({"code": code1}))
        .await
        .expect(200);
    app.post("/api/v1/coupons/claim", Some(&b), json!({"code": code1}))
        .await
        .expect_error(404, "not_found");
    app.post("/api/v1/coupons/redeem", Some(&b), cart(&m, 1, &[code1]))
        .await
        .expect_error(404, "not_found");
    let wallet = app
        .get("/api/v1/me/coupons", Some(&a))
        .await
        .expect(200)
        .json();
    assert_eq!(wallet["items"][0]["code"]["code"], code1);
    assert_eq!(
        app.get("/api/v1/me/coupons", Some(&b))
            .await
            .expect(200)
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Idempotency: a replay returns the first result; a changed body is 409.
    let key = [("idempotency-key", "redeem-a-1")];
    let body = cart(&m, 1, &[code1]);
    let first = app
        .send(
            reqwest::Method::POST,
            "/api/v1/coupons/redeem",
            Some(&a),
            Some(&body),
            &key,
        )
        .await
        .expect(201);
    let again = app
        .send(
            reqwest::Method::POST,
            "/api/v1/coupons/redeem",
            Some(&a),
            Some(&body),
            &key,
        )
        .await
        .expect(201);
    assert_eq!(first.bytes, again.bytes);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    app.send(
        reqwest::Method::POST,
        "/api/v1/coupons/redeem",
        Some(&a),
        Some(&cart(&m, 2, &[code1])),
        &key,
    )
    .await
    .expect_error(409, "idempotency_key_reused");
    let camp = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&m.op))
        .await
        .expect(200)
        .json();
    assert_eq!(camp["redemptions"], 2);
    assert_eq!(camp["discount_spent_minor"], 4_000);

    // Codes issued to a holder by the operator.
    let acc_b = app.get("/api/v1/me", Some(&b)).await.expect(200).json()["id"]
        .as_i64()
        .unwrap();
    let mine = app
        .post(
            &format!("/api/v1/campaigns/{id}/codes"),
            Some(&m.op),
            json!({"count": 1, "holder_account_id": acc_b}),
        )
        .await
        .expect(201)
        .json()["codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/api/v1/coupons/redeem", Some(&a), cart(&m, 1, &[&mine]))
        .await
        .expect_error(404, "not_found");
    app.post("/api/v1/coupons/redeem", Some(&b), cart(&m, 1, &[&mine]))
        .await
        .expect(201);
    // Shared campaigns have no generated codes.
    let shared = create(&app, &m, json!({})).await;
    app.post(
        &format!("/api/v1/campaigns/{}/codes", shared["id"]),
        Some(&m.op),
        json!({"count": 1}),
    )
    .await
    .expect_error(422, "invalid_field");
}

async fn fire(app: &TestApp, token: &str, body: Value, n: usize) -> (usize, Vec<String>) {
    let replies =
        join_all((0..n).map(|_| app.post("/api/v1/coupons/redeem", Some(token), body.clone())))
            .await;
    let ok = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let other: Vec<String> = replies
        .iter()
        .filter(|r| r.status.as_u16() != 201)
        .map(|r| format!("{} {}", r.status.as_u16(), r.code()))
        .collect();
    (ok, other)
}

async fn races(app: TestApp) {
    let m = market(&app).await;
    // A budget of 7 redemptions: exactly 7.
    let c = create(&app, &m, json!({"max_redemptions": 7})).await;
    let (ok, other) = fire(
        &app,
        &m.clerk,
        cart(&m, 1, &[c["code"].as_str().unwrap()]),
        50,
    )
    .await;
    assert_eq!(ok, 7, "{other:?}");
    assert!(
        other.iter().all(|o| o == "409 coupon_budget_exhausted"),
        "{other:?}"
    );

    // A money budget of ¥50 at ¥10 each: exactly 5.
    let c = create(
        &app,
        &m,
        json!({"discount": {"type": "amount_off", "amount_minor": 1_000}, "budget_minor": 5_000}),
    )
    .await;
    let (ok, other) = fire(
        &app,
        &m.clerk,
        cart(&m, 1, &[c["code"].as_str().unwrap()]),
        50,
    )
    .await;
    assert_eq!(ok, 5, "{other:?}");
    let camp = app
        .get(&format!("/api/v1/campaigns/{}", c["id"]), Some(&m.op))
        .await
        .json();
    assert_eq!(camp["discount_spent_minor"], 5_000);

    // Two per buyer, 20 concurrent attempts by one buyer: exactly 2.
    let buyer = app.buyer("+8613711110005").await;
    let c = create(&app, &m, json!({"per_buyer_limit": 2})).await;
    let (ok, other) = fire(
        &app,
        &buyer,
        cart(&m, 1, &[c["code"].as_str().unwrap()]),
        20,
    )
    .await;
    assert_eq!(ok, 2, "{other:?}");
    assert!(
        other.iter().all(|o| o == "409 coupon_limit_reached"),
        "{other:?}"
    );
    // A per-buyer coupon needs a member at the POS.
    app.post(
        "/api/v1/coupons/redeem",
        Some(&m.clerk),
        cart(&m, 1, &[c["code"].as_str().unwrap()]),
    )
    .await
    .expect_error(422, "invalid_field");
}

async fn conversion_report(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613711110006").await;
    let c = create(
        &app,
        &m,
        json!({"code_kind": "single_use", "code": null, "name": "Online to store"}),
    )
    .await;
    let id = c["id"].as_i64().unwrap();
    let codes = app
        .post(
            &format!("/api/v1/campaigns/{id}/codes"),
            Some(&m.op),
            json!({"count": 10}),
        )
        .await
        .expect(201)
        .json()["codes"]
        .as_array()
        .unwrap()
        .clone();
    for code in &codes[..2] {
        app.post(
            "/api/v1/coupons/redeem",
            Some(&m.clerk),
            cart(&m, 1, &[code.as_str().unwrap()]),
        )
        .await
        .expect(201);
    }
    app.post(
        "/api/v1/coupons/redeem",
        Some(&buyer),
        cart(&m, 1, &[codes[2].as_str().unwrap()]),
    )
    .await
    .expect(201);
    let r = app
        .get(&format!("/api/v1/campaigns/{id}/report"), Some(&m.op))
        .await
        .expect(200)
        .json();
    assert_eq!(r["issued"], 10);
    assert_eq!(r["redeemed"], 3);
    assert_eq!(r["conversion_bps"], 3_000);
    assert_eq!(r["redeemed_in_store_within_year"], 2);
    assert_eq!(r["came_back_in_store_bps"], 2_000);
    let by: Vec<(String, i64)> = r["redeemed_by_channel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["channel"].as_str().unwrap().to_owned(),
                x["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by, vec![("in_store".into(), 2), ("online".into(), 1)]);

    // A shared code: issued = buyers who collected it.
    let s = create(&app, &m, json!({})).await;
    app.post(
        "/api/v1/coupons/claim",
        Some(&buyer),
        json!({"code": s["code"]}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/coupons/claim",
        Some(&buyer),
        json!({"code": s["code"]}),
    )
    .await
    .expect(200);
    let all = app
        .get("/api/v1/campaigns/report", Some(&m.op))
        .await
        .expect(200)
        .json();
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let shared = items.iter().find(|x| x["campaign_id"] == s["id"]).unwrap();
    assert_eq!(shared["issued"], 1);
    assert_eq!(shared["redeemed"], 0);
}

on_both_databases!(
    rules_and_prices,
    bad_input,
    single_use_codes_holders_and_replays,
    races,
    conversion_report,
);
