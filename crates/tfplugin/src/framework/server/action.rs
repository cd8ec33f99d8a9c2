//! Actions (protocol 6.10, Terraform 1.14): ValidateActionConfig,
//! PlanAction, and InvokeAction, which streams the action's progress
//! messages as they are reported and ends with one `Completed` event that
//! carries its diagnostics. Terraform before 1.14 never calls these.

use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tracing::Instrument;

use super::validate::validated;
use super::{BoxStream, ProviderService, decode, rpc_span};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::messages::{
    InvokeActionRequest, PlanActionRequest, PlanActionResponse, Progress, ValidateRequest,
};
use crate::framework::resource::Provider;
use crate::framework::validation::check_config;
use crate::framework::wire::{WithDiagnostics, guard_with};
use crate::proto::tfplugin6 as pb;

use pb::invoke_action::event::{Completed, Progress as ProgressEvent, Type};

pub(super) async fn validate_action_config<P: Provider>(
    s: &ProviderService<P>,
    req: pb::validate_action_config::Request,
) -> Result<pb::validate_action_config::Response, Diagnostics> {
    let (a, schema) = s.action(&req.type_name)?;
    let config = decode(
        req.config.as_ref(),
        &schema.object_type(),
        "action configuration",
    )?;
    let mut resp = validated(schema, &a.config_rules(), &config);
    a.validate(ValidateRequest { config }, &mut resp).await;
    Ok(WithDiagnostics::from_diagnostics(resp.diagnostics))
}

pub(super) async fn plan_action<P: Provider>(
    s: &ProviderService<P>,
    req: pb::plan_action::Request,
) -> Result<pb::plan_action::Response, Diagnostics> {
    let (a, schema) = s.action(&req.action_type)?;
    let config = decode(
        req.config.as_ref(),
        &schema.object_type(),
        "action configuration",
    )?;
    // Values unknown at validation may be known now: check them again.
    let mut resp = PlanActionResponse {
        diagnostics: check_config(schema, &a.config_rules(), &config),
    };
    a.plan(s.data().as_ref(), PlanActionRequest { config }, &mut resp)
        .await;
    Ok(WithDiagnostics::from_diagnostics(resp.diagnostics))
}

fn completed(diagnostics: Diagnostics) -> pb::invoke_action::Event {
    pb::invoke_action::Event {
        r#type: Some(Type::Completed(Completed {
            diagnostics: diagnostics.to_proto(),
        })),
    }
}

fn progress_event(message: String) -> pb::invoke_action::Event {
    pb::invoke_action::Event {
        r#type: Some(Type::Progress(ProgressEvent { message })),
    }
}

/// Starts the action on its own task and answers at once with the stream of
/// its events: each progress message as it is reported, then `Completed`.
/// The task outlives a Terraform that hangs up (messages are then dropped);
/// StopProvider is how Terraform ends it early.
pub(super) fn invoke_action<P: Provider>(
    s: &ProviderService<P>,
    req: pb::invoke_action::Request,
) -> BoxStream<pb::invoke_action::Event>
where
    P::Data: 'static,
{
    let span = rpc_span("InvokeAction", &req.action_type);
    let prepared = (|| {
        let (a, schema) = s.action(&req.action_type)?;
        let config = decode(
            req.config.as_ref(),
            &schema.object_type(),
            "action configuration",
        )?;
        if !config.is_wholly_known() {
            return Err(Diagnostics::from(Diagnostic::error(
                "Action configuration not known",
                "Terraform invoked the action with values not yet known. Make its arguments \
                 depend on values known before it runs.",
            )));
        }
        // Values known only now were never validated: check them first.
        let checked = check_config(schema, &a.config_rules(), &config);
        if checked.has_errors() {
            return Err(checked);
        }
        Ok((a.clone(), config, s.require_data()?))
    })();
    let (action, config, data) = match prepared {
        Ok(p) => p,
        Err(d) => return Box::pin(tokio_stream::once(Ok(completed(d)))),
    };
    let (progress, messages) = Progress::channel();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(
        async move {
            let outcome = guard_with("InvokeAction", Err, async {
                action
                    .invoke(&data, InvokeActionRequest { config }, progress)
                    .await
                    .map(|r| r.diagnostics)
            })
            .await;
            let _ = done_tx.send(outcome.unwrap_or_else(|errors| errors));
        }
        .instrument(span),
    );
    // The progress channel closes when the action (and its reporter) ends;
    // the completion follows it.
    let progress = UnboundedReceiverStream::new(messages).map(|m| Ok(progress_event(m)));
    let done = futures_util::stream::once(async move {
        Ok(completed(done_rx.await.unwrap_or_else(|_| {
            Diagnostic::error(
                "Action ended without an answer",
                "The provider's action task ended unexpectedly. Please report this bug.",
            )
            .into()
        })))
    });
    Box::pin(progress.chain(done))
}
