//! Turning API errors into diagnostics that say what failed, where, and what to do.

use openai_admin::error::ApiError;
use tfplugin::codec::Path;
use tfplugin::framework::{Diagnostic, Diagnostics};

/// A diagnostic for a failed API call. When the API names a `param` that is
/// one of the resource's attributes, the diagnostic points at it.
pub fn api_error(action: &str, e: &ApiError, attributes: &[&str]) -> Diagnostics {
    // A 401 needs no hint here: the error itself names admin_api_key.
    let hint = if e.is_unknown_collection() {
        " A listing that is not found means the requests go to the wrong place: check base_url \
         (OPENAI_BASE_URL), which must include the API version, e.g. https://api.openai.com/v1."
    } else if e.is_limit_exceeded() {
        " The organization is at an OpenAI limit; remove unused objects or ask OpenAI to raise it."
    } else if e.is_not_found() && !action.starts_with("create") {
        " The object may have been deleted outside Terraform."
    } else if e.is_not_found() {
        " Something the new object refers to does not exist; check the ids in the configuration."
    } else if e.is_timeout() {
        " The API did not answer within request_timeout_seconds, on any try. If it is down or \
         unreachable, check network access and base_url; lower max_retries or \
         request_timeout_seconds in the provider block to fail sooner. Raise \
         request_timeout_seconds only if its answers are merely slow."
    } else {
        ""
    };
    let d = Diagnostic::error(format!("Failed to {action}"), format!("{e}.{hint}"));
    let param = e.param().filter(|p| attributes.contains(p));
    match param {
        Some(p) => d.at(Path::root().attr(p)).into(),
        None => d.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openai_admin::error::ADMIN_KEY_ENV;
    use reqwest::{Method, StatusCode};

    fn status(status: StatusCode, code: &str) -> ApiError {
        ApiError::Status {
            status,
            message: "m".into(),
            kind: None,
            param: None,
            code: Some(code.into()),
            request_id: None,
            method: Method::POST,
            path: "/organization/x".into(),
        }
    }

    fn detail(action: &str, e: &ApiError) -> String {
        api_error(action, e, &[])
            .iter()
            .next()
            .unwrap()
            .detail
            .clone()
    }

    #[test]
    fn the_401_hint_is_given_once() {
        let d = detail(
            "list projects",
            &status(StatusCode::UNAUTHORIZED, "invalid_api_key"),
        );
        assert_eq!(d.matches("admin_api_key").count(), 1, "{d}");
        assert!(d.contains(ADMIN_KEY_ENV), "{d}");
    }

    #[test]
    fn a_404_on_a_collection_points_at_base_url() {
        let mut e = status(StatusCode::NOT_FOUND, "not_found");
        if let ApiError::Status { path, method, .. } = &mut e {
            *path = "/organization/workload_identity_providers".into();
            *method = Method::GET;
        }
        let d = detail("read workload identity providers", &e);
        assert!(d.contains("check base_url"), "{d}");
        assert!(d.contains("/v1"), "{d}");
        assert!(!d.contains("deleted outside Terraform"), "{d}");
        // One object that is gone is still a deletion.
        if let ApiError::Status { path, .. } = &mut e {
            *path = "/organization/workload_identity_providers/wip_1".into();
        }
        let d = detail("read the workload identity provider", &e);
        assert!(d.contains("deleted outside Terraform"), "{d}");
    }

    #[test]
    fn a_404_on_create_is_not_blamed_on_a_deletion() {
        let e = status(StatusCode::NOT_FOUND, "not_found");
        assert!(detail("read the project", &e).contains("deleted outside Terraform"));
        let d = detail("create the service account mapping", &e);
        assert!(!d.contains("deleted outside Terraform"), "{d}");
        assert!(d.contains("does not exist"), "{d}");
    }
}
