//! The hand-written guides work exactly as written: every guide under
//! `docs/guides/` and the README is followed end to end against the
//! emulator, in reading order, by the harness in `support::guides` (its
//! markers are described in CONTRIBUTING.md, "Executable guides"). Every
//! `terraform` snippet in the guides and module READMEs is also formatted
//! HCL.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::support::guides::{Action, parse, run_guide};
use crate::support::{Workdir, tf_latest, tf_oldest};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// Guides followed at once: each mostly waits on Terraform and the emulator.
const PARALLEL_GUIDES: usize = 3;

/// Every guide, and the README, by path relative to the repository.
fn guides() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(Path::new(REPO).join("docs/guides"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| format!("docs/guides/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    out.sort();
    out.push("README.md".into());
    out
}

/// Runs every guide (or those whose path contains one of the
/// comma-separated `GUIDES` words), all of them even when one fails.
#[test]
fn every_guide_works_as_written() {
    let wanted = std::env::var("GUIDES").unwrap_or_default();
    let queue: Vec<String> = guides()
        .into_iter()
        .filter(|g| wanted.is_empty() || wanted.split(',').any(|w| g.contains(w.trim())))
        .collect();
    assert!(!queue.is_empty(), "no guide matches GUIDES={wanted:?}");
    let queue = Mutex::new(queue.into_iter());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_GUIDES {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(guide) = next else { break };
                    let text = std::fs::read_to_string(Path::new(REPO).join(&guide)).unwrap();
                    if let Err(report) = run_guide(&guide, &text) {
                        eprintln!("{report}");
                        failures.lock().unwrap().push(guide);
                    } else {
                        eprintln!("{guide}: works as written");
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "guides that do not work as written (transcripts above): {failures:?}"
    );
}

#[test]
fn the_harness_refuses_blocks_it_cannot_run() {
    // A YAML workflow with no marker, a marker with nothing below it, and
    // no promised outcome: three reasons, all reported.
    let guide = "```yaml\non: push\n```\n\n<!-- guide: file main.tf -->\nprose\n";
    let errors = parse(guide).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].contains("`yaml` block without a marker"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("not directly above a code block"),
        "{errors:?}"
    );
    assert!(errors[2].contains("no `<!-- guide: check"), "{errors:?}");

    // An unknown marker is an error, not a skip.
    let errors = parse("<!-- guide: maybe -->\n```sh\ntrue\n```\n").unwrap_err();
    assert!(errors[0].contains("unknown marker"), "{errors:?}");

    // Marked blocks: each becomes the step it says, in reading order.
    let guide = "<!-- guide: cloud-only -->\n```yaml\non: push\n```\n\
                 <!-- guide: file dev.tfrc -->\n\n```hcl\nx = 1\n```\n\
                 ```sh\necho hi\n```\n<!-- guide: exit 2 -->\n```bash\nexit 2\n```\n\
                 <!-- guide: check\ntest -f dev.tfrc\n-->\n";
    let steps = parse(guide).unwrap();
    let actions: Vec<&Action> = steps.iter().map(|s| &s.action).collect();
    assert_eq!(
        actions,
        [
            &Action::Skip("cloud-only".into()),
            &Action::File {
                path: "dev.tfrc".into(),
                body: "x = 1\n".into(),
                append: false
            },
            &Action::Shell {
                body: "echo hi\n".into(),
                exit: 0
            },
            &Action::Shell {
                body: "exit 2\n".into(),
                exit: 2
            },
            &Action::Shell {
                body: "test -f dev.tfrc\n".into(),
                exit: 0
            },
        ]
    );
    assert!(steps[4].check && !steps[3].check);
}

/// The bodies of fenced `terraform` blocks.
fn terraform_blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<(bool, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim() == "terraform", String::new())),
            (Some((keep, body)), Some(_)) => {
                if *keep {
                    out.push(std::mem::take(body));
                }
                current = None;
            }
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

#[test]
fn terraform_snippets_are_formatted_hcl() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(REPO).join("docs/guides"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for module in std::fs::read_dir(Path::new(REPO).join("examples/modules")).unwrap() {
        files.push(module.unwrap().path().join("README.md"));
    }
    let tf = tf_latest();
    let wd = Workdir::new(&tf);
    let mut count = 0;
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, block) in terraform_blocks(&text).into_iter().enumerate() {
            let name = format!("{}-{i}.tf", file.file_stem().unwrap().to_string_lossy());
            let parent = file
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy();
            wd.write(&format!("{parent}/{name}"), &block);
            count += 1;
        }
    }
    assert!(count >= 20, "only {count} snippets found");
    let out = wd.run(&["fmt", "-check", "-recursive", "-diff", "-no-color"]);
    assert!(
        out.success(),
        "snippets in the guides or module READMEs are not valid, formatted HCL \
         (file names: <doc>-<n>.tf, n = index of the block):\n{out}"
    );
}

/// What the function pages say about Terraform before 1.8: a configuration
/// that calls a provider function does not parse (it is not ignored).
#[test]
fn provider_functions_do_not_parse_before_terraform_1_8() {
    let tf = tf_oldest();
    if tf.at_least(1, 8, 0) {
        return; // no such CLI under test (TF_HARNESS_VERSIONS)
    }
    let wd = Workdir::new(&tf);
    wd.write_main(
        "output \"admitted\" {\n  value = provider::openai::matches({ ref = \"refs/heads/main\" }, { ref = \"refs/heads/main\" })\n}\n",
    );
    wd.validate()
        .assert_failure()
        .assert_output_contains_words("Error: Missing newline after argument");
    let page = std::fs::read_to_string(Path::new(REPO).join("docs/functions/matches.md")).unwrap();
    assert!(
        page.contains("`Error: Missing newline after argument`"),
        "{page}"
    );
}
