//! "Now", from the environment variable `STRATUS_NOW` (RFC 3339, UTC, e.g.
//! `2026-01-01T00:00:00Z`) when it is set, else the system clock. Tests and
//! reproducible builds pin the time this way.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The environment variable that overrides the clock.
pub const NOW_VARIABLE: &str = "STRATUS_NOW";

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The current time, honouring `STRATUS_NOW`.
pub fn now() -> Timestamp {
    if let Some(pinned) = std::env::var(NOW_VARIABLE)
        .ok()
        .and_then(|text| parse_rfc3339(&text))
    {
        return pinned;
    }
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    since_epoch.as_secs() as Timestamp
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in `month` of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Build a timestamp from calendar fields; `None` when a field is out of
/// range (month 13, 30 February, hour 24, second 60), as Java's non-lenient
/// date parser refuses them.
pub fn from_fields(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<Timestamp> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second))
}

/// Format as the metadata date form `yyyy-MM-ddTHH:mm:ssZ`.
pub fn format_utc(timestamp: Timestamp) -> String {
    let (year, month, day) = civil_from_days(timestamp.div_euclid(86_400));
    let secs = timestamp.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Parse exactly `yyyy-MM-ddTHH:mm:ssZ` (ASCII digits, upper-case `T` and
/// `Z`, no fraction, no offset) into a timestamp, refusing impossible dates.
pub fn parse_utc(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() != 20 {
        return None;
    }
    let shape_ok = bytes.iter().enumerate().all(|(i, &b)| match i {
        4 | 7 => b == b'-',
        10 => b == b'T',
        13 | 16 => b == b':',
        19 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    from_fields(
        i64::from(number(0..4)?),
        number(5..7)?,
        number(8..10)?,
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
    )
}

/// Parse an RFC 3339 date-time: `yyyy-MM-ddTHH:mm:ss`, an optional
/// fraction (ignored), then `Z` or an offset `±HH:MM` (`t`, `z` and a space
/// instead of `T` are accepted, as RFC 3339 allows). A date alone means
/// midnight UTC.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    if text.len() == 10 {
        return parse_utc(&format!("{text}T00:00:00Z"));
    }
    if text.len() < 20 || !text.is_char_boundary(19) {
        return None;
    }
    let (head, rest) = text.split_at(19);
    let separator = head.as_bytes()[10];
    if !matches!(separator, b'T' | b't' | b' ') {
        return None;
    }
    let base = parse_utc(&format!("{}T{}Z", &head[..10], &head[11..]))?;
    let rest = match rest.strip_prefix('.') {
        Some(fraction) => {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            &fraction[digits..]
        }
        None => rest,
    };
    if rest == "Z" || rest == "z" {
        return Some(base);
    }
    let bytes = rest.as_bytes();
    if bytes.len() != 6 || bytes[3] != b':' || !matches!(bytes[0], b'+' | b'-') {
        return None;
    }
    let hours: i64 = rest[1..3].parse().ok()?;
    let minutes: i64 = rest[4..6].parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let offset = hours * 3600 + minutes * 60;
    Some(if bytes[0] == b'+' {
        base - offset
    } else {
        base + offset
    })
}

/// Parse a calendar date `yyyy-MM-dd` (midnight UTC) or a full
/// `yyyy-MM-ddTHH:mm:ssZ` time.
pub fn parse_date_or_time(text: &str) -> Option<Timestamp> {
    if text.len() == 10 {
        return parse_utc(&format!("{text}T00:00:00Z"));
    }
    parse_utc(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_known_dates() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2012-02-29T23:59:59Z",
            "2013-05-12T20:54:55Z",
            "2099-12-31T23:59:59Z",
        ] {
            assert_eq!(format_utc(parse_utc(text).unwrap()), text);
        }
        assert_eq!(parse_utc("1970-01-02T00:00:01Z"), Some(86_401));
    }

    #[test]
    fn legacy_178_days_example() {
        let created = parse_utc("2013-05-12T20:54:55Z").unwrap();
        assert_eq!(format_utc(created + 178 * 86_400), "2013-11-06T20:54:55Z");
    }

    #[test]
    fn rfc3339_forms() {
        let base = parse_utc("2012-06-01T00:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2012-06-01T00:00:00Z"), Some(base));
        assert_eq!(parse_rfc3339("2012-06-01"), Some(base));
        assert_eq!(parse_rfc3339("2012-06-01t00:00:00.123456z"), Some(base));
        assert_eq!(parse_rfc3339("2012-06-01T02:00:00+02:00"), Some(base));
        assert_eq!(parse_rfc3339("2012-05-31 22:30:00-01:30"), Some(base));
        for bad in [
            "2012-06-01T00:00:00",
            "2012-06-01T00:00:00+0200",
            "2012-06-01T00:00:00.Z",
            "yesterday",
            "2012-02-30",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn impossible_dates_are_refused() {
        for text in [
            "2011-02-29T10:00:00Z",
            "2011-01-24T24:00:00Z",
            "2011-13-01T00:00:00Z",
            "2011-01-24T99:59:42Z",
            "2011-01-24T10:00:60Z",
            "2011-02-20T10:00:00.000Z",
            "2011-01-24X09:59:42Z",
            "2011-01-24t09:59:42z",
        ] {
            assert_eq!(parse_utc(text), None, "{text}");
        }
    }
}
