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
    /// Arguments added.
    n: usize,
    /// Placeholders written by [`SqlBuilder::row`].
    placed: usize,
}

impl SqlBuilder {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: AnyArguments::default(),
            n: 0,
            placed: 0,
        }
    }

    /// Writes row `i` of a multi-row `VALUES` list: `($k, …)` with `cols`
    /// placeholders numbered on from the last row's; add its values with
    /// [`SqlBuilder::arg`], in column order. No string is made per placeholder.
    pub fn row(&mut self, i: usize, cols: usize) {
        use std::fmt::Write;
        if i > 0 {
            self.text.push_str(", ");
        }
        self.text.push('(');
        for c in 0..cols {
            self.placed += 1;
            let sep = if c == 0 { "" } else { ", " };
            // Writing into a String cannot fail.
            let _ = write!(self.text, "{sep}${}", self.placed);
        }
        self.text.push(')');
    }

    /// Adds a value whose placeholder is already in the text.
    pub fn arg<T>(&mut self, v: T) -> StoreResult<()>
    where
        T: 'static + Send + sqlx::Encode<'static, Any> + sqlx::Type<Any>,
    {
        self.args.add(v).map_err(|e| corrupt(e.to_string()))?;
        self.n += 1;
        Ok(())
    }

    pub fn bind<T>(&mut self, v: T) -> StoreResult<String>
    where
        T: 'static + Send + sqlx::Encode<'static, Any> + sqlx::Type<Any>,
    {
        self.args.add(v).map_err(|e| corrupt(e.to_string()))?;
        self.n += 1;
        Ok(format!("${}", self.n))
    }

    /// The text to send on a connection of `backend` (`AnyConnection::backend_name`).
    ///
    /// On SQLite, `$1, $2, …` in order become plain `?`: sqlx looks every
    /// named parameter up by name, a linear scan in SQLite, so a multi-row
    /// INSERT with n named parameters costs O(n²) to bind (60 % of the stock
    /// writer's time at 1,024 commands per batch). Plain `?` binds in order.
    /// The text is kept as it is when its placeholders are not exactly
    /// `$1 … $n` in order, or a `$` or `?` could sit inside a literal.
    pub fn text_for(&self, backend: &str) -> String {
        if !backend.eq_ignore_ascii_case("sqlite") {
            return self.text.clone();
        }
        positional(&self.text, self.n).unwrap_or_else(|| self.text.clone())
    }
}

/// Runs `statements` in order on `conn`, one statement with its parameters
/// at a time.
pub async fn execute_all(
    conn: &mut sqlx::AnyConnection,
    statements: Vec<SqlBuilder>,
) -> StoreResult<()> {
    for s in statements {
        let text = s.text_for(conn.backend_name());
        sqlx::query_with(&text, s.args).execute(&mut *conn).await?;
    }
    Ok(())
}

/// `text` with `$1 … $n` (each once, in order) replaced by `?`; `None` if it
/// does not have exactly that shape or holds quotes or `?`.
fn positional(text: &str, n: usize) -> Option<String> {
    if text.contains(['\'', '"', '?']) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut expected = 1usize;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let num: usize = after[..digits].parse().ok()?;
        if num != expected {
            return None;
        }
        expected += 1;
        out.push('?');
        rest = &after[digits..];
    }
    out.push_str(rest);
    (expected == n + 1).then_some(out)
}

#[cfg(test)]
mod positional_tests {
    #![allow(clippy::unwrap_used)]
    use super::{positional, SqlBuilder};

    #[test]
    fn rows_number_their_placeholders_on() {
        let mut q = SqlBuilder::new("INSERT INTO t (a, b) VALUES ");
        for i in 0..3 {
            q.row(i, 2);
            q.arg(i as i64).unwrap();
            q.arg(format!("v{i}")).unwrap();
        }
        assert_eq!(
            q.text,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)"
        );
        assert_eq!(
            q.text_for("SQLite"),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)"
        );
        assert_eq!(q.text_for("PostgreSQL"), q.text);
    }

    #[test]
    fn numbered_placeholders_in_order_become_plain() {
        assert_eq!(
            positional("INSERT INTO t VALUES ($1, $2), ($3, $4)", 4).as_deref(),
            Some("INSERT INTO t VALUES (?, ?), (?, ?)")
        );
        assert_eq!(
            positional("SELECT * FROM t WHERE a = $1 AND b = $10", 10),
            None
        );
        assert_eq!(positional("SELECT $2, $1", 2), None);
        assert_eq!(positional("SELECT '$1'", 1), None);
        assert_eq!(positional("SELECT $1", 2), None);
    }
}
