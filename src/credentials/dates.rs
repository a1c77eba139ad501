//! Calendar dates of unix times (UTC), for documents and pages.

/// `YYYY-MM-DD` (UTC) of a unix time (Howard Hinnant's civil-from-days).
pub fn date(unix: u64) -> String {
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC) of a unix time.
pub fn datetime(unix: u64) -> String {
    let s = unix % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(unix),
        s / 3_600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_709_164_800), "2024-02-29");
        assert_eq!(super::date(1_893_456_000), "2030-01-01");
        assert_eq!(
            super::datetime(1_709_164_800 + 3_723),
            "2024-02-29T01:02:03Z"
        );
        assert_eq!(super::datetime(86_399), "1970-01-01T23:59:59Z");
    }
}
