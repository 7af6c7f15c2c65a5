//! The printed receipt of a till sale: plain text, fixed width, the same
//! every time for the same sale (so it can be printed again).

use crate::money::{Currency, Money};

/// Characters per line of a receipt printer.
pub const WIDTH: usize = 40;

pub struct ReceiptLine<'a> {
    pub title: &'a str,
    pub code: &'a str,
    pub qty: i64,
    pub unit_minor: i64,
    pub amount_minor: i64,
}

pub struct ReceiptText<'a> {
    pub store: &'a str,
    pub receipt_no: &'a str,
    /// Already formatted by the caller (the till's clock and time zone).
    pub when: &'a str,
    pub currency: Currency,
    pub lines: Vec<ReceiptLine<'a>>,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub method: &'a str,
    pub tendered_minor: Option<i64>,
    pub change_minor: Option<i64>,
    pub member: Option<&'a str>,
    pub codes: &'a [String],
}

/// `2026-11-24 10:00 UTC` from Unix milliseconds (days to civil date after
/// Howard Hinnant's `civil_from_days`).
pub fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn row(out: &mut String, left: &str, right: &str) {
    let left: String = left
        .chars()
        .take(WIDTH.saturating_sub(right.chars().count() + 1))
        .collect();
    let pad = WIDTH.saturating_sub(left.chars().count() + right.chars().count());
    out.push_str(&left);
    out.push_str(&" ".repeat(pad.max(1)));
    out.push_str(right);
    out.push('\n');
}

impl ReceiptText<'_> {
    pub fn render(&self) -> String {
        let m = |minor: i64| {
            Money {
                amount_minor: minor,
                currency: self.currency,
            }
            .display()
        };
        let rule = "-".repeat(WIDTH);
        let mut out = String::new();
        out.push_str(self.store);
        out.push('\n');
        row(&mut out, self.receipt_no, self.when);
        out.push_str(&rule);
        out.push('\n');
        for l in &self.lines {
            out.extend(l.title.chars().take(WIDTH));
            out.push('\n');
            row(
                &mut out,
                &format!("  {} x{} @ {}", l.code, l.qty, m(l.unit_minor)),
                &m(l.amount_minor),
            );
        }
        out.push_str(&rule);
        out.push('\n');
        row(&mut out, "Subtotal", &m(self.subtotal_minor));
        if self.discount_minor != 0 {
            row(&mut out, "Discount", &m(-self.discount_minor));
        }
        for c in self.codes {
            row(&mut out, "  Coupon", c);
        }
        if self.tax_minor != 0 {
            row(&mut out, "Tax", &m(self.tax_minor));
        }
        row(&mut out, "TOTAL", &m(self.total_minor));
        row(&mut out, "Paid by", self.method);
        if let (Some(t), Some(c)) = (self.tendered_minor, self.change_minor) {
            row(&mut out, "Cash", &m(t));
            row(&mut out, "Change", &m(c));
        }
        if let Some(member) = self.member {
            row(&mut out, "Member", member);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_minutes() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(
            utc_minute(1_795_521_600_000 + 59_999),
            "2026-11-24 12:00 UTC"
        );
        assert_eq!(utc_minute(-60_000), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn shows_lines_totals_and_change_within_the_width() {
        let codes = vec!["SAVE10".to_owned()];
        let t = ReceiptText {
            store: "West Lake Store",
            receipt_no: "R-3-17",
            when: "2026-11-24 10:00",
            currency: Currency::Cny,
            lines: vec![ReceiptLine {
                title: "A very long product title that will not fit on one receipt line at all",
                code: "TEA-1",
                qty: 2,
                unit_minor: 1250,
                amount_minor: 2500,
            }],
            subtotal_minor: 2500,
            discount_minor: 250,
            tax_minor: 0,
            total_minor: 2250,
            method: "cash",
            tendered_minor: Some(5000),
            change_minor: Some(2750),
            member: Some("+86 138****8000"),
            codes: &codes,
        }
        .render();
        assert!(t.contains("TOTAL"), "{t}");
        assert!(t.contains("CNY 22.50"), "{t}");
        assert!(t.contains("Change") && t.contains("CNY 27.50"), "{t}");
        assert!(t.contains("CNY -2.50"), "{t}");
        assert!(t.contains("SAVE10"), "{t}");
        assert!(!t.contains("Tax"), "no tax line when there is no tax: {t}");
        for line in t.lines().skip(1) {
            assert!(line.chars().count() <= WIDTH, "too wide: {line:?}");
        }
    }
}
