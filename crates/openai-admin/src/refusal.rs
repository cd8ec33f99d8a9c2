//! Why a token exchange is refused, shared by the emulator (which produces
//! these refusals) and the provider (which turns them into diagnostics), so
//! neither has to match the other's wording by substring.
//!
//! A refusal is HTTP 400 with `{"error": <OAuth code>, "error_description":
//! <text>}`. Each [`Reason`] has one OAuth code and a stable *lead*: the
//! description starts with the lead, optionally followed by `": "` and
//! specifics (ids, claim values), e.g. `audience mismatch: token aud "x" does
//! not contain "y"`. [`Reason::classify`] reads a refusal back by its code and
//! lead; it never looks inside the specifics, which quote token claims and
//! could contain any word.
//!
//! The real service documents only the three codes, not its wording, so a
//! description that starts with no known lead is simply unclassified and
//! callers must still show it.

use std::fmt;

/// The OAuth `error` codes of the token exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OAuthCode {
    /// The request itself is malformed (missing or unsupported fields).
    InvalidRequest,
    /// The provider, service account or mapping does not allow the exchange.
    InvalidGrant,
    /// The subject token is malformed, unverifiable or has the wrong claims.
    InvalidSubjectToken,
}

impl OAuthCode {
    pub const ALL: [OAuthCode; 3] = [
        OAuthCode::InvalidRequest,
        OAuthCode::InvalidGrant,
        OAuthCode::InvalidSubjectToken,
    ];

    /// The wire value of `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthCode::InvalidRequest => "invalid_request",
            OAuthCode::InvalidGrant => "invalid_grant",
            OAuthCode::InvalidSubjectToken => "invalid_subject_token",
        }
    }

    /// Parses a wire value; `None` for codes outside the exchange's three.
    pub fn parse(error: &str) -> Option<OAuthCode> {
        Self::ALL.into_iter().find(|c| c.as_str() == error)
    }
}

impl fmt::Display for OAuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cause of a refused exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    // ---- invalid_request
    /// A field is missing, not a string, or has an unsupported value, or the
    /// body is not a JSON object.
    BadRequest,

    // ---- invalid_subject_token
    /// Not a JWT, or its header or payload is not JSON.
    MalformedToken,
    /// The header's `alg` is not one the service accepts.
    UnsupportedAlg,
    /// The header names no `kid`.
    MissingKid,
    /// No key with the header's `kid` in the provider's key set.
    UnknownKid,
    /// The header's `alg` does not fit the key with that `kid`.
    KeyAlgMismatch,
    /// The signature does not verify with the key.
    BadSignature,
    /// A required claim (`iss`, `aud`, `sub`, `exp`, `iat`) is absent.
    MissingClaim,
    /// A claim has the wrong JSON type or an empty value.
    InvalidClaim,
    /// `iss` is not the provider's issuer.
    IssuerMismatch,
    /// `aud` does not contain the provider's audience.
    AudienceMismatch,
    /// `exp` has passed.
    Expired,
    /// `iat` or `nbf` lies in the future.
    NotYetValid,

    // ---- invalid_grant
    /// No workload identity provider with the requested id.
    UnknownProvider,
    /// The workload identity provider is disabled.
    ProviderDisabled,
    /// The provider's discovery document or JWKS could not be fetched or
    /// used.
    KeysUnavailable,
    /// No service account with the requested id.
    UnknownServiceAccount,
    /// No federation rule binds the service account to the provider.
    NoRule,
    /// Every federation rule for the pair is disabled.
    RulesDisabled,
    /// No enabled rule's attribute matchers match the token.
    NoMatchingRule,
    /// An attribute transformation a matcher needs failed to evaluate.
    MappingFailed,
    /// More than one enabled rule matches.
    AmbiguousMapping,
}

impl Reason {
    pub const ALL: [Reason; 22] = [
        Reason::BadRequest,
        Reason::MalformedToken,
        Reason::UnsupportedAlg,
        Reason::MissingKid,
        Reason::UnknownKid,
        Reason::KeyAlgMismatch,
        Reason::BadSignature,
        Reason::MissingClaim,
        Reason::InvalidClaim,
        Reason::IssuerMismatch,
        Reason::AudienceMismatch,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::UnknownProvider,
        Reason::ProviderDisabled,
        Reason::KeysUnavailable,
        Reason::UnknownServiceAccount,
        Reason::NoRule,
        Reason::RulesDisabled,
        Reason::NoMatchingRule,
        Reason::MappingFailed,
        Reason::AmbiguousMapping,
    ];

    /// The OAuth `error` code this reason is sent with.
    pub fn code(self) -> OAuthCode {
        use Reason::*;
        match self {
            BadRequest => OAuthCode::InvalidRequest,
            MalformedToken | UnsupportedAlg | MissingKid | UnknownKid | KeyAlgMismatch
            | BadSignature | MissingClaim | InvalidClaim | IssuerMismatch | AudienceMismatch
            | Expired | NotYetValid => OAuthCode::InvalidSubjectToken,
            UnknownProvider
            | ProviderDisabled
            | KeysUnavailable
            | UnknownServiceAccount
            | NoRule
            | RulesDisabled
            | NoMatchingRule
            | MappingFailed
            | AmbiguousMapping => OAuthCode::InvalidGrant,
        }
    }

    /// The stable text every description of this reason starts with.
    /// No lead is a prefix of another lead of the same code, so a
    /// description classifies to at most one reason.
    pub fn lead(self) -> &'static str {
        use Reason::*;
        match self {
            BadRequest => "invalid token exchange request",
            MalformedToken => "malformed subject token",
            UnsupportedAlg => "unsupported alg",
            MissingKid => "missing kid",
            UnknownKid => "unknown kid",
            KeyAlgMismatch => "key alg mismatch",
            BadSignature => "bad signature",
            MissingClaim => "missing claim",
            InvalidClaim => "invalid claim",
            IssuerMismatch => "issuer mismatch",
            AudienceMismatch => "audience mismatch",
            Expired => "subject token expired",
            NotYetValid => "subject token not yet valid",
            UnknownProvider => "unknown workload identity provider",
            ProviderDisabled => "workload identity provider disabled",
            KeysUnavailable => "workload identity provider keys unavailable",
            UnknownServiceAccount => "unknown service account",
            NoRule => "no federation rule binds the service account",
            RulesDisabled => "every federation rule is disabled",
            NoMatchingRule => "no enabled federation rule matches",
            MappingFailed => "mapping resolution failed",
            AmbiguousMapping => "ambiguous mapping",
        }
    }

    /// The `error_description` for this reason with `details` after the lead.
    pub fn describe(self, details: impl fmt::Display) -> String {
        let details = details.to_string();
        if details.is_empty() {
            self.lead().to_owned()
        } else {
            format!("{}: {details}", self.lead())
        }
    }

    /// The reason of a refusal with OAuth code `error` and `description`, if
    /// the description starts with the lead of a reason of that code
    /// (ASCII case-insensitive), followed by the end or `:`.
    pub fn classify(error: &str, description: &str) -> Option<Reason> {
        let code = OAuthCode::parse(error)?;
        let description = description.trim_start();
        Self::ALL.into_iter().find(|r| {
            let lead = r.lead();
            r.code() == code
                && description
                    .get(..lead.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(lead))
                && matches!(description[lead.len()..].chars().next(), None | Some(':'))
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lead())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_back_from_its_own_description() {
        for r in Reason::ALL {
            assert_eq!(
                Reason::classify(r.code().as_str(), &r.describe("x 'y' z")),
                Some(r)
            );
            assert_eq!(Reason::classify(r.code().as_str(), r.lead()), Some(r));
            assert_eq!(r.describe(""), r.lead());
        }
    }

    #[test]
    fn leads_are_unique_and_never_prefix_one_another_within_a_code() {
        for a in Reason::ALL {
            for b in Reason::ALL {
                if a != b && a.code() == b.code() {
                    assert!(
                        !b.lead().starts_with(a.lead()),
                        "{a:?} is a prefix of {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn classification_needs_the_code_and_the_lead_at_the_start() {
        let d = Reason::Expired.describe("at 1 (now 2)");
        // Same text under another code: not this reason.
        assert_eq!(Reason::classify("invalid_grant", &d), None);
        assert_eq!(Reason::classify("server_error", &d), None);
        // Case of the lead does not matter.
        assert_eq!(
            Reason::classify("invalid_subject_token", "Subject Token Expired: soon"),
            Some(Reason::Expired)
        );
        // A lead inside the specifics (a quoted claim value) is ignored.
        let d = Reason::NoMatchingRule
            .describe("rule r: claim 'ref' is \"audience mismatch\", expected \"main\"");
        assert_eq!(
            Reason::classify("invalid_grant", &d),
            Some(Reason::NoMatchingRule)
        );
        assert_eq!(
            Reason::classify("invalid_subject_token", "token audience mismatch"),
            None
        );
        // A word merely starting with the lead is not the lead.
        assert_eq!(
            Reason::classify("invalid_subject_token", "unknown kidney"),
            None
        );
    }

    #[test]
    fn codes_round_trip() {
        for c in OAuthCode::ALL {
            assert_eq!(OAuthCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(OAuthCode::parse("access_denied"), None);
    }
}
