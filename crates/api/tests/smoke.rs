//! The app starts on both databases, answers health, serves its OpenAPI document and pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::TestApp;
use serde_json::json;

async fn health_and_openapi(app: TestApp) {
    let h = app.get("/healthz", None).await.expect(200).json();
    assert_eq!(h["status"], "ok");
    assert_eq!(
        h["database"],
        if app.backend == common::Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    let doc = app.get("/api/openapi.json", None).await.expect(200).json();
    assert!(
        doc["paths"]["/api/v1/products/{id}"]["get"].is_object(),
        "product route documented"
    );
    assert!(doc["paths"]["/api/v1/auth/otp/verify"]["post"].is_object());
    let metrics = app.get("/metrics", None).await.expect(200);
    let text = String::from_utf8_lossy(&metrics.bytes).to_string();
    assert!(text.contains("souk_http_requests_total"), "{text}");
    let page = app.get("/", None).await.expect(200);
    assert!(String::from_utf8_lossy(&page.bytes).contains("<html"));
    app.get("/api/v1/nope", None)
        .await
        .expect_error(404, "route_not_found");
}

async fn buyer_signs_in_by_phone(app: TestApp) {
    let token = app.buyer("+8613800138000").await;
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200).json();
    assert_eq!(me["phone"], "+8613800138000");
    assert_eq!(me["grants"], json!([{"role": "buyer"}]));
}

on_both_databases!(health_and_openapi, buyer_signs_in_by_phone);
