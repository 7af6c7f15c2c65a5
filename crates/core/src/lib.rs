//! The pure domain of souk.
//!
//! Every business rule lives here as plain functions and types: no I/O, no
//! async, no clock reads, no randomness (time and random bytes are passed in).
//! The store persists what these rules decide; the API exposes them.

pub mod access;
pub mod catalog;
pub mod coupon;
pub mod error;
pub mod ids;
pub mod ledger;
pub mod locale;
pub mod location;
pub mod money;
pub mod order;
pub mod otp;
pub mod page;
pub mod payment;
pub mod phone;
pub mod pricing;
pub mod receipt;
pub mod stock;
pub mod text;
pub mod tier;

pub use error::{DomainError, ErrorCode};
