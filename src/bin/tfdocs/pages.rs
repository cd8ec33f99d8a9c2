//! Assembles registry pages (`docs/index.md`, `docs/<kind>/<name>.md`) from
//! a provider's registered objects, the examples and optional templates.
//!
//! Page layout: front matter, title, schema description, `## Example Usage`
//! (the example files), the page's template (hand-written prose, if any),
//! `## Schema`, then `## Import` for resources with import examples.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use terraform_provider_openai::framework::{IdentitySchema, Provider, Schema};

use crate::schema_md;

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the hand-written inputs live.
pub struct Sources {
    pub examples: PathBuf,
    pub templates: PathBuf,
}

/// One generated file, relative to the docs directory.
pub struct Page {
    pub path: PathBuf,
    pub content: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Resource,
    DataSource,
    EphemeralResource,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Resource, Kind::DataSource, Kind::EphemeralResource];

    /// The folder under both `docs/` and `examples/`.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
            Kind::EphemeralResource => "ephemeral-resources",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::DataSource => "Data Source",
            Kind::EphemeralResource => "Ephemeral Resource",
        }
    }

    /// The example shown first; other `.tf` files follow alphabetically.
    fn main_example(self) -> &'static str {
        match self {
            Kind::Resource => "resource.tf",
            Kind::DataSource => "data-source.tf",
            Kind::EphemeralResource => "ephemeral-resource.tf",
        }
    }
}

/// What the docs need of one registered object.
struct Object {
    kind: Kind,
    type_name: String,
    schema: Schema,
    identity: Option<IdentitySchema>,
    list_schema: Option<Schema>,
}

fn objects<P: Provider>(provider: &P) -> Vec<Object> {
    let mut out = Vec::new();
    for r in provider.resources() {
        out.push(Object {
            kind: Kind::Resource,
            type_name: r.type_name().to_string(),
            schema: r.schema(),
            identity: r.identity_schema(),
            list_schema: r.supports_list().then(|| r.list_schema()),
        });
    }
    for d in provider.data_sources() {
        out.push(Object {
            kind: Kind::DataSource,
            type_name: d.type_name().to_string(),
            schema: d.schema(),
            identity: None,
            list_schema: None,
        });
    }
    for e in provider.ephemeral_resources() {
        out.push(Object {
            kind: Kind::EphemeralResource,
            type_name: e.type_name().to_string(),
            schema: e.schema(),
            identity: None,
            list_schema: None,
        });
    }
    out
}

/// Every page for `provider`; `display_name` titles the index ("OpenAI").
pub fn all<P: Provider>(
    provider: &P,
    display_name: &str,
    sources: &Sources,
) -> Result<Vec<Page>, DocsError> {
    let project = format!("terraform-provider-{}", provider.type_name());
    let prefix = format!("{}_", provider.type_name());
    let mut pages = vec![index(provider, display_name, sources)?];
    for object in objects(provider) {
        let short = object
            .type_name
            .strip_prefix(&prefix)
            .unwrap_or(&object.type_name);
        let path = PathBuf::from(object.kind.dir()).join(format!("{short}.md"));
        let content = object_page(&object, &project, &path, sources)?;
        pages.push(Page { path, content });
    }
    Ok(pages)
}

fn index<P: Provider>(
    provider: &P,
    display_name: &str,
    sources: &Sources,
) -> Result<Page, DocsError> {
    let schema = provider.schema();
    let path = PathBuf::from("index.md");
    let mut out = front_matter(&format!("{display_name} Provider"), &schema.description);
    let _ = write!(out, "# {display_name} Provider\n\n");
    push_paragraph(&mut out, &schema.description);
    let examples = example_files(&sources.examples.join("provider"), "provider.tf")?;
    push_examples(&mut out, &examples);
    push_template(&mut out, &sources.templates.join(&path))?;
    out.push_str("## Schema\n\n");
    match schema_md::attributes(&schema, "###") {
        Some(attrs) => push_paragraph(&mut out, &attrs),
        None => push_paragraph(&mut out, "The provider block takes no arguments."),
    }
    Ok(Page {
        path,
        content: finish(out),
    })
}

fn object_page(
    object: &Object,
    project: &str,
    path: &Path,
    sources: &Sources,
) -> Result<String, DocsError> {
    let title = format!("{} ({})", object.type_name, object.kind.label());
    let mut out = front_matter(
        &format!("{} {} - {project}", object.type_name, object.kind.label()),
        &object.schema.description,
    );
    let _ = write!(out, "# {title}\n\n");
    push_paragraph(&mut out, &object.schema.description);

    let dir = sources
        .examples
        .join(object.kind.dir())
        .join(&object.type_name);
    let examples = example_files(&dir, object.kind.main_example())?;
    push_examples(&mut out, &examples);
    push_template(&mut out, &sources.templates.join(path))?;

    out.push_str("## Schema\n\n");
    match schema_md::attributes(&object.schema, "###") {
        Some(attrs) => push_paragraph(&mut out, &attrs),
        None => push_paragraph(&mut out, "This object has no attributes."),
    }
    if let Some(ids) = object
        .identity
        .as_ref()
        .and_then(|i| schema_md::identity(i, "####"))
    {
        out.push_str("### Identity Schema\n\n");
        push_paragraph(
            &mut out,
            "The attributes that name one remote object, for `import` blocks with \
             `identity` (Terraform 1.12 and later) and `terraform query`.",
        );
        push_paragraph(&mut out, &ids);
    }
    if let Some(list) = &object.list_schema {
        out.push_str("## List Configuration\n\n");
        push_paragraph(
            &mut out,
            &format!(
                "`terraform query` (Terraform 1.14 and later) lists existing objects with a \
                 `list \"{}\"` block.",
                object.type_name
            ),
        );
        if let Some(attrs) = schema_md::attributes(list, "###") {
            push_paragraph(&mut out, &attrs);
        }
    }
    if object.kind == Kind::Resource {
        push_import(&mut out, &dir)?;
    }
    Ok(finish(out))
}

/// YAML front matter as the registry reads it.
fn front_matter(page_title: &str, description: &str) -> String {
    let mut out = format!("---\npage_title: {page_title:?}\nsubcategory: \"\"\ndescription: |-\n");
    for line in description.trim().lines() {
        let _ = writeln!(out, "  {}", line.trim());
    }
    out.push_str("---\n\n");
    out
}

fn push_paragraph(out: &mut String, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        out.push_str(text);
        out.push_str("\n\n");
    }
}

fn push_examples(out: &mut String, examples: &[(String, String)]) {
    if examples.is_empty() {
        return;
    }
    out.push_str("## Example Usage\n\n");
    for (_, body) in examples {
        let _ = write!(out, "```terraform\n{}\n```\n\n", body.trim_end());
    }
}

fn push_template(out: &mut String, path: &Path) -> Result<(), DocsError> {
    if let Some(text) = read_optional(path)? {
        push_paragraph(out, &text);
    }
    Ok(())
}

fn push_import(out: &mut String, dir: &Path) -> Result<(), DocsError> {
    let block = read_optional(&dir.join("import-by-block.tf"))?;
    let command = read_optional(&dir.join("import.sh"))?;
    if block.is_none() && command.is_none() {
        return Ok(());
    }
    out.push_str("## Import\n\n");
    if let Some(block) = block {
        push_paragraph(out, "With an `import` block (Terraform 1.5 and later):");
        let _ = write!(out, "```terraform\n{}\n```\n\n", block.trim_end());
    }
    if let Some(command) = command {
        push_paragraph(out, "With the `terraform import` command:");
        let _ = write!(out, "```shell\n{}\n```\n\n", command.trim_end());
    }
    Ok(())
}

/// The example `.tf` files of a folder: `main` first, then the rest by name.
/// Import examples belong to the Import section, not here.
fn example_files(dir: &Path, main: &str) -> Result<Vec<(String, String)>, DocsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(DocsError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tf") && !n.starts_with("import"))
        .collect();
    names.sort_by_key(|n| (n != main, n.clone()));
    names
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let body = std::fs::read_to_string(&path)
                .map_err(|source| DocsError::Read { path, source })?;
            Ok((name, body))
        })
        .collect()
}

fn read_optional(path: &Path) -> Result<Option<String>, DocsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DocsError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// One trailing newline, no trailing blank lines.
fn finish(mut out: String) -> String {
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}
