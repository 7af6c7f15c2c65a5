//! The races of the issue, at full scale, through HTTP, on both databases:
//! 50 concurrent requests released together, round after round
//! (`SOUK_RACE_ROUNDS`, default 200), with zero double effects.
//!
//! 1. The last unit: 50 buyers, half reserving and half checking out, for
//!    one unit; exactly one gets it, the rest 409 `out_of_stock`.
//! 2. A single-use coupon whose campaign's budget is that one redemption:
//!    50 redemptions (the clerk at the till and buyers online); exactly one,
//!    the rest 409 `coupon_already_redeemed`; the budget spent, not beyond.
//! 3. One payment captured by 50 requests at once: webhook deliveries (distinct
//!    and repeated event ids) and buyer returns; exactly one capture.
//! 4. The same at the till: 50 confirmations of one cash payment by clerks
//!    and operators; one 200, the rest 409 `already_captured`.
//! 5. Cancel racing the payment: 25 buyer cancels and 25 wallet confirmations
//!    of one order at once. Whoever wins, the order ends cancelled and the
//!    wallet has paid back exactly what it took, once, with the ledger at zero.
//!
//! No reply may be a 5xx, and every reply must be one the race expects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/order_fixture.rs"]
mod fixture;
#[path = "common/race.rs"]
mod race;

use common::TestApp;
use fixture::*;
use race::{one_winner, outcome, tally, Racers, Shot};
use serde_json::{json, Value};
use souk_engine::payments::{sign, WebhookEvent, SANDBOX_WEBHOOK_SECRET};
use souk_engine::Clock;
use std::collections::BTreeMap;

/// Requests per round.
const RACERS: usize = 50;

fn rounds() -> usize {
    race::rounds(200)
}

/// A new active product of the market's supplier; returns its first SKU, which has no stock.
async fn fresh_sku(app: &TestApp, m: &Market, title: &str) -> i64 {
    let product = app.product(&m.sup, title).await;
    let pid = product["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/products/{pid}/status"),
        Some(&m.sup),
        json!({"status": "active"}),
    )
    .await
    .expect(200);
    product["skus"][0]["id"].as_i64().unwrap()
}

async fn receive(app: &TestApp, m: &Market, sku: i64, qty: i64) {
    app.post(
        "/api/v1/stock/receive",
        Some(&m.op),
        json!({"sku_id": sku, "location_id": m.warehouse, "qty": qty}),
    )
    .await
    .expect(200);
}

/// `n` buyers signed in, with distinct phone numbers under `prefix` (5 digits).
async fn buyers(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(app.buyer(&format!("+86{prefix}{i:04}")).await);
    }
    out
}

async fn last_unit(app: TestApp) {
    let m = market(&app).await;
    let sku = fresh_sku(&app, &m, "Last Unit Dress").await;
    let buyers = buyers(&app, "1360000", RACERS).await;
    let racers = Racers::connect(&app, RACERS).await;
    let reserve = json!({"sku_id": sku, "qty": 1});
    let order = qr_checkout(sku, 1);
    for round in 0..rounds() {
        receive(&app, &m, sku, 1).await;
        // Half reserve, half check out; who does which turns each round.
        let shots = buyers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (i + round) % 2 == 0 {
                    Shot::post("/api/v1/reservations", Some(b), &reserve)
                } else {
                    Shot::post("/api/v1/checkout", Some(b), &order)
                }
            })
            .collect();
        let replies = racers.fire(shots).await;
        assert_eq!(
            tally(&replies),
            one_winner("201", "409 out_of_stock", RACERS),
            "round {round}"
        );
        // Every round's unit went to one holder, and only one.
        let held = round as i64 + 1;
        let levels = app
            .get(&format!("/api/v1/stock?sku_id={sku}"), Some(&m.op))
            .await
            .expect(200)
            .json();
        let wh = &levels["items"][0];
        assert_eq!(levels["items"].as_array().unwrap().len(), 1, "{levels}");
        assert_eq!(
            (
                wh["on_hand"].as_i64(),
                wh["reserved"].as_i64(),
                wh["available"].as_i64()
            ),
            (Some(held), Some(held), Some(0)),
            "round {round}: {levels}"
        );
        let check = app
            .get("/api/v1/stock/check", Some(&m.op))
            .await
            .expect(200)
            .json();
        assert_eq!(check["consistent"], true, "round {round}: {check}");
    }
}

async fn single_use_coupon(app: TestApp) {
    let m = market(&app).await;
    let rounds = rounds();
    let store = location(&app, &m.op, "store", "Till").await;
    let clerk = app
        .console_user(
            "clerk@races.test",
            vec![souk_core::access::Grant::StoreClerk {
                location_id: souk_core::ids::LocationId(store),
            }],
        )
        .await;
    // Half the racers are the clerk at the till, half are buyers online.
    let buyers = buyers(&app, "1361000", RACERS / 2).await;
    let tokens: Vec<&str> = (0..RACERS)
        .map(|i| {
            if i % 2 == 0 {
                clerk.as_str()
            } else {
                buyers[i / 2].as_str()
            }
        })
        .collect();
    // Each round, a code of a campaign of its own, ¥10 off, whose money budget
    // is exactly one redemption: the winner takes the code and spends the
    // campaign at once, so the losers race both.
    let now = app.clock.now_ms();
    let mut rounds_codes = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let campaign = app
            .post(
                "/api/v1/campaigns",
                Some(&m.op),
                json!({"name": format!("Race {round}"), "currency": "CNY", "channel": "any",
                       "discount": {"type": "amount_off", "amount_minor": 1_000},
                       "budget_minor": 1_000,
                       "starts_at_ms": now - 60_000, "ends_at_ms": now + 30 * 24 * 3_600_000_i64,
                       "code_kind": "single_use", "code": null}),
            )
            .await
            .expect(201)
            .json();
        let id = campaign["id"].as_i64().unwrap();
        let code = app
            .post(
                &format!("/api/v1/campaigns/{id}/codes"),
                Some(&m.op),
                json!({"count": 1}),
            )
            .await
            .expect(201)
            .json()["codes"][0]
            .as_str()
            .unwrap()
            .to_owned();
        rounds_codes.push((id, code));
    }
    let racers = Racers::connect(&app, RACERS).await;
    for (round, (id, code)) in rounds_codes.iter().enumerate() {
        let cart = json!({"lines": [{"sku_id": m.sku, "qty": 1}], "codes": [code]});
        let shots = tokens
            .iter()
            .map(|t| Shot::post("/api/v1/coupons/redeem", Some(t), &cart))
            .collect();
        let replies = racers.fire(shots).await;
        assert_eq!(
            tally(&replies),
            one_winner("201", "409 coupon_already_redeemed", RACERS),
            "round {round}"
        );
        // One redemption; the budget spent to the last fen, not beyond.
        let c = app
            .get(&format!("/api/v1/campaigns/{id}"), Some(&m.op))
            .await
            .expect(200)
            .json();
        assert_eq!(c["redemptions"].as_i64(), Some(1), "round {round}: {c}");
        assert_eq!(
            c["discount_spent_minor"].as_i64(),
            Some(1_000),
            "round {round}: {c}"
        );
        let report = app
            .get(&format!("/api/v1/campaigns/{id}/report"), Some(&m.op))
            .await
            .expect(200)
            .json();
        assert_eq!(
            report["redeemed"].as_i64(),
            Some(1),
            "round {round}: {report}"
        );
    }
}

/// A wallet event for `intent`, signed now.
fn signed_event(app: &TestApp, event_id: &str, intent: &Value) -> (String, String) {
    let body = serde_json::to_string(&WebhookEvent {
        event_id: event_id.to_owned(),
        kind: "payment.succeeded".into(),
        provider_ref: intent["provider_ref"].as_str().unwrap().to_owned(),
        amount_minor: intent["amount_minor"].as_i64().unwrap(),
        currency: souk_core::money::Currency::parse(intent["currency"].as_str().unwrap()).unwrap(),
    })
    .unwrap();
    let sig = sign(SANDBOX_WEBHOOK_SECRET, app.clock.now_ms(), body.as_bytes()).unwrap();
    (body, sig)
}

async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

async fn concurrent_capture(app: TestApp) {
    let m = market(&app).await;
    let rounds = rounds();
    let sku = fresh_sku(&app, &m, "Captured Dress").await;
    receive(&app, &m, sku, rounds as i64).await;
    let buyer = app.buyer("+8613620000001").await;
    // Every round's order, made up front (one buyer, one unit each).
    let mut orders = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        orders.push(checkout(&app, &buyer, qr_checkout(sku, 1)).await);
    }
    let racers = Racers::connect(&app, RACERS).await;
    // Per round: 10 distinct events, each delivered 3 times, and 20 returns,
    // interleaved.
    const EVENTS: usize = 10;
    const DELIVERIES: usize = 3;
    let mut paid_total = 0;
    for (round, c) in orders.iter().enumerate() {
        let pay = c["payment"]["id"].as_i64().unwrap();
        // The payer approves in the wallet (the sandbox's own event is one of the ten).
        let (first, first_sig) =
            approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
        let mut events = vec![(first, first_sig)];
        for e in 1..EVENTS {
            events.push(signed_event(
                &app,
                &format!("evt_race_{round}_{e}"),
                &c["payment"],
            ));
        }
        // Which shot is what: Some(event index) for a webhook, None for a return.
        let plan: Vec<Option<usize>> = (0..RACERS)
            .map(|i| {
                let k = (i + round) % RACERS;
                (k < EVENTS * DELIVERIES).then_some(k % EVENTS)
            })
            .collect();
        let return_path = format!("/api/v1/payments/{pay}/return");
        let shots = plan
            .iter()
            .map(|p| match p {
                Some(e) => Shot::webhook("alipay", &events[*e].0, &events[*e].1),
                None => Shot::post(&return_path, Some(&buyer), &json!({})),
            })
            .collect();
        let replies = racers.fire(shots).await;

        // Each event is taken once; its repeats are duplicates. Returns see
        // the payment captured. One capture among them all.
        let mut per_event: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut webhook_captures = 0;
        for (p, r) in plan.iter().zip(&replies) {
            assert_eq!(outcome(r), "200", "round {round}");
            let body = r.json();
            match p {
                Some(e) => {
                    let o = body["outcome"].as_str().unwrap().to_owned();
                    assert!(
                        ["captured", "already_captured", "duplicate"].contains(&o.as_str()),
                        "round {round}: {body}"
                    );
                    webhook_captures += usize::from(o == "captured");
                    per_event.entry(*e).or_default().push(o);
                }
                None => assert_eq!(body["state"], "captured", "round {round}: {body}"),
            }
        }
        for (e, outs) in &per_event {
            assert_eq!(
                outs.iter().filter(|o| *o != "duplicate").count(),
                1,
                "round {round}, event {e}: {outs:?}"
            );
        }
        assert!(webhook_captures <= 1, "round {round}: {per_event:?}");
        let by_return = count(
            &app,
            "SELECT COUNT(*) FROM payment_events WHERE intent_id = $1 AND to_state = 'captured' AND source = 'return'",
            pay,
        )
        .await;
        assert_eq!(
            webhook_captures as i64 + by_return,
            1,
            "round {round}: the capture is the webhook's or a return's"
        );
        paid_total += captured_once(&app, &m, c, round, paid_total).await;
    }
}

/// After a round: the order of checkout `c` was captured exactly once, in
/// full, with one ledger transaction; the ledger balances and its clearing
/// account holds what was paid before plus this order. Returns its total.
async fn captured_once(
    app: &TestApp,
    m: &Market,
    c: &Value,
    round: usize,
    paid_before: i64,
) -> i64 {
    let pay = c["payment"]["id"].as_i64().unwrap();
    let total = c["order"]["totals"]["total_minor"].as_i64().unwrap();
    assert_eq!(c["payment"]["amount_minor"].as_i64(), Some(total));
    assert_eq!(captures(app, pay).await, 1, "round {round}");
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM ledger_txns WHERE intent_id = $1 AND kind = 'capture'",
            pay
        )
        .await,
        1,
        "round {round}: one capture transaction in the ledger"
    );
    let o = app
        .get(&format!("/api/v1/orders/{}", c["order"]["id"]), Some(&m.op))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "paid", "round {round}: {o}");
    assert_eq!(
        o["totals"]["captured_minor"].as_i64(),
        Some(total),
        "round {round}: {o}"
    );
    let tb = trial_balance_is_zero(app, &m.op).await;
    let clearing: i64 = tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["account"] == "buyer_payments_clearing")
        .map(|a| a["amount_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(clearing, paid_before + total, "round {round}: {tb}");
    total
}

/// Cash at the till: 50 confirmations of one payment at once, by clerks of
/// the pickup store and by operators; one captures, the rest are 409
/// `already_captured`.
async fn till_confirmation(app: TestApp) {
    let m = market(&app).await;
    let rounds = rounds();
    let sku = fresh_sku(&app, &m, "Till Dress").await;
    app.post(
        "/api/v1/stock/receive",
        Some(&m.op),
        json!({"sku_id": sku, "location_id": m.store, "qty": rounds}),
    )
    .await
    .expect(200);
    let clerk = app
        .console_user(
            "till-clerk@races.test",
            vec![souk_core::access::Grant::StoreClerk {
                location_id: souk_core::ids::LocationId(m.store),
            }],
        )
        .await;
    let tokens: Vec<&str> = (0..RACERS)
        .map(|i| {
            if i % 2 == 0 {
                clerk.as_str()
            } else {
                m.op.as_str()
            }
        })
        .collect();
    let buyer = app.buyer("+8613630000001").await;
    let body = json!({"lines": [{"sku_id": sku, "qty": 1}], "fulfilment": {"type": "pickup", "store_id": m.store},
                      "payment_method": "cash"});
    let mut orders = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        orders.push(checkout(&app, &buyer, body.clone()).await);
    }
    let racers = Racers::connect(&app, RACERS).await;
    let mut paid_total = 0;
    for (round, c) in orders.iter().enumerate() {
        let path = format!("/api/v1/payments/{}/confirm", c["payment"]["id"]);
        let shots = tokens
            .iter()
            .map(|t| Shot::post(&path, Some(t), &json!({})))
            .collect();
        let replies = racers.fire(shots).await;
        assert_eq!(
            tally(&replies),
            one_winner("200", "409 already_captured", RACERS),
            "round {round}"
        );
        paid_total += captured_once(&app, &m, c, round, paid_total).await;
    }
}

async fn cancel_racing_the_payment(app: TestApp) {
    let m = market(&app).await;
    let rounds = rounds();
    let sku = fresh_sku(&app, &m, "Cancelled Dress").await;
    receive(&app, &m, sku, rounds as i64).await;
    let buyer = app.buyer("+8613620000002").await;
    let mut orders = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        orders.push(checkout(&app, &buyer, qr_checkout(sku, 1)).await);
    }
    let racers = Racers::connect(&app, RACERS).await;
    for (round, c) in orders.iter().enumerate() {
        let pay = c["payment"]["id"].as_i64().unwrap();
        let amount = c["payment"]["amount_minor"].as_i64().unwrap();
        let cancel_path = format!("/api/v1/orders/{}/cancel", c["order"]["id"]);
        let events: Vec<(String, String)> = (0..RACERS / 2)
            .map(|e| signed_event(&app, &format!("evt_cancel_{round}_{e}"), &c["payment"]))
            .collect();
        // The wallet has taken the money; its confirmations race the buyer's cancels.
        app.services
            .orders
            .sandbox_qr(souk_core::payment::Method::Alipay)
            .unwrap()
            .payer_approves(c["payment"]["provider_ref"].as_str().unwrap());
        let shots = (0..RACERS)
            .map(|i| {
                if (i + round) % 2 == 0 {
                    Shot::post(&cancel_path, Some(&buyer), &json!({}))
                } else {
                    let (body, sig) = &events[i / 2];
                    Shot::webhook("alipay", body, sig)
                }
            })
            .collect();
        let replies = racers.fire(shots).await;
        for r in &replies {
            let o = outcome(r);
            assert!(
                ["200", "409 illegal_transition",].contains(&o.as_str()),
                "round {round}: {o} {:?}",
                r.json()
            );
        }
        let o = app
            .get(
                &format!("/api/v1/orders/{}", c["order"]["id"]),
                Some(&buyer),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(o["state"], "cancelled", "round {round}: {o}");
        // Paid back exactly what was taken, once — by a refund after a
        // capture, or by a late refund after the void.
        let refunded = app
            .services
            .orders
            .sandbox_qr(souk_core::payment::Method::Alipay)
            .unwrap()
            .refunded_minor(c["payment"]["provider_ref"].as_str().unwrap());
        assert_eq!(refunded, amount, "round {round}: the wallet paid back");
        let p = app
            .get(&format!("/api/v1/payments/{pay}"), Some(&buyer))
            .await
            .expect(200)
            .json();
        assert_eq!(p["state"], "refunded", "round {round}: {p}");
        assert_eq!(p["refunded_minor"].as_i64(), Some(amount));
        let txns = count(
            &app,
            "SELECT COUNT(*) FROM ledger_txns WHERE intent_id = $1 AND kind IN ('capture', 'late_payment')",
            pay,
        )
        .await;
        assert_eq!(txns, 1, "round {round}: the money came in once");
    }
    trial_balance_is_zero(&app, &m.op).await;
}

on_both_databases!(
    last_unit,
    single_use_coupon,
    concurrent_capture,
    till_confirmation,
    cancel_racing_the_payment,
);
