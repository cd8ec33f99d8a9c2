//! `tfdocs`: writes the Terraform Registry pages under `docs/` from the
//! provider's own schemas, the examples under `examples/` and the optional
//! hand-written prose under `templates/`. Run it as `scripts/docs`.
//!
//! Generated: `index.md` and every page under `resources/`, `data-sources/`,
//! `ephemeral-resources/` and `functions/` (pages of objects no longer registered are
//! removed). Everything else under `docs/` (the guides) is left alone.

mod pages;
mod schema_md;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use terraform_provider_openai::OpenAiProvider;

use pages::{Kind, Page, Sources};

#[derive(Parser)]
#[command(about = "Generate the Terraform Registry docs from the provider's schemas")]
struct Args {
    /// Where to write the pages.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
    /// The registry-layout examples (`provider/`, `resources/<type>/`, ...).
    #[arg(long, default_value = "examples")]
    examples: PathBuf,
    /// Optional prose inserted before each page's Schema section, at the
    /// page's own relative path (e.g. `templates/resources/<name>.md`).
    #[arg(long, default_value = "templates")]
    templates: PathBuf,
}

#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let sources = Sources {
        examples: args.examples,
        templates: args.templates,
    };
    let pages = match pages::all(&OpenAiProvider, "OpenAI", &sources) {
        Ok(pages) => pages,
        Err(e) => {
            eprintln!("tfdocs: {e}. Run it from the repository root (scripts/docs does).");
            return ExitCode::FAILURE;
        }
    };
    match write_all(&args.out, &pages) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tfdocs: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes changed pages and removes stale generated ones; returns a summary.
fn write_all(out: &Path, pages: &[Page]) -> Result<String, WriteError> {
    let wrap = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError::Write { path, source }
    };
    let mut written = 0;
    for page in pages {
        let path = out.join(&page.path);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(page.content.as_str()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(wrap(parent))?;
        }
        std::fs::write(&path, &page.content).map_err(wrap(&path))?;
        println!("wrote {}", path.display());
        written += 1;
    }
    let keep: BTreeSet<PathBuf> = pages.iter().map(|p| out.join(&p.path)).collect();
    let mut removed = 0;
    let dirs = Kind::ALL
        .iter()
        .map(|k| k.dir())
        .chain([pages::FUNCTIONS_DIR]);
    for dir in dirs {
        let dir = out.join(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "md") && !keep.contains(&path) {
                std::fs::remove_file(&path).map_err(wrap(&path))?;
                println!("removed {}", path.display());
                removed += 1;
            }
        }
    }
    Ok(format!(
        "tfdocs: {} pages, {written} written, {removed} removed",
        pages.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pages_and_removes_only_stale_generated_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        for rel in ["resources/gone.md", "guides/keep.md", "resources/notes.txt"] {
            std::fs::create_dir_all(out.join(rel).parent().unwrap()).unwrap();
            std::fs::write(out.join(rel), "old").unwrap();
        }
        let pages = [
            Page {
                path: "index.md".into(),
                content: "index\n".into(),
            },
            Page {
                path: "data-sources/lookup.md".into(),
                content: "lookup\n".into(),
            },
        ];
        let summary = write_all(out, &pages).unwrap();
        assert_eq!(summary, "tfdocs: 2 pages, 2 written, 1 removed");
        assert!(!out.join("resources/gone.md").exists());
        assert!(out.join("guides/keep.md").exists());
        assert!(out.join("resources/notes.txt").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("data-sources/lookup.md")).unwrap(),
            "lookup\n"
        );
        // Unchanged pages are not rewritten.
        let again = write_all(out, &pages).unwrap();
        assert_eq!(again, "tfdocs: 2 pages, 0 written, 0 removed");
    }
}
