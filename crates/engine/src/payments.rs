//! Payment providers behind one trait, and the signed webhooks of the QR wallets.
//!
//! Every method (cash, card terminal, Alipay, WeChat Pay, stored card) is a
//! [`Provider`]. The sandbox providers here stand in for the real ones in
//! development and tests: the QR sandbox confirms asynchronously by sending a
//! webhook signed with HMAC-SHA256 over `"{timestamp}.{body}"` with the
//! configured secret, in the header `Souk-Signature: t=<ms>,v1=<hex>`.

use dashmap::DashMap;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_core::money::Currency;
use souk_core::payment::Method;

/// Header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "souk-signature";
/// A webhook signed longer ago than this (either way) is refused as a replay.
pub const SIGNATURE_TOLERANCE_MS: i64 = 5 * 60 * 1000;
/// The sandbox secret when none is configured. Real deployments set their own.
pub const SANDBOX_WEBHOOK_SECRET: &str = "souk-sandbox-webhook-secret";

/// How the buyer continues after an intent is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    /// Show this QR code; the wallet confirms through the webhook.
    ScanQr { qr_payload: String },
    /// Pay at the till; a clerk confirms.
    PayAtTill,
    /// Present the card at the terminal; a clerk captures.
    PresentCard,
    /// Nothing: the payment is already settled.
    None,
}

/// What a provider says about a payment it handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderStatus {
    Pending,
    Paid,
    Declined,
}

/// One payment method's adapter. Sandbox adapters answer at once; real ones
/// would call the provider (their I/O stays behind this trait).
pub trait Provider: Send + Sync {
    fn method(&self) -> Method;
    /// Starts a payment; returns what the buyer does next.
    fn start(&self, provider_ref: &str, amount_minor: i64, currency: Currency) -> NextAction;
    /// The provider's view of the payment (for the buyer's return).
    fn status(&self, provider_ref: &str) -> ProviderStatus;
    /// Takes the money (after authorisation). An error means the provider refused.
    fn capture(&self, provider_ref: &str, amount_minor: i64) -> DomainResult<()>;
    fn refund(&self, provider_ref: &str, amount_minor: i64) -> DomainResult<()>;
    fn void(&self, provider_ref: &str) -> DomainResult<()>;
}

/// Cash at the till: nothing to call; the clerk's confirmation is the capture.
pub struct Cash;

impl Provider for Cash {
    fn method(&self) -> Method {
        Method::Cash
    }
    fn start(&self, _: &str, _: i64, _: Currency) -> NextAction {
        NextAction::PayAtTill
    }
    fn status(&self, _: &str) -> ProviderStatus {
        ProviderStatus::Pending
    }
    fn capture(&self, _: &str, _: i64) -> DomainResult<()> {
        Ok(())
    }
    fn refund(&self, _: &str, _: i64) -> DomainResult<()> {
        Ok(())
    }
    fn void(&self, _: &str) -> DomainResult<()> {
        Ok(())
    }
}

/// A sandbox card terminal: approves every amount except ones ending in 13
/// minor units (to exercise a decline), like a test card.
pub struct SandboxTerminal;

impl Provider for SandboxTerminal {
    fn method(&self) -> Method {
        Method::CardTerminal
    }
    fn start(&self, _: &str, _: i64, _: Currency) -> NextAction {
        NextAction::PresentCard
    }
    fn status(&self, _: &str) -> ProviderStatus {
        ProviderStatus::Pending
    }
    fn capture(&self, _: &str, amount_minor: i64) -> DomainResult<()> {
        if amount_minor % 100 == 13 {
            return Err(DomainError::new(
                ErrorCode::PaymentDeclined,
                "The terminal declined the card.",
            ));
        }
        Ok(())
    }
    fn refund(&self, _: &str, _: i64) -> DomainResult<()> {
        Ok(())
    }
    fn void(&self, _: &str) -> DomainResult<()> {
        Ok(())
    }
}

/// The QR wallet sandbox (one instance per wallet: Alipay, WeChat Pay). It
/// remembers which payments the payer confirmed and how much it paid back;
/// the webhook it sends is signed like a real provider's.
pub struct SandboxQr {
    method: Method,
    paid: DashMap<String, bool>,
    refunded: DashMap<String, i64>,
}

impl SandboxQr {
    pub fn new(method: Method) -> Self {
        SandboxQr {
            method,
            paid: DashMap::new(),
            refunded: DashMap::new(),
        }
    }

    /// What the sandbox paid back to the payer of this payment so far.
    pub fn refunded_minor(&self, provider_ref: &str) -> i64 {
        self.refunded.get(provider_ref).map(|v| *v).unwrap_or(0)
    }

    /// The payer scanned and approved in the wallet.
    pub fn payer_approves(&self, provider_ref: &str) {
        self.paid.insert(provider_ref.to_owned(), true);
    }
}

impl Provider for SandboxQr {
    fn method(&self) -> Method {
        self.method
    }
    fn start(&self, provider_ref: &str, amount_minor: i64, currency: Currency) -> NextAction {
        // Showing the code again must not forget that the payer approved.
        self.paid.entry(provider_ref.to_owned()).or_insert(false);
        NextAction::ScanQr {
            qr_payload: format!(
                "souk-sandbox://{}/pay?ref={provider_ref}&amount={amount_minor}&currency={currency}",
                self.method.as_str()
            ),
        }
    }
    fn status(&self, provider_ref: &str) -> ProviderStatus {
        match self.paid.get(provider_ref).map(|v| *v) {
            Some(true) => ProviderStatus::Paid,
            _ => ProviderStatus::Pending,
        }
    }
    fn capture(&self, _: &str, _: i64) -> DomainResult<()> {
        Ok(())
    }
    fn refund(&self, provider_ref: &str, amount_minor: i64) -> DomainResult<()> {
        *self.refunded.entry(provider_ref.to_owned()).or_insert(0) += amount_minor;
        Ok(())
    }
    fn void(&self, _: &str) -> DomainResult<()> {
        Ok(())
    }
}

/// Stored cards in the sandbox: tokens starting `tok_decline` are declined.
pub struct SandboxStoredCard;

impl Provider for SandboxStoredCard {
    fn method(&self) -> Method {
        Method::StoredCard
    }
    fn start(&self, _: &str, _: i64, _: Currency) -> NextAction {
        NextAction::None
    }
    fn status(&self, _: &str) -> ProviderStatus {
        ProviderStatus::Paid
    }
    fn capture(&self, _: &str, _: i64) -> DomainResult<()> {
        Ok(())
    }
    fn refund(&self, _: &str, _: i64) -> DomainResult<()> {
        Ok(())
    }
    fn void(&self, _: &str) -> DomainResult<()> {
        Ok(())
    }
}

/// Charges a saved token (the stored-card provider's side).
pub fn charge_token(token: &str) -> DomainResult<()> {
    if token.starts_with("tok_decline") {
        return Err(DomainError::new(
            ErrorCode::PaymentDeclined,
            "The stored card was declined.",
        ));
    }
    Ok(())
}

/// A webhook event from a QR wallet provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEvent {
    /// The provider's id of this event: deliveries are deduplicated by it.
    pub event_id: String,
    /// `payment.succeeded` (others are acknowledged and ignored).
    #[serde(rename = "type")]
    pub kind: String,
    pub provider_ref: String,
    pub amount_minor: i64,
    pub currency: Currency,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, t: i64, body: &[u8]) -> DomainResult<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes())
        .map_err(|_| DomainError::internal("bad webhook secret"))?;
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    Ok(m)
}

/// The `Souk-Signature` header value for `body` signed at `t`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> DomainResult<String> {
    let tag = mac(secret, t, body)?.finalize().into_bytes();
    Ok(format!("t={t},v1={}", hex::encode(tag)))
}

fn bad_signature(why: &str) -> DomainError {
    DomainError::new(
        ErrorCode::InvalidSignature,
        format!("The webhook signature is not valid: {why}."),
    )
}

/// Verifies a signature header against the body (constant-time compare) and
/// the clock (within [`SIGNATURE_TOLERANCE_MS`]).
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now_ms: i64) -> DomainResult<()> {
    let header = header.ok_or_else(|| bad_signature("the Souk-Signature header is missing"))?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(bad_signature("expected t=<ms>,v1=<hex>"));
    };
    if (now_ms - t).abs() > SIGNATURE_TOLERANCE_MS {
        return Err(bad_signature("the timestamp is too old or in the future"));
    }
    mac(secret, t, body)?
        .verify_slice(&v1)
        .map_err(|_| bad_signature("it does not match the body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let body = br#"{"event_id":"e1"}"#;
        let h = sign("s3cret", 1_000, body).unwrap_or_default();
        assert!(verify("s3cret", Some(&h), body, 1_500).is_ok());
        assert!(verify("other", Some(&h), body, 1_500).is_err());
        assert!(verify("s3cret", Some(&h), br#"{"event_id":"e2"}"#, 1_500).is_err());
        assert!(verify("s3cret", Some(&h), body, 1_000 + SIGNATURE_TOLERANCE_MS + 1).is_err());
        assert!(verify("s3cret", None, body, 1_000).is_err());
        assert!(verify("s3cret", Some("garbage"), body, 1_000).is_err());
    }
}
