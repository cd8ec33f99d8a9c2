//! Why a token exchange is refused, shared by the emulator (which produces
//! these refusals) and the provider (which turns them into diagnostics).
//!
//! A refusal is HTTP 400 (a malformed request) or 401 (the identity is not
//! accepted; a server may also answer 403) with `{"error": <OAuth code>,
//! "error_description": <text>}` (`docs/reference/openai-api.md#token-exchange-refusals`).
//! Each [`Reason`] has one OAuth code, one status and a *message*: a short
//! sentence in the style OpenAI words its refusals, and for
//! [`Reason::NoRule`] exactly OpenAI's own sentence ("No service account
//! mapping found for the provided service_account_id."). The emulator sends
//! the message alone, or with `--verbose-refusals` followed by the failed
//! check in parentheses (`(lead: specifics)`). [`Reason::classify`] reads a
//! refusal back by its code and message; it never looks inside the
//! specifics, which quote token claims and could contain any word.
//!
//! OpenAI documents its codes but not its wording, so a description that
//! starts with no known message is simply unclassified: callers must still
//! show it and advise by the code and status alone.

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

    /// The HTTP status the emulator refuses with: 401 when the identity is
    /// not accepted (the subject token, or the grant: OpenAI's SDK tests
    /// answer "No service account mapping found..." with 401), 400 when the
    /// request itself is malformed
    /// (`docs/reference/openai-api.md#token-exchange-refusals`).
    pub fn status(self) -> u16 {
        match self.code() {
            OAuthCode::InvalidSubjectToken | OAuthCode::InvalidGrant => 401,
            OAuthCode::InvalidRequest => 400,
        }
    }

    /// The public sentence every description of this reason starts with.
    /// No message is a prefix of another of the same code, so a
    /// description classifies to at most one reason.
    pub fn message(self) -> &'static str {
        use Reason::*;
        match self {
            BadRequest => "Invalid token exchange request.",
            MalformedToken => "The subject token is not a well-formed JWT.",
            UnsupportedAlg => "The subject token is signed with an unsupported algorithm.",
            MissingKid => "The subject token header has no key id.",
            UnknownKid => "No key of the identity provider matches the subject token's key id.",
            KeyAlgMismatch => "The subject token's algorithm does not fit its signing key.",
            BadSignature => "The subject token signature is invalid.",
            MissingClaim => "The subject token is missing a required claim.",
            InvalidClaim => "The subject token has an invalid claim.",
            IssuerMismatch => "The subject token issuer does not match the identity provider.",
            AudienceMismatch => "The subject token audience does not match the identity provider.",
            Expired => "The subject token has expired.",
            NotYetValid => "The subject token is not valid yet.",
            UnknownProvider => "Identity provider not found.",
            ProviderDisabled => "The identity provider is disabled.",
            KeysUnavailable => "The identity provider's signing keys could not be retrieved.",
            UnknownServiceAccount => "Service account not found.",
            NoRule => "No service account mapping found for the provided service_account_id.",
            RulesDisabled => {
                "The service account mappings for the provided service_account_id are disabled."
            }
            NoMatchingRule => "No service account mapping matched the subject token.",
            MappingFailed => "Service account mapping resolution failed.",
            AmbiguousMapping => "More than one service account mapping matched the subject token.",
        }
    }

    /// The name of the failed check, which starts the specifics of a
    /// verbose description (and the emulator's log line).
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

    /// The failed check with its specifics: `lead: details` (or the lead).
    pub fn detail(self, details: impl fmt::Display) -> String {
        let details = details.to_string();
        if details.is_empty() {
            self.lead().to_owned()
        } else {
            format!("{}: {details}", self.lead())
        }
    }

    /// The verbose `error_description`: the message, then the failed check
    /// and its specifics in parentheses.
    pub fn describe(self, details: impl fmt::Display) -> String {
        format!("{} ({})", self.message(), self.detail(details))
    }

    /// The reason of a refusal with OAuth code `error` and `description`, if
    /// the description starts with the message of a reason of that code
    /// (ASCII case-insensitive, the final period optional), followed by the
    /// end or white space.
    pub fn classify(error: &str, description: &str) -> Option<Reason> {
        let code = OAuthCode::parse(error)?;
        let description = description.trim_start();
        Self::ALL.into_iter().find(|r| {
            let message = r.message().trim_end_matches('.');
            if r.code() != code
                || !description
                    .get(..message.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(message))
            {
                return false;
            }
            let rest = &description[message.len()..];
            let rest = rest.strip_prefix('.').unwrap_or(rest);
            rest.chars().next().is_none_or(char::is_whitespace)
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
    fn every_reason_reads_back_from_its_own_descriptions() {
        for r in Reason::ALL {
            let code = r.code().as_str();
            assert_eq!(Reason::classify(code, &r.describe("x 'y' z")), Some(r));
            assert_eq!(Reason::classify(code, r.message()), Some(r));
            let bare = r.message().trim_end_matches('.');
            assert_eq!(Reason::classify(code, bare), Some(r), "{bare}");
            assert_eq!(r.detail(""), r.lead());
            assert!(r.describe("d").starts_with(r.message()));
            assert!(matches!(r.status(), 400 | 401));
        }
    }

    #[test]
    fn messages_and_leads_are_unique_and_never_prefix_one_another_within_a_code() {
        for a in Reason::ALL {
            for b in Reason::ALL {
                if a != b && a.code() == b.code() {
                    let (ma, mb) = (a.message().trim_end_matches('.'), b.message());
                    assert!(!mb.starts_with(ma), "{a:?} is a prefix of {b:?}");
                    assert_ne!(a.lead(), b.lead());
                }
            }
        }
    }

    #[test]
    fn openai_wording_classifies() {
        assert_eq!(
            Reason::classify(
                "invalid_grant",
                "No service account mapping found for the provided service_account_id."
            ),
            Some(Reason::NoRule)
        );
        // OpenAI's SDK fixture: a real wording that names no cause.
        assert_eq!(
            Reason::classify("invalid_grant", "Identity was rejected."),
            None
        );
    }

    #[test]
    fn classification_needs_the_code_and_the_message_at_the_start() {
        let d = Reason::Expired.describe("at 1 (now 2)");
        // Same text under another code: not this reason.
        assert_eq!(Reason::classify("invalid_grant", &d), None);
        assert_eq!(Reason::classify("server_error", &d), None);
        // Case does not matter.
        assert_eq!(
            Reason::classify("invalid_subject_token", "THE SUBJECT TOKEN HAS EXPIRED"),
            Some(Reason::Expired)
        );
        // A message inside the specifics (a quoted claim value) is ignored.
        let d = Reason::NoMatchingRule.describe(
            "rule r: claim 'ref' is \"The subject token has expired.\", expected \"main\"",
        );
        assert_eq!(
            Reason::classify("invalid_grant", &d),
            Some(Reason::NoMatchingRule)
        );
        assert_eq!(
            Reason::classify(
                "invalid_subject_token",
                "Sadly, the subject token has expired."
            ),
            None
        );
        // A word merely starting with the message is not the message.
        assert_eq!(
            Reason::classify("invalid_subject_token", "The subject token has expiredness"),
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
