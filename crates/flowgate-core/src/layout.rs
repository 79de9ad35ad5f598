//! Where flow logs land in S3 (VPC User Guide, "flow-logs-s3"): the key layouts, and the date
//! prefixes to list to find recent objects. Listing only the days inside the window keeps the
//! cost of finding the newest objects independent of the bucket's history.
//!
//! Default:  `[prefix/]AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/[HH/]file`
//! Hive:     `[prefix/]AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year=YYYY/month=MM/day=DD/[hour=HH/]file`

use super::names::LogPrefix;

/// A UTC calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// The civil date of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn day_from_unix_days(days: i64) -> Day {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Day { year, month, day }
}

/// The UTC days from `now - window` to `now` (both Unix seconds), oldest first.
pub fn days_in_window(now: u64, window_secs: u64) -> Vec<Day> {
    let last = (now / 86_400) as i64;
    let first = (now.saturating_sub(window_secs) / 86_400) as i64;
    (first..=last).map(day_from_unix_days).collect()
}

fn base(prefix: Option<&LogPrefix>) -> String {
    prefix.map(|p| format!("{p}/")).unwrap_or_default()
}

/// The key prefixes holding one region's objects of one day, in both layouts (per-hour
/// partitions are folders below the day, so the day prefix covers them).
pub fn day_prefixes(prefix: Option<&LogPrefix>, account: &str, region: &str, day: Day) -> [String; 2] {
    let base = base(prefix);
    [
        format!("{base}AWSLogs/{account}/vpcflowlogs/{region}/{:04}/{:02}/{:02}/", day.year, day.month, day.day),
        format!(
            "{base}AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year={:04}/month={:02}/day={:02}/",
            day.year, day.month, day.day
        ),
    ]
}

/// Every prefix to list for a region over the window.
pub fn window_prefixes(prefix: Option<&LogPrefix>, account: &str, region: &str, now: u64, window_secs: u64) -> Vec<String> {
    days_in_window(now, window_secs).into_iter().flat_map(|day| day_prefixes(prefix, account, region, day)).collect()
}

/// Whether a key is a flow-log object flowgate can parse (text, gzip), rather than Parquet.
pub fn is_text_object(key: &str) -> bool {
    key.ends_with(".log.gz") || key.ends_with(".log")
}

/// How a flow log's destination options lay its keys out: Hive-compatible folders
/// (`aws-region=...`) or plain ones, and per-hour folders or per-day ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyLayout {
    pub hive: bool,
    pub per_hour: bool,
}

/// The key of a delivered object, as AWS names it (for tests and the demo's generated objects):
/// `{account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmmZ}_{hash}.log.gz`.
pub fn object_key(prefix: Option<&LogPrefix>, account: &str, region: &str, flow_log_id: &str, unix: u64, layout: KeyLayout, hash: &str) -> String {
    let KeyLayout { hive, per_hour } = layout;
    let day = day_from_unix_days((unix / 86_400) as i64);
    let (hour, minute) = ((unix % 86_400) / 3600, (unix % 3600) / 60);
    let folder = if hive {
        let mut f = format!(
            "AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year={:04}/month={:02}/day={:02}/",
            day.year, day.month, day.day
        );
        if per_hour {
            f.push_str(&format!("hour={hour:02}/"));
        }
        f
    } else {
        let mut f = format!("AWSLogs/{account}/vpcflowlogs/{region}/{:04}/{:02}/{:02}/", day.year, day.month, day.day);
        if per_hour {
            f.push_str(&format!("{hour:02}/"));
        }
        f
    };
    format!(
        "{}{folder}{account}_vpcflowlogs_{region}_{flow_log_id}_{:04}{:02}{:02}T{hour:02}{minute:02}Z_{hash}.log.gz",
        base(prefix),
        day.year,
        day.month,
        day.day
    )
}

/// Like [`parse_duration`], but `0` is allowed (a grace period that can be switched off).
pub fn parse_grace(value: &str) -> Result<u64, String> {
    if value.trim_start_matches('0').trim_end_matches(['s', 'm', 'h', 'd']).is_empty() && value.starts_with('0') {
        return Ok(0);
    }
    parse_duration(value)
}

/// A duration such as `90s`, `30m`, `2h` or `1d` (seconds when no unit), as `--since` takes it.
pub fn parse_duration(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let (number, unit) = value.split_at(value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len()));
    let n: u64 = number.parse().map_err(|_| format!("'{value}' is not a duration: use e.g. 30m, 2h or 1d"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("'{value}' is not a duration: the unit must be s, m, h or d")),
    };
    if seconds == 0 || seconds > 90 * 86_400 {
        return Err(format!("'{value}' must be between 1 second and 90 days"));
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(day_from_unix_days(0), Day { year: 1970, month: 1, day: 1 });
        // 2026-11-24 is day 20_781 since the epoch.
        assert_eq!(day_from_unix_days(20_781), Day { year: 2026, month: 11, day: 24 });
        assert_eq!(day_from_unix_days(11_016), Day { year: 2000, month: 2, day: 29 });
        assert_eq!(day_from_unix_days(-1), Day { year: 1969, month: 12, day: 31 });
    }

    #[test]
    fn window_covers_today_and_yesterday_for_24h() {
        let now = 20_781 * 86_400 + 3600; // 2026-11-24 01:00 UTC
        let days = days_in_window(now, 24 * 3600);
        assert_eq!(days, [Day { year: 2026, month: 11, day: 23 }, Day { year: 2026, month: 11, day: 24 }]);
        assert_eq!(days_in_window(now, 1800).len(), 1);
        assert_eq!(window_prefixes(None, "1", "eu-west-1", now, 24 * 3600).len(), 4, "two days, two layouts");
    }

    #[test]
    fn prefixes_in_both_layouts() {
        let prefix: LogPrefix = "net".parse().unwrap();
        let [plain, hive] = day_prefixes(Some(&prefix), "123456789012", "eu-west-1", Day { year: 2026, month: 1, day: 5 });
        assert_eq!(plain, "net/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/01/05/");
        assert_eq!(hive, "net/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/month=01/day=05/");
    }

    #[test]
    fn object_keys_fall_under_their_day_prefix() {
        let now = 20_781 * 86_400 + 10 * 3600 + 5 * 60;
        for (hive, per_hour) in [(false, false), (false, true), (true, false), (true, true)] {
            let key = object_key(None, "123456789012", "us-east-1", "fl-0123", now, KeyLayout { hive, per_hour }, "abcd1234");
            let prefixes = window_prefixes(None, "123456789012", "us-east-1", now, 3600);
            assert!(prefixes.iter().any(|p| key.starts_with(p)), "{key}");
            assert!(key.ends_with("123456789012_vpcflowlogs_us-east-1_fl-0123_20261124T1005Z_abcd1234.log.gz"), "{key}");
            assert!(is_text_object(&key));
        }
        assert!(!is_text_object("x/y.log.parquet"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert_eq!(parse_duration("45"), Ok(45));
        for bad in ["", "h", "2w", "0m", "-1h", "100d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_grace("0"), Ok(0));
        assert_eq!(parse_grace("0s"), Ok(0));
        assert_eq!(parse_grace("15m"), Ok(900));
        assert!(parse_grace("x").is_err());
    }
}
