//! cty numbers are arbitrary-precision decimals. We keep the canonical decimal
//! text (no exponent, no redundant zeros), which round-trips losslessly through
//! msgpack and JSON and compares by value.
//!
//! Canonical form: optional `-`, integer digits without leading zeros (at least
//! `0`), then `.` and fraction digits without trailing zeros if the number is
//! not an integer; zero is `0`. cty also has the infinities (written as float64
//! ±Inf in msgpack); they are `+Inf` / `-Inf` here and cannot be written as JSON.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::exact_float::exact_decimal;

/// Digits allowed on either side of the decimal point. Generous (cty's largest
/// float64 needs 309 integer digits, its smallest 1074 fraction digits) while
/// stopping `1e999999999` from allocating a gigabyte.
pub const MAX_DIGITS: i64 = 20_000;

const POS_INF: &str = "+Inf";
const NEG_INF: &str = "-Inf";

/// An arbitrary-precision decimal number, stored as canonical decimal text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Number(String);

/// Why text or a float is not a number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("{0:?} is not a valid number (expected decimal text such as 42, -1.5 or 1e3)")]
    Invalid(String),
    #[error("NaN is not a valid number")]
    NaN,
    #[error(
        "{0:?} is too large or too precise (at most {MAX_DIGITS} digits on each side of the decimal point)"
    )]
    OutOfRange(String),
}

/// Keeps error messages readable when the offending text is huge.
fn excerpt(text: &str) -> String {
    const LIMIT: usize = 64;
    if text.len() <= LIMIT {
        return text.to_owned();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl Number {
    /// Parses decimal text: optional sign, digits with an optional fraction
    /// (`1`, `1.50`, `.5`, `5.`), an optional exponent (`1e3`, `2E-2`), or
    /// `Inf`/`Infinity` (any case, optional sign). The result is canonical.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let invalid = || NumberError::Invalid(excerpt(text));
        let bytes = text.as_bytes();
        let (negative, rest) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
            return Ok(Number::infinity(negative));
        }

        let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut pos = int_len;
        let mut frac_len = 0;
        if rest.get(pos) == Some(&b'.') {
            pos += 1;
            frac_len = rest[pos..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            pos += frac_len;
        }
        if int_len + frac_len == 0 {
            return Err(invalid());
        }
        let mut exponent: i64 = 0;
        if matches!(rest.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            let exp_negative = match rest.get(pos) {
                Some(b'-') => {
                    pos += 1;
                    true
                }
                Some(b'+') => {
                    pos += 1;
                    false
                }
                _ => false,
            };
            let exp_digits = rest[pos..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if exp_digits == 0 {
                return Err(invalid());
            }
            for &d in &rest[pos..pos + exp_digits] {
                // Saturate far beyond MAX_DIGITS; canonicalisation rejects or zeroes it.
                exponent = (exponent * 10 + i64::from(d - b'0')).min(1 << 40);
            }
            if exp_negative {
                exponent = -exponent;
            }
            pos += exp_digits;
        }
        if pos != rest.len() {
            return Err(invalid());
        }

        let mut digits = Vec::with_capacity(int_len + frac_len);
        digits.extend_from_slice(&rest[..int_len]);
        if frac_len > 0 {
            digits.extend_from_slice(&rest[int_len + 1..int_len + 1 + frac_len]);
        }
        Number::from_parts(negative, &digits, int_len as i64 + exponent)
            .ok_or_else(|| NumberError::OutOfRange(excerpt(text)))
    }

    /// Canonical number from ASCII `digits` with the decimal point `point`
    /// digits from their left (may be negative or beyond the end).
    /// `None` if it does not fit within [`MAX_DIGITS`].
    fn from_parts(negative: bool, digits: &[u8], point: i64) -> Option<Number> {
        let Some(first) = digits.iter().position(|&d| d != b'0') else {
            return Some(Number("0".to_owned()));
        };
        let last = digits.iter().rposition(|&d| d != b'0').unwrap_or(first);
        let point = point - first as i64;
        let significant = &digits[first..=last];
        let len = significant.len() as i64;
        if point > MAX_DIGITS || len - point > MAX_DIGITS {
            return None;
        }

        let mut text = String::with_capacity(significant.len() + point.unsigned_abs() as usize + 3);
        if negative {
            text.push('-');
        }
        let significant = std::str::from_utf8(significant).expect("ASCII digits");
        if point <= 0 {
            text.push_str("0.");
            text.extend(std::iter::repeat_n('0', (-point) as usize));
            text.push_str(significant);
        } else if point >= len {
            text.push_str(significant);
            text.extend(std::iter::repeat_n('0', (point - len) as usize));
        } else {
            let (int, frac) = significant.split_at(point as usize);
            text.push_str(int);
            text.push('.');
            text.push_str(frac);
        }
        Some(Number(text))
    }

    pub fn from_i64(v: i64) -> Number {
        Number(v.to_string())
    }

    pub fn from_u64(v: u64) -> Number {
        Number(v.to_string())
    }

    /// The exact value of `v` (so `0.1` becomes
    /// `0.1000000000000000055511151231257827021181583404541015625`, the float's
    /// true value, which is what cty holds after decoding a float64). For the
    /// shortest text that reads back as `v`, use `Number::parse(&v.to_string())`.
    pub fn from_f64(v: f64) -> Result<Number, NumberError> {
        if v.is_nan() {
            return Err(NumberError::NaN);
        }
        if v.is_infinite() {
            return Ok(Number::infinity(v < 0.0));
        }
        let (negative, digits, point) = exact_decimal(v);
        Ok(Number::from_parts(negative, &digits, point).expect("a float64 fits within MAX_DIGITS"))
    }

    /// `+Inf` or `-Inf`.
    pub fn infinity(negative: bool) -> Number {
        Number(if negative { NEG_INF } else { POS_INF }.to_owned())
    }

    /// The canonical text (`+Inf`/`-Inf` for infinities).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_infinite(&self) -> bool {
        self.0 == POS_INF || self.0 == NEG_INF
    }

    pub fn is_integer(&self) -> bool {
        !self.is_infinite() && !self.0.contains('.')
    }

    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    pub fn is_zero(&self) -> bool {
        self.0 == "0"
    }

    /// The value as `i64` if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        if self.is_integer() {
            self.0.parse().ok()
        } else {
            None
        }
    }

    /// The value as `u64` if it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        if self.is_integer() {
            self.0.parse().ok()
        } else {
            None
        }
    }

    /// The nearest `f64` (±infinity beyond its range).
    pub fn as_f64(&self) -> f64 {
        match self.0.as_str() {
            POS_INF => f64::INFINITY,
            NEG_INF => f64::NEG_INFINITY,
            text => text.parse().expect("canonical number text parses as f64"),
        }
    }

    /// The value as `f64` only if that float is exactly this number
    /// (infinities included). This decides the msgpack float64 form.
    pub fn to_exact_f64(&self) -> Option<f64> {
        let x = self.as_f64();
        if self.is_infinite() {
            return Some(x);
        }
        if !x.is_finite() {
            return None;
        }
        let (negative, digits, point) = exact_decimal(x);
        let exact = Number::from_parts(negative, &digits, point)?;
        (exact == *self).then_some(x)
    }

    /// Splits a finite canonical number into (negative, integer digits, fraction digits).
    fn split(&self) -> (bool, &str, &str) {
        let (negative, magnitude) = match self.0.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, self.0.as_str()),
        };
        match magnitude.split_once('.') {
            Some((int, frac)) => (negative, int, frac),
            None => (negative, magnitude, ""),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Number {
    type Err = NumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

/// Numeric order (not text order): `-Inf < -2 < 0.5 < 10 < +Inf`.
impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        let rank = |n: &Number| match n.0.as_str() {
            NEG_INF => -1,
            POS_INF => 1,
            _ => 0,
        };
        match (rank(self), rank(other)) {
            (0, 0) => {}
            (a, b) => return a.cmp(&b),
        }
        let (a_neg, a_int, a_frac) = self.split();
        let (b_neg, b_int, b_frac) = other.split();
        if a_neg != b_neg {
            return if a_neg {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        // Canonical text has no leading integer zeros and no trailing fraction
        // zeros, so longer integer parts are larger and fractions compare as text.
        let magnitude = a_int
            .len()
            .cmp(&b_int.len())
            .then_with(|| a_int.cmp(b_int))
            .then_with(|| a_frac.cmp(b_frac));
        if a_neg {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

macro_rules! number_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(v: $t) -> Number {
                Number(v.to_string())
            }
        }
    )*};
}
number_from_int!(
    i8, i16, i32, i64, u8, u16, u32, u64, usize, isize, i128, u128
);

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        Number::parse(text).unwrap().to_string()
    }

    #[test]
    fn parse_canonicalises() {
        assert_eq!(canon("1.50"), "1.5");
        assert_eq!(canon("1e3"), "1000");
        assert_eq!(canon("1E+3"), "1000");
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("-0.000e5"), "0");
        assert_eq!(canon("0e999999999999999999999"), "0");
        assert_eq!(canon("007"), "7");
        assert_eq!(canon("+7"), "7");
        assert_eq!(canon(".5"), "0.5");
        assert_eq!(canon("5."), "5");
        assert_eq!(canon("12.345e-5"), "0.00012345");
        assert_eq!(canon("12.345e2"), "1234.5");
        assert_eq!(canon("-12.345e1"), "-123.45");
        assert_eq!(canon("1.0e1"), "10");
        assert_eq!(canon("100"), "100");
        assert_eq!(canon("-9223372036854775808"), "-9223372036854775808");
        assert_eq!(canon("inf"), "+Inf");
        assert_eq!(canon("-Infinity"), "-Inf");
        let big = canon("1e400");
        assert_eq!(big.len(), 401);
        assert!(big.starts_with("10000") && big.bytes().skip(1).all(|b| b == b'0'));
        assert_eq!(canon("1e-400").len(), 402);
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [
            "", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", " 1", "1 ", "0x10", "1_000", "NaN",
            "--1", "1e5.5", "١",
        ] {
            assert!(
                matches!(Number::parse(bad), Err(NumberError::Invalid(_))),
                "{bad:?} should be invalid"
            );
        }
        assert!(matches!(
            Number::parse("1e30000"),
            Err(NumberError::OutOfRange(_))
        ));
        assert!(matches!(
            Number::parse("1e-30000"),
            Err(NumberError::OutOfRange(_))
        ));
        let long = "9".repeat(1000) + "x";
        let msg = Number::parse(&long).unwrap_err().to_string();
        assert!(msg.len() < 200, "error message should excerpt: {msg}");
    }

    #[test]
    fn integers() {
        assert_eq!(Number::from_i64(i64::MIN).as_str(), "-9223372036854775808");
        assert_eq!(Number::from_i64(i64::MIN).as_i64(), Some(i64::MIN));
        assert_eq!(Number::from_u64(u64::MAX).as_str(), "18446744073709551615");
        assert_eq!(Number::from_u64(u64::MAX).as_i64(), None);
        assert_eq!(Number::from_u64(u64::MAX).as_u64(), Some(u64::MAX));
        assert_eq!(Number::from(-1i32).as_u64(), None);
        assert_eq!(Number::parse("1.5").unwrap().as_i64(), None);
        assert_eq!(Number::parse("1e2").unwrap().as_i64(), Some(100));
        assert!(Number::from(3u8).is_integer());
    }

    #[test]
    fn floats_are_exact() {
        assert_eq!(Number::from_f64(0.5).unwrap().as_str(), "0.5");
        assert_eq!(Number::from_f64(-0.0).unwrap().as_str(), "0");
        assert_eq!(
            Number::from_f64(1e20).unwrap().as_str(),
            "100000000000000000000"
        );
        assert_eq!(
            Number::from_f64(0.1).unwrap().as_str(),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        assert_eq!(Number::from_f64(f64::NAN), Err(NumberError::NaN));
        assert_eq!(Number::from_f64(f64::INFINITY).unwrap().as_str(), "+Inf");
        assert_eq!(
            Number::from_f64(f64::NEG_INFINITY).unwrap().as_f64(),
            f64::NEG_INFINITY
        );
        for x in [
            0.1,
            1.0 / 3.0,
            -2.5e-300,
            1.7976931348623157e308,
            5e-324,
            123456.789,
        ] {
            let n = Number::from_f64(x).unwrap();
            assert_eq!(n.as_f64(), x);
            assert_eq!(n.to_exact_f64(), Some(x));
        }
    }

    #[test]
    fn exactness_decides_the_float_form() {
        let exact = |s: &str| Number::parse(s).unwrap().to_exact_f64();
        assert_eq!(exact("1.5"), Some(1.5));
        assert_eq!(exact("18446744073709551616"), Some(18446744073709551616.0));
        assert_eq!(exact("0.1"), None);
        assert_eq!(exact("18446744073709551615"), None);
        assert_eq!(exact("0.3333333333333333333333333333333333"), None);
        assert_eq!(exact("1e400"), None);
        assert_eq!(exact("-Inf"), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn orders_by_value() {
        let mut ns: Vec<Number> = [
            "10", "9", "-1", "-10", "0.5", "0.25", "-0.5", "+Inf", "-Inf", "0",
        ]
        .iter()
        .map(|s| Number::parse(s).unwrap())
        .collect();
        ns.sort();
        let sorted: Vec<&str> = ns.iter().map(Number::as_str).collect();
        assert_eq!(
            sorted,
            [
                "-Inf", "-10", "-1", "-0.5", "0", "0.25", "0.5", "9", "10", "+Inf"
            ]
        );
        assert_eq!(
            Number::parse("1.50").unwrap(),
            Number::parse("15e-1").unwrap()
        );
    }
}
