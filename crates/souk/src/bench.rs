//! `souk bench flash-sale`: buyers race over HTTP for the units of one SKU.
//!
//! One attempt is exactly what an outside load tool would send (see the
//! README): `POST /api/v1/reservations` with the buyer's bearer token, an
//! `Idempotency-Key`, and `{"sku_id": N, "qty": 1}`. Afterwards the run
//! checks the answers against the stock figures, the reservations table and
//! the movement ledger.

use crate::bench_steps::{PgUpdate, RedisLua, ReserveStep, Reserved, Souk, StepCheck};
use anyhow::{bail, Context};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use souk_api::auth::Auth;
use souk_api::error::ApiError;
use souk_api::extract::Json;
use souk_api::{ApiConfig, AppState};
use souk_core::access::Grant;
use souk_core::error::{DomainError, ErrorCode};
use souk_core::ids::{AccountId, SkuId};
use souk_engine::accounts::NewConsoleUser;
use souk_engine::{Clock, LogSender, Services, SystemClock};
use souk_store::Db;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which reservation step to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StepKind {
    /// souk's whole API (idempotency keys, tracing, metrics, rate-limit layer) on its own server.
    Full,
    /// souk's stock owner behind the thin bench endpoint (or bare).
    Souk,
    /// Plain PostgreSQL: one conditional UPDATE per attempt.
    PgUpdate,
    /// Redis + Lua check-and-decrement, no persistence.
    Redis,
    /// Redis + Lua with appendonly yes, appendfsync always.
    RedisAof,
}

impl StepKind {
    fn name(self) -> &'static str {
        match self {
            StepKind::Full => "full",
            StepKind::Souk => "souk",
            StepKind::PgUpdate => "pg-update",
            StepKind::Redis => "redis",
            StepKind::RedisAof => "redis-aof",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct FlashSaleArgs {
    /// Units of the SKU on sale.
    #[arg(long, default_value_t = 1000)]
    pub units: i64,
    /// Buyers, each making one attempt.
    #[arg(long, default_value_t = 100_000)]
    pub buyers: usize,
    /// Attempts in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Race against this running server instead of starting one (only with --step full).
    #[arg(long)]
    pub url: Option<String>,
    /// souk's database (needed with --url, to seed buyers); default: a fresh SQLite file.
    #[arg(long)]
    pub database: Option<String>,
    /// The reservation step: `full` is souk's whole API on its own server; the
    /// others sit behind a thin endpoint with the same route, bearer auth and JSON.
    #[arg(long, value_enum, default_value_t = StepKind::Full)]
    pub step: StepKind,
    /// Call the step in-process from N concurrent tasks, without HTTP.
    #[arg(long)]
    pub bare: bool,
    /// PostgreSQL for `--step pg-update`.
    #[arg(
        long,
        env = "SOUK_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub pg_url: String,
    /// Connections of the `pg-update` pool.
    #[arg(long, default_value_t = 32)]
    pub pg_connections: u32,
    /// Redis for `--step redis|redis-aof`.
    #[arg(
        long,
        env = "SOUK_BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379/"
    )]
    pub redis_url: String,
}

pub async fn flash_sale(args: FlashSaleArgs) -> anyhow::Result<()> {
    if args.units <= 0 || args.buyers == 0 || args.concurrency == 0 {
        bail!("--units, --buyers and --concurrency must be positive");
    }
    if args.url.is_some() && args.step != StepKind::Full {
        bail!("--url races a running souk; only --step full can use it");
    }
    if args.bare && args.step == StepKind::Full {
        bail!("--bare measures one step without HTTP: pick --step souk, pg-update, redis or redis-aof");
    }
    let tmp = tempfile::tempdir()?;
    let database = match (&args.url, &args.database) {
        (Some(_), None) => bail!(
            "--url needs --database: the buyers' sessions are seeded into the server's database"
        ),
        (_, Some(d)) => d.clone(),
        (None, None) => format!("sqlite://{}/flash-sale.db", tmp.path().display()),
    };
    let db = Db::connect(&database, 8)
        .await
        .with_context(|| format!("opening {database}"))?;
    db.migrate().await?;
    let services = Services::new(db.clone(), Arc::new(SystemClock), Arc::new(LogSender));

    let (url, _server) = match &args.url {
        Some(u) => (u.trim_end_matches('/').to_owned(), None),
        None => {
            let router = souk_api::router(AppState::new(services.clone(), bench_api_config()));
            let (url, handle) = spawn_server(router).await?;
            (url, Some(handle))
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let run_id = rand::random::<u32>();
    let sku = match args.step {
        StepKind::Full | StepKind::Souk => {
            seed_market(&db, &client, &url, args.units, run_id).await?
        }
        _ => 0,
    };
    let souk = || Souk {
        services: services.clone(),
        sku: SkuId(sku),
        units: args.units,
    };
    let ctx = Run {
        args: &args,
        services: &services,
        db: &db,
        client: &client,
        url: &url,
        database: &database,
        run_id,
        sku,
    };
    match args.step {
        StepKind::Full | StepKind::Souk => ctx.run(Arc::new(souk())).await,
        StepKind::PgUpdate => {
            let step = PgUpdate::setup(&args.pg_url, args.units, args.pg_connections).await?;
            ctx.run(Arc::new(step)).await
        }
        StepKind::Redis | StepKind::RedisAof => {
            let step =
                RedisLua::setup(&args.redis_url, args.units, args.step == StepKind::RedisAof)
                    .await?;
            ctx.run(Arc::new(step)).await
        }
    }
}

fn bench_api_config() -> ApiConfig {
    ApiConfig {
        read_rate_per_sec: 0,
        write_rate_per_sec: 0,
        ..ApiConfig::default()
    }
}

async fn spawn_server(
    router: axum::Router,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let _ = souk_api::serve(listener, router, std::future::pending()).await;
    });
    Ok((format!("http://{addr}"), handle))
}

#[derive(serde::Deserialize)]
struct NewReservation {
    sku_id: i64,
    qty: i64,
}

/// The thin bench endpoint: the route, bearer auth and JSON of
/// `POST /api/v1/reservations`, with the reservation step swapped.
fn thin_router<S: ReserveStep>(state: AppState, step: Arc<S>) -> axum::Router {
    let handler = move |Auth(p): Auth, Json(b): Json<NewReservation>| {
        let step = step.clone();
        async move {
            if b.qty <= 0 {
                return ApiError(DomainError::invalid("qty must be positive.")).into_response();
            }
            match step.reserve(p.account_id, b.qty).await {
                Ok(Reserved::Held { id, location }) => {
                    let now = SystemClock.now_ms();
                    let body = serde_json::json!({
                        "id": id, "sku_id": b.sku_id, "location_id": location, "qty": b.qty,
                        "state": "held", "channel": "web", "holder_id": p.account_id.0,
                        "expires_at_ms": now + souk_engine::stock::DEFAULT_HOLD_MS,
                        "created_at_ms": now, "updated_at_ms": now,
                    });
                    (StatusCode::CREATED, axum::Json(body)).into_response()
                }
                Ok(Reserved::SoldOut) => {
                    ApiError::new(ErrorCode::OutOfStock, "Sold out.").into_response()
                }
                Err(e) => ApiError(DomainError::new(ErrorCode::Unavailable, e.to_string()))
                    .into_response(),
            }
        }
    };
    axum::Router::new()
        .route("/api/v1/reservations", axum::routing::post(handler))
        .with_state(state)
}

struct Run<'a> {
    args: &'a FlashSaleArgs,
    services: &'a Services,
    db: &'a Db,
    client: &'a reqwest::Client,
    url: &'a str,
    database: &'a str,
    run_id: u32,
    sku: i64,
}

impl Run<'_> {
    async fn run<S: ReserveStep>(&self, step: Arc<S>) -> anyhow::Result<()> {
        let result = self.race(step.clone()).await;
        if let Err(e) = step.restore().await {
            eprintln!("flash-sale: could not restore the step's settings: {e:#}");
        }
        result
    }

    async fn race<S: ReserveStep>(&self, step: Arc<S>) -> anyhow::Result<()> {
        let args = self.args;
        let mode = if args.bare { "bare" } else { "http" };
        eprintln!(
            "flash-sale: step {} ({mode}), souk database {}, {} units, {} buyers, {} at a time",
            args.step.name(),
            self.database,
            args.units,
            args.buyers,
            args.concurrency
        );
        let (results, elapsed) = if args.bare {
            let step = step.clone();
            fire(args.buyers, args.concurrency, move |i| {
                let step = step.clone();
                async move {
                    let t = Instant::now();
                    let buyer = AccountId(1_000_000_000 + i64::try_from(i).unwrap_or(0));
                    let (status, reservation) = match step.reserve(buyer, 1).await {
                        Ok(Reserved::Held { id, .. }) => (201, Some(id)),
                        Ok(Reserved::SoldOut) => (409, None),
                        Err(_) => (503, None),
                    };
                    Attempt {
                        status,
                        reservation,
                        latency: t.elapsed(),
                    }
                }
            })
            .await
        } else {
            let tokens = Arc::new(seed_buyers(self.db, args.buyers, self.run_id).await?);
            let (url, _thin) = if args.step == StepKind::Full {
                (self.url.to_owned(), None)
            } else {
                let state = AppState::new(self.services.clone(), bench_api_config());
                let (u, h) = spawn_server(thin_router(state, step.clone())).await?;
                (u, Some(h))
            };
            let url = Arc::new(format!("{url}/api/v1/reservations"));
            let body = Arc::new(serde_json::json!({"sku_id": self.sku, "qty": 1}).to_string());
            let client = self.client.clone();
            let run = self.run_id;
            fire(args.buyers, args.concurrency, move |i| {
                let (client, url, body, tokens) =
                    (client.clone(), url.clone(), body.clone(), tokens.clone());
                async move { attempt(&client, &url, &tokens[i], &body, run, i).await }
            })
            .await
        };
        let accepted_ids: Vec<i64> = results.iter().filter_map(|a| a.reservation).collect();
        let accepted = accepted_ids.len();
        let http_5xx = results.iter().filter(|a| a.status >= 500).count();
        let errors = results.iter().filter(|a| a.status == 0).count();
        let unexpected = results
            .iter()
            .filter(|a| a.status != 0 && a.status != 201 && a.status != 409 && a.status < 500)
            .count();
        let StepCheck {
            held_units,
            on_hand,
            lost,
            consistent,
        } = step.check(&accepted_ids).await?;
        let accepted_i = i64::try_from(accepted).unwrap_or(i64::MAX);
        let oversold = (accepted_i - args.units).max(0) + (held_units - on_hand).max(0);

        let mut lat: Vec<Duration> = results.iter().map(|a| a.latency).collect();
        lat.sort();
        // Nearest-rank percentile, in per-mille to stay in integers.
        let pct = |per_mille: usize| -> f64 {
            if lat.is_empty() {
                return 0.0;
            }
            let i = (lat.len() - 1) * per_mille / 1000;
            lat[i].as_secs_f64() * 1000.0
        };
        let secs = elapsed.as_secs_f64();
        let per_s = results.len() as f64 / secs;
        let accepted_per_s = accepted as f64 / secs;
        eprintln!(
            "flash-sale: store on_hand={on_hand} held={held_units}; consistent={consistent}; \
             transport errors={errors}; other 4xx={unexpected}; {secs:.1}s"
        );
        println!(
            "RESULT attempts={} accepted={accepted} oversold={oversold} lost={lost} http_5xx={http_5xx} per_s={per_s:.0} p50_ms={:.2} p99_ms={:.2} step={} mode={mode} accepted_per_s={accepted_per_s:.0}",
            results.len(),
            pct(500),
            pct(990),
            args.step.name(),
        );
        let expected = args
            .units
            .min(i64::try_from(results.len()).unwrap_or(i64::MAX));
        if oversold > 0
            || lost > 0
            || http_5xx > 0
            || errors > 0
            || !consistent
            || held_units != accepted_i
            || accepted_i != expected
        {
            bail!("the flash sale broke an invariant (see the RESULT line)");
        }
        Ok(())
    }
}

/// Runs attempts 0..n from `concurrency` tasks; returns the answers and the wall time.
async fn fire<F, Fut>(n: usize, concurrency: usize, one: F) -> (Vec<Attempt>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Attempt> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let one = Arc::new(one);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.min(n))
        .map(|_| {
            let (next, one) = (next.clone(), one.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    out.push(one(i).await);
                }
                out
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for w in workers {
        if let Ok(mut v) = w.await {
            results.append(&mut v);
        }
    }
    (results, started.elapsed())
}

struct Attempt {
    status: u16,
    reservation: Option<i64>,
    latency: Duration,
}

async fn attempt(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &str,
    run: u32,
    i: usize,
) -> Attempt {
    let t = Instant::now();
    let res = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("idempotency-key", format!("flash-{run}-{i}"))
        .body(body.to_owned())
        .send()
        .await;
    let (status, reservation) = match res {
        Ok(r) => {
            let status = r.status().as_u16();
            let id = if status == 201 {
                r.json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["id"].as_i64())
            } else {
                let _ = r.bytes().await;
                None
            };
            (status, id)
        }
        Err(_) => (0, None),
    };
    Attempt {
        status,
        reservation,
        latency: t.elapsed(),
    }
}

/// An operator (seeded into the database), a supplier, one active product
/// with one SKU, a cloud warehouse holding `units` of it. Returns the SKU id.
async fn seed_market(
    db: &Db,
    client: &reqwest::Client,
    url: &str,
    units: i64,
    run: u32,
) -> anyhow::Result<i64> {
    let services = Services::new(db.clone(), Arc::new(SystemClock), Arc::new(LogSender));
    let email = format!("bench-operator-{run}@souk.bench");
    let password = format!("bench-password-{run}");
    services
        .accounts
        .insert_console_user(NewConsoleUser {
            email: email.clone(),
            password: password.clone(),
            display_name: "Bench operator".into(),
            grants: vec![Grant::Operator],
        })
        .await
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let call =
        |method: reqwest::Method, path: &str, token: Option<&str>, body: serde_json::Value| {
            let mut r = client
                .request(method, format!("{url}{path}"))
                .header(
                    "idempotency-key",
                    format!("seed-{run}-{path}-{}", rand::random::<u64>()),
                )
                .json(&body);
            if let Some(t) = token {
                r = r.bearer_auth(t.to_owned());
            }
            async move {
                let res = r.send().await?;
                let status = res.status();
                let v: serde_json::Value = res.json().await.unwrap_or_default();
                if !status.is_success() {
                    bail!("seeding {status}: {v}");
                }
                Ok::<_, anyhow::Error>(v)
            }
        };
    let post = reqwest::Method::POST;
    let op = call(
        post.clone(),
        "/api/v1/auth/password",
        None,
        serde_json::json!({"email": email, "password": password}),
    )
    .await?;
    let op = op["token"].as_str().context("operator token")?.to_owned();
    let supplier = call(
        post.clone(),
        "/api/v1/suppliers",
        Some(&op),
        serde_json::json!({"name": format!("Flash Supplier {run}")}),
    )
    .await?;
    let product = call(
        post.clone(),
        "/api/v1/products",
        Some(&op),
        serde_json::json!({
            "supplier_id": supplier["id"],
            "translations": {"en": {"title": "Flash-sale sneakers"}, "zh-CN": {"title": "秒杀运动鞋"}},
            "variants": {"colors": ["Red"], "sizes": ["42"], "prices": [{"currency": "CNY", "amount_minor": 9900}]}
        }),
    )
    .await?;
    let pid = product["id"].as_i64().context("product id")?;
    let sku = product["skus"][0]["id"].as_i64().context("sku id")?;
    call(
        post.clone(),
        &format!("/api/v1/products/{pid}/status"),
        Some(&op),
        serde_json::json!({"status": "active"}),
    )
    .await?;
    let wh = call(
        post.clone(),
        "/api/v1/locations",
        Some(&op),
        serde_json::json!({"kind": "cloud_warehouse", "name": format!("Flash Warehouse {run}"), "capabilities": {"ship": true},
                           "address": {"line1": "1 Bench Rd", "city": "Shanghai", "country": "CN"}}),
    )
    .await?;
    call(
        post,
        "/api/v1/stock/receive",
        Some(&op),
        serde_json::json!({"sku_id": sku, "location_id": wh["id"], "qty": units}),
    )
    .await?;
    Ok(sku)
}

/// Buyer accounts with a session each, written straight into the database.
async fn seed_buyers(db: &Db, n: usize, run: u32) -> anyhow::Result<Vec<String>> {
    let now = SystemClock.now_ms();
    let mut tokens = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let token = souk_engine::secrets::new_token("ses_");
        rows.push((
            format!("+999{:03}{i:08}", run % 1000),
            souk_engine::secrets::hash_secret(&token),
        ));
        tokens.push(token);
    }
    souk_store::bulk::buyers_with_sessions(db, &rows, now, now + 24 * 3_600_000).await?;
    Ok(tokens)
}
