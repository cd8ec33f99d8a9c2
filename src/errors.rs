//! Turning API errors into diagnostics that say what failed, where, and what to do.

use openai_admin::error::ApiError;
use tfplugin::codec::Path;
use tfplugin::framework::{Diagnostic, Diagnostics};

/// A diagnostic for a failed API call. When the API names a `param` that is
/// one of the resource's attributes, the diagnostic points at it.
pub fn api_error(action: &str, e: &ApiError, attributes: &[&str]) -> Diagnostics {
    let hint = if e.is_limit_exceeded() {
        " The organization is at an OpenAI limit; remove unused objects or ask OpenAI to raise it."
    } else if e.status().is_some_and(|s| s.as_u16() == 401) {
        " Check that admin_api_key (or OPENAI_ADMIN_KEY) is a valid Admin API key."
    } else if e.is_not_found() {
        " The object may have been deleted outside Terraform."
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
