//! Turning API errors into diagnostics that say what failed, where, and what to do.

use std::borrow::Cow;

use openai_admin::error::ApiError;
use tfplugin::codec::Path;
use tfplugin::framework::{Diagnostic, Diagnostics};

/// What kind of thing a failed API call was doing: it decides the hint (a
/// 404 on a create means a reference is missing; elsewhere, that the object
/// is gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    Read,
    List,
    Count,
    LookUp,
    LookFor,
    Update,
    Delete,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::List => "list",
            Action::Count => "count",
            Action::LookUp => "look up",
            Action::LookFor => "look for",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// A failed call's operation: its [`Action`], and the words the
/// diagnostic's summary says it with ("Failed to create the workload
/// identity provider").
#[derive(Clone, Debug)]
pub(crate) struct Op<'a> {
    action: Action,
    words: Cow<'a, str>,
}

impl<'a> Op<'a> {
    /// `action` on `object`: "create" + "the workload identity provider".
    pub(crate) fn new(action: Action, object: impl Into<Cow<'a, str>>) -> Self {
        Op {
            action,
            words: format!("{} {}", action.verb(), object.into()).into(),
        }
    }

    /// An operation of kind `action` said in words of its own ("put the
    /// prior issuer back").
    pub(crate) fn worded(action: Action, words: impl Into<Cow<'a, str>>) -> Self {
        Op {
            action,
            words: words.into(),
        }
    }
}

impl std::fmt::Display for Op<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words)
    }
}

/// A diagnostic for a failed API call. When the API names a `param` that is
/// one of the resource's attributes, the diagnostic points at it.
pub(crate) fn api_error(action: Op<'_>, e: &ApiError, attributes: &[&str]) -> Diagnostics {
    // A 401 needs no hint here: the error itself names admin_api_key.
    let hint = if e.is_unknown_collection() {
        " A listing that is not found means the requests go to the wrong place: check base_url \
         (OPENAI_BASE_URL), which must include the API version, e.g. https://api.openai.com/v1."
    } else if e.is_limit_exceeded() {
        " The organization is at an OpenAI limit; remove unused objects or ask OpenAI to raise it."
    } else if e.is_not_found() && action.action != Action::Create {
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

    fn detail(action: Op<'_>, e: &ApiError) -> String {
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
            Op::new(Action::List, "projects"),
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
        let d = detail(Op::new(Action::Read, "workload identity providers"), &e);
        assert!(d.contains("check base_url"), "{d}");
        assert!(d.contains("/v1"), "{d}");
        assert!(!d.contains("deleted outside Terraform"), "{d}");
        // One object that is gone is still a deletion.
        if let ApiError::Status { path, .. } = &mut e {
            *path = "/organization/workload_identity_providers/wip_1".into();
        }
        let d = detail(Op::new(Action::Read, "the workload identity provider"), &e);
        assert!(d.contains("deleted outside Terraform"), "{d}");
    }

    #[test]
    fn a_404_on_create_is_not_blamed_on_a_deletion() {
        let e = status(StatusCode::NOT_FOUND, "not_found");
        assert!(
            detail(Op::new(Action::Read, "the project"), &e).contains("deleted outside Terraform")
        );
        let d = detail(Op::new(Action::Create, "the service account mapping"), &e);
        assert!(!d.contains("deleted outside Terraform"), "{d}");
        assert!(d.contains("does not exist"), "{d}");
    }
}
