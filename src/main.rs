//! `terraform-provider-openai`: the plugin binary Terraform launches.

use std::process::ExitCode;

use terraform_provider_openai::OpenAiProvider;
use tfplugin::framework::ProviderService;
use tfplugin::{logging, plugin};

/// The registry address examples use (`source = "openai-wif/openai"`).
const ADDRESS: &str = "registry.terraform.io/openai-wif/openai";

#[tokio::main]
async fn main() -> ExitCode {
    // Answered before the cookie check, so `--version` works by hand.
    if std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-V")
    {
        println!("terraform-provider-openai {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let debug = std::env::args().skip(1).any(|a| a == "--debug");
    if !debug
        && let Err(e) = plugin::check_magic_cookie(&plugin::PluginEnv::from_process(), ADDRESS)
    {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    logging::init(terraform_provider_openai::LOG_IDENTITY);
    if !debug {
        // The limit ledger tells Terraform's operations apart by the
        // provider processes they start, configured or not.
        terraform_provider_openai::note_process_start();
    }
    let service = ProviderService::new(OpenAiProvider);
    let config = plugin::ServeConfig {
        provider_address: ADDRESS.to_string(),
        debug,
    };
    match plugin::serve(service, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("provider stopped: {e:#}");
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
