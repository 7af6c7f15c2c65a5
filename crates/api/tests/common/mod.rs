//! Test harness: starts the real application on a random port with a fresh
//! database (a temporary SQLite file, or a new PostgreSQL database), and
//! talks HTTP to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use souk_api::{ApiConfig, AppState};
use souk_core::access::Grant;
use souk_core::ids::SupplierId;
use souk_engine::accounts::NewConsoleUser;
use souk_engine::{Clock, MemorySender, Services};
use souk_store::Db;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Real time plus an offset tests can move forward (code and session expiry).
#[derive(Default)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        souk_engine::SystemClock.now_ms() + self.0.load(Ordering::SeqCst)
    }
}

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub codes: Arc<MemorySender>,
    pub clock: Arc<TestClock>,
    pub services: Services,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    _server: tokio::task::JoinHandle<()>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The `code` of an error body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_owned()
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        self
    }

    /// Asserts an error status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let s = self.expect(status);
        assert_eq!(
            s.code(),
            code,
            "body: {}",
            String::from_utf8_lossy(&s.bytes)
        );
        let msg = s.json()["message"].as_str().unwrap_or("").to_owned();
        assert!(!msg.is_empty(), "error without a message");
        s
    }
}

/// PostgreSQL tests read the server URL from SOUK_TEST_POSTGRES_URL. Without it
/// they skip (with a printed reason), unless SOUK_REQUIRE_POSTGRES is set (CI).
pub fn postgres_url() -> Option<String> {
    match std::env::var("SOUK_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("SOUK_REQUIRE_POSTGRES").is_ok_and(|v| !v.is_empty() && v != "0") {
                panic!("SOUK_REQUIRE_POSTGRES is set but SOUK_TEST_POSTGRES_URL is not");
            }
            eprintln!("skipping PostgreSQL test: set SOUK_TEST_POSTGRES_URL=postgres://user@host/db to run it");
            None
        }
    }
}

/// Creates a fresh database on the PostgreSQL server and returns its URL.
pub async fn fresh_postgres_database(server_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("souk_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(server_url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server_url, String::new()),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    format!("{base}/{name}{query}")
}

/// The API's defaults without rate limits (tests send bursts).
fn unlimited() -> ApiConfig {
    ApiConfig {
        read_rate_per_sec: 0,
        write_rate_per_sec: 0,
        ..ApiConfig::default()
    }
}

impl TestApp {
    /// Starts the app, or returns None when the backend is not available here.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, unlimited()).await
    }

    pub async fn spawn_with(backend: Backend, config: ApiConfig) -> Option<TestApp> {
        let (url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                (
                    format!("sqlite://{}/souk.db", dir.path().display()),
                    Some(dir),
                )
            }
            Backend::Postgres => (fresh_postgres_database(&postgres_url()?).await, None),
        };
        let db = Db::connect(&url, 8).await.expect("connect");
        db.migrate().await.expect("migrate");
        let clock = Arc::new(TestClock::default());
        Some(Self::start(db, backend, config, dir, clock).await)
    }

    /// A second node on this app's database and clock, as after a restart
    /// (this app keeps running: only use what the test needs of each).
    pub async fn restarted(&self) -> TestApp {
        Self::start(
            self.services.db.clone(),
            self.backend,
            unlimited(),
            None,
            self.clock.clone(),
        )
        .await
    }

    async fn start(
        db: Db,
        backend: Backend,
        config: ApiConfig,
        dir: Option<tempfile::TempDir>,
        clock: Arc<TestClock>,
    ) -> TestApp {
        let codes = Arc::new(MemorySender::default());
        let services = Services::new(db, clock.clone(), codes.clone());
        let state = AppState::new(services.clone(), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = souk_api::router(state);
        let server = tokio::spawn(async move {
            let _ = souk_api::serve(listener, router, std::future::pending()).await;
        });
        TestApp {
            url: format!("http://{addr}"),
            client: reqwest::Client::new(),
            codes,
            clock,
            services,
            backend,
            _dir: dir,
            _server: server,
        }
    }

    /// Sends a request. `token` signs it; a body is sent as JSON. Mutating
    /// requests get a fresh Idempotency-Key unless one is in `headers`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mutating = matches!(
            method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
        if mutating
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("idempotency-key"))
        {
            req = req.header("idempotency-key", uuid::Uuid::new_v4().to_string());
        }
        let res = req.send().await.expect("request");
        Reply {
            status: res.status(),
            headers: res.headers().clone(),
            bytes: res.bytes().await.expect("body").to_vec(),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None, &[]).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::POST, path, token, Some(&body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::PATCH, path, token, Some(&body), &[])
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::PUT, path, token, Some(&body), &[]).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::DELETE, path, token, None, &[]).await
    }

    /// Sends raw bytes with a content type (for malformed bodies).
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        Reply {
            status: res.status(),
            headers: res.headers().clone(),
            bytes: res.bytes().await.expect("body").to_vec(),
        }
    }

    /// Creates a console user directly (as seeding does) and signs it in over HTTP.
    pub async fn console_user(&self, email: &str, grants: Vec<Grant>) -> String {
        self.services
            .accounts
            .insert_console_user(NewConsoleUser {
                email: email.into(),
                password: PASSWORD.into(),
                display_name: email.split('@').next().unwrap_or("user").into(),
                grants,
            })
            .await
            .expect("create console user");
        self.password_sign_in(email).await
    }

    pub async fn password_sign_in(&self, email: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/password",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await
            .expect(200);
        r.json()["token"].as_str().expect("token").to_owned()
    }

    /// An operator's token.
    pub async fn operator(&self) -> String {
        let n = uuid::Uuid::new_v4().simple().to_string();
        self.console_user(&format!("op-{n}@test.souk"), vec![Grant::Operator])
            .await
    }

    /// A new supplier and a token of one of its users.
    pub async fn supplier(&self, name: &str) -> (i64, String) {
        let s = self
            .services
            .catalog
            .insert_supplier(name, "")
            .await
            .expect("supplier");
        let token = self
            .console_user(
                &format!("{}@supplier.test", s.id),
                vec![Grant::Supplier {
                    supplier_id: SupplierId(s.id.0),
                }],
            )
            .await;
        (s.id.0, token)
    }

    /// Signs a buyer in by phone through the API, reading the code from the test sender.
    pub async fn buyer(&self, phone: &str) -> String {
        self.post("/api/v1/auth/otp/request", None, json!({"phone": phone}))
            .await
            .expect(202);
        let code = self.codes.last_code(phone).expect("a code was sent");
        let r = self
            .post(
                "/api/v1/auth/otp/verify",
                None,
                json!({"phone": phone, "code": code}),
            )
            .await
            .expect(200);
        r.json()["token"].as_str().expect("token").to_owned()
    }

    /// A category with English and Chinese names; returns its id.
    pub async fn category(&self, op: &str, en: &str, parent: Option<i64>) -> i64 {
        let r = self
            .post(
                "/api/v1/categories",
                Some(op),
                json!({"parent_id": parent, "names": {"en": en, "zh-CN": format!("{en}-中文")}}),
            )
            .await
            .expect(201);
        r.json()["id"].as_i64().expect("id")
    }

    /// A product of the caller's supplier with 2 colours × 2 sizes at CNY 100.00.
    pub async fn product(&self, token: &str, title: &str) -> Value {
        self.post(
            "/api/v1/products",
            Some(token),
            json!({
                "translations": {"en": {"title": title, "description": "desc"}, "zh-CN": {"title": format!("{title}（中文）")}},
                "attributes": {"material": "cotton"},
                "variants": {"colors": ["Red", "Blue"], "sizes": ["S", "M"], "prices": [{"currency": "CNY", "amount_minor": 10000}]}
            }),
        )
        .await
        .expect(201)
        .json()
    }
}

/// Runs each listed `async fn(TestApp)` against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )+
        }
    };
}
