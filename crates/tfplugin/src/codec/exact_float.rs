//! The exact decimal value of an `f64`. Every finite binary float is a finite
//! decimal (at most 767 significant digits), and cty compares numbers by exact
//! value, so a float received from Terraform must come back as the same float:
//! shortest-round-trip text (what `{}` prints) would be a different number.

/// Digits (ASCII, no sign) and the position of the decimal point counted from
/// the left of `digits`, for the magnitude of the finite float `x`, plus its sign.
pub(super) fn exact_decimal(x: f64) -> (bool, Vec<u8>, i64) {
    debug_assert!(x.is_finite());
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut mantissa, mut exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if mantissa == 0 {
        return (negative, b"0".to_vec(), 1);
    }
    let zeros = mantissa.trailing_zeros();
    mantissa >>= zeros;
    exponent += i64::from(zeros);

    let mut big = BigDigits::from_u64(mantissa);
    if exponent >= 0 {
        big.mul_pow(2, exponent as u32);
        let digits = big.to_ascii();
        let point = digits.len() as i64;
        (negative, digits, point)
    } else {
        // m * 2^-k == m * 5^k / 10^k: the digits of m * 5^k with the point k from the right.
        let k = -exponent;
        big.mul_pow(5, k as u32);
        let digits = big.to_ascii();
        let point = digits.len() as i64 - k;
        (negative, digits, point)
    }
}

const LIMB: u64 = 1_000_000_000;

/// A non-negative integer in base 10^9 limbs, least significant first.
struct BigDigits(Vec<u64>);

impl BigDigits {
    fn from_u64(mut v: u64) -> Self {
        let mut limbs = Vec::new();
        while v > 0 {
            limbs.push(v % LIMB);
            v /= LIMB;
        }
        BigDigits(limbs)
    }

    /// Multiplies by `factor` (< 2^31, so limb * factor + carry fits in u64).
    fn mul_small(&mut self, factor: u64) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let product = *limb * factor + carry;
            *limb = product % LIMB;
            carry = product / LIMB;
        }
        while carry > 0 {
            self.0.push(carry % LIMB);
            carry /= LIMB;
        }
    }

    /// Multiplies by `base^count` for base 2 or 5, in chunks that stay below 2^31.
    fn mul_pow(&mut self, base: u64, mut count: u32) {
        let chunk = if base == 2 { 30 } else { 13 };
        while count > 0 {
            let step = count.min(chunk);
            self.mul_small(base.pow(step));
            count -= step;
        }
    }

    fn to_ascii(&self) -> Vec<u8> {
        let mut text = String::new();
        let mut limbs = self.0.iter().rev();
        if let Some(top) = limbs.next() {
            text.push_str(&top.to_string());
        }
        for limb in limbs {
            text.push_str(&format!("{limb:09}"));
        }
        text.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(x: f64) -> String {
        let (neg, digits, point) = exact_decimal(x);
        let digits = String::from_utf8(digits).unwrap();
        format!("{}{digits}@{point}", if neg { "-" } else { "" })
    }

    #[test]
    fn expands_exactly() {
        assert_eq!(render(0.0), "0@1");
        assert_eq!(render(-0.0), "-0@1");
        assert_eq!(render(0.5), "5@0");
        assert_eq!(render(-1.25), "-125@1");
        assert_eq!(render(1024.0), "1024@4");
        assert_eq!(
            render(0.1),
            "1000000000000000055511151231257827021181583404541015625@0"
        );
        assert_eq!(render(2f64.powi(64)), "18446744073709551616@20");
    }

    #[test]
    fn extremes() {
        let (_, digits, point) = exact_decimal(f64::MAX);
        assert_eq!(point, 309);
        assert!(digits.starts_with(b"17976931348623157081452742373170435679"));
        assert!(digits.ends_with(b"858368"));
        let (_, digits, point) = exact_decimal(f64::from_bits(1)); // smallest subnormal
        assert_eq!(digits.len() as i64 - point, 1074);
        assert!(digits.starts_with(b"4940656458412465441765687928682213723650"));
        assert!(digits.ends_with(b"65625"));
    }
}
