//! The permission scopes a restricted mapping may grant
//! (`docs/reference/openai-api.md#permissions-and-scopes`), shared by the
//! emulator (which refuses what cannot be a grantable scope) and the provider
//! (which refuses the same at plan and warns on a scope it does not know).
//!
//! OpenAI publishes no complete list. What is known: scopes look like
//! `api.<area>.<level>`; Admin API scopes (`api.management.*`) cannot be put
//! on a mapping (OpenAI's WIF guide); the strings in [`KNOWN`] appear in
//! OpenAI's documentation or its SDK (`openai` 3.63.0).

/// Scope strings OpenAI documents, with where each is seen.
pub const KNOWN: &[(&str, &str)] = &[
    ("api.model.read", "token exchange reference, RBAC guide"),
    ("api.model.request", "token exchange reference, WIF guides"),
    (
        "api.vector_store.read",
        "token exchange reference, WIF guides",
    ),
    ("api.all.read", "OpenAI's SDK (project API key scopes)"),
    ("api.files.read", "OpenAI's SDK (project API key scopes)"),
];

/// What a scope string is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One of [`KNOWN`].
    Known,
    /// Shaped like a scope but not one OpenAI documents: maybe a newer scope,
    /// maybe a typo (`suggestion` is the known scope it is closest to).
    Unknown { suggestion: Option<&'static str> },
    /// Never grantable: why.
    Invalid(String),
}

/// Classifies `scope`.
pub fn check(scope: &str) -> Scope {
    if KNOWN.iter().any(|(k, _)| *k == scope) {
        return Scope::Known;
    }
    let parts: Vec<&str> = scope.split('.').collect();
    let shaped = parts.len() >= 3
        && parts[0] == "api"
        && parts[1..].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if !shaped {
        return Scope::Invalid(format!(
            "{scope:?} is not a permission scope: scopes look like `api.<area>.<level>`, \
             e.g. `api.model.request`"
        ));
    }
    if parts[1] == "management" {
        return Scope::Invalid(format!(
            "{scope:?} is an Admin API scope, which a mapping cannot grant"
        ));
    }
    let suggestion = KNOWN
        .iter()
        .map(|(k, _)| (*k, distance(scope, k)))
        .filter(|(_, d)| *d <= 2)
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k);
    Scope::Unknown { suggestion }
}

/// Levenshtein distance of two short ASCII strings.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_known_unknown_or_never_grantable() {
        for (k, _) in KNOWN {
            assert_eq!(check(k), Scope::Known);
        }
        assert_eq!(
            check("api.model.requests"),
            Scope::Unknown {
                suggestion: Some("api.model.request")
            }
        );
        assert_eq!(
            check("api.responses.write"),
            Scope::Unknown { suggestion: None }
        );
        for bad in [
            "admin",
            "model.request",
            "api.model",
            "api..read",
            "API.model.read",
            "api.model.read ",
            "api.management.write",
            "api.management.read",
        ] {
            assert!(matches!(check(bad), Scope::Invalid(_)), "{bad}");
        }
    }
}
