//! A stand-in for AWS STS `GetWebIdentityToken` (IAM outbound identity
//! federation) at `POST /_emulator/aws/sts`, so the provider's `aws` token
//! source can be tested without AWS.
//!
//! It speaks STS's query protocol as the AWS SDKs do: a form body with
//! `Action=GetWebIdentityToken`, `Version=2011-06-15`, `Audience.member.N`,
//! `SigningAlgorithm` and optionally `DurationSeconds`, signed with SigV4.
//! The answer is STS's XML document carrying a JWT from the built-in issuer
//! whose `aud` is the requested audience and whose `sub` is, as STS's
//! `SubjectMode` selects, the configured role ARN (`CallerIdentity`, the
//! default) or the configured origin identity (`OriginIdentity`: the user
//! or workload the session acts for). Either way the role ARN is also in the
//! nested claim `https://sts.amazonaws.com/` as `principal_id`, as AWS
//! documents. The emulator knows no AWS secret keys, so it checks that the
//! request is SigV4-signed for `sts` (header shape, date, credential scope)
//! but cannot check the signature itself.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::App;

/// `sub` of the tokens when `--aws-role-arn` is not given.
pub const DEFAULT_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/emulated";
/// `sub` of `SubjectMode=OriginIdentity` tokens when `--aws-origin-subject`
/// is not given.
pub const DEFAULT_ORIGIN_SUBJECT: &str = "emulated-origin-workload";
/// The namespace claim AWS puts the requesting principal and its tags in.
pub const STS_CLAIM: &str = "https://sts.amazonaws.com/";

const VERSION: &str = "2011-06-15";
const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// STS's bounds for `DurationSeconds` and its default.
const DURATION: (i64, i64, i64) = (60, 3600, 300);

/// One refusal, rendered as STS's `ErrorResponse` XML.
struct StsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl StsError {
    fn sender(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        StsError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::BAD_REQUEST, "ValidationError", message)
    }
}

impl IntoResponse for StsError {
    fn into_response(self) -> Response {
        let body = format!(
            "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{}</Code>\
             <Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            self.code,
            xml_escape(&self.message),
            request_id()
        );
        (self.status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
    }
}

pub(crate) async fn get_web_identity_token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match answer(&app, &headers, &body) {
        Ok(xml) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], xml).into_response(),
        Err(e) => e.into_response(),
    }
}

fn answer(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<String, StsError> {
    check_signed(headers)?;
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());

    match get("Action") {
        Some("GetWebIdentityToken") => {}
        Some(other) => {
            return Err(StsError::sender(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("The emulator's STS serves GetWebIdentityToken only, not {other}."),
            ));
        }
        None => return Err(StsError::invalid("Action is required.")),
    }
    if get("Version") != Some(VERSION) {
        return Err(StsError::invalid(format!("Version must be {VERSION}.")));
    }
    let audiences: Vec<&str> = (1..)
        .map_while(|n| get(&format!("Audience.member.{n}")))
        .collect();
    if audiences.is_empty() || audiences.iter().any(|a| a.is_empty()) {
        return Err(StsError::invalid(
            "Audience must list at least one non-empty audience.",
        ));
    }
    match get("SigningAlgorithm") {
        Some("RS256") => {}
        Some("ES384") => {
            return Err(StsError::invalid(
                "The emulator's built-in issuer signs with RS256 only; ask for RS256.",
            ));
        }
        _ => {
            return Err(StsError::invalid(
                "SigningAlgorithm must be RS256 or ES384.",
            ));
        }
    }
    let (min, max, default) = DURATION;
    let duration = match get("DurationSeconds") {
        None => default,
        Some(raw) => match raw.parse::<i64>() {
            Ok(d) if (min..=max).contains(&d) => d,
            _ => {
                return Err(StsError::invalid(format!(
                    "DurationSeconds must be a whole number from {min} to {max}."
                )));
            }
        },
    };

    let sub = match get("SubjectMode") {
        None | Some("CallerIdentity") => app.aws_role_arn.as_str(),
        Some("OriginIdentity") => app.aws_origin_subject.as_str(),
        Some(other) => {
            return Err(StsError::invalid(format!(
                "SubjectMode must be CallerIdentity or OriginIdentity, not {other}."
            )));
        }
    };
    let now = app.now();
    let aud = match audiences.as_slice() {
        [one] => json!(one),
        many => json!(many),
    };
    let claims = json!({
        "iss": app.issuer.url,
        "sub": sub,
        "aud": aud,
        STS_CLAIM: {"principal_id": app.aws_role_arn},
        "iat": now,
        "nbf": now,
        "exp": now + duration,
        "jti": uuid_like(),
    });
    let token = app.issuer.key.sign(&claims).map_err(|e| {
        StsError::sender(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            e.to_string(),
        )
    })?;
    let expiration = time::OffsetDateTime::from_unix_timestamp(now + duration)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Ok(format!(
        "<GetWebIdentityTokenResponse xmlns=\"{XMLNS}\"><GetWebIdentityTokenResult>\
         <WebIdentityToken>{token}</WebIdentityToken><Expiration>{expiration}</Expiration>\
         </GetWebIdentityTokenResult><ResponseMetadata><RequestId>{}</RequestId>\
         </ResponseMetadata></GetWebIdentityTokenResponse>",
        request_id()
    ))
}

/// The request must carry a SigV4 `Authorization` header for the `sts`
/// service and an `X-Amz-Date`, as every AWS SDK sends.
fn check_signed(headers: &HeaderMap) -> Result<(), StsError> {
    let missing = || {
        StsError::sender(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
    };
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(missing)?;
    let part = |name: &str| {
        rest.split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
    };
    let incomplete = |what: &str| {
        StsError::sender(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            format!("The SigV4 Authorization header has no valid {what}."),
        )
    };
    let credential = part("Credential").ok_or_else(|| incomplete("Credential"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let well_scoped = matches!(
        scope.as_slice(),
        [key, date, region, "sts", "aws4_request"]
            if !key.is_empty() && date.len() == 8 && !region.is_empty()
    );
    if !well_scoped {
        return Err(incomplete(
            "Credential scope (KEY/DATE/REGION/sts/aws4_request)",
        ));
    }
    part("SignedHeaders")
        .filter(|h| h.split(';').any(|h| h == "host"))
        .ok_or_else(|| incomplete("SignedHeaders"))?;
    part("Signature")
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| incomplete("Signature"))?;
    if headers.get("x-amz-date").is_none() {
        return Err(incomplete("X-Amz-Date header"));
    }
    Ok(())
}

fn request_id() -> String {
    uuid_like()
}

fn uuid_like() -> String {
    let n = rand::random::<u128>();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(credential: &str, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = format!(
            "AWS4-HMAC-SHA256 Credential={credential}, \
             SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
        );
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h.insert("x-amz-date", "20261201T100000Z".parse().unwrap());
        h
    }

    const SCOPE: &str = "AKIDEXAMPLE/20261201/us-east-1/sts/aws4_request";

    #[test]
    fn only_sigv4_signed_requests_for_sts_pass() {
        let sig = "ab".repeat(32);
        assert!(check_signed(&auth(SCOPE, &sig)).is_ok());

        let none = check_signed(&HeaderMap::new()).unwrap_err();
        assert_eq!(none.code, "MissingAuthenticationToken");
        assert_eq!(none.status, StatusCode::FORBIDDEN);

        let s3 = auth("AKID/20261201/us-east-1/s3/aws4_request", &sig);
        assert_eq!(check_signed(&s3).unwrap_err().code, "IncompleteSignature");
        let short = auth(SCOPE, "abc");
        assert_eq!(
            check_signed(&short).unwrap_err().code,
            "IncompleteSignature"
        );
        let mut undated = auth(SCOPE, &sig);
        undated.remove("x-amz-date");
        assert_eq!(
            check_signed(&undated).unwrap_err().code,
            "IncompleteSignature"
        );
    }

    #[test]
    fn error_messages_are_escaped_for_xml() {
        assert_eq!(
            xml_escape("a <b> & \"c\""),
            "a &lt;b&gt; &amp; &quot;c&quot;"
        );
    }
}
