//! Delivery of one-time codes. The default writes the code to the log; an SMS
//! gateway would be another implementation of [`CodeSender`].

use souk_core::phone::Phone;
use std::collections::HashMap;
use std::sync::Mutex;

pub trait CodeSender: Send + Sync {
    fn send(&self, phone: &Phone, code: &str);
}

/// Writes codes to the log (development and demo).
pub struct LogSender;

impl CodeSender for LogSender {
    fn send(&self, phone: &Phone, code: &str) {
        tracing::info!(phone = %phone, code = %code, "otp code issued");
    }
}

/// Keeps the last code per phone in memory, for tests to read.
#[derive(Default)]
pub struct MemorySender(Mutex<HashMap<String, String>>);

impl MemorySender {
    pub fn last_code(&self, phone: &str) -> Option<String> {
        let phone = Phone::parse(phone).ok()?;
        self.0.lock().ok()?.get(phone.as_str()).cloned()
    }
}

impl CodeSender for MemorySender {
    fn send(&self, phone: &Phone, code: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(phone.as_str().to_owned(), code.to_owned());
        }
    }
}
