//! Calendar dates of unix times (UTC), for documents and pages.

/// Unix time now, by the wall clock (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

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

/// Unix time of an RFC 3339 UTC date-time `YYYY-MM-DDTHH:MM:SS[.fff]Z` (none for any other form).
pub fn parse_datetime(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (day, time) = s.split_once('T')?;
    let time = time.split('.').next()?;
    let num = |t: &str, len: usize| {
        (t.len() == len && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<i64>().ok())
            .flatten()
    };
    let d: Vec<&str> = day.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let ([y, m, dd], [h, mi, se]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    let (y, m, dd) = (num(y, 4)?, num(m, 2)?, num(dd, 2)?);
    let (h, mi, se) = (num(h, 2)?, num(mi, 2)?, num(se, 2)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) || h > 23 || mi > 59 || se > 60 || y < 1970
    {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let unix = days * 86_400 + h * 3_600 + mi * 60 + se;
    let back = u64::try_from(unix).ok()?;
    // Round trip: refuses impossible days such as 2025-02-30.
    (date(back) == day).then_some(back)
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
        for t in [0, 1_709_164_800 + 3_723, 1_893_456_000, 1_796_083_200] {
            assert_eq!(super::parse_datetime(&super::datetime(t)), Some(t));
        }
        assert_eq!(
            super::parse_datetime("2024-02-29T01:02:03.250Z"),
            Some(1_709_164_800 + 3_723)
        );
        for bad in [
            "2025-02-30T00:00:00Z",
            "2024-02-29T01:02:03",
            "2024-2-29T01:02:03Z",
            "x",
        ] {
            assert_eq!(super::parse_datetime(bad), None, "{bad}");
        }
    }
}
