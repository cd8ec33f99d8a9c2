//! When and how long to wait before retrying an Admin API request:
//! exponential backoff with full jitter, server delay hints
//! (`Retry-After-Ms`, `Retry-After` as seconds or an HTTP date), and which
//! statuses are worth a retry at all.

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Non-standard header some OpenAI endpoints send alongside `Retry-After`,
/// with millisecond precision; preferred when present.
pub const RETRY_AFTER_MS: &str = "retry-after-ms";

/// Backoff timing. The defaults suit the real API; tests shrink them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first retry's random delay; doubles per retry.
    pub base: Duration,
    /// Upper bound of any computed (non-server) delay.
    pub cap: Duration,
    /// A server asking us to wait longer than this after a 5xx or 408 is
    /// not retried: the request fails at once with the server's error
    /// instead of hanging a Terraform run for minutes. (429s are bounded by
    /// [`crate::ClientConfig::rate_limit_wait`] instead.)
    pub max_retry_after: Duration,
    /// A 429 without a delay hint waits about this long the first time on
    /// its route, doubling with each further 429 there...
    pub rate_limit_base: Duration,
    /// ...up to this: the Admin API's limits are per minute.
    pub rate_limit_cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            rate_limit_base: Duration::from_secs(2),
            rate_limit_cap: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait after a 429 without a hint, `strikes` being the route's
    /// earlier recent 429s: "equal jitter" in `[c/2, c]` with
    /// `c = min(rate_limit_cap, rate_limit_base * 2^strikes)`, so it always
    /// waits a good part of the window yet clients do not move in lockstep.
    pub fn rate_limit_delay(&self, strikes: u32, rng: &mut impl Rng) -> Duration {
        let factor = 1u32.checked_shl(strikes.min(31)).unwrap_or(u32::MAX);
        let ceiling = self
            .rate_limit_base
            .saturating_mul(factor)
            .min(self.rate_limit_cap);
        let half = u64::try_from((ceiling / 2).as_nanos()).unwrap_or(u64::MAX);
        ceiling / 2 + Duration::from_nanos(rng.random_range(0..=half))
    }

    /// The largest delay full jitter may pick before retry number `retry`
    /// (0 = the first retry): `min(cap, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: a uniform delay in `[0, ceiling(retry)]`, which spreads
    /// many clients' retries out instead of synchronising them.
    pub fn jittered(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=nanos))
    }

    /// The delay before retry number `retry`: the server's hint when it gave
    /// one, otherwise full jitter. `None` means the hint is too long to wait.
    pub fn delay(&self, retry: u32, server_hint: Option<Duration>) -> Option<Duration> {
        match server_hint {
            Some(hint) if hint > self.max_retry_after => None,
            Some(hint) => Some(hint),
            None => Some(self.jittered(retry, &mut rand::rng())),
        }
    }
}

/// The header with which OpenAI's servers say whether a retry can help.
/// Not standard, but OpenAI's SDKs and its official Terraform provider obey
/// it over their own status rules
/// (`docs/reference/openai-api.md#rate-limits-and-retries`).
pub const SHOULD_RETRY: &str = "x-should-retry";

/// The server's say on retrying: `Some(true)` for `x-should-retry: true`,
/// `Some(false)` for `false`, `None` when it is absent or anything else (then
/// the status decides, as in OpenAI's SDKs).
pub fn server_says_retry(headers: &HeaderMap) -> Option<bool> {
    match header_str(headers, SHOULD_RETRY)? {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Statuses that say "try again later" rather than "this request is wrong".
/// 409 is deliberately absent: a conflict (duplicate name, limit reached,
/// provider still has rules) will not resolve itself by retrying.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The server's requested delay, if any: `Retry-After-Ms` (milliseconds,
/// possibly fractional) wins over `Retry-After` (integer seconds or an HTTP
/// date, measured against `now`). Unparseable or negative values are ignored.
pub fn server_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = header_str(headers, RETRY_AFTER_MS).and_then(parse_millis) {
        return Some(ms);
    }
    header_str(headers, RETRY_AFTER.as_str()).and_then(|v| parse_retry_after(v, now))
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn parse_millis(value: &str) -> Option<Duration> {
    let ms: f64 = value.parse().ok()?;
    // try_: a huge value (e.g. from a misbehaving proxy) must not panic;
    // such a hint is ignored and the usual backoff applies.
    (ms.is_finite() && ms >= 0.0)
        .then(|| Duration::try_from_secs_f64(ms / 1000.0).ok())
        .flatten()
}

/// `Retry-After: <seconds>` or `Retry-After: <HTTP-date>` (RFC 9110 section 10.2.3).
/// A date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    #[test]
    fn absurd_retry_after_ms_is_ignored_not_a_panic() {
        assert_eq!(parse_millis("1e30"), None);
        assert_eq!(parse_millis("1500"), Some(Duration::from_millis(1500)));
    }

    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use reqwest::header::HeaderValue;

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            rate_limit_base: Duration::from_secs(2),
            rate_limit_cap: Duration::from_secs(60),
        }
    }

    #[test]
    fn rate_limit_delay_grows_to_a_minute_and_never_waits_too_little() {
        let b = backoff();
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let first = b.rate_limit_delay(0, &mut rng);
            assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2));
            let late = b.rate_limit_delay(40, &mut rng);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = backoff();
        assert_eq!(b.ceiling(0), Duration::from_millis(200));
        assert_eq!(b.ceiling(1), Duration::from_millis(400));
        assert_eq!(b.ceiling(5), Duration::from_millis(6400));
        assert_eq!(b.ceiling(6), Duration::from_secs(10));
        // Very large retry numbers must neither overflow nor exceed the cap.
        assert_eq!(b.ceiling(1000), Duration::from_secs(10));
    }

    #[test]
    fn full_jitter_stays_within_the_ceiling_and_varies() {
        let b = backoff();
        let mut rng = StdRng::seed_from_u64(7);
        let samples: Vec<Duration> = (0..200).map(|_| b.jittered(3, &mut rng)).collect();
        assert!(samples.iter().all(|d| *d <= Duration::from_millis(1600)));
        let distinct: std::collections::HashSet<_> = samples.iter().collect();
        assert!(distinct.len() > 100, "full jitter should spread delays");
    }

    #[test]
    fn server_hint_wins_unless_too_long() {
        let b = backoff();
        assert_eq!(
            b.delay(0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(b.delay(0, Some(Duration::from_secs(61))), None);
        assert!(b.delay(0, None).unwrap() <= Duration::from_millis(200));
    }

    #[test]
    fn retryable_statuses() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(code).unwrap()));
        }
        for code in [200, 400, 401, 403, 404, 409, 422, 501] {
            assert!(!is_retryable_status(StatusCode::from_u16(code).unwrap()));
        }
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        // Obsolete RFC 850 form is still accepted by recipients.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:39 GMT", now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_ms_is_preferred() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        h.insert(RETRY_AFTER_MS, HeaderValue::from_static("250"));
        let now = SystemTime::now();
        assert_eq!(server_delay(&h, now), Some(Duration::from_millis(250)));

        h.insert(RETRY_AFTER_MS, HeaderValue::from_static("1.5"));
        assert_eq!(server_delay(&h, now), Some(Duration::from_micros(1500)));

        // A broken ms header falls back to Retry-After.
        h.insert(RETRY_AFTER_MS, HeaderValue::from_static("-1"));
        assert_eq!(server_delay(&h, now), Some(Duration::from_secs(30)));

        assert_eq!(server_delay(&HeaderMap::new(), now), None);
    }
}
