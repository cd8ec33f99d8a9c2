//! Assembles registry pages (`docs/index.md`, `docs/<kind>/<name>.md`) from
//! a provider's registered objects, the examples and optional templates.
//!
//! Page layout: front matter, title, schema description, `## Example Usage`
//! (the example files), the page's template (hand-written prose, if any),
//! `## Schema`, then `## Import` for resources with import examples.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tfplugin::framework::{IdentitySchema, Mode, Provider, Schema};

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
    Action,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Resource,
        Kind::DataSource,
        Kind::EphemeralResource,
        Kind::Action,
    ];

    /// The folder under both `docs/` and `examples/`.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
            Kind::EphemeralResource => "ephemeral-resources",
            Kind::Action => "actions",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::DataSource => "Data Source",
            Kind::EphemeralResource => "Ephemeral Resource",
            Kind::Action => "Action",
        }
    }

    /// The example shown first; other `.tf` files follow alphabetically.
    fn main_example(self) -> &'static str {
        match self {
            Kind::Resource => "resource.tf",
            Kind::DataSource => "data-source.tf",
            Kind::EphemeralResource => "ephemeral-resource.tf",
            Kind::Action => "action.tf",
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
    for a in provider.actions() {
        out.push(Object {
            kind: Kind::Action,
            type_name: a.type_name().to_string(),
            schema: a.schema(),
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
    for function in provider.functions() {
        let path = PathBuf::from(FUNCTIONS_DIR).join(format!("{}.md", function.name()));
        let content = function_page(
            provider.type_name(),
            function.as_ref(),
            &project,
            &path,
            sources,
        )?;
        pages.push(Page { path, content });
    }
    Ok(pages)
}

/// The folder of function pages under `docs/`, and of their examples under `examples/`
/// (`examples/functions/<name>/function.tf`).
pub const FUNCTIONS_DIR: &str = "functions";

fn function_page(
    provider_name: &str,
    function: &dyn tfplugin::framework::Function,
    project: &str,
    path: &Path,
    sources: &Sources,
) -> Result<String, DocsError> {
    let name = function.name();
    let sig = function.signature();
    let mut out = front_matter(&format!("{name} function - {project}"), sig.summary);
    let _ = write!(out, "# function: {name}\n\n");
    push_paragraph(&mut out, sig.summary);
    push_paragraph(&mut out, sig.description);
    push_paragraph(
        &mut out,
        "Provider-defined functions need Terraform 1.8 or later: older versions cannot parse a configuration that calls one (`Error: Missing newline after argument`).",
    );
    let examples = example_files(
        &sources.examples.join(FUNCTIONS_DIR).join(name),
        "function.tf",
    )?;
    push_examples(&mut out, &examples);
    push_template(&mut out, &sources.templates.join(path))?;
    out.push_str("## Signature\n\n");
    let params: Vec<String> = sig
        .parameters
        .iter()
        .map(|p| format!("{} {}", p.name, schema_md::type_name(&p.ty)))
        .collect();
    let _ = write!(
        out,
        "```text\nprovider::{provider_name}::{name}({}) {}\n```\n\n",
        params.join(", "),
        schema_md::type_name(&sig.returns)
    );
    out.push_str("## Arguments\n\n");
    for (i, p) in sig.parameters.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. `{}` ({}{}) {}",
            i + 1,
            p.name,
            schema_md::type_name(&p.ty),
            if p.allow_null { ", may be null" } else { "" },
            p.description
        );
    }
    out.push('\n');
    let _ = write!(
        out,
        "## Return Type\n\n{}\n",
        schema_md::type_name(&sig.returns)
    );
    Ok(finish(out))
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
    if object.kind == Kind::Resource
        && object
            .schema
            .attributes
            .iter()
            .any(|a| !a.is_computed() || a.mode == Mode::OptionalComputed)
        && !object.schema.attributes.iter().any(|a| a.requires_replace)
    {
        push_paragraph(
            &mut out,
            "Every argument can be changed in place; none forces a replacement.",
        );
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
             `identity` (Terraform 1.12 and later).",
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

#[cfg(test)]
mod tests {
    //! A made-up provider with one object of each kind: pages are laid out
    //! by kind and name, whatever the provider registers.

    use async_trait::async_trait;
    use tfplugin::codec::Type;
    use tfplugin::framework::{
        Action, Attribute, ConfigureRequest, ConfigureResponse, CreateRequest, CreateResponse,
        DataSource, DeleteRequest, DeleteResponse, Diagnostic, Diagnostics, EphemeralResource,
        InvokeActionRequest, InvokeActionResponse, OpenRequest, OpenResponse, Progress,
        ReadDataSourceRequest, ReadDataSourceResponse, ReadRequest, ReadResponse, Resource,
        UpdateRequest, UpdateResponse,
    };

    use super::*;

    fn unused<T>() -> Result<T, Diagnostics> {
        Err(Diagnostic::error("unused", "docs never call this").into())
    }

    struct Thing;
    #[async_trait]
    impl Resource<()> for Thing {
        fn type_name(&self) -> &'static str {
            "fake_thing"
        }
        fn schema(&self) -> Schema {
            Schema::new("A thing.").attribute(Attribute::computed("id", Type::String))
        }
        async fn create(&self, _: &(), _: CreateRequest) -> Result<CreateResponse, Diagnostics> {
            unused()
        }
        async fn read(&self, _: &(), _: ReadRequest) -> Result<ReadResponse, Diagnostics> {
            unused()
        }
        async fn update(&self, _: &(), _: UpdateRequest) -> Result<UpdateResponse, Diagnostics> {
            unused()
        }
        async fn delete(&self, _: &(), _: DeleteRequest) -> Result<DeleteResponse, Diagnostics> {
            unused()
        }
    }

    struct Lookup;
    #[async_trait]
    impl DataSource<()> for Lookup {
        fn type_name(&self) -> &'static str {
            "fake_lookup"
        }
        fn schema(&self) -> Schema {
            Schema::new("Looks a thing up.")
                .attribute(Attribute::required("name", Type::String).description("Its name."))
        }
        async fn read(
            &self,
            _: &(),
            _: ReadDataSourceRequest,
        ) -> Result<ReadDataSourceResponse, Diagnostics> {
            unused()
        }
    }

    struct Token;
    #[async_trait]
    impl EphemeralResource<()> for Token {
        fn type_name(&self) -> &'static str {
            "fake_token"
        }
        fn schema(&self) -> Schema {
            Schema::new("A short-lived token.").attribute(
                Attribute::computed("value", Type::String)
                    .sensitive()
                    .description("The token."),
            )
        }
        async fn open(&self, _: &(), _: OpenRequest) -> Result<OpenResponse, Diagnostics> {
            unused()
        }
    }

    struct Check;
    #[async_trait]
    impl Action<()> for Check {
        fn type_name(&self) -> &'static str {
            "fake_check"
        }
        fn schema(&self) -> Schema {
            Schema::new("Checks something.").attribute(
                Attribute::required("target", Type::String).description("What to check."),
            )
        }
        async fn invoke(
            &self,
            _: &(),
            _: InvokeActionRequest,
            _: Progress,
        ) -> Result<InvokeActionResponse, Diagnostics> {
            unused()
        }
    }

    struct Fake;
    #[async_trait]
    impl Provider for Fake {
        type Data = ();
        fn type_name(&self) -> &'static str {
            "fake"
        }
        fn schema(&self) -> Schema {
            Schema::new("The fake provider.")
        }
        async fn configure(&self, _: ConfigureRequest, resp: &mut ConfigureResponse<()>) {
            resp.data = Some(());
        }
        fn resources(&self) -> Vec<Box<dyn Resource<()>>> {
            vec![Box::new(Thing)]
        }
        fn data_sources(&self) -> Vec<Box<dyn DataSource<()>>> {
            vec![Box::new(Lookup)]
        }
        fn ephemeral_resources(&self) -> Vec<Box<dyn EphemeralResource<()>>> {
            vec![Box::new(Token)]
        }
        fn actions(&self) -> Vec<Box<dyn Action<()>>> {
            vec![Box::new(Check)]
        }
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn every_kind_gets_its_page_with_examples_and_templates() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            root,
            "examples/provider/provider.tf",
            "provider \"fake\" {}\n",
        );
        write(
            root,
            "examples/resources/fake_thing/resource.tf",
            "# thing\n",
        );
        write(
            root,
            "examples/resources/fake_thing/import.sh",
            "terraform import fake_thing.x 1\n",
        );
        write(
            root,
            "examples/data-sources/fake_lookup/zz-more.tf",
            "# second\n",
        );
        write(
            root,
            "examples/data-sources/fake_lookup/data-source.tf",
            "# first\n",
        );
        write(
            root,
            "examples/ephemeral-resources/fake_token/ephemeral-resource.tf",
            "# token\n",
        );
        write(
            root,
            "templates/data-sources/lookup.md",
            "Hand-written note.\n",
        );
        let sources = Sources {
            examples: root.join("examples"),
            templates: root.join("templates"),
        };

        let pages = all(&Fake, "Fake", &sources).unwrap();
        let paths: Vec<String> = pages.iter().map(|p| p.path.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "index.md",
                "resources/thing.md",
                "data-sources/lookup.md",
                "ephemeral-resources/token.md",
                "actions/check.md"
            ]
        );
        let page = |i: usize| pages[i].content.as_str();

        assert!(page(0).starts_with("---\npage_title: \"Fake Provider\"\n"));
        assert!(page(0).contains("```terraform\nprovider \"fake\" {}\n```"));
        assert!(page(0).contains("The provider block takes no arguments."));

        assert!(page(1).contains("# fake_thing (Resource)"));
        assert!(page(1).contains("## Import\n\nWith the `terraform import` command:"));

        let lookup = page(2);
        assert!(
            lookup.contains("page_title: \"fake_lookup Data Source - terraform-provider-fake\"")
        );
        let first = lookup.find("# first").unwrap();
        let second = lookup.find("# second").unwrap();
        let note = lookup.find("Hand-written note.").unwrap();
        let schema = lookup.find("## Schema").unwrap();
        assert!(first < second && second < note && note < schema, "{lookup}");
        assert!(lookup.contains("- `name` (String) Its name."));
        assert!(!lookup.contains("## Import"));

        let check = page(4);
        assert!(check.contains("# fake_check (Action)"), "{check}");
        assert!(
            check.contains("- `target` (String) What to check."),
            "{check}"
        );

        let token = page(3);
        assert!(token.contains("# fake_token (Ephemeral Resource)"));
        assert!(token.contains("```terraform\n# token\n```"));
        assert!(token.contains("### Read-Only\n\n- `value` (String, Sensitive) The token."));
    }

    #[test]
    fn objects_without_examples_still_get_a_page() {
        let tmp = tempfile::tempdir().unwrap();
        let sources = Sources {
            examples: tmp.path().join("examples"),
            templates: tmp.path().join("templates"),
        };
        let pages = all(&Fake, "Fake", &sources).unwrap();
        assert_eq!(pages.len(), 5);
        assert!(
            pages
                .iter()
                .all(|p| !p.content.contains("## Example Usage"))
        );
    }
}
