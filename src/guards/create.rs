//! The create both WIF resources share: written while its name may still be
//! held by an object this run frees (and with its replaced object renamed
//! aside), a lost answer kept as a tainted placeholder, and a refusal
//! explained with the guards' advice (a taken name, a full limit).

use tfplugin::codec::Value;
use tfplugin::framework::{CreateResponse, Diagnostics};

use crate::errors::{Action, Op, api_error};
use crate::limits::Scope;
use crate::provider_data::ProviderData;

/// What one kind of object says when its create goes wrong.
pub(crate) struct CreateSpec {
    /// "workload identity provider".
    pub(crate) what: &'static str,
    /// How a lost create's object is recognised, for its placeholder's
    /// message ("a provider with the same name").
    pub(crate) identified_by: &'static str,
    /// The provider setting that raises the kind's limit.
    pub(crate) limit_setting: &'static str,
    /// The arguments an API error may point at.
    pub(crate) arguments: &'static [&'static str],
    /// Where the create counts against a limit.
    pub(crate) scope: Scope,
}

/// How a create's write ended, when it did not fail.
pub(crate) enum Written<T> {
    /// The API's answer.
    Object(T),
    /// The request was sent but Terraform stopped before the answer came:
    /// the placeholder to answer Terraform with (see `crate::pending`).
    Lost(CreateResponse),
}

impl ProviderData {
    /// Writes a create of kind `spec` (see
    /// [`super::write_when_name_free`] for `aside` and the retries).
    /// `placeholder` is the planned object with empty server fields, used
    /// only if the answer is lost; `since` is when the request went out,
    /// by the server's clock. `back` gives an object `aside` renamed its
    /// name back when the create then fails (it checks, so it is safe to
    /// call when nothing was renamed).
    pub(crate) async fn create_guarded<T, F, Fut>(
        &self,
        spec: &CreateSpec,
        since: i64,
        placeholder: impl FnOnce() -> Value,
        aside: impl AsyncFnOnce() -> bool,
        back: impl AsyncFnOnce(),
        write: F,
    ) -> Result<Written<T>, Diagnostics>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, openai_admin::error::ApiError>>,
    {
        let room_coming = self.ledger.removes_any(&spec.scope);
        match super::write_when_name_free(spec.what, room_coming, aside, write).await {
            Ok(object) => Ok(Written::Object(object)),
            Err(e) if e.cancelled_after_send() => Ok(Written::Lost(
                CreateResponse::new(placeholder())
                    .with_private(crate::pending::private_of(since))
                    .with_diagnostics(crate::pending::interrupted(
                        spec.what,
                        spec.identified_by,
                        &e,
                    )),
            )),
            Err(e) => {
                back().await;
                let mut d = api_error(
                    Op::new(Action::Create, format!("the {}", spec.what)),
                    &e,
                    spec.arguments,
                );
                if e.is_name_taken() {
                    d.push(super::name_taken_on_create(spec.what));
                }
                if e.is_limit_exceeded() {
                    d.push(crate::limits::create_at_limit(
                        spec.what,
                        spec.limit_setting,
                        self.ledger.removes_any(&spec.scope),
                    ));
                }
                Err(d)
            }
        }
    }
}
