//! Configuration: defaults, then a TOML file, then `SOUK_*` environment
//! variables, then command-line flags — each overriding the one before.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use souk_core::ledger::TakeRate;
use souk_core::pricing::MarketConfig;
use souk_engine::orders::OrdersConfig;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://path/to/file.db` (created on first run) or `postgres://user@host/db`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free one.
    pub bind: String,
    /// Connections in the database pool.
    pub db_max_connections: u32,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Reads per second per client address; 0 turns the limit off.
    pub read_rate_per_sec: u32,
    /// Writes per second per credential (or address); 0 turns the limit off.
    pub write_rate_per_sec: u32,
    /// Seconds before a request is abandoned with 503.
    pub request_timeout_secs: u64,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `souk=debug,info`.
    pub log_level: String,
    /// The platform's take of each supplier's sales, in basis points (1000 = 10 %).
    pub take_rate_bps: i64,
    /// The secret QR-wallet webhooks are signed with (set it from the environment).
    pub webhook_secret: String,
    /// The market: currency, tax, delivery fee rule and member tiers (`[market]`).
    pub market: MarketConfig,
}

impl Config {
    /// The money settings the services run with, checked.
    pub fn orders(&self) -> anyhow::Result<OrdersConfig> {
        self.market
            .validate()
            .map_err(|e| anyhow::anyhow!("[market]: {}", e.message))?;
        TakeRate::from_bps(self.take_rate_bps)
            .map_err(|e| anyhow::anyhow!("take_rate_bps: {}", e.message))?;
        if self.webhook_secret.len() < 16 {
            anyhow::bail!("webhook_secret: at least 16 characters");
        }
        Ok(OrdersConfig {
            take_rate_bps: self.take_rate_bps,
            webhook_secret: self.webhook_secret.clone(),
            market: self.market.clone(),
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        let api = souk_api::ApiConfig::default();
        let orders = OrdersConfig::default();
        Self {
            database_url: "sqlite://souk-data/souk.db".into(),
            bind: "127.0.0.1:8080".into(),
            db_max_connections: 16,
            body_limit_bytes: api.body_limit_bytes,
            read_rate_per_sec: api.read_rate_per_sec,
            write_rate_per_sec: api.write_rate_per_sec,
            request_timeout_secs: api.request_timeout.as_secs(),
            log_format: "text".into(),
            log_level: "info".into(),
            take_rate_bps: orders.take_rate_bps,
            webhook_secret: orders.webhook_secret,
            market: orders.market,
        }
    }
}

/// Flags that override the file and the environment (only those given).
#[derive(Debug, Default, Serialize, clap::Args)]
pub struct Overrides {
    /// Database URL (sqlite://… or postgres://…).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 = any free port).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// Reads per second per client address (0 = unlimited).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_rate_per_sec: Option<u32>,
    /// Writes per second per client credential (0 = unlimited).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_rate_per_sec: Option<u32>,
    /// Log format: text or json.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

/// Every configuration key, as `SOUK_<KEY>` in the environment.
const KEYS: [&str; 11] = [
    "database_url",
    "bind",
    "db_max_connections",
    "body_limit_bytes",
    "read_rate_per_sec",
    "write_rate_per_sec",
    "request_timeout_secs",
    "log_format",
    "log_level",
    "take_rate_bps",
    "webhook_secret",
];

pub fn load(file: Option<&PathBuf>, overrides: &Overrides) -> anyhow::Result<Config> {
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    match file {
        Some(f) => {
            if !f.exists() {
                anyhow::bail!("config file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        None => fig = fig.merge(Toml::file("souk.toml")),
    }
    fig = fig
        // Only our own keys: other SOUK_* variables (test settings, scripts' own) are not config.
        .merge(Env::prefixed("SOUK_").only(&KEYS))
        .merge(Serialized::defaults(overrides));
    Ok(fig.extract()?)
}

#[cfg(test)]
mod tests {
    // figment's Jail closures return its (large) error type by design.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]
    use super::*;

    #[test]
    fn file_then_environment_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "souk.toml",
                r#"
                bind = "127.0.0.1:1111"
                database_url = "sqlite://from-file.db"
                log_level = "debug"
            "#,
            )?;
            let c = load(None, &Overrides::default()).expect("load");
            assert_eq!(c.bind, "127.0.0.1:1111");
            assert_eq!(c.log_level, "debug");
            assert_eq!(c.db_max_connections, Config::default().db_max_connections);

            jail.set_env("SOUK_BIND", "127.0.0.1:2222");
            // Not ours: ignored, not an error.
            jail.set_env("SOUK_BIN", "/usr/bin/souk");
            let c = load(None, &Overrides::default()).expect("load");
            assert_eq!(c.bind, "127.0.0.1:2222");
            assert_eq!(c.database_url, "sqlite://from-file.db");

            let flags = Overrides {
                bind: Some("127.0.0.1:3333".into()),
                ..Overrides::default()
            };
            let c = load(None, &flags).expect("load");
            assert_eq!(c.bind, "127.0.0.1:3333");
            Ok(())
        });
    }

    #[test]
    fn the_market_comes_from_the_file_and_is_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "souk.toml",
                r#"
                take_rate_bps = 1500
                [market]
                currency = "CNY"
                tax = { rate_bps = 600 }
                shipping = { flat_fee_minor = 800, free_from_minor = 19900 }
                tiers = { tiers = [{ level = "regular", min_spend_minor = 0, discount_bps = 0 }] }
            "#,
            )?;
            jail.set_env("SOUK_WEBHOOK_SECRET", "a-long-secret-from-the-env");
            let c = load(None, &Overrides::default()).expect("load");
            let o = c.orders().expect("valid market");
            assert_eq!(o.take_rate_bps, 1500);
            assert_eq!(o.market.tax.rate_bps, 600);
            assert_eq!(o.market.shipping.free_from_minor, Some(19_900));
            assert_eq!(o.webhook_secret, "a-long-secret-from-the-env");

            // Out of range: refused when the server starts, with the key named.
            jail.set_env("SOUK_TAKE_RATE_BPS", "20000");
            let err = load(None, &Overrides::default())
                .unwrap()
                .orders()
                .unwrap_err();
            assert!(err.to_string().contains("take_rate_bps"), "{err}");
            jail.set_env("SOUK_TAKE_RATE_BPS", "1000");
            jail.set_env("SOUK_WEBHOOK_SECRET", "short");
            assert!(load(None, &Overrides::default()).unwrap().orders().is_err());
            // A typo inside [market] is an error, not silently ignored.
            jail.create_file("souk.toml", "[market]\ncurency = \"CNY\"")?;
            assert!(load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("souk.toml", "bnid = \"typo\"")?;
            assert!(load(None, &Overrides::default()).is_err());
            assert!(load(Some(&PathBuf::from("missing.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }
}
