//! Dynamic SQL with `$n` placeholders, which both SQLite and PostgreSQL accept
//! (sqlx's QueryBuilder writes `?` for the Any driver, which PostgreSQL refuses).

use crate::error::{StoreError, StoreResult};
use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments};

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Builds SQL with `$n` placeholders that both dialects accept.
pub struct SqlBuilder {
    pub text: String,
    pub args: AnyArguments<'static>,
    n: usize,
}

impl SqlBuilder {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: AnyArguments::default(),
            n: 0,
        }
    }

    pub fn bind<T>(&mut self, v: T) -> StoreResult<String>
    where
        T: 'static + Send + sqlx::Encode<'static, Any> + sqlx::Type<Any>,
    {
        self.args.add(v).map_err(|e| corrupt(e.to_string()))?;
        self.n += 1;
        Ok(format!("${}", self.n))
    }
}
