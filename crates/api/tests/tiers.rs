//! Member tiers through HTTP: rolling 12-month spend, thresholds, the tier
//! discount in the cart price, idempotent spend records, refunds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::TestApp;
use serde_json::json;
use souk_core::ids::AccountId;
use souk_core::money::{Currency, Money};
use souk_engine::Clock;

const DAY: i64 = 24 * 60 * 60 * 1000;

fn cny(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: Currency::Cny,
    }
}

async fn sku(app: &TestApp) -> i64 {
    let (_, sup) = app.supplier("Tier Supplier").await;
    let product = app.product(&sup, "Tier Dress").await; // CNY 100.00
    let pid = product["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/products/{pid}/status"),
        Some(&sup),
        json!({"status": "active"}),
    )
    .await
    .expect(200);
    product["skus"][0]["id"].as_i64().unwrap()
}

async fn tiers_follow_rolling_spend(app: TestApp) {
    let sku = sku(&app).await;
    let buyer = app.buyer("+8613722220001").await;
    let me = AccountId(
        app.get("/api/v1/me", Some(&buyer)).await.expect(200).json()["id"]
            .as_i64()
            .unwrap(),
    );
    let t = app
        .get("/api/v1/me/tier", Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(t["tier"], "regular");
    assert_eq!(t["discount_bps"], 0);
    assert_eq!(t["next_tier"], "silver");
    assert_eq!(t["to_next_minor"], 200_000);
    app.get("/api/v1/me/tier", None)
        .await
        .expect_error(401, "unauthenticated");

    let coupons = &app.services.coupons;
    let now = app.clock.now_ms();
    // Spend older than 365 days does not count.
    assert!(coupons
        .record_spend(me, cny(5_000_000), "order:old", now - 366 * DAY)
        .await
        .unwrap());
    assert_eq!(
        app.get("/api/v1/me/tier", Some(&buyer)).await.json()["tier"],
        "regular"
    );
    // ¥2,000 in the window: silver.
    assert!(coupons
        .record_spend(me, cny(150_000), "order:1", now - 100 * DAY)
        .await
        .unwrap());
    assert!(coupons
        .record_spend(me, cny(50_000), "order:2", now - DAY)
        .await
        .unwrap());
    // Recording the same payment again changes nothing.
    assert!(!coupons
        .record_spend(me, cny(50_000), "order:2", now - DAY)
        .await
        .unwrap());
    // Spend in another currency does not count towards a CNY market.
    coupons
        .record_spend(
            me,
            Money {
                amount_minor: 9_999_999,
                currency: Currency::Usd,
            },
            "order:usd",
            now,
        )
        .await
        .unwrap();
    let t = app
        .get("/api/v1/me/tier", Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(t["tier"], "silver");
    assert_eq!(t["discount_bps"], 300);
    assert_eq!(t["spend_12m"]["amount_minor"], 200_000);
    assert_eq!(t["to_next_minor"], 800_000);

    // The tier discount is in the price: 3% of ¥100 = ¥3.00.
    let q = app
        .post(
            "/api/v1/coupons/preview",
            Some(&buyer),
            json!({"lines": [{"sku_id": sku, "qty": 1}]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(q["tier_discount"]["amount_minor"], 300);
    assert_eq!(q["total"]["amount_minor"], 9_700 + 1_000); // below ¥99 after discount: shipping
                                                           // An anonymous cart has no tier.
    let q = app
        .post(
            "/api/v1/coupons/preview",
            None,
            json!({"lines": [{"sku_id": sku, "qty": 1}]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(q["tier_discount"]["amount_minor"], 0);

    // A refund (negative) takes the buyer back below silver.
    coupons
        .record_spend(me, cny(-1), "refund:2", now)
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/me/tier", Some(&buyer)).await.json()["tier"],
        "regular"
    );

    // Gold from ¥10,000; the spend drops out of the window a year later.
    coupons
        .record_spend(me, cny(1_000_000), "order:3", now)
        .await
        .unwrap();
    let t = app.get("/api/v1/me/tier", Some(&buyer)).await.json();
    assert_eq!(t["tier"], "gold");
    assert_eq!(t["next_tier"], serde_json::Value::Null);
    app.clock.advance_ms(366 * DAY);
    let buyer = app.buyer("+8613722220001").await; // sessions last 30 days
    assert_eq!(
        app.get("/api/v1/me/tier", Some(&buyer)).await.json()["tier"],
        "regular"
    );
}

async fn clerk_prices_for_a_member(app: TestApp) {
    let sku = sku(&app).await;
    let op = app.operator().await;
    let buyer = app.buyer("+8613722220002").await;
    let me = AccountId(
        app.get("/api/v1/me", Some(&buyer)).await.json()["id"]
            .as_i64()
            .unwrap(),
    );
    app.services
        .coupons
        .record_spend(me, cny(1_000_000), "pos:1", app.clock.now_ms())
        .await
        .unwrap();
    let store = app
        .post(
            "/api/v1/locations",
            Some(&op),
            json!({"kind": "store", "name": "Store", "capabilities": {"sell_in_person": true},
                   "address": {"line1": "1 Road", "city": "Hangzhou", "country": "CN"}}),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    let clerk = app
        .console_user(
            "tier-clerk@test.souk",
            vec![souk_core::access::Grant::StoreClerk {
                location_id: souk_core::ids::LocationId(store),
            }],
        )
        .await;
    // Gold 5% for the member attached by phone; no shipping at the POS.
    let q = app
        .post(
            "/api/v1/coupons/preview",
            Some(&clerk),
            json!({"lines": [{"sku_id": sku, "qty": 2}], "member_phone": "+8613722220002"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(q["tier_discount"]["amount_minor"], 1_000);
    assert_eq!(q["total"]["amount_minor"], 19_000);
    app.post(
        "/api/v1/coupons/preview",
        Some(&clerk),
        json!({"lines": [{"sku_id": sku, "qty": 1}], "member_phone": "+8613799999999"}),
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        "/api/v1/coupons/preview",
        Some(&clerk),
        json!({"lines": [{"sku_id": sku, "qty": 1}], "member_phone": "not a phone"}),
    )
    .await
    .expect_error(422, "invalid_phone");
    // Another store's id: as if it did not exist.
    app.post(
        "/api/v1/coupons/preview",
        Some(&clerk),
        json!({"lines": [{"sku_id": sku, "qty": 1}], "location_id": store + 1000}),
    )
    .await
    .expect_error(404, "not_found");
}

on_both_databases!(tiers_follow_rolling_spend, clerk_prices_for_a_member);
