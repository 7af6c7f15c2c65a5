//! Cursor pagination: opaque cursors and a cap on page size.

use crate::error::{DomainError, DomainResult, ErrorCode};

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// The page size a client asked for, defaulted and checked against the cap.
pub fn page_size(requested: Option<u32>) -> DomainResult<u32> {
    match requested {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(0) => Err(DomainError::new(
            ErrorCode::InvalidQuery,
            "limit must be at least 1.",
        )),
        Some(n) if n > MAX_PAGE_SIZE => Err(DomainError::new(
            ErrorCode::InvalidQuery,
            format!("limit may be at most {MAX_PAGE_SIZE}; got {n}."),
        )),
        Some(n) => Ok(n),
    }
}

/// A keyset cursor: the last id of the previous page, written as `c` + hex so
/// that clients treat it as opaque.
pub fn encode_cursor(last_id: i64) -> String {
    format!("c{last_id:x}")
}

pub fn decode_cursor(cursor: &str) -> DomainResult<i64> {
    cursor
        .strip_prefix('c')
        .filter(|h| !h.is_empty() && h.len() <= 16)
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            DomainError::new(
                ErrorCode::InvalidCursor,
                "The cursor is not one this API gave out.",
            )
        })
}

/// Where a keyset page starts: after the cursor's id, or from the beginning.
pub fn after_id(cursor: Option<&str>) -> DomainResult<i64> {
    cursor
        .map(decode_cursor)
        .transpose()
        .map(|c| c.unwrap_or(0))
}

/// Cuts rows fetched with `limit + 1` to one page, and gives the cursor of
/// the next page when the extra row shows there is one.
pub fn split_page<T>(
    mut rows: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last().map(|r| encode_cursor(id(r)))
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_junk() {
        assert_eq!(decode_cursor(&encode_cursor(12345)), Ok(12345));
        for bad in ["", "c", "x12", "c-1", "czz", "c0", "c11111111111111111"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pages_split_on_the_extra_row() {
        assert_eq!(
            split_page(vec![1, 2, 3], 2, |x| *x),
            (vec![1, 2], Some(encode_cursor(2)))
        );
        assert_eq!(split_page(vec![1, 2], 2, |x| *x), (vec![1, 2], None));
        assert_eq!(after_id(None), Ok(0));
        assert_eq!(after_id(Some(&encode_cursor(9))), Ok(9));
        assert!(after_id(Some("junk")).is_err());
    }

    #[test]
    fn page_size_is_capped() {
        assert_eq!(page_size(None), Ok(DEFAULT_PAGE_SIZE));
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(MAX_PAGE_SIZE + 1)).is_err());
        assert_eq!(page_size(Some(MAX_PAGE_SIZE)), Ok(MAX_PAGE_SIZE));
    }
}
