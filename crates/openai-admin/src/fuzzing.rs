//! Bodies of the fuzz targets in `fuzz/` (cargo-fuzz), kept here so the
//! normal test suite can replay their seed corpora on stable Rust.
//! Each function must never panic, whatever the bytes.

use serde::de::DeserializeOwned;

use crate::models::{
    ErrorEnvelope, FederationRule, ListPage, OAuthError, Project, ServiceAccount,
    TokenExchangeResponse, WorkloadIdentityProvider,
};

fn decode<T: DeserializeOwned + serde::Serialize>(data: &[u8]) {
    // A model that decodes must encode again and decode to a value that
    // encodes the same way (tolerant decoding keeps unknown variants).
    if let Ok(model) = serde_json::from_slice::<T>(data) {
        let once = serde_json::to_value(&model).expect("a decoded model encodes");
        let again: T = serde_json::from_value(once.clone()).expect("an encoded model decodes");
        assert_eq!(serde_json::to_value(&again).expect("encodes"), once);
    }
}

/// Admin API and token exchange response decoding: the first byte picks the
/// shape, the rest is the body.
pub fn response(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 9 {
        0 => decode::<WorkloadIdentityProvider>(body),
        1 => decode::<FederationRule>(body),
        2 => decode::<ListPage<WorkloadIdentityProvider>>(body),
        3 => decode::<ListPage<FederationRule>>(body),
        4 => decode::<Project>(body),
        5 => decode::<ServiceAccount>(body),
        6 => decode::<TokenExchangeResponse>(body),
        7 => {
            let _ = serde_json::from_slice::<OAuthError>(body);
        }
        _ => {
            let _ = serde_json::from_slice::<ErrorEnvelope>(body);
            let _ = crate::client::body_excerpt(body);
        }
    }
}

/// Redaction: the first byte is the secret's length (at least
/// [`crate::redact::MIN_RUN`]), the next bytes, mapped onto the characters
/// keys and tokens are made of, the secret; the rest is server text. The
/// secret is spliced into that text whole, cut at either end, and JSON-escaped
/// (each character, or only the first), and no fragment of
/// [`crate::redact::MIN_RUN`] characters may survive in what is shown.
pub fn redaction(data: &[u8]) {
    use crate::redact::{MIN_RUN, Redactor};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let len = MIN_RUN + usize::from(len) % 64;
    if rest.len() < len {
        return;
    }
    let (secret, text) = rest.split_at(len);
    let secret: String = secret
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    let text = String::from_utf8_lossy(text);
    let escaped: String = secret
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let first_escaped = format!("\\u{:04x}{}", secret.as_bytes()[0], &secret[1..]);
    let at = text
        .char_indices()
        .map(|(i, _)| i)
        .nth(text.chars().count() / 2)
        .unwrap_or(text.len());
    let redactor = Redactor::new().with(&secret);
    for form in [
        secret.as_str(),
        &secret[..len - 1],
        &secret[1..],
        &escaped,
        &first_escaped,
    ] {
        let server = format!("{}{form}{}", &text[..at], &text[at..]);
        let shown = redactor.redact(&server);
        for w in secret.as_bytes().windows(MIN_RUN) {
            let w = std::str::from_utf8(w).expect("ASCII");
            assert!(!shown.contains(w), "{w:?} survives in {shown:?}");
        }
        // A request id is either dropped or free of the secret.
        if let Some(id) = redactor.request_id(&server) {
            assert!(!id.contains(&secret[..MIN_RUN]), "{id}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replay_redaction_corpus() {
        let n = replay("redaction", super::redaction);
        assert!(n > 0, "no seed inputs found");
    }

    /// Replays the seed corpus and the regression inputs of the fuzz target.
    #[test]
    fn replay_response_corpus() {
        let n = replay("openai_admin_response", super::response);
        assert!(n > 0, "no seed inputs found");
    }

    /// Runs `body` on every file under `fuzz/seeds/<target>/`; returns how many.
    pub(crate) fn replay(target: &str, body: fn(&[u8])) -> usize {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            body(&std::fs::read(&path).unwrap());
            n += 1;
        }
        n
    }
}
