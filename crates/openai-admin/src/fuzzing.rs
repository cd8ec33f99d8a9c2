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

#[cfg(test)]
mod tests {
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
