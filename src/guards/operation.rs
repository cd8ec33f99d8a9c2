//! What a plan does to one object, as the guards see it, and the decision
//! table that says which guard may refuse it.
//!
//! | operation | limits | names | references | tenant pinning |
//! | --- | --- | --- | --- | --- |
//! | create | refuse past the limit | refuse a taken name | refuse a missing provider, project or service account | refuse unpinned on a shared issuer; warn on a name-only pin |
//! | create, disabled (`enabled = false`) | refuse past the limit | refuse | refuse | warn (it admits no token) |
//! | update that leaves the mapping enabled | – | refuse a rename to a taken name | – | refuse unpinned; warn on a name-only pin |
//! | update to disabled, or a disabled mapping's update | – | refuse a rename to a taken name | – | warn |
//! | no change (refresh of an existing object) | – | – | – | warn |
//! | replace (`requires_replace`, `-replace`, taint) | the old object counts as removed, the new one as created | the old name is free | as create | as create |
//! | destroy | counts as a removal (not with `-parallelism=1`: see [`parallelism`]) | – | – | never refuses (records the mapping as going away) |
//! | any plan of a destroy command (`terraform destroy`, `plan -destroy`, `apply -destroy`) | never refuses | never refuses | never refuses | never refuses |
//!
//! **Why a destroy can never be refused.** Terraform plans a destroy in two
//! walks. The first is a normal plan used only to refresh the state (the
//! "pre-destroy refresh"): it calls PlanResourceChange for every resource
//! in the configuration, including `count` instances that are not in the
//! state and never will be, and an error there fails the destroy. The
//! provider is not told which walk it is in, so it asks its parent process:
//! a Terraform or OpenTofu command line whose subcommand is `destroy`, or
//! `plan`/`apply` with `-destroy` (also through `TF_CLI_ARGS` and
//! `TF_CLI_ARGS_<command>`), is a destroy command, and every guard stays
//! silent in every walk of it ([`destroy_command`]). The second walk plans
//! only deletes (`is_destroy`), which no guard refuses: deleting removes
//! access and makes room under the limits. A guard's warning in the first
//! walk would be thrown away by Terraform anyway.
//!
//! **Why a disable is never refused by tenant pinning.** A disabled mapping
//! admits no token, so it cannot widen who may act as the service account.
//! The dangerous moment is enabling it, and that is an update with
//! `enabled = true`, which the guard checks like a create.

use std::sync::OnceLock;

use openai_admin::Env;

use tfplugin::framework::PlanCtx;

/// What a plan does to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
    /// Both halves of a replacement the provider planned (`requires_replace`).
    Replace,
    Destroy,
    /// The plan leaves the object as it is.
    Unchanged,
}

impl Operation {
    pub(crate) fn of(plan: &PlanCtx) -> Self {
        if plan.is_destroy() {
            Operation::Destroy
        } else if plan.is_create() {
            Operation::Create
        } else if plan.is_replace() {
            Operation::Replace
        } else if plan.is_update() {
            Operation::Update
        } else {
            Operation::Unchanged
        }
    }

    /// Whether the object is written (created or changed) if this plan is
    /// applied.
    pub(crate) fn writes(self) -> bool {
        matches!(
            self,
            Operation::Create | Operation::Update | Operation::Replace
        )
    }
}

/// Whether the Terraform (or OpenTofu) command that started this provider
/// destroys: see the module docs for why no guard may refuse anything then.
/// Decided once per process, from the parent's command line and
/// environment.
pub(crate) fn destroy_command() -> bool {
    static DESTROYING: OnceLock<bool> = OnceLock::new();
    *DESTROYING.get_or_init(|| {
        let Some(argv) = parent_command_line() else {
            return false;
        };
        let destroying = is_destroy_command(&argv, &|name| std::env::var(name).ok());
        if destroying {
            tracing::debug!("the parent command destroys: plan-time guards stay silent");
        }
        destroying
    })
}

/// The subcommand of a Terraform or OpenTofu command line (program first)
/// and its arguments, with the environment's `TF_CLI_ARGS` and
/// `TF_CLI_ARGS_<command>` words before the command line's own, as
/// Terraform reads them (so the last of a repeated flag wins).
fn subcommand(argv: &[String], env: Env<'_>) -> Option<(String, Vec<String>)> {
    // The CLI may run under an interpreter or wrapper (`python3
    // .../terraform-1.15.5 destroy`): the program is the first word, or the
    // second when the first does not name Terraform or OpenTofu but the
    // second does. Global options come before the subcommand.
    let names_cli = |a: &String| {
        let base = std::path::Path::new(a)
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        base.starts_with("terraform") || base.starts_with("tofu")
    };
    let program = match (argv.first(), argv.get(1)) {
        (Some(first), Some(second)) if !names_cli(first) && names_cli(second) => 1,
        _ => 0,
    };
    let mut rest = argv
        .iter()
        .skip(program + 1)
        .skip_while(|a| a.starts_with('-'));
    let command = rest.next()?.clone();
    let mut args: Vec<String> = Vec::new();
    for name in ["TF_CLI_ARGS".to_string(), format!("TF_CLI_ARGS_{command}")] {
        if let Some(extra) = env(&name) {
            args.extend(shlex::split(&extra).unwrap_or_default());
        }
    }
    args.extend(rest.cloned());
    Some((command, args))
}

/// Whether `argv` (a Terraform or OpenTofu command line, program first)
/// with the environment `env` destroys.
pub(crate) fn is_destroy_command(argv: &[String], env: Env<'_>) -> bool {
    let Some((command, args)) = subcommand(argv, env) else {
        return false;
    };
    match command.as_str() {
        "destroy" => true,
        "plan" | "apply" => args
            .iter()
            .rev()
            .find_map(|a| destroy_flag(a))
            .unwrap_or(false),
        _ => false,
    }
}

/// Whether the command that started this provider applies a saved plan
/// (`terraform apply FILE`): its apply walk plans each change again, and
/// only there may a replacement remembered by the plan be recalled (see
/// [`super::replacement`]). Decided once per process, and only from procfs
/// (a `ps` line splits quoted values, so a word of `-var "a b"` could pass
/// for a file): the command line's last word must name a file, relative to
/// the parent's working directory and `-chdir`, that is a plan file (a zip
/// archive). When unsure, no: a replacement is then not recalled, and a
/// `create_before_destroy` create meets the name still taken, with advice.
pub(crate) fn applies_saved_plan() -> bool {
    static SAVED: OnceLock<bool> = OnceLock::new();
    *SAVED.get_or_init(|| {
        #[cfg(unix)]
        {
            let ppid = std::os::unix::process::parent_id();
            let Ok(raw) = std::fs::read(format!("/proc/{ppid}/cmdline")) else {
                return false;
            };
            let argv: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let Some(file) = saved_plan_file(&argv, &|name| std::env::var(name).ok()) else {
                return false;
            };
            let mut path = std::path::PathBuf::from(format!("/proc/{ppid}/cwd"));
            if let Some(dir) = argv.iter().find_map(|a| {
                a.strip_prefix("-chdir=")
                    .or_else(|| a.strip_prefix("--chdir="))
            }) {
                path.push(dir);
            }
            path.push(file);
            is_plan_file(&path)
        }
        #[cfg(not(unix))]
        {
            false
        }
    })
}

/// Whether `path` is a zip archive, as Terraform's plan files are.
fn is_plan_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == *b"PK\x03\x04")
}

/// The plan file `argv` applies: `apply` whose last word is no flag (nor
/// the value of a flag written as two words), `None` otherwise.
pub(crate) fn saved_plan_file(argv: &[String], env: Env<'_>) -> Option<String> {
    let (command, args) = subcommand(argv, env)?;
    if command != "apply" {
        return None;
    }
    let last = args.last()?;
    if last.starts_with('-') {
        return None;
    }
    // A flag written as two words takes the word after it as its value.
    let before = args.len().checked_sub(2).map(|i| args[i].as_str());
    if before.is_some_and(|b| b.starts_with('-') && !b.contains('=') && takes_value(b)) {
        return None;
    }
    Some(last.clone())
}

/// Whether a flag of `terraform apply` (or `tofu apply`) takes a value.
fn takes_value(flag: &str) -> bool {
    matches!(
        flag.trim_start_matches('-'),
        "var"
            | "var-file"
            | "target"
            | "target-file"
            | "exclude"
            | "exclude-file"
            | "replace"
            | "state"
            | "state-out"
            | "backup"
            | "lock-timeout"
            | "parallelism"
            | "invoke"
    )
}

/// Terraform's default number of resources it works on at once.
const DEFAULT_PARALLELISM: usize = 10;

/// How many resources the Terraform command that started this provider
/// plans or applies at once (`-parallelism`, 10 by default). Decided once
/// per process, like [`destroy_command`].
pub(crate) fn parallelism() -> usize {
    static PARALLELISM: OnceLock<usize> = OnceLock::new();
    *PARALLELISM.get_or_init(|| {
        parent_command_line().map_or(DEFAULT_PARALLELISM, |argv| {
            parallelism_of(&argv, &|name| std::env::var(name).ok())
        })
    })
}

/// Whether Terraform works on one resource at a time (`-parallelism=1`):
/// then no other resource is planned or applied while one waits, and
/// nothing the provider waits for can come (see [`crate::limits`]).
pub(crate) fn one_at_a_time() -> bool {
    parallelism() == 1
}

/// The `-parallelism` of a command line (`-parallelism=N`, or Go's
/// `-parallelism N`), the last one winning; the default when absent or
/// not a positive number.
pub(crate) fn parallelism_of(argv: &[String], env: Env<'_>) -> usize {
    let Some((_, args)) = subcommand(argv, env) else {
        return DEFAULT_PARALLELISM;
    };
    let mut found = None;
    let mut words = args.iter().peekable();
    while let Some(a) = words.next() {
        let Some(flag) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue;
        };
        let value = match flag.strip_prefix("parallelism") {
            Some(v) if v.starts_with('=') => Some(v[1..].to_string()),
            Some("") => words.next().cloned(),
            _ => None,
        };
        if let Some(v) = value {
            found = v.parse::<usize>().ok().filter(|n| *n > 0);
        }
    }
    found.unwrap_or(DEFAULT_PARALLELISM)
}

/// The value of a `-destroy` flag (`-destroy`, `--destroy`, `-destroy=BOOL`
/// with Go's spellings of a boolean), or `None` for any other argument.
fn destroy_flag(arg: &str) -> Option<bool> {
    let flag = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    let value = flag.strip_prefix("destroy")?;
    match value {
        "" => Some(true),
        "=1" | "=t" | "=T" | "=true" | "=TRUE" | "=True" => Some(true),
        "=0" | "=f" | "=F" | "=false" | "=FALSE" | "=False" => Some(false),
        _ => None,
    }
}

/// The parent process's command line, when the platform tells it.
fn parent_command_line() -> Option<Vec<String>> {
    #[cfg(unix)]
    {
        let ppid = std::os::unix::process::parent_id();
        if let Ok(raw) = std::fs::read(format!("/proc/{ppid}/cmdline")) {
            return Some(
                raw.split(|b| *b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect(),
            );
        }
        // No procfs (macOS, the BSDs): ask `ps`. Arguments with spaces split
        // wrongly, which no flag this looks for has.
        let out = std::process::Command::new("ps")
            .args(["-ww", "-o", "args=", "-p", &ppid.to_string()])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        Some(text.split_whitespace().map(str::to_string).collect())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn destroy_commands_are_recognised_and_others_are_not() {
        let none = |_: &str| None;
        for (line, destroying) in [
            ("terraform destroy", true),
            ("terraform destroy -auto-approve -var n=2", true),
            ("terraform -chdir=infra destroy", true),
            ("tofu destroy", true),
            ("terraform apply -destroy -auto-approve", true),
            ("terraform plan -destroy -out=p", true),
            ("terraform plan --destroy", true),
            ("terraform plan -destroy=true", true),
            ("terraform apply", false),
            ("terraform plan -destroy=false", false),
            ("terraform plan -out=destroy", false),
            ("terraform apply destroy.tfplan", false),
            ("terraform test", false),
            ("terraform", false),
            ("terraform import x destroy", false),
            (
                "/venv/bin/python /tools/bin/terraform-1.15.5 destroy -auto-approve",
                true,
            ),
            ("/venv/bin/python /tools/bin/terraform-1.15.5 apply", false),
            ("/usr/local/bin/tofu -chdir=a plan -destroy", true),
            ("terraform apply -destroy=t", true),
            ("terraform apply -destroy=TRUE", true),
            ("terraform apply -destroy -destroy=false", false),
            ("terraform plan -var note=-destroy", false),
            ("tf destroy -var-file envs/terraform.tfvars", true),
            ("tf apply -var-file envs/terraform.tfvars", false),
        ] {
            assert_eq!(is_destroy_command(&argv(line), &none), destroying, "{line}");
        }
    }

    #[test]
    fn tf_cli_args_count_for_their_command() {
        let env = |name: &str| (name == "TF_CLI_ARGS_plan").then(|| "-destroy -lock=false".into());
        assert!(is_destroy_command(&argv("terraform plan"), &env));
        assert!(!is_destroy_command(&argv("terraform apply"), &env));
        let all = |name: &str| (name == "TF_CLI_ARGS").then(|| "-destroy".into());
        assert!(is_destroy_command(&argv("terraform apply"), &all));
        // The command line comes after the environment's words: it wins.
        let env = |name: &str| (name == "TF_CLI_ARGS_apply").then(|| "-destroy".into());
        assert!(!is_destroy_command(
            &argv("terraform apply -destroy=false"),
            &env
        ));
        // Shell words, as Terraform reads them: a quoted value is one word.
        let quoted = |name: &str| {
            (name == "TF_CLI_ARGS_apply").then(|| r#"-var "note=do not -destroy""#.into())
        };
        assert!(!is_destroy_command(&argv("terraform apply"), &quoted));
    }

    #[test]
    fn parallelism_is_read_from_the_command_line_and_the_environment() {
        let none = |_: &str| None;
        for (line, n) in [
            ("terraform plan", 10),
            ("terraform plan -parallelism=1", 1),
            ("terraform apply --parallelism=3 -auto-approve", 3),
            ("terraform apply -parallelism 1", 1),
            ("terraform apply -parallelism=1 -parallelism=4", 4),
            ("terraform apply -parallelism=0", 10),
            ("terraform apply -parallelism=x", 10),
            ("terraform plan -var n=-parallelism=1", 10),
            (
                "/venv/bin/python /tools/terraform-1.15.5 plan -parallelism=1",
                1,
            ),
            ("terraform", 10),
        ] {
            assert_eq!(parallelism_of(&argv(line), &none), n, "{line}");
        }
        let env = |name: &str| (name == "TF_CLI_ARGS_plan").then(|| "-parallelism=1".into());
        assert_eq!(parallelism_of(&argv("terraform plan"), &env), 1);
        assert_eq!(parallelism_of(&argv("terraform apply"), &env), 10);
        assert_eq!(
            parallelism_of(&argv("terraform plan -parallelism=2"), &env),
            2
        );
    }

    #[test]
    fn saved_plan_applies_are_recognised() {
        let none = |_: &str| None;
        let is_saved_plan_apply =
            |argv: &[String], env: Env<'_>| saved_plan_file(argv, env).is_some();
        for (line, saved) in [
            ("terraform apply p.plan", true),
            ("terraform apply -input=false p.plan", true),
            ("terraform -chdir=x apply -auto-approve tfplan", true),
            ("terraform apply", false),
            ("terraform apply -auto-approve -var n=2", false),
            ("terraform apply -var n=2", false),
            ("terraform apply -replace openai_x.y", false),
            ("tofu apply -exclude module.x", false),
            ("terraform apply -invoke action.a.b", false),
            ("terraform apply p.plan -auto-approve", false),
            ("terraform plan -out p.plan", false),
            ("terraform destroy", false),
        ] {
            assert_eq!(is_saved_plan_apply(&argv(line), &none), saved, "{line}");
        }
    }

    #[test]
    fn an_unchanged_object_is_not_written() {
        assert!(!Operation::Unchanged.writes());
        assert!(!Operation::Destroy.writes());
        assert!(Operation::Create.writes() && Operation::Update.writes());
    }
}
