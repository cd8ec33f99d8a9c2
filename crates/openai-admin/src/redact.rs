//! Redaction of the secrets a request sent (the admin key, a subject token)
//! from the texts a server answers with, before any of it is logged or shown.
//!
//! A gateway may echo request headers, and a token endpoint may echo the
//! subject token, whole or cut. So besides every whole secret, any run of at
//! least [`MIN_RUN`] characters that also occurs inside a secret is replaced:
//! that covers a JWT's signature segment, a token with a few characters cut
//! off either end, and a key split by a line break. Shorter secrets are
//! replaced only whole. See
//! `docs/reference/openai-api.md#secrets-in-server-texts`.

use std::collections::HashSet;

use crate::secret::Secret;

/// What a redacted run is replaced by.
pub const MARKER: &str = "[redacted]";

/// The shortest fragment of a secret that counts as a leak. Long enough
/// that ordinary words and ids do not match by chance, short enough that a
/// JWT segment or a cut key cannot slip through.
pub const MIN_RUN: usize = 12;

/// The secrets of one request, ready to scrub texts with.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Secrets shorter than [`MIN_RUN`], replaced only whole.
    short: Vec<String>,
    /// Every window of [`MIN_RUN`] bytes of each longer secret.
    windows: HashSet<Vec<u8>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(***)")
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret; empty or blank ones are ignored.
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.is_empty() {
            return;
        }
        let bytes = secret.as_bytes();
        if bytes.len() < MIN_RUN {
            self.short.push(secret.to_owned());
        } else {
            self.windows
                .extend(bytes.windows(MIN_RUN).map(<[u8]>::to_vec));
        }
    }

    /// `self` with `secret` added.
    pub fn with(mut self, secret: &str) -> Self {
        self.add(secret);
        self
    }

    /// `self` with `secret` added.
    pub fn with_secret(self, secret: &Secret) -> Self {
        self.with(secret.expose())
    }

    pub fn is_empty(&self) -> bool {
        self.short.is_empty() && self.windows.is_empty()
    }

    /// `text` with every run that shares [`MIN_RUN`] or more consecutive
    /// characters with a secret, and every whole short secret, replaced by
    /// [`MARKER`].
    ///
    /// A secret written with JSON escapes (`\u0073k-...`) is found too:
    /// when the text with its escapes decoded holds a fragment, the decoded
    /// text is what gets redacted and returned, so no escaped form survives.
    pub fn redact(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_owned();
        }
        if text.contains('\\') {
            let decoded = unescape_json_like(text);
            if decoded != text {
                let out = self.redact_plain(&decoded);
                if out != decoded {
                    return out;
                }
            }
        }
        self.redact_plain(text)
    }

    /// Whether `text` holds a whole short secret or a fragment of a long one.
    pub fn leaks(&self, text: &str) -> bool {
        self.redact(text) != text
    }

    /// A server's request id fit to show and log: short, only
    /// `[A-Za-z0-9_-]`, and no part of a secret. Anything else is dropped,
    /// since a server (or a gateway) that echoes request headers could put a
    /// key there.
    pub fn request_id(&self, raw: &str) -> Option<String> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_REQUEST_ID
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && !self.leaks(raw);
        ok.then(|| raw.to_owned())
    }

    fn redact_plain(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut covered = vec![false; bytes.len()];
        if !self.windows.is_empty() && bytes.len() >= MIN_RUN {
            for (i, w) in bytes.windows(MIN_RUN).enumerate() {
                if self.windows.contains(w) {
                    covered[i..i + MIN_RUN].fill(true);
                }
            }
        }
        for short in &self.short {
            for (i, _) in text.match_indices(short.as_str()) {
                covered[i..i + short.len()].fill(true);
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            // A character counts as covered if any of its bytes is.
            if covered[i..i + c.len_utf8()].iter().any(|&b| b) {
                out.push_str(MARKER);
                while let Some(&(j, d)) = chars.peek() {
                    if covered[j..j + d.len_utf8()].iter().any(|&b| b) {
                        chars.next();
                    } else {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// [`Redactor::redact`] for a body of bytes (invalid UTF-8 is replaced).
    pub fn redact_bytes(&self, body: &[u8]) -> Vec<u8> {
        if self.is_empty() {
            return body.to_vec();
        }
        self.redact(&String::from_utf8_lossy(body)).into_bytes()
    }
}

/// The longest request id shown. OpenAI's are `req_` and 32 hex digits.
pub const MAX_REQUEST_ID: usize = 64;

/// `text` with JSON string escapes (`\uXXXX`, `\/`, `\n`, ...) decoded where
/// they are well formed; anything else is kept as written.
fn unescape_json_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (decoded, used) = match tail.as_bytes().get(1) {
            Some(b'u') => match hex4(&tail[2..]) {
                Some(hi @ 0xD800..=0xDBFF) => match tail
                    .get(6..8)
                    .filter(|s| *s == "\\u")
                    .and_then(|_| hex4(&tail[8..]))
                {
                    Some(lo @ 0xDC00..=0xDFFF) => (
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)),
                        12,
                    ),
                    _ => (None, 1),
                },
                Some(c) => (char::from_u32(c), 6),
                None => (None, 1),
            },
            Some(b'/') => (Some('/'), 2),
            Some(b'\\') => (Some('\\'), 2),
            Some(b'"') => (Some('"'), 2),
            Some(b'n') => (Some('\n'), 2),
            Some(b't') => (Some('\t'), 2),
            Some(b'r') => (Some('\r'), 2),
            _ => (None, 1),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
        rest = &tail[if decoded.is_some() { used } else { 1 }..];
    }
    out.push_str(rest);
    out
}

fn hex4(s: &str) -> Option<u32> {
    let digits = s.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-admin-0123456789abcdefghijklmnopqrstuvwxyz";
    const JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ3b3JrbG9hZCIsImF1ZCI6ImEifQ.c2lnbmF0dXJlLXNlZ21lbnQtdGhhdC1pcy1zZWNyZXQtYW5kLWxvbmc";

    fn r() -> Redactor {
        Redactor::new().with(KEY).with(JWT)
    }

    fn assert_clean(text: &str) {
        let signature = JWT.rsplit('.').next().unwrap();
        for secret in [KEY, JWT, signature, &KEY[3..], &JWT[..JWT.len() - 3]] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        // No fragment of MIN_RUN characters of either secret survives.
        for secret in [KEY, JWT] {
            for w in secret.as_bytes().windows(MIN_RUN) {
                let w = std::str::from_utf8(w).unwrap();
                assert!(!text.contains(w), "{w} in {text}");
            }
        }
    }

    #[test]
    fn whole_cut_and_partial_secrets_are_replaced() {
        let sig = JWT.rsplit('.').next().unwrap();
        let cases = [
            format!("Authorization: Bearer {KEY}"),
            format!("bad token {JWT} given"),
            format!("token {} is malformed", &JWT[4..JWT.len() - 5]),
            format!("signature {sig} does not verify"),
            format!(
                "{{\"error\":\"{JWT}\",\"error_description\":\"{}\"}}",
                &KEY[..20]
            ),
            format!("split key {}\n{}", &KEY[..22], &KEY[22..]),
        ];
        for text in &cases {
            let out = r().redact(text);
            assert_clean(&out);
            assert!(out.contains(MARKER), "{out}");
        }
        assert_eq!(
            r().redact(&format!("Authorization: Bearer {KEY} was refused")),
            format!("Authorization: Bearer {MARKER} was refused")
        );
        // JSON stays JSON: the marker has no quote or backslash.
        let body = format!("{{\"error\":\"invalid_grant\",\"error_description\":\"got {JWT}\"}}");
        let v: serde_json::Value =
            serde_json::from_slice(&r().redact_bytes(body.as_bytes())).unwrap();
        assert_eq!(v["error_description"], format!("got {MARKER}"));
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let text = "No service account mapping found for the provided service_account_id. (request id: req_1) é";
        assert_eq!(r().redact(text), text);
        assert_eq!(Redactor::new().redact(text), text);
        // Short secrets only whole.
        let short = Redactor::new().with("abc123");
        assert_eq!(
            short.redact("x abc123 y abc12"),
            format!("x {MARKER} y abc12")
        );
        assert!(Redactor::new().with("  ").is_empty());
    }

    #[test]
    fn json_escaped_secrets_are_found() {
        let escaped: String = KEY
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let text = format!("bad key {escaped} given");
        let out = r().redact(&text);
        assert_eq!(out, format!("bad key {MARKER} given"));
        assert!(!out.contains("\\u"), "{out}");
        // Escapes that hide nothing are left as written.
        assert_eq!(r().redact("a \\u00e9 \\x b\\"), "a \\u00e9 \\x b\\");
        let half = format!("{}\\/{}", &KEY[..20], &KEY[20..]);
        assert!(!r().redact(&half).contains(&KEY[..20]));
    }

    #[test]
    fn request_ids_must_be_short_plain_and_secret_free() {
        let r = r();
        assert_eq!(
            r.request_id("req_0123abcd-ef").as_deref(),
            Some("req_0123abcd-ef")
        );
        assert_eq!(r.request_id(""), None);
        assert_eq!(r.request_id("req 1"), None);
        assert_eq!(r.request_id("req_1\n"), None);
        assert_eq!(r.request_id(&"a".repeat(MAX_REQUEST_ID + 1)), None);
        // Short enough and plain, but a piece of the key.
        assert_eq!(r.request_id(&KEY[..30]), None);
        assert_eq!(r.request_id(&KEY[5..KEY.len() - 1]), None);
    }

    #[test]
    fn multibyte_text_next_to_a_secret_stays_valid() {
        let text = format!("ü{KEY}ß");
        assert_eq!(r().redact(&text), format!("ü{MARKER}ß"));
    }
}
