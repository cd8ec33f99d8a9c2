//! The registry docs under docs/ match what `scripts/docs` generates from the
//! provider's schemas and examples, and their relative links resolve.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (this crate sits in tools/tfdocs).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
/// The folders tfdocs owns besides index.md.
const GENERATED_DIRS: [&str; 3] = ["resources", "data-sources", "ephemeral-resources"];

fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.map(|e| e.expect("reading a directory entry")) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out
}

#[test]
fn docs_match_the_schemas_and_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tfdocs"))
        .arg("--out")
        .arg(tmp.path())
        .current_dir(REPO)
        .output()
        .expect("running tfdocs");
    assert!(
        out.status.success(),
        "tfdocs failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let docs = Path::new(REPO).join("docs");
    let generated = files_under(tmp.path());
    assert!(
        generated.contains(Path::new("index.md")),
        "tfdocs wrote no index.md: {generated:?}"
    );
    let mut problems = Vec::new();
    for rel in &generated {
        let fresh = std::fs::read_to_string(tmp.path().join(rel)).unwrap();
        match std::fs::read_to_string(docs.join(rel)) {
            Ok(current) if current == fresh => {}
            Ok(_) => problems.push(format!("docs/{} is out of date", rel.display())),
            Err(_) => problems.push(format!("docs/{} is missing", rel.display())),
        }
    }
    for dir in GENERATED_DIRS {
        for rel in files_under(&docs.join(dir)) {
            let rel = Path::new(dir).join(rel);
            if !generated.contains(&rel) {
                problems.push(format!(
                    "docs/{} documents no registered object",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nRun `scripts/docs` (or `cargo run --bin tfdocs`) and commit docs/.",
        problems.join("\n")
    );
}

/// Relative links (`[x](other.md)`, `[x](../guides/y.md#anchor)`) between
/// pages, guides and examples point at files that exist.
#[test]
fn relative_links_in_docs_resolve() {
    let docs = Path::new(REPO).join("docs");
    let mut broken = Vec::new();
    for rel in files_under(&docs) {
        if rel.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let path = docs.join(&rel);
        let text = std::fs::read_to_string(&path).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let file = target.split('#').next().unwrap();
            if !path.parent().unwrap().join(file).exists() {
                broken.push(format!("docs/{}: {target}", rel.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The targets of inline markdown links, outside code blocks.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}
