//! Bodies of the emulator's fuzz targets in `fuzz/` (cargo-fuzz), kept here
//! so the normal test suite can replay their seed corpora on stable Rust.
//! Each function must never panic, whatever the bytes.

use serde_json::{Map, Value as Json};

use super::{keys, oauth, validate};

/// JWT and JWKS handling of the token exchange. The input is a JWKS (or a
/// discovery document), a newline, then a subject token: the JWKS is read as
/// a fetched one and checked as an uploaded one, the token's header is read,
/// and its signature checked with the JWKS key its `kid` names, then its
/// claims.
pub fn jwt(data: &[u8]) {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (jwks, token) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let _ = keys::parse_discovery(jwks, "https://issuer.example.com", false);
    let fetched = keys::parse_jwks(jwks).unwrap_or_default();
    if let Ok(Json::Object(uploaded)) = serde_json::from_slice::<Json>(jwks) {
        let _ = validate::fuzz_check_jwks(&uploaded);
    }
    let token = String::from_utf8_lossy(token);
    let Ok((alg, kid)) = oauth::header(&token) else {
        return;
    };
    let jwk = fetched
        .iter()
        .find(|k| k.get("kid").and_then(Json::as_str) == Some(kid.as_str()))
        .or(fetched.first())
        .cloned()
        .unwrap_or(Json::Object(Map::new()));
    if let Ok(claims) = oauth::verify_signature(&token, alg, &kid, jwk) {
        let _ = oauth::check_claims(&claims, "https://issuer.example.com", "aud", 1_000_000);
    }
}

/// Request bodies: the first byte picks the endpoint, the rest is its body.
pub fn request_body(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    if which % 7 == 6 {
        if let Ok(map) = oauth::parse_body(body) {
            let _ = oauth::fields(&map);
        }
        return;
    }
    let Ok(obj) = validate::body_object(body) else {
        return;
    };
    match which % 7 {
        0 => drop(validate::create_provider(&obj)),
        1 => drop(validate::update_provider(&obj)),
        2 => drop(validate::create_rule(&obj)),
        3 => drop(validate::update_rule(&obj)),
        4 => drop(validate::create_project(&obj)),
        _ => drop(validate::create_service_account(&obj)),
    }
}

#[cfg(test)]
mod tests {
    fn replay(target: &str, body: fn(&[u8])) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            body(&std::fs::read(entry.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n > 0, "no seed inputs in {}", dir.display());
    }

    /// Replays the seed corpus and the regression inputs of each target.
    #[test]
    fn replay_jwt_corpus() {
        replay("emulator_jwt", super::jwt);
    }

    #[test]
    fn replay_request_body_corpus() {
        replay("emulator_request_body", super::request_body);
    }
}
