//! Accounts and access, proved through HTTP on both databases: phone codes,
//! passwords, API keys, sessions, and the tenancy matrix (one tenant can
//! neither read nor change another's suppliers, products, locations, accounts).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{Reply, TestApp, PASSWORD};
use futures::future::join_all;
use serde_json::{json, Value};
use souk_core::access::Grant;
use souk_core::ids::LocationId;

const MINUTE_MS: i64 = 60 * 1000;

// ----- helpers -----

async fn request_code(app: &TestApp, phone: &str) -> Reply {
    app.post("/api/v1/auth/otp/request", None, json!({ "phone": phone }))
        .await
}

async fn verify(app: &TestApp, phone: &str, code: &str) -> Reply {
    app.post(
        "/api/v1/auth/otp/verify",
        None,
        json!({ "phone": phone, "code": code }),
    )
    .await
}

async fn password(app: &TestApp, email: &str, password: &str) -> Reply {
    app.post(
        "/api/v1/auth/password",
        None,
        json!({ "email": email, "password": password }),
    )
    .await
}

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

fn token_of(r: &Reply) -> String {
    r.json()["token"].as_str().expect("token").to_owned()
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/me", Some(token)).await.expect(200).json()
}

async fn account_id(app: &TestApp, token: &str) -> i64 {
    me(app, token).await["id"].as_i64().unwrap()
}

fn address() -> Value {
    json!({ "line1": "1 Market Street", "city": "Shanghai", "country": "CN" })
}

/// A store created by the operator; returns its id.
async fn store(app: &TestApp, op: &str, name: &str) -> i64 {
    app.post(
        "/api/v1/locations",
        Some(op),
        json!({ "kind": "store", "name": name, "address": address(),
                "capabilities": { "pickup": true, "sell_in_person": true } }),
    )
    .await
    .expect(201)
    .json()["id"]
        .as_i64()
        .unwrap()
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

fn codes_of(replies: &[Reply]) -> Vec<(u16, String)> {
    let mut v: Vec<_> = replies
        .iter()
        .map(|r| (r.status.as_u16(), r.code()))
        .collect();
    v.sort();
    v
}

/// Asserts a refused request: 403 or 404, never 2xx.
#[track_caller]
fn refused(r: Reply) {
    let s = r.status.as_u16();
    assert!(
        s == 403 || s == 404,
        "expected 403 or 404, got {s}: {}",
        String::from_utf8_lossy(&r.bytes)
    );
    assert!(!r.code().is_empty(), "refusal without an error code");
}

/// Every way to change a product, tried by a caller who must be refused.
async fn attacks(app: &TestApp, t: &str, product: i64, sku: i64) {
    let path = format!("/api/v1/products/{product}");
    refused(
        app.patch(
            &path,
            Some(t),
            json!({ "translations": { "en": { "title": "Hijacked" } } }),
        )
        .await,
    );
    refused(
        app.post(
            &format!("{path}/status"),
            Some(t),
            json!({ "status": "archived" }),
        )
        .await,
    );
    refused(
        app.post(
            &format!("{path}/skus"),
            Some(t),
            json!({ "color": "Green", "size": "XL",
                    "prices": [{ "currency": "CNY", "amount_minor": 1 }] }),
        )
        .await,
    );
    refused(
        app.put(
            &format!("/api/v1/skus/{sku}/prices"),
            Some(t),
            json!({ "prices": [{ "currency": "CNY", "amount_minor": 1 }] }),
        )
        .await,
    );
}

/// How many products a supplier has, as the operator sees them.
async fn products_of(app: &TestApp, op: &str, supplier: i64) -> usize {
    let path = format!("/api/v1/products?supplier_id={supplier}&limit=100");
    ids(&app.get(&path, Some(op)).await.expect(200).json()).len()
}

// ----- 1. phone codes -----

async fn otp_signs_in_and_reuses_the_account(app: TestApp) {
    let phone = "+8613800000001";
    let sent = request_code(&app, phone).await.expect(202).json();
    assert_eq!(sent["expires_in_s"], 300);
    let code = app.codes.last_code(phone).expect("code sent");
    assert_eq!(code.len(), 6);

    let first = verify(&app, phone, &code).await.expect(200);
    let body = first.json();
    assert_eq!(body["grants"], json!([{ "role": "buyer" }]));
    let account = body["account_id"].as_i64().unwrap();
    let t1 = token_of(&first);
    let m = me(&app, &t1).await;
    assert_eq!(m["id"], account);
    assert_eq!(m["phone"], phone);
    assert_eq!(m["email"], Value::Null);

    // The code is single-use.
    verify(&app, phone, &code)
        .await
        .expect_error(401, "invalid_code");

    // Signing in again (the local mainland form of the same number) reuses the account.
    app.clock.advance_ms(31_000);
    request_code(&app, "138 0000 0001").await.expect(202);
    let code2 = app.codes.last_code(phone).unwrap();
    let second = verify(&app, phone, &code2).await.expect(200);
    assert_eq!(second.json()["account_id"], account);
    let t2 = token_of(&second);
    assert_ne!(t1, t2, "each sign-in opens its own session");
    assert_eq!(me(&app, &t2).await["id"], account);
    assert_eq!(
        me(&app, &t1).await["id"],
        account,
        "first session still live"
    );

    // A phone that never asked for a code cannot sign in.
    verify(&app, "+8613800000002", "123456")
        .await
        .expect_error(401, "invalid_code");
    // Codes are six digits.
    verify(&app, phone, "12345")
        .await
        .expect_error(401, "invalid_code");
}

async fn otp_wrong_codes_burn_the_code(app: TestApp) {
    let phone = "+8613800000011";
    request_code(&app, phone).await.expect(202);
    let code = app.codes.last_code(phone).unwrap();
    for _ in 0..5 {
        verify(&app, phone, &wrong(&code))
            .await
            .expect_error(401, "invalid_code");
    }
    // After five wrong guesses even the right code is refused.
    verify(&app, phone, &code)
        .await
        .expect_error(429, "too_many_attempts");
    verify(&app, phone, &code)
        .await
        .expect_error(429, "too_many_attempts");

    // A new code starts afresh, and the old one does not come back to life.
    app.clock.advance_ms(31_000);
    request_code(&app, phone).await.expect(202);
    let fresh = app.codes.last_code(phone).unwrap();
    if fresh != code {
        verify(&app, phone, &code)
            .await
            .expect_error(401, "invalid_code");
    }
    verify(&app, phone, &fresh).await.expect(200);
}

async fn otp_codes_expire(app: TestApp) {
    // Inside the five minutes the code works.
    let early = "+8613800000021";
    request_code(&app, early).await.expect(202);
    let code = app.codes.last_code(early).unwrap();
    app.clock.advance_ms(4 * MINUTE_MS);
    verify(&app, early, &code).await.expect(200);

    // After them it does not.
    let late = "+8613800000022";
    request_code(&app, late).await.expect(202);
    let code = app.codes.last_code(late).unwrap();
    app.clock.advance_ms(5 * MINUTE_MS);
    verify(&app, late, &code)
        .await
        .expect_error(401, "code_expired");
    // An expired code cannot be retried into a session either.
    verify(&app, late, &code)
        .await
        .expect_error(401, "code_expired");
}

async fn otp_sends_are_rate_limited(app: TestApp) {
    let phone = "+8613800000031";
    request_code(&app, phone).await.expect(202);
    let first = app.codes.last_code(phone).unwrap();
    // Within 30 s: refused, and nothing is sent.
    request_code(&app, phone)
        .await
        .expect_error(429, "too_many_attempts");
    app.clock.advance_ms(29_000);
    request_code(&app, phone)
        .await
        .expect_error(429, "too_many_attempts");
    // Another phone is not held up.
    request_code(&app, "+8613800000032").await.expect(202);

    // Five sends an hour: the 2nd to 5th pass once 30 s apart, the 6th does not.
    for _ in 2..=5 {
        app.clock.advance_ms(31_000);
        request_code(&app, phone).await.expect(202);
    }
    let fifth = app.codes.last_code(phone).unwrap();
    app.clock.advance_ms(31_000);
    request_code(&app, phone)
        .await
        .expect_error(429, "too_many_attempts");
    assert_eq!(
        app.codes.last_code(phone).unwrap(),
        fifth,
        "a refused request sends no code"
    );
    // The newest code still signs in; the first was superseded.
    if first != fifth {
        verify(&app, phone, &first)
            .await
            .expect_error(401, "invalid_code");
    }
    verify(&app, phone, &fifth).await.expect(200);
    // Signing in does not reset the send window.
    app.clock.advance_ms(10 * MINUTE_MS);
    request_code(&app, phone)
        .await
        .expect_error(429, "too_many_attempts");

    // An hour after the first send the window has room again.
    app.clock.advance_ms(60 * MINUTE_MS);
    request_code(&app, phone).await.expect(202);
}

async fn otp_rejects_bad_phones(app: TestApp) {
    for bad in ["abc", "+0123456789", "12345", "", "+86 138 0013 800a"] {
        request_code(&app, bad)
            .await
            .expect_error(422, "invalid_phone");
    }
    verify(&app, "not a phone", "123456")
        .await
        .expect_error(422, "invalid_phone");
    app.post("/api/v1/auth/otp/request", None, json!({}))
        .await
        .expect_error(422, "invalid_body");
    app.post(
        "/api/v1/auth/otp/request",
        None,
        json!({ "phone": "+8613800000041", "admin": true }),
    )
    .await
    .expect_error(422, "invalid_body");
}

async fn otp_concurrent_verifies_sign_in_once(app: TestApp) {
    let phone = "+8613800000051";
    request_code(&app, phone).await.expect(202);
    let code = app.codes.last_code(phone).unwrap();
    let (a, b) = tokio::join!(verify(&app, phone, &code), verify(&app, phone, &code));
    let replies = [a, b];
    let ok: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 1, "exactly one sign-in: {:?}", codes_of(&replies));
    let loser = replies.iter().find(|r| r.status != 200).unwrap();
    assert_eq!(
        (loser.status.as_u16(), loser.code()),
        (401, "invalid_code".to_owned())
    );

    // More racers on the next code: still exactly one session is opened.
    app.clock.advance_ms(31_000);
    request_code(&app, phone).await.expect(202);
    let code = app.codes.last_code(phone).unwrap();
    let replies = join_all((0..8).map(|_| verify(&app, phone, &code))).await;
    let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", codes_of(&replies));
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_eq!((r.status.as_u16(), r.code()), (401, "invalid_code".into()));
    }
    let token = token_of(winners[0]);
    let creds = app
        .get("/api/v1/me/credentials", Some(&token))
        .await
        .expect(200)
        .json();
    assert_eq!(
        creds["items"].as_array().unwrap().len(),
        2,
        "one session per successful sign-in: {creds}"
    );
}

async fn otp_concurrent_guesses_are_all_counted(app: TestApp) {
    let phone = "+8613800000061";
    request_code(&app, phone).await.expect(202);
    let code = app.codes.last_code(phone).unwrap();
    // Twelve distinct wrong guesses at once: only five may be judged.
    let n: u32 = code.parse().unwrap();
    let guesses: Vec<String> = (1..=12)
        .map(|i| format!("{:06}", (n + i) % 1_000_000))
        .collect();
    let replies = join_all(guesses.iter().map(|g| verify(&app, phone, g))).await;
    let got = codes_of(&replies);
    let judged = got.iter().filter(|(s, _)| *s == 401).count();
    assert_eq!(judged, 5, "only five guesses may be checked: {got:?}");
    assert!(
        got.iter()
            .all(|(s, c)| (*s == 401 && c == "invalid_code")
                || (*s == 429 && c == "too_many_attempts")),
        "{got:?}"
    );
    verify(&app, phone, &code)
        .await
        .expect_error(429, "too_many_attempts");
}

async fn otp_concurrent_requests_send_one_code(app: TestApp) {
    let phone = "+8613800000071";
    let replies = join_all((0..6).map(|_| request_code(&app, phone))).await;
    let got = codes_of(&replies);
    assert_eq!(
        got.iter().filter(|(s, _)| *s == 202).count(),
        1,
        "one code per 30 s, even when asked at once: {got:?}"
    );
    assert!(
        got.iter()
            .all(|(s, c)| *s == 202 || (*s == 429 && c == "too_many_attempts")),
        "{got:?}"
    );
}

// ----- 2. passwords -----

async fn password_sign_in(app: TestApp) {
    let (supplier, _) = app.supplier("Pw Supplier").await;
    let email = format!("{supplier}@supplier.test");

    let r = password(&app, &email, PASSWORD).await.expect(200);
    let body = r.json();
    assert_eq!(
        body["grants"],
        json!([{ "role": "supplier", "supplier_id": supplier }])
    );
    assert!(body["token"].as_str().unwrap().starts_with("ses_"));
    assert_eq!(me(&app, &token_of(&r)).await["email"], email.as_str());
    // Emails are case-insensitive and trimmed.
    password(&app, &format!("  {}  ", email.to_uppercase()), PASSWORD)
        .await
        .expect(200);

    // Wrong password and unknown email answer alike.
    let bad = password(&app, &email, "wrong password!")
        .await
        .expect_error(401, "invalid_credentials");
    let unknown = password(&app, "nobody@nowhere.test", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    assert_eq!(bad.json()["message"], unknown.json()["message"]);
    password(&app, "not an email", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    // A buyer has no password.
    app.buyer("+8613800000101").await;
    password(&app, "+8613800000101", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");

    // Five wrong passwords lock the email out, even for the right one.
    for _ in 1..5 {
        password(&app, &email, "wrong password!")
            .await
            .expect_error(401, "invalid_credentials");
    }
    password(&app, &email, PASSWORD)
        .await
        .expect_error(429, "too_many_attempts");
    // Another account is not affected.
    let op_email = "op-pw@test.souk";
    app.console_user(op_email, vec![Grant::Operator]).await;
    password(&app, op_email, PASSWORD).await.expect(200);
    // The lock lifts after 15 minutes.
    app.clock.advance_ms(15 * MINUTE_MS + 1000);
    password(&app, &email, PASSWORD).await.expect(200);
}

async fn password_concurrent_guesses_are_limited(app: TestApp) {
    let (supplier, _) = app.supplier("Guessed").await;
    let email = format!("{supplier}@supplier.test");
    let guesses: Vec<String> = (0..10).map(|i| format!("guess number {i}")).collect();
    let replies = join_all(guesses.iter().map(|g| password(&app, &email, g))).await;
    let got = codes_of(&replies);
    assert_eq!(
        got.iter().filter(|(s, _)| *s == 401).count(),
        5,
        "only five guesses may be checked: {got:?}"
    );
    assert!(
        got.iter()
            .all(|(s, c)| (*s == 401 && c == "invalid_credentials")
                || (*s == 429 && c == "too_many_attempts")),
        "{got:?}"
    );
    password(&app, &email, PASSWORD)
        .await
        .expect_error(429, "too_many_attempts");
}

async fn disabled_accounts_cannot_sign_in(app: TestApp) {
    let op = app.operator().await;
    let created = app
        .post(
            "/api/v1/accounts",
            Some(&op),
            json!({ "email": "gone@test.souk", "password": PASSWORD, "display_name": "Gone",
                    "grants": [{ "role": "operator" }] }),
        )
        .await
        .expect(201)
        .json();
    let id = created["id"].as_i64().unwrap();
    let token = app.password_sign_in("gone@test.souk").await;
    me(&app, &token).await;
    let key = app
        .post("/api/v1/api-keys", Some(&token), json!({ "label": "cron" }))
        .await
        .expect(201)
        .json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    me(&app, &key).await;

    // Only operators disable, and not themselves.
    let buyer = app.buyer("+8613800000111").await;
    app.post(
        &format!("/api/v1/accounts/{id}/disable"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");
    let op_id = account_id(&app, &op).await;
    app.post(
        &format!("/api/v1/accounts/{op_id}/disable"),
        Some(&op),
        json!({}),
    )
    .await
    .expect_error(422, "invalid_field");

    let r = app
        .post(
            &format!("/api/v1/accounts/{id}/disable"),
            Some(&op),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["disabled"], true);
    // Its sessions end at once (the token was cached by the /me above).
    app.get("/api/v1/me", Some(&token))
        .await
        .expect_error(401, "token_revoked");
    app.get("/api/v1/me", Some(&key))
        .await
        .expect_error(401, "token_revoked");
    // It cannot sign in again, with the right password or a wrong one.
    password(&app, "gone@test.souk", PASSWORD)
        .await
        .expect_error(403, "forbidden");
    password(&app, "gone@test.souk", "wrong password!")
        .await
        .expect_error(401, "invalid_credentials");

    // A disabled buyer cannot sign in by phone either.
    let buyer_id = account_id(&app, &buyer).await;
    app.post(
        &format!("/api/v1/accounts/{buyer_id}/disable"),
        Some(&op),
        json!({}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", Some(&buyer))
        .await
        .expect_error(401, "token_revoked");
    app.clock.advance_ms(31_000);
    request_code(&app, "+8613800000111").await.expect(202);
    let code = app.codes.last_code("+8613800000111").unwrap();
    verify(&app, "+8613800000111", &code)
        .await
        .expect_error(403, "forbidden");

    app.post("/api/v1/accounts/999999/disable", Some(&op), json!({}))
        .await
        .expect_error(404, "not_found");
}

// ----- 3. API keys -----

async fn api_keys(app: TestApp) {
    let (supplier, session) = app.supplier("Keyed").await;
    let made = app
        .post(
            "/api/v1/api-keys",
            Some(&session),
            json!({ "label": " ERP sync " }),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(made["label"], "ERP sync");
    let key = made["key"].as_str().unwrap().to_owned();
    let key_id = made["id"].as_i64().unwrap();
    assert!(key.starts_with("key_"));

    // The key acts as its user.
    assert_eq!(me(&app, &key).await["id"], me(&app, &session).await["id"]);
    let p = app.product(&key, "Made by a machine").await;
    assert_eq!(p["supplier_id"], supplier);
    let creds = app
        .get("/api/v1/me/credentials", Some(&session))
        .await
        .expect(200)
        .json();
    let listed = creds["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == key_id)
        .cloned()
        .expect("key listed");
    assert_eq!(listed["kind"], "api_key");
    assert_eq!(listed["label"], "ERP sync");
    assert_eq!(listed["expires_at_ms"], Value::Null);
    assert!(
        !creds.to_string().contains(&key),
        "the secret is never shown again"
    );

    app.post("/api/v1/api-keys", Some(&session), json!({ "label": "  " }))
        .await
        .expect_error(422, "invalid_field");
    // Buyers cannot make keys; nor can anyone signed out.
    let buyer = app.buyer("+8613800000201").await;
    app.post("/api/v1/api-keys", Some(&buyer), json!({ "label": "mine" }))
        .await
        .expect_error(403, "forbidden");
    app.post("/api/v1/api-keys", None, json!({ "label": "mine" }))
        .await
        .expect_error(401, "unauthenticated");
    // Another user cannot revoke it.
    let (_, other) = app.supplier("Other Keyed").await;
    app.delete(&format!("/api/v1/credentials/{key_id}"), Some(&other))
        .await
        .expect_error(404, "not_found");
    me(&app, &key).await;

    // Revoked: rejected at once, though it was just used (and cached).
    app.delete(&format!("/api/v1/credentials/{key_id}"), Some(&session))
        .await
        .expect(204);
    app.get("/api/v1/me", Some(&key))
        .await
        .expect_error(401, "token_revoked");
    app.post(
        "/api/v1/products",
        Some(&key),
        json!({ "translations": { "en": { "title": "After revoke" } } }),
    )
    .await
    .expect_error(401, "token_revoked");
    me(&app, &session).await;
}

// ----- 4. sessions -----

async fn sessions_list_revoke_logout(app: TestApp) {
    let phone = "+8613800000301";
    request_code(&app, phone).await.expect(202);
    let r1 = verify(&app, phone, &app.codes.last_code(phone).unwrap())
        .await
        .expect(200)
        .json();
    app.clock.advance_ms(31_000);
    request_code(&app, phone).await.expect(202);
    let r2 = verify(&app, phone, &app.codes.last_code(phone).unwrap())
        .await
        .expect(200)
        .json();
    let (t1, s1) = (
        r1["token"].as_str().unwrap(),
        r1["session_id"].as_i64().unwrap(),
    );
    let (t2, s2) = (
        r2["token"].as_str().unwrap(),
        r2["session_id"].as_i64().unwrap(),
    );

    let list = app
        .get("/api/v1/me/credentials", Some(t1))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&list), vec![s1, s2]);
    for c in list["items"].as_array().unwrap() {
        assert_eq!(c["kind"], "session");
        assert!(c["expires_at_ms"].as_i64().unwrap() > c["created_at_ms"].as_i64().unwrap());
    }

    // Someone else cannot revoke (or learn of) these sessions.
    let other = app.buyer("+8613800000302").await;
    app.delete(&format!("/api/v1/credentials/{s1}"), Some(&other))
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        ids(&app
            .get("/api/v1/me/credentials", Some(&other))
            .await
            .expect(200)
            .json())
        .len(),
        1
    );
    me(&app, t1).await;

    // Revoking one session from another.
    app.delete(&format!("/api/v1/credentials/{s1}"), Some(t2))
        .await
        .expect(204);
    app.get("/api/v1/me", Some(t1))
        .await
        .expect_error(401, "token_revoked");
    let list = app
        .get("/api/v1/me/credentials", Some(t2))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&list), vec![s2]);

    // Logging out revokes the token used.
    app.post("/api/v1/auth/logout", Some(t2), json!({}))
        .await
        .expect(204);
    app.get("/api/v1/me", Some(t2))
        .await
        .expect_error(401, "token_revoked");
    app.post("/api/v1/auth/logout", Some(t2), json!({}))
        .await
        .expect_error(401, "token_revoked");

    // An operator may end anyone's session.
    let op = app.operator().await;
    let other_session = ids(&app
        .get("/api/v1/me/credentials", Some(&other))
        .await
        .expect(200)
        .json())[0];
    app.delete(&format!("/api/v1/credentials/{other_session}"), Some(&op))
        .await
        .expect(204);
    app.get("/api/v1/me", Some(&other))
        .await
        .expect_error(401, "token_revoked");

    for path in ["/api/v1/credentials/999999", "/api/v1/credentials/abc"] {
        app.delete(path, Some(&op))
            .await
            .expect_error(404, "not_found");
    }
}

async fn bad_credentials_are_refused(app: TestApp) {
    app.get("/api/v1/me", None)
        .await
        .expect_error(401, "unauthenticated");
    app.get("/api/v1/me", Some("ses_not-a-real-token"))
        .await
        .expect_error(401, "unauthenticated");
    let basic = app
        .send(
            reqwest::Method::GET,
            "/api/v1/me",
            None,
            None,
            &[("authorization", "Basic dXNlcjpwYXNz")],
        )
        .await
        .expect_error(401, "unauthenticated");
    assert_eq!(basic.headers["www-authenticate"], "Bearer");
    app.get("/api/v1/me", Some(&"x".repeat(5000)))
        .await
        .expect_error(401, "unauthenticated");
    // A bad token on a public route is still an error, not a silent downgrade.
    app.get("/api/v1/products", Some("ses_nope"))
        .await
        .expect_error(401, "unauthenticated");

    // Sessions end after 30 days.
    let token = app.buyer("+8613800000401").await;
    me(&app, &token).await;
    app.clock.advance_ms(30 * 24 * 60 * MINUTE_MS);
    app.get("/api/v1/me", Some(&token))
        .await
        .expect_error(401, "token_revoked");
    let creds = app.operator().await;
    app.get("/api/v1/me/credentials", Some(&creds))
        .await
        .expect(200);
}

// ----- 5. tenancy -----

async fn tenancy_matrix(app: TestApp) {
    let op = app.operator().await;
    let (sa, ta) = app.supplier("Alpha").await;
    let (sb, tb) = app.supplier("Beta").await;
    let buyer = app.buyer("+8613800000501").await;
    let s1 = store(&app, &op, "Store One").await;
    let s2 = store(&app, &op, "Store Two").await;
    let clerk = app
        .console_user(
            "clerk@store.test",
            vec![Grant::StoreClerk {
                location_id: LocationId(s1),
            }],
        )
        .await;
    let users = [&ta, &tb, &buyer, &clerk];

    // A's draft product and warehouse.
    let pa = app.product(&ta, "Alpha Tee").await;
    let pid = pa["id"].as_i64().unwrap();
    let sku = pa["skus"][0]["id"].as_i64().unwrap();
    assert_eq!(pa["status"], "draft");
    let wa = app
        .post(
            "/api/v1/locations",
            Some(&ta),
            json!({ "kind": "supplier_warehouse", "name": "Alpha WH", "address": address(),
                    "capabilities": { "ship": true } }),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(wa["supplier_id"], sa);
    let wid = wa["id"].as_i64().unwrap();

    // --- products: nobody but A and the operator sees or touches A's draft ---
    let product_path = format!("/api/v1/products/{pid}");
    for t in [&tb, &buyer, &clerk] {
        app.get(&product_path, Some(t))
            .await
            .expect_error(404, "not_found");
    }
    app.get(&product_path, None)
        .await
        .expect_error(404, "not_found");
    app.get(&product_path, Some(&ta)).await.expect(200);
    app.get(&product_path, Some(&op)).await.expect(200);
    let drafts = app
        .get(
            &format!("/api/v1/products?supplier_id={sa}&status=draft"),
            Some(&tb),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&drafts), Vec::<i64>::new(), "B cannot list A's drafts");

    for t in [&tb, &buyer, &clerk] {
        attacks(&app, t, pid, sku).await;
    }
    let unchanged = |p: &Value, status: &str| {
        assert_eq!(p["title"], "Alpha Tee");
        assert_eq!(p["status"], status);
        let skus = p["skus"].as_array().unwrap();
        assert_eq!(skus.len(), 4, "no SKU added");
        assert!(skus
            .iter()
            .all(|s| s["prices"] == json!([{ "currency": "CNY", "amount_minor": 10000 }])));
    };
    let reread = app
        .send(
            reqwest::Method::GET,
            &product_path,
            Some(&ta),
            None,
            &[("accept-language", "en")],
        )
        .await
        .expect(200)
        .json();
    unchanged(&reread, "draft");

    // Once A publishes, everyone may read it, and still only A may change it.
    app.post(
        &format!("{product_path}/status"),
        Some(&ta),
        json!({ "status": "active" }),
    )
    .await
    .expect(200);
    for t in users {
        app.get(&product_path, Some(t)).await.expect(200);
    }
    for t in [&tb, &buyer, &clerk] {
        attacks(&app, t, pid, sku).await;
    }
    let reread = app
        .send(
            reqwest::Method::GET,
            &product_path,
            Some(&ta),
            None,
            &[("accept-language", "en")],
        )
        .await
        .expect(200)
        .json();
    unchanged(&reread, "active");

    // B cannot create a product in A's name; nothing is created.
    let before = products_of(&app, &op, sa).await;
    app.post(
        "/api/v1/products",
        Some(&tb),
        json!({ "supplier_id": sa, "translations": { "en": { "title": "Forged" } } }),
    )
    .await
    .expect_error(403, "forbidden");
    assert_eq!(products_of(&app, &op, sa).await, before);
    // Its own products it may create, with or without naming itself.
    let own = app
        .post(
            "/api/v1/products",
            Some(&tb),
            json!({ "supplier_id": sb, "translations": { "en": { "title": "Beta Tee" } } }),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(own["supplier_id"], sb);

    // --- suppliers ---
    app.get(&format!("/api/v1/suppliers/{sa}"), Some(&tb))
        .await
        .expect_error(404, "not_found");
    for t in [&buyer, &clerk] {
        app.get(&format!("/api/v1/suppliers/{sa}"), Some(t))
            .await
            .expect_error(404, "not_found");
    }
    app.get(&format!("/api/v1/suppliers/{sa}"), Some(&ta))
        .await
        .expect(200);
    let listed = app
        .get("/api/v1/suppliers", Some(&tb))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&listed), vec![sb]);
    let listed = app
        .get("/api/v1/suppliers", Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&listed), Vec::<i64>::new());
    let listed = app
        .get("/api/v1/suppliers", Some(&op))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&listed), vec![sa, sb]);

    // --- locations ---
    let wpath = format!("/api/v1/locations/{wid}");
    for t in [&tb, &buyer, &clerk] {
        app.get(&wpath, Some(t))
            .await
            .expect_error(404, "not_found");
        refused(
            app.patch(&wpath, Some(t), json!({ "name": "Taken over" }))
                .await,
        );
    }
    assert_eq!(
        app.get(&wpath, Some(&ta)).await.expect(200).json()["name"],
        "Alpha WH"
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/locations", Some(&ta))
            .await
            .expect(200)
            .json()),
        vec![wid]
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/locations", Some(&tb))
            .await
            .expect(200)
            .json()),
        Vec::<i64>::new()
    );
    // B cannot put a warehouse under A.
    app.post(
        "/api/v1/locations",
        Some(&tb),
        json!({ "kind": "supplier_warehouse", "name": "Sneaky", "supplier_id": sa,
                "address": address() }),
    )
    .await
    .expect_error(403, "forbidden");
    // Nor may a supplier make a store.
    app.post(
        "/api/v1/locations",
        Some(&tb),
        json!({ "kind": "store", "name": "Beta Store", "address": address() }),
    )
    .await
    .expect_error(403, "forbidden");
    let all = ids(&app
        .get("/api/v1/locations", Some(&op))
        .await
        .expect(200)
        .json());
    assert_eq!(all, vec![s1, s2, wid]);

    // The clerk sees its store and nothing else, and cannot change it.
    assert_eq!(
        ids(&app
            .get("/api/v1/locations", Some(&clerk))
            .await
            .expect(200)
            .json()),
        vec![s1]
    );
    app.get(&format!("/api/v1/locations/{s1}"), Some(&clerk))
        .await
        .expect(200);
    app.get(&format!("/api/v1/locations/{s2}"), Some(&clerk))
        .await
        .expect_error(404, "not_found");
    app.patch(
        &format!("/api/v1/locations/{s1}"),
        Some(&clerk),
        json!({ "name": "Renamed" }),
    )
    .await
    .expect_error(403, "forbidden");
    refused(
        app.patch(
            &format!("/api/v1/locations/{s2}"),
            Some(&clerk),
            json!({ "name": "Renamed" }),
        )
        .await,
    );
    // Buyers see no locations, only the public store list.
    assert_eq!(
        ids(&app
            .get("/api/v1/locations", Some(&buyer))
            .await
            .expect(200)
            .json()),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app.get("/api/v1/stores", None).await.expect(200).json()),
        vec![s1, s2]
    );

    // --- operator-only creation ---
    let creations = [
        (
            "/api/v1/products",
            json!({ "supplier_id": sa, "translations": { "en": { "title": "Buyer's" } } }),
        ),
        ("/api/v1/suppliers", json!({ "name": "Buyer Supplier" })),
        (
            "/api/v1/categories",
            json!({ "names": { "en": "Buyer Cat" } }),
        ),
        ("/api/v1/brands", json!({ "name": "Buyer Brand" })),
        (
            "/api/v1/locations",
            json!({ "kind": "store", "name": "Buyer Store", "address": address() }),
        ),
        (
            "/api/v1/locations",
            json!({ "kind": "supplier_warehouse", "name": "Buyer WH", "supplier_id": sa,
                    "address": address() }),
        ),
        (
            "/api/v1/accounts",
            json!({ "email": "evil@test.souk", "password": PASSWORD, "display_name": "Evil",
                    "grants": [{ "role": "operator" }] }),
        ),
    ];
    for (path, body) in &creations {
        app.post(path, Some(&buyer), body.clone())
            .await
            .expect_error(403, "forbidden");
        app.post(path, Some(&clerk), body.clone())
            .await
            .expect_error(403, "forbidden");
    }
    for (path, body) in &creations[1..4] {
        app.post(path, Some(&tb), body.clone())
            .await
            .expect_error(403, "forbidden");
    }
    app.post("/api/v1/accounts", Some(&tb), creations[6].1.clone())
        .await
        .expect_error(403, "forbidden");
    password(&app, "evil@test.souk", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    assert_eq!(
        ids(&app
            .get("/api/v1/suppliers", Some(&op))
            .await
            .expect(200)
            .json()),
        vec![sa, sb],
        "no supplier was created"
    );
    assert!(ids(&app.get("/api/v1/brands", None).await.expect(200).json()).is_empty());
    assert!(ids(&app.get("/api/v1/categories", None).await.expect(200).json()).is_empty());

    // --- accounts ---
    let a_user = account_id(&app, &ta).await;
    let buyer_id = account_id(&app, &buyer).await;
    for t in [&buyer, &tb, &clerk] {
        app.get(&format!("/api/v1/accounts/{a_user}"), Some(t))
            .await
            .expect_error(404, "not_found");
        app.get("/api/v1/accounts", Some(t))
            .await
            .expect_error(403, "forbidden");
        app.post(
            &format!("/api/v1/accounts/{a_user}/grants"),
            Some(t),
            json!({ "role": "operator" }),
        )
        .await
        .expect_error(403, "forbidden");
        refused(
            app.post(
                &format!("/api/v1/accounts/{a_user}/disable"),
                Some(t),
                json!({}),
            )
            .await,
        );
    }
    app.post(
        &format!("/api/v1/accounts/{buyer_id}/grants"),
        Some(&buyer),
        json!({ "role": "operator" }),
    )
    .await
    .expect_error(403, "forbidden");
    let mine = app
        .get(&format!("/api/v1/accounts/{buyer_id}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(mine["grants"], json!([{ "role": "buyer" }]));
    me(&app, &ta).await;

    // --- the operator may do all of it ---
    app.get(&format!("/api/v1/suppliers/{sa}"), Some(&op))
        .await
        .expect(200);
    app.get(&wpath, Some(&op)).await.expect(200);
    app.patch(&wpath, Some(&op), json!({ "name": "Alpha Main WH" }))
        .await
        .expect(200);
    app.patch(
        &product_path,
        Some(&op),
        json!({ "translations": { "en": { "title": "Alpha Tee v2" } } }),
    )
    .await
    .expect(200);
    app.post(
        &format!("{product_path}/skus"),
        Some(&op),
        json!({ "color": "Green", "size": "L", "prices": [{ "currency": "CNY", "amount_minor": 12000 }] }),
    )
    .await
    .expect(201);
    app.put(
        &format!("/api/v1/skus/{sku}/prices"),
        Some(&op),
        json!({ "prices": [{ "currency": "CNY", "amount_minor": 9900 }] }),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/products",
        Some(&op),
        json!({ "supplier_id": sb, "translations": { "en": { "title": "By the operator" } } }),
    )
    .await
    .expect(201);
    app.get(&format!("/api/v1/accounts/{a_user}"), Some(&op))
        .await
        .expect(200);
    let everyone = app
        .get("/api/v1/accounts?limit=100", Some(&op))
        .await
        .expect(200)
        .json();
    assert!(ids(&everyone).contains(&a_user) && ids(&everyone).contains(&buyer_id));
    // And A sees the operator's changes: the refusals above were not lost writes.
    let p = app.get(&product_path, Some(&ta)).await.expect(200).json();
    assert_eq!(p["skus"].as_array().unwrap().len(), 5);
    assert_eq!(
        app.get(&wpath, Some(&ta)).await.expect(200).json()["name"],
        "Alpha Main WH"
    );
}

async fn unknown_and_malformed_ids(app: TestApp) {
    let op = app.operator().await;
    let (_, supplier) = app.supplier("Ids").await;
    for id in ["999999", "abc", "-1", "99999999999999999999999", "1.5"] {
        for path in [
            format!("/api/v1/products/{id}"),
            format!("/api/v1/suppliers/{id}"),
            format!("/api/v1/locations/{id}"),
            format!("/api/v1/accounts/{id}"),
        ] {
            app.get(&path, Some(&op))
                .await
                .expect_error(404, "not_found");
        }
        app.patch(
            &format!("/api/v1/products/{id}"),
            Some(&supplier),
            json!({ "media": [] }),
        )
        .await
        .expect_error(404, "not_found");
        app.put(
            &format!("/api/v1/skus/{id}/prices"),
            Some(&supplier),
            json!({ "prices": [{ "currency": "CNY", "amount_minor": 100 }] }),
        )
        .await
        .expect_error(404, "not_found");
        app.patch(
            &format!("/api/v1/locations/{id}"),
            Some(&op),
            json!({ "name": "x" }),
        )
        .await
        .expect_error(404, "not_found");
        app.post(
            &format!("/api/v1/accounts/{id}/grants"),
            Some(&op),
            json!({ "role": "streamer" }),
        )
        .await
        .expect_error(404, "not_found");
    }
}

// ----- 6. console users -----

async fn operator_manages_console_users(app: TestApp) {
    let op = app.operator().await;
    let (sa, _) = app.supplier("Console A").await;
    let s1 = store(&app, &op, "Console Store").await;
    let new_user = |email: &str, pw: &str, grants: Value| json!({ "email": email, "password": pw, "display_name": "Someone", "grants": grants });

    // A supplier user, created over HTTP, signs in and acts for its supplier.
    let created = app
        .post(
            "/api/v1/accounts",
            Some(&op),
            new_user(
                "Ann@Alpha.test",
                PASSWORD,
                json!([{ "role": "supplier", "supplier_id": sa }]),
            ),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["email"], "ann@alpha.test");
    assert_eq!(
        created["grants"],
        json!([{ "role": "supplier", "supplier_id": sa }])
    );
    assert_eq!(created["disabled"], false);
    assert!(!created.to_string().contains("argon2"), "no hash leaks");
    let ann = app.password_sign_in("ann@alpha.test").await;
    let p = app.product(&ann, "Ann's").await;
    assert_eq!(p["supplier_id"], sa);

    // A clerk of a store.
    let clerk = app
        .post(
            "/api/v1/accounts",
            Some(&op),
            new_user(
                "clara@store.test",
                PASSWORD,
                json!([{ "role": "store_clerk", "location_id": s1 }]),
            ),
        )
        .await
        .expect(201)
        .json();
    let clerk_id = clerk["id"].as_i64().unwrap();
    let clara = app.password_sign_in("clara@store.test").await;
    assert_eq!(
        ids(&app
            .get("/api/v1/locations", Some(&clara))
            .await
            .expect(200)
            .json()),
        vec![s1]
    );

    // Bad requests create nothing.
    let rejected = [
        (
            new_user(
                "x1@test.souk",
                PASSWORD,
                json!([{ "role": "supplier", "supplier_id": 999999 }]),
            ),
            422,
            "invalid_field",
        ),
        (
            new_user(
                "x2@test.souk",
                PASSWORD,
                json!([{ "role": "store_clerk", "location_id": 999999 }]),
            ),
            422,
            "invalid_field",
        ),
        (
            new_user("x3@test.souk", "short", json!([{ "role": "operator" }])),
            422,
            "weak_password",
        ),
        (
            new_user("x4@test.souk", PASSWORD, json!([])),
            422,
            "invalid_field",
        ),
        (
            new_user(
                "x5@test.souk",
                PASSWORD,
                json!([{ "role": "shop_owner", "shop_id": 1 }]),
            ),
            422,
            "invalid_field",
        ),
        (
            new_user("not-an-email", PASSWORD, json!([{ "role": "operator" }])),
            422,
            "invalid_field",
        ),
        (
            new_user("x6@test.souk", PASSWORD, json!([{ "role": "king" }])),
            422,
            "invalid_body",
        ),
        // A role without an organisation takes no organisation id: refused, not
        // silently turned into an operator.
        (
            new_user(
                "x7@test.souk",
                PASSWORD,
                json!([{ "role": "operator", "supplier_id": sa }]),
            ),
            422,
            "invalid_body",
        ),
        (
            new_user("ANN@alpha.test", PASSWORD, json!([{ "role": "operator" }])),
            409,
            "email_taken",
        ),
    ];
    for (body, status, code) in rejected {
        app.post("/api/v1/accounts", Some(&op), body.clone())
            .await
            .expect_error(status, code);
        let email = body["email"].as_str().unwrap().to_lowercase();
        if email != "ann@alpha.test" {
            password(&app, &email, PASSWORD)
                .await
                .expect_error(401, "invalid_credentials");
        }
    }
    // The duplicate did not replace Ann's grants.
    assert_eq!(
        me(&app, &ann).await["grants"],
        json!([{ "role": "supplier", "supplier_id": sa }])
    );

    // A new grant takes effect for a token already in use.
    app.get(&format!("/api/v1/suppliers/{sa}"), Some(&clara))
        .await
        .expect_error(404, "not_found");
    app.post(
        "/api/v1/products",
        Some(&clara),
        json!({ "translations": { "en": { "title": "Clara's" } } }),
    )
    .await
    .expect_error(403, "forbidden");
    let granted = app
        .post(
            &format!("/api/v1/accounts/{clerk_id}/grants"),
            Some(&op),
            json!({ "role": "supplier", "supplier_id": sa }),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(granted["grants"].as_array().unwrap().len(), 2);
    app.get(&format!("/api/v1/suppliers/{sa}"), Some(&clara))
        .await
        .expect(200);
    let p = app.product(&clara, "Clara's").await;
    assert_eq!(p["supplier_id"], sa);
    assert_eq!(
        ids(&app
            .get("/api/v1/locations", Some(&clara))
            .await
            .expect(200)
            .json()),
        vec![s1],
        "still a clerk of its store"
    );

    // Grants that cannot be given.
    app.post(
        &format!("/api/v1/accounts/{clerk_id}/grants"),
        Some(&op),
        json!({ "role": "supplier", "supplier_id": 999999 }),
    )
    .await
    .expect_error(422, "invalid_field");
    for bad in [
        json!({ "role": "buyer", "extra": 1 }),
        json!({ "role": "operator", "location_id": s1 }),
        json!({ "role": "supplier" }),
        json!({ "role": "store_clerk", "location_id": "one" }),
    ] {
        app.post(
            &format!("/api/v1/accounts/{clerk_id}/grants"),
            Some(&op),
            bad,
        )
        .await
        .expect_error(422, "invalid_body");
    }
    // A supplier warehouse is not a store.
    let wh = app
        .post(
            "/api/v1/locations",
            Some(&op),
            json!({ "kind": "supplier_warehouse", "name": "Not a store", "supplier_id": sa,
                    "address": address() }),
        )
        .await
        .expect(201)
        .json()["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/accounts/{clerk_id}/grants"),
        Some(&op),
        json!({ "role": "store_clerk", "location_id": wh }),
    )
    .await
    .expect_error(422, "invalid_field");
    assert_eq!(
        me(&app, &clara).await["grants"].as_array().unwrap().len(),
        2
    );

    // Paging through accounts.
    let first = app
        .get("/api/v1/accounts?limit=2", Some(&op))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&first).len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/api/v1/accounts?limit=2&cursor={cursor}"),
            Some(&op),
        )
        .await
        .expect(200)
        .json();
    assert!(ids(&next).iter().all(|i| !ids(&first).contains(i)));
    assert!(!ids(&next).is_empty());
}

/// One account may act for two suppliers: it names which one, and sees both.
async fn user_of_two_suppliers(app: TestApp) {
    let op = app.operator().await;
    let (sa, _) = app.supplier("Twin A").await;
    let (sb, _) = app.supplier("Twin B").await;
    let (sc, _) = app.supplier("Twin C").await;
    let both = app
        .console_user(
            "twins@test.souk",
            vec![
                Grant::Supplier {
                    supplier_id: souk_core::ids::SupplierId(sa),
                },
                Grant::Supplier {
                    supplier_id: souk_core::ids::SupplierId(sb),
                },
            ],
        )
        .await;
    for s in [sa, sb] {
        let p = app
            .post(
                "/api/v1/products",
                Some(&both),
                json!({ "supplier_id": s, "translations": { "en": { "title": "Twin" } } }),
            )
            .await
            .expect(201)
            .json();
        assert_eq!(p["supplier_id"], s);
        let w = app
            .post(
                "/api/v1/locations",
                Some(&both),
                json!({ "kind": "supplier_warehouse", "name": format!("WH {s}"), "supplier_id": s,
                        "address": address() }),
            )
            .await
            .expect(201)
            .json();
        assert_eq!(w["supplier_id"], s);
    }
    // Without naming one it is ambiguous; a third supplier is not its own.
    app.post(
        "/api/v1/products",
        Some(&both),
        json!({ "translations": { "en": { "title": "Which?" } } }),
    )
    .await
    .expect_error(422, "invalid_field");
    app.post(
        "/api/v1/products",
        Some(&both),
        json!({ "supplier_id": sc, "translations": { "en": { "title": "Not mine" } } }),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        "/api/v1/locations",
        Some(&both),
        json!({ "kind": "supplier_warehouse", "name": "Not mine", "supplier_id": sc,
                "address": address() }),
    )
    .await
    .expect_error(403, "forbidden");
    assert_eq!(
        ids(&app
            .get("/api/v1/suppliers", Some(&both))
            .await
            .expect(200)
            .json()),
        vec![sa, sb]
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/locations", Some(&both))
            .await
            .expect(200)
            .json())
        .len(),
        2
    );
    let _ = op;
}

/// Bearers a node has not seen are looked up together, many in one query:
/// each request still gets its own account and grants, a revoked token is
/// refused and an unknown one is not anyone's.
async fn first_uses_at_once_each_get_their_own_account(app: TestApp) {
    let mut tokens = vec![app.operator().await, app.supplier("Batch").await.1];
    for i in 0..40 {
        tokens.push(app.buyer(&format!("+86136000{i:05}")).await);
    }
    let mut expected = Vec::new();
    for t in &tokens {
        expected.push(me(&app, t).await);
    }
    let revoked = app.buyer("+8613600099999").await;
    app.post("/api/v1/auth/logout", Some(&revoked), json!({}))
        .await
        .expect(204);

    // A new node: nothing in memory, every bearer a first use, all at once,
    // some of them several times.
    let node = app.restarted().await;
    tokens.extend(tokens[..5].to_vec());
    expected.extend(expected[..5].to_vec());
    let answers = join_all(
        tokens
            .iter()
            .map(|t| node.get("/api/v1/me", Some(t)))
            .chain([
                node.get("/api/v1/me", Some(&revoked)),
                node.get("/api/v1/me", Some("ses_not-a-token-anyone-holds")),
            ]),
    )
    .await;
    let (known, refused) = answers.split_at(tokens.len());
    for (a, want) in known.iter().zip(&expected) {
        assert_eq!(a.status, 200);
        assert_eq!(
            &a.json(),
            want,
            "each bearer is its own account, with its grants"
        );
    }
    assert_eq!(refused[0].status, 401);
    assert_eq!(refused[0].code(), "token_revoked");
    assert_eq!(refused[1].status, 401);
    assert_eq!(refused[1].code(), "unauthenticated");
}

on_both_databases!(
    first_uses_at_once_each_get_their_own_account,
    otp_signs_in_and_reuses_the_account,
    otp_wrong_codes_burn_the_code,
    otp_codes_expire,
    otp_sends_are_rate_limited,
    otp_rejects_bad_phones,
    otp_concurrent_verifies_sign_in_once,
    otp_concurrent_guesses_are_all_counted,
    otp_concurrent_requests_send_one_code,
    password_sign_in,
    password_concurrent_guesses_are_limited,
    disabled_accounts_cannot_sign_in,
    api_keys,
    sessions_list_revoke_logout,
    bad_credentials_are_refused,
    tenancy_matrix,
    unknown_and_malformed_ids,
    operator_manages_console_users,
    user_of_two_suppliers,
);
