//! `souk bench flash-sale`: buyers race over HTTP for the units of one SKU.
//!
//! One attempt is exactly what an outside load tool would send (see the
//! README): `POST /api/v1/reservations` with the buyer's bearer token, an
//! `Idempotency-Key`, and `{"sku_id": N, "qty": 1}`. Afterwards the run
//! checks the answers against the stock figures, the reservations table and
//! the movement ledger.

use anyhow::{bail, Context};
use futures::StreamExt;
use souk_api::{ApiConfig, AppState};
use souk_core::access::Grant;
use souk_engine::accounts::NewConsoleUser;
use souk_engine::{Clock, LogSender, Services, SystemClock};
use souk_store::Db;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Race against this running server instead of starting one.
    #[arg(long)]
    pub url: Option<String>,
    /// The server's database (needed with --url, to seed buyers); default: a fresh SQLite file.
    #[arg(long)]
    pub database: Option<String>,
}

pub async fn flash_sale(args: FlashSaleArgs) -> anyhow::Result<()> {
    if args.units <= 0 || args.buyers == 0 || args.concurrency == 0 {
        bail!("--units, --buyers and --concurrency must be positive");
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

    let (url, _server) = match &args.url {
        Some(u) => (u.trim_end_matches('/').to_owned(), None),
        None => {
            let services = Services::new(db.clone(), Arc::new(SystemClock), Arc::new(LogSender));
            let config = ApiConfig {
                read_rate_per_sec: 0,
                write_rate_per_sec: 0,
                ..ApiConfig::default()
            };
            let router = souk_api::router(AppState::new(services, config));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let handle = tokio::spawn(async move {
                let _ = souk_api::serve(listener, router, std::future::pending()).await;
            });
            (format!("http://{addr}"), Some(handle))
        }
    };
    eprintln!("flash-sale: server {url}, database {database}");

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let run_id = rand::random::<u32>();
    let sku = seed_market(&db, &client, &url, args.units, run_id).await?;
    eprintln!(
        "flash-sale: SKU {sku} with {} units; seeding {} buyers",
        args.units, args.buyers
    );
    let tokens = seed_buyers(&db, args.buyers, run_id).await?;

    eprintln!(
        "flash-sale: {} attempts, {} at a time",
        tokens.len(),
        args.concurrency
    );
    let started = Instant::now();
    let body = serde_json::json!({"sku_id": sku, "qty": 1}).to_string();
    let results: Vec<Attempt> = futures::stream::iter(tokens.iter().enumerate())
        .map(|(i, token)| {
            let client = client.clone();
            let url = format!("{url}/api/v1/reservations");
            let body = body.clone();
            async move { attempt(&client, &url, token, &body, run_id, i).await }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let accepted_ids: Vec<i64> = results.iter().filter_map(|a| a.reservation).collect();
    let accepted = accepted_ids.len();
    let http_5xx = results.iter().filter(|a| a.status >= 500).count();
    let errors = results.iter().filter(|a| a.status == 0).count();
    let unexpected = results
        .iter()
        .filter(|a| a.status != 0 && a.status != 201 && a.status != 409 && a.status < 500)
        .count();
    let (held_rows, held_units) = souk_store::bulk::reservations_of_sku(&db, sku).await?;
    let stored = souk_store::bulk::existing_reservations(&db, &accepted_ids).await?;
    let lost = accepted - stored;
    let levels = souk_store::stock::levels_of_sku(db.pool(), souk_core::ids::SkuId(sku)).await?;
    let on_hand: i64 = levels.iter().map(|(_, l)| l.on_hand).sum();
    let reserved: i64 = levels.iter().map(|(_, l)| l.reserved).sum();
    let accepted_i = i64::try_from(accepted).unwrap_or(i64::MAX);
    let oversold = (accepted_i - args.units).max(0) + (reserved - on_hand).max(0);
    let diffs = Services::new(db.clone(), Arc::new(SystemClock), Arc::new(LogSender))
        .stock
        .check_ledger()
        .await;
    let ledger_ok = matches!(&diffs, Ok(d) if d.is_empty());

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
    let per_s = results.len() as f64 / elapsed.as_secs_f64();
    eprintln!(
        "flash-sale: stock on_hand={on_hand} reserved={reserved}; reservation rows={held_rows} units={held_units}; \
         ledger consistent={ledger_ok}; transport errors={errors}; other 4xx={unexpected}; {:.1}s",
        elapsed.as_secs_f64()
    );
    println!(
        "RESULT attempts={} accepted={accepted} oversold={oversold} lost={lost} http_5xx={http_5xx} per_s={per_s:.0} p50_ms={:.2} p99_ms={:.2}",
        results.len(),
        pct(500),
        pct(990)
    );
    let expected = args
        .units
        .min(i64::try_from(results.len()).unwrap_or(i64::MAX));
    if oversold > 0
        || lost > 0
        || http_5xx > 0
        || !ledger_ok
        || held_units != accepted_i
        || accepted_i != expected
    {
        bail!("the flash sale broke an invariant (see the RESULT line)");
    }
    Ok(())
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
