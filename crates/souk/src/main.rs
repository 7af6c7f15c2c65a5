//! `souk`: one binary for the whole market.

mod bench;
mod bench_steps;
mod config;
mod demo;

use anyhow::Context;
use clap::{Parser, Subcommand};
use souk_api::{ApiConfig, AppState};
use souk_engine::{LogSender, Services, SystemClock};
use souk_store::Db;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "souk",
    version,
    about = "A real-time commerce engine: one binary runs a whole marketplace."
)]
struct Cli {
    /// A TOML configuration file (default: ./souk.toml if present).
    #[arg(long, global = true, env = "SOUK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the market over HTTP (migrates the database first).
    Serve {
        #[command(flatten)]
        overrides: config::Overrides,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        overrides: config::Overrides,
    },
    /// Serve a demo market on an embedded SQLite file, seeded on first run.
    Demo {
        /// Folder for the demo database.
        #[arg(long, default_value = "souk-data")]
        data_dir: PathBuf,
        #[command(flatten)]
        overrides: config::Overrides,
    },
    /// Benchmarks that anyone can reproduce.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Buyers race over HTTP for the units of one SKU; ends with a RESULT line.
    FlashSale(bench::FlashSaleArgs),
}

fn init_logging(cfg: &config::Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn api_config(cfg: &config::Config) -> ApiConfig {
    ApiConfig {
        body_limit_bytes: cfg.body_limit_bytes,
        read_rate_per_sec: cfg.read_rate_per_sec,
        write_rate_per_sec: cfg.write_rate_per_sec,
        request_timeout: Duration::from_secs(cfg.request_timeout_secs.max(1)),
    }
}

async fn open_db(cfg: &config::Config) -> anyhow::Result<Db> {
    let db = Db::connect(&cfg.database_url, cfg.db_max_connections)
        .await
        .with_context(|| format!("opening database {}", cfg.database_url))?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn serve(cfg: &config::Config, db: Db, banner: impl FnOnce(&str)) -> anyhow::Result<()> {
    let services = Services::with_config(
        db.clone(),
        Arc::new(SystemClock),
        Arc::new(LogSender),
        cfg.orders()?,
    );
    let state = AppState::new(services, api_config(cfg));
    let upkeep = souk_api::spawn_upkeep(&state);
    let listener = tokio::net::TcpListener::bind(&cfg.bind)
        .await
        .with_context(|| format!("binding {}", cfg.bind))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    println!("listening on {url}");
    banner(&url);
    tracing::info!(%addr, "souk is serving");
    souk_api::serve(listener, souk_api::router(state), shutdown_signal()).await?;
    upkeep.abort();
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { overrides } => {
            let cfg = config::load(cli.config.as_ref(), &overrides)?;
            init_logging(&cfg);
            let db = open_db(&cfg).await?;
            serve(&cfg, db, |url| {
                println!("storefront: {url}/  API docs: {url}/api/docs");
            })
            .await
        }
        Command::Migrate { overrides } => {
            let cfg = config::load(cli.config.as_ref(), &overrides)?;
            init_logging(&cfg);
            let db = open_db(&cfg).await?;
            db.close().await;
            println!("migrations applied to {}", cfg.database_url);
            Ok(())
        }
        Command::Bench {
            which: BenchCommand::FlashSale(args),
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
                .init();
            bench::flash_sale(args).await
        }
        Command::Demo {
            data_dir,
            mut overrides,
        } => {
            if overrides.database_url.is_none() {
                overrides.database_url = Some(format!("sqlite://{}/demo.db", data_dir.display()));
            }
            let cfg = config::load(cli.config.as_ref(), &overrides)?;
            init_logging(&cfg);
            let db = open_db(&cfg).await?;
            let seeded = demo::seed(&db).await.context("seeding the demo market")?;
            serve(&cfg, db, move |url| demo::print_banner(url, &seeded)).await
        }
    }
}
