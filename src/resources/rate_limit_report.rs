//! Rate-limit waits made visible. OpenAI's Admin API allows a few requests
//! per minute per endpoint, so a large apply spends minutes paced by the
//! client (`openai_admin::measure_waits`), which Terraform shows only as
//! "Still creating...". [`Reported`] wraps a resource and adds a warning to
//! each create, read, update or delete that waited, with the total wait, so
//! the user sees why it took long (in the resource's diagnostics and in the
//! warnings Terraform lists at the end of the run).

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use tfplugin::codec::Value;
use tfplugin::framework::{
    ConfigRules, CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, Diagnostic,
    Diagnostics, IdentitySchema, ImportByIdentityRequest, ImportRequest, ImportResponse,
    ListRequest, ListResponse, MoveStateRequest, MoveStateResponse, PlanCtx, ReadRequest,
    ReadResponse, Resource, Schema, UpdateRequest, UpdateResponse, UpgradeStateRequest,
    UpgradeStateResponse, ValidateRequest, ValidateResponse,
};

use crate::provider_data::ProviderData;

/// Shorter waits are not worth a warning: they cost the user nothing.
pub(crate) const REPORTED_WAIT: Duration = Duration::from_secs(1);

/// The summary of the warning; tests and docs look for it.
pub(crate) const SUMMARY: &str = "Waited for OpenAI rate limits";

/// `R`, with rate-limit waits of its operations reported as warnings.
/// Delegates every method of [`Resource`], those with defaults too: a
/// default left undelegated silently replaces `R`'s own (as `move_state`
/// once did, refusing every `moved` block).
pub(crate) struct Reported<R>(pub R);

/// A response that carries diagnostics.
trait WithDiagnostics {
    fn diagnostics(&mut self) -> &mut Diagnostics;
}

macro_rules! with_diagnostics {
    ($($t:ty),*) => {$(
        impl WithDiagnostics for $t {
            fn diagnostics(&mut self) -> &mut Diagnostics {
                &mut self.diagnostics
            }
        }
    )*};
}
with_diagnostics!(CreateResponse, ReadResponse, UpdateResponse, DeleteResponse);

fn warning(type_name: &str, waited: Duration) -> Diagnostic {
    let secs = waited.as_secs();
    Diagnostic::warning(
        format!("{SUMMARY} ({secs} s)"),
        format!(
            "OpenAI's Admin API rate limits its endpoints (a few requests per minute), so this \
             {type_name} operation waited {secs} s in all before its requests could be sent \
             again; it completed. Nothing needs fixing. A plan or apply that changes many \
             objects at once takes longer, whatever -parallelism is; spread large changes over \
             several runs to shorten each. rate_limit_wait_seconds in the provider block bounds \
             the wait of one request."
        ),
    )
}

async fn report<T: WithDiagnostics>(
    type_name: &str,
    operation: impl Future<Output = Result<T, Diagnostics>>,
) -> Result<T, Diagnostics> {
    let (mut result, waited) = openai_admin::measure_waits(operation).await;
    if waited >= REPORTED_WAIT {
        let warning = warning(type_name, waited);
        match &mut result {
            Ok(response) => response.diagnostics().push(warning),
            Err(diagnostics) => diagnostics.push(warning),
        }
    }
    result
}

#[async_trait]
impl<R: Resource<ProviderData>> Resource<ProviderData> for Reported<R> {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }
    fn schema(&self) -> Schema {
        self.0.schema()
    }
    fn identity_schema(&self) -> Option<IdentitySchema> {
        self.0.identity_schema()
    }
    fn identity_of(&self, state: &Value) -> Option<Value> {
        self.0.identity_of(state)
    }
    fn config_rules(&self) -> ConfigRules {
        self.0.config_rules()
    }
    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        self.0.validate(req, resp).await
    }
    fn normalize_plan(&self, plan: &mut PlanCtx) {
        self.0.normalize_plan(plan)
    }
    async fn modify_plan(&self, data: Option<&ProviderData>, plan: &mut PlanCtx) {
        self.0.modify_plan(data, plan).await
    }
    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest,
    ) -> Result<CreateResponse, Diagnostics> {
        report(self.type_name(), self.0.create(data, req)).await
    }
    async fn read(
        &self,
        data: &ProviderData,
        req: ReadRequest,
    ) -> Result<ReadResponse, Diagnostics> {
        report(self.type_name(), self.0.read(data, req)).await
    }
    async fn update(
        &self,
        data: &ProviderData,
        req: UpdateRequest,
    ) -> Result<UpdateResponse, Diagnostics> {
        report(self.type_name(), self.0.update(data, req)).await
    }
    async fn delete(
        &self,
        data: &ProviderData,
        req: DeleteRequest,
    ) -> Result<DeleteResponse, Diagnostics> {
        report(self.type_name(), self.0.delete(data, req)).await
    }
    async fn import(
        &self,
        data: &ProviderData,
        req: ImportRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        self.0.import(data, req).await
    }
    async fn import_by_identity(
        &self,
        data: &ProviderData,
        req: ImportByIdentityRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        self.0.import_by_identity(data, req).await
    }
    fn upgrade_state(&self, req: UpgradeStateRequest) -> Result<UpgradeStateResponse, Diagnostics> {
        self.0.upgrade_state(req)
    }
    fn move_state(&self, req: MoveStateRequest) -> Result<MoveStateResponse, Diagnostics> {
        self.0.move_state(req)
    }
    fn supports_list(&self) -> bool {
        self.0.supports_list()
    }
    async fn list(
        &self,
        data: &ProviderData,
        req: ListRequest,
    ) -> Result<ListResponse, Diagnostics> {
        self.0.list(data, req).await
    }
    fn list_config_rules(&self) -> ConfigRules {
        self.0.list_config_rules()
    }
    async fn validate_list(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        self.0.validate_list(req, resp).await
    }
    fn list_schema(&self) -> Schema {
        self.0.list_schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::service_account_mapping::{MappingModel, ServiceAccountMappingResource};
    use tfplugin::framework::check_config;

    #[test]
    fn validation_reaches_the_wrapped_resource() {
        let inner = ServiceAccountMappingResource;
        let wrapped = Reported(ServiceAccountMappingResource);
        // No matchers and an empty name: a rule and a validator both object.
        let config = inner
            .schema()
            .stub(&[(MappingModel::name, Value::string(""))]);
        let expected = check_config(&inner.schema(), &inner.config_rules(), &config);
        assert!(expected.iter().count() >= 2, "{expected:#?}");
        assert_eq!(
            check_config(&wrapped.schema(), &wrapped.config_rules(), &config),
            expected
        );
    }
}
