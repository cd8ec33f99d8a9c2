//! CI platforms and the generic environment variable source
//! (`docs/reference/platform-token-sources.md#ci-platforms`).
//!
//! Four platforms hand a job its token in an environment variable: GitLab CI
//! (a variable the job names in `id_tokens:`; the provider reads
//! [`ENV_GITLAB_TOKEN`], the name its guide uses), HCP Terraform, CircleCI
//! and Bitbucket Pipelines. Each is one row of data ([`EnvToken`]). Buildkite,
//! and CircleCI for an audience of one's own, mint a token on request through
//! the platform's own command in the job, whose standard output is the token.

use std::process::Stdio;
use std::time::Duration;

use openai_admin::redact::Redactor;
use openai_admin::secret::Secret;

use super::{Env, FetchError, MAX_TOKEN_BYTES, excerpt, lookup};

pub(crate) const ENV_GITLAB_TOKEN: &str = "OPENAI_ID_TOKEN";
pub(crate) const ENV_HCP_TERRAFORM_TOKEN: &str = "TFC_WORKLOAD_IDENTITY_TOKEN";
pub(crate) const ENV_CIRCLECI_TOKEN: &str = "CIRCLE_OIDC_TOKEN_V2";
pub(crate) const ENV_BITBUCKET_TOKEN: &str = "BITBUCKET_STEP_OIDC_TOKEN";

/// A platform that puts the job's token in an environment variable.
pub(crate) struct EnvToken {
    pub var: &'static str,
    /// A variable the platform sets in every job: tells "not on this
    /// platform" from "on it, but the job did not ask for a token".
    pub marker: &'static str,
    pub outside: &'static str,
    pub inside: &'static str,
}

pub(crate) static GITLAB_CI: EnvToken = EnvToken {
    var: ENV_GITLAB_TOKEN,
    marker: "GITLAB_CI",
    outside: "this is set only inside a GitLab CI/CD job that declares it under `id_tokens:`",
    inside: "declare it in the job: `id_tokens: { OPENAI_ID_TOKEN: { aud: <the workload identity \
             provider's audience> } }`, or name the variable you declared with subject_token_env",
};

pub(crate) static HCP_TERRAFORM: EnvToken = EnvToken {
    var: ENV_HCP_TERRAFORM_TOKEN,
    marker: "TFC_RUN_ID",
    outside: "this is set only in an HCP Terraform or Terraform Enterprise run of a workspace that \
              sets TFC_WORKLOAD_IDENTITY_AUDIENCE",
    inside: "set the workspace environment variable TFC_WORKLOAD_IDENTITY_AUDIENCE to the \
             workload identity provider's audience (self-hosted agents need v1.7.0 or later)",
};

pub(crate) static CIRCLECI: EnvToken = EnvToken {
    var: ENV_CIRCLECI_TOKEN,
    marker: "CIRCLECI",
    outside: "this is set only inside a CircleCI job",
    inside: "CircleCI sets it in jobs on CircleCI cloud and server 4.4 or later (some versions \
             only in jobs that use a context); or set audience to have `circleci run oidc get` \
             mint one",
};

pub(crate) static BITBUCKET_PIPELINES: EnvToken = EnvToken {
    var: ENV_BITBUCKET_TOKEN,
    marker: "BITBUCKET_BUILD_NUMBER",
    outside: "this is set only inside a Bitbucket Pipelines step with `oidc: true`",
    inside: "set `oidc: true` on the step (with `oidc: { audiences: [...] }` for the workload \
             identity provider's audience)",
};

/// The token a platform left in its variable.
pub(crate) fn env_token(env: Env<'_>, p: &EnvToken) -> Result<Secret, FetchError> {
    match lookup(env, p.var) {
        Some(v) => Ok(Secret::new(v.trim())),
        None => Err(FetchError::MissingEnv {
            var: p.var,
            hint: if lookup(env, p.marker).is_some() {
                p.inside
            } else {
                p.outside
            },
        }),
    }
}

/// Whether `name` can name an environment variable: letters, digits and
/// `_`, not starting with a digit (what every shell and CI platform accepts).
pub(crate) fn check_env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not an environment variable name: use letters, digits and _, not \
             starting with a digit, e.g. \"OPENAI_ID_TOKEN\" (the name, not the token)"
        ))
    }
}

/// `subject_token_env`: the token in the variable the configuration names.
pub(crate) fn named_env(env: Env<'_>, var: &str) -> Result<Secret, FetchError> {
    lookup(env, var)
        .map(|v| Secret::new(v.trim()))
        .ok_or_else(|| FetchError::MissingNamedEnv {
            var: var.to_owned(),
            hint: "set it in the environment Terraform runs in, or check the name",
        })
}

/// CircleCI for `audience`: `circleci run oidc get --claims '{"aud": ...}'`.
pub(crate) async fn circleci_for(audience: &str, timeout: Duration) -> Result<Secret, FetchError> {
    let claims = serde_json::json!({ "aud": audience }).to_string();
    run(
        "circleci",
        &["run", "oidc", "get", "--claims", &claims],
        timeout,
        "`circleci run oidc get` works only inside a CircleCI job (cloud, or server 4.4 or \
         later); without audience the provider reads CIRCLE_OIDC_TOKEN_V2 instead",
    )
    .await
}

/// Buildkite: `buildkite-agent oidc request-token` for `audience`, with the
/// optional claims that name the organization and pipeline by id (the
/// default claims name them only by slugs, which can be renamed).
pub(crate) async fn buildkite(audience: &str, timeout: Duration) -> Result<Secret, FetchError> {
    run(
        "buildkite-agent",
        &[
            "oidc",
            "request-token",
            "--audience",
            audience,
            "--claim",
            "organization_id,pipeline_id",
        ],
        timeout,
        "it works only inside a Buildkite job, with buildkite-agent on PATH (in a container, \
         mount the agent into it)",
    )
    .await
}

/// Runs `program` (from `PATH`), whose standard output is the token. Its
/// standard error is quoted on failure, with anything that was printed on
/// standard output redacted from it.
pub(super) async fn run(
    program: &'static str,
    args: &[&str],
    timeout: Duration,
    hint: &'static str,
) -> Result<Secret, FetchError> {
    let failed = |detail: String| FetchError::Command {
        program,
        detail,
        hint,
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| failed(format!("it did not finish within {}s", timeout.as_secs())))?
        .map_err(|e| failed(e.to_string()))?;
    let stdout = Secret::new(String::from_utf8_lossy(&output.stdout).trim());
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let redactor = if stdout.is_empty() {
            Redactor::new()
        } else {
            Redactor::new().with_secret(&stdout)
        };
        let said = excerpt(&stderr)
            .map(|t| format!(": {}", redactor.redact(&t)))
            .unwrap_or_default();
        return Err(failed(format!("it exited with {}{said}", output.status)));
    }
    if output.stdout.len() as u64 > MAX_TOKEN_BYTES {
        return Err(FetchError::TooLarge {
            from: format!("the output of `{program}`"),
        });
    }
    if stdout.is_empty() {
        return Err(FetchError::Empty {
            from: format!("the output of `{program}`"),
            hint: hint.to_owned(),
        });
    }
    Ok(stdout)
}
