//! The services of souk: they load state, call the pure rules in `souk-core`,
//! persist through `souk-store`, and keep the in-memory caches that make the
//! read paths fast. Later issues add the owners of hot entities and the bus.

pub mod accounts;
pub mod carts;
pub mod catalog;
pub mod clock;
pub mod coupons;
pub mod idempotency;
pub mod locations;
pub mod orders;
pub mod otp_sender;
pub mod payments;
pub mod secrets;
pub mod stock;

use souk_store::Db;
use std::sync::Arc;

pub use clock::{Clock, ManualClock, SystemClock};
pub use otp_sender::{CodeSender, LogSender, MemorySender};

/// Everything a request handler needs, shared by all of them.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub accounts: Arc<accounts::Accounts>,
    pub catalog: Arc<catalog::Catalog>,
    pub locations: Arc<locations::Locations>,
    pub idempotency: Arc<idempotency::Idempotency>,
    pub stock: Arc<stock::Stock>,
    /// Cart prices, coupons and member tiers.
    pub coupons: Arc<coupons::Coupons>,
    /// Checkout, orders, payments and the ledger.
    pub orders: Arc<orders::Orders>,
    /// Buyers' carts.
    pub carts: Arc<carts::Carts>,
}

impl Services {
    pub fn new(db: Db, clock: Arc<dyn Clock>, sender: Arc<dyn CodeSender>) -> Self {
        Self::with_config(db, clock, sender, orders::OrdersConfig::default())
    }

    /// With the market's money settings (take rate, webhook secret, currency,
    /// tax, shipping, tiers): one `MarketConfig` for orders and coupons alike.
    pub fn with_config(
        db: Db,
        clock: Arc<dyn Clock>,
        sender: Arc<dyn CodeSender>,
        config: orders::OrdersConfig,
    ) -> Self {
        // One group-commit log for the hot writes (stock batches, stored
        // idempotent responses): on SQLite, one connection writes them all.
        let writer = souk_store::batch::Writer::open(&db);
        let stock = stock::Stock::start(db.clone(), writer.clone(), clock.clone());
        let catalog = Arc::new(catalog::Catalog::new(db.clone(), clock.clone()));
        let coupons = Arc::new(coupons::Coupons::new(
            db.clone(),
            clock.clone(),
            config.market.clone(),
        ));
        let orders = orders::Orders::start(
            db.clone(),
            clock.clone(),
            stock.clone(),
            catalog.clone(),
            coupons.clone(),
            config,
        );
        Services {
            carts: Arc::new(carts::Carts::new(
                db.clone(),
                clock.clone(),
                catalog.clone(),
                coupons.clone(),
                orders.clone(),
            )),
            accounts: Arc::new(accounts::Accounts::new(db.clone(), clock.clone(), sender)),
            catalog: catalog.clone(),
            locations: Arc::new(locations::Locations::new(db.clone(), clock.clone())),
            idempotency: Arc::new(idempotency::Idempotency::new(
                db.clone(),
                writer,
                clock.clone(),
            )),
            stock: stock.clone(),
            orders,
            coupons,
            db,
            clock,
        }
    }
}
