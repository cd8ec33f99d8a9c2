//! Logs in the shape Terraform expects from a provider: one hclog-style JSON
//! object per line on stderr (`docs/reference/plugin-protocol.md#log-lines`, `#log-levels`,
//! `#log-fields`), plus a panic hook whose `panic: ` line makes Terraform report a crash.
//!
//! Each line has `@level` (`trace`…`error`), `@message`, `@module`,
//! `@timestamp` (RFC 3339, UTC, exactly six fractional digits), `@caller`
//! (`file:line`) when known, then the fields of the event and of every
//! enclosing span (e.g. `tf_rpc`, `tf_req_id`, `tf_resource_type`), innermost
//! winning. Keys are sorted, as Go's encoder writes them.
//!
//! `@module` is `sdk.proto` for this crate (the protocol layers), the
//! provider's type name for the crates the provider names as its own (see
//! [`LogIdentity`]), and the crate name for dependencies (e.g. `h2`).
//!
//! Fields whose names look secret (see [`is_secret_field`]) are written as
//! `***`; secret wrapper types are expected to print `***` by themselves.
//! Message text is not inspected, so never format secrets into messages.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::sync::Once;

use serde_json::Value as JsonValue;
use time::OffsetDateTime;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The target prefix of this crate: its events are protocol-layer logs
/// (`@module` `sdk.proto`).
const PROTO_TARGET: &str = "tfplugin";
/// Level variable for the protocol layer, as in terraform-plugin-go.
pub const SDK_PROTO_LEVEL_VAR: &str = "TF_LOG_SDK_PROTO";

/// Which logs are the provider's own. terraform-plugin-log names the level
/// variable after the provider type name (`TF_LOG_PROVIDER_<NAME>`) and uses
/// that name as `@module`.
#[derive(Clone, Copy, Debug)]
pub struct LogIdentity {
    /// The provider type name, e.g. `example` for `example_thing` resources.
    pub name: &'static str,
    /// Target prefixes (crate names with `_`) whose events are the provider's.
    pub targets: &'static [&'static str],
}

impl LogIdentity {
    /// `TF_LOG_PROVIDER_<NAME>`, upper-cased.
    pub fn level_var(&self) -> String {
        format!("TF_LOG_PROVIDER_{}", self.name.to_ascii_uppercase())
    }

    /// The `@module` for an event target (see the module docs).
    pub fn module_for_target<'a>(&self, target: &'a str) -> &'a str {
        if within(target, PROTO_TARGET) {
            "sdk.proto"
        } else if self.targets.iter().any(|p| within(target, p)) {
            self.name
        } else {
            target.split("::").next().unwrap_or(target)
        }
    }
}

/// Whether `target` is `prefix` or a module below it.
fn within(target: &str, prefix: &str) -> bool {
    target == prefix
        || target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::"))
}

/// Sets up logging for the provider binary: the hclog JSON layer on stderr,
/// filtered by [`filter_from_env`], `log`-crate records routed into it, and
/// the panic hook. Safe to call more than once; if another global subscriber
/// is already installed, that one is kept.
pub fn init(identity: LogIdentity) {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        install_panic_hook();
        let _already_set = tracing_subscriber::registry()
            .with(layer(std::io::stderr, identity).with_filter(filter_from_env(identity)))
            .try_init();
    });
}

/// The level filter from the environment: [`LogIdentity::level_var`] for the
/// provider's own crates, [`SDK_PROTO_LEVEL_VAR`] for the protocol layer;
/// unset means TRACE (Terraform filters again on its side). Dependencies log
/// at WARN and above (or less, if the provider level is stricter).
pub fn filter_from_env(identity: LogIdentity) -> Targets {
    let provider = std::env::var(identity.level_var()).ok();
    let sdk = std::env::var(SDK_PROTO_LEVEL_VAR).ok();
    filter(identity, provider.as_deref(), sdk.as_deref())
}

/// [`filter_from_env`] with the variables' values passed in.
pub fn filter(
    identity: LogIdentity,
    provider_level: Option<&str>,
    sdk_proto_level: Option<&str>,
) -> Targets {
    let provider = parse_level(provider_level);
    let sdk = parse_level(sdk_proto_level);
    Targets::new()
        .with_default(provider.min(LevelFilter::WARN))
        .with_targets(identity.targets.iter().map(|t| (*t, provider)))
        .with_target(PROTO_TARGET, sdk)
}

/// Reads a Terraform-style level name. Unset or empty means TRACE; so does an
/// unrecognised value, as Terraform itself treats one.
pub fn parse_level(value: Option<&str>) -> LevelFilter {
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        None | Some("" | "TRACE" | "JSON") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("INFO") => LevelFilter::INFO,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") => LevelFilter::ERROR,
        Some("OFF") => LevelFilter::OFF,
        Some(_) => LevelFilter::TRACE,
    }
}

/// The hclog JSON layer writing to `writer` (e.g. `std::io::stderr`, or a
/// buffer in tests). It does no filtering of its own.
pub fn layer<W>(writer: W, identity: LogIdentity) -> HclogLayer<W>
where
    W: for<'a> MakeWriter<'a> + 'static,
{
    HclogLayer { writer, identity }
}

/// See [`layer`].
pub struct HclogLayer<W> {
    writer: W,
    identity: LogIdentity,
}

/// Whether a field with this name must be written as `***`: names containing
/// `authorization`, `token`, `secret`, `password`, `passwd`, `api_key`,
/// `apikey`, `private_key` or `cookie` (any case). `tf_req_id` is never secret.
pub fn is_secret_field(name: &str) -> bool {
    const MARKERS: [&str; 9] = [
        "authorization",
        "token",
        "secret",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "private_key",
        "cookie",
    ];
    let name = name.to_ascii_lowercase();
    name != "tf_req_id" && MARKERS.iter().any(|m| name.contains(m))
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `2026-01-02T15:04:05.123456Z`: the only layout go-plugin accepts.
fn timestamp(now: OffsetDateTime) -> String {
    let layout =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    now.format(&layout).expect("a UTC timestamp always formats")
}

/// Fields recorded on a span, kept in its extensions.
#[derive(Default)]
struct SpanFields(BTreeMap<String, JsonValue>);

/// Records tracing fields as JSON values, redacting secret-looking names.
struct FieldVisitor<'a>(&'a mut BTreeMap<String, JsonValue>);

impl FieldVisitor<'_> {
    fn put(&mut self, field: &Field, value: JsonValue) {
        let name = field.name();
        let value = if is_secret_field(name) {
            JsonValue::from("***")
        } else {
            value
        };
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, JsonValue::from(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, JsonValue::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, JsonValue::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, JsonValue::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let json = serde_json::Number::from_f64(value)
            .map_or_else(|| JsonValue::from(value.to_string()), JsonValue::Number);
        self.put(field, json);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, JsonValue::from(value));
    }

    /// Errors as their message followed by their causes, as hclog renders them.
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put(field, JsonValue::from(text));
    }
}

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut FieldVisitor(&mut fields.0));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<SpanFields>() {
            values.record(&mut FieldVisitor(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = BTreeMap::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.0.clone());
                }
            }
        }
        let mut fields = BTreeMap::new();
        event.record(&mut FieldVisitor(&mut fields));
        let message = match fields.remove("message") {
            Some(JsonValue::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        line.extend(fields);

        let meta = event.metadata();
        // go-plugin requires @level and @message to be strings, always present.
        line.insert("@level".into(), level_name(meta.level()).into());
        line.insert("@message".into(), message.into());
        line.insert(
            "@module".into(),
            self.identity.module_for_target(meta.target()).into(),
        );
        line.insert(
            "@timestamp".into(),
            timestamp(OffsetDateTime::now_utc()).into(),
        );
        if let (Some(file), Some(number)) = (meta.file(), meta.line()) {
            line.insert("@caller".into(), format!("{file}:{number}").into());
        }

        let mut text = serde_json::to_string(&line).expect("JSON values always serialise");
        text.push('\n');
        // One write per line so concurrent lines do not interleave; a failed
        // write to stderr has nowhere to be reported.
        let _ = self.writer.make_writer_for(meta).write_all(text.as_bytes());
    }
}

/// Installs (once) a panic hook that first writes `panic: <message> at
/// <file:line:col>` to stderr, which Terraform takes as the start of crash
/// output, then runs the previous hook (Rust's usual report and backtrace).
/// It does not change whether a panic aborts the process.
pub fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let line = panic_line(
                panic_message(info.payload()),
                info.location().map(|l| (l.file(), l.line(), l.column())),
            );
            let _ = writeln!(std::io::stderr(), "{line}");
            previous(info);
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

/// The crash line Terraform recognises (it must begin with `panic: `).
fn panic_line(message: &str, location: Option<(&str, u32, u32)>) -> String {
    match location {
        Some((file, line, column)) => format!("panic: {message} at {file}:{line}:{column}"),
        None => format!("panic: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// The provider these tests pretend to be.
    const TEST: LogIdentity = LogIdentity {
        name: "example",
        targets: &["terraform_provider_example", "example_client"],
    };

    /// A secret wrapper as providers write them: prints `***`.
    struct Secret(&'static str);

    impl Secret {
        fn new(value: &'static str) -> Self {
            Secret(value)
        }
    }

    impl fmt::Display for Secret {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let _ = self.0;
            f.write_str("***")
        }
    }
    use tracing::{debug, error, info, info_span, trace, warn};
    use tracing_subscriber::registry::Registry;

    /// A MakeWriter collecting everything written into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// Runs `f` with the layer as the thread's subscriber; returns the lines as JSON.
    fn capture(f: impl FnOnce()) -> Vec<serde_json::Map<String, JsonValue>> {
        let buffer = Buffer::default();
        let subscriber = Registry::default().with(layer(buffer.clone(), TEST));
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "lines end in newline"
        );
        text.lines()
            .map(|line| match serde_json::from_str(line) {
                Ok(JsonValue::Object(map)) => map,
                other => panic!("not a JSON object line: {line:?} ({other:?})"),
            })
            .collect()
    }

    /// `2026-01-02T15:04:05.123456Z`, checked character by character.
    fn is_hclog_timestamp(s: &str) -> bool {
        let pattern = "dddd-dd-ddTdd:dd:dd.ddddddZ";
        s.len() == pattern.len()
            && s.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
                b'd' => c.is_ascii_digit(),
                _ => c == p,
            })
    }

    #[test]
    fn lines_have_the_hclog_shape() {
        let lines = capture(|| {
            info!(
                target: "terraform_provider_example::widgets",
                count = 3,
                ok = true,
                ratio = 0.5,
                "created {}",
                "widget"
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["@level"], "info");
        assert_eq!(line["@message"], "created widget");
        assert_eq!(line["@module"], "example");
        assert_eq!(line["count"], 3);
        assert_eq!(line["ok"], true);
        assert_eq!(line["ratio"], 0.5);
        let ts = line["@timestamp"].as_str().unwrap();
        assert!(is_hclog_timestamp(ts), "bad timestamp {ts}");
        let caller = line["@caller"].as_str().unwrap();
        assert!(caller.contains("src/logging.rs:"), "{caller}");
        assert!(!line.contains_key("message"));
    }

    #[test]
    fn keys_are_sorted_and_one_object_per_line() {
        let buffer = Buffer::default();
        let subscriber = Registry::default().with(layer(buffer.clone(), TEST));
        tracing::subscriber::with_default(subscriber, || {
            info!(zeta = 1, alpha = 2, "first");
            info!("second\nwith newline");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(r#"{"@caller":"#), "{}", lines[0]);
        let alpha = lines[0].find("\"alpha\"").unwrap();
        let zeta = lines[0].find("\"zeta\"").unwrap();
        assert!(lines[0].find("\"@timestamp\"").unwrap() < alpha && alpha < zeta);
        assert!(lines[1].contains(r#""@message":"second\nwith newline""#));
    }

    #[test]
    fn level_names() {
        let lines = capture(|| {
            trace!("t");
            debug!("d");
            info!("i");
            warn!("w");
            error!("e");
        });
        let levels: Vec<&str> = lines
            .iter()
            .map(|l| l["@level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["trace", "debug", "info", "warn", "error"]);
    }

    #[test]
    fn secrets_are_redacted() {
        let lines = capture(|| {
            info!(
                admin_api_key = "sk-admin-1",
                authorization = %"Bearer abc",
                access_token = "at-value",
                subject_token = ?"jwt-value",
                client_secret = 7,
                password = true,
                tf_req_id = "req-1",
                key = %Secret::new("hidden"),
                project_id = "proj_1",
                "request"
            );
        });
        let line = &lines[0];
        for name in [
            "admin_api_key",
            "authorization",
            "access_token",
            "subject_token",
            "client_secret",
            "password",
            "key",
        ] {
            assert_eq!(line[name], "***", "{name}");
        }
        assert_eq!(line["tf_req_id"], "req-1");
        assert_eq!(line["project_id"], "proj_1");
        let text = serde_json::to_string(line).unwrap();
        for secret in ["sk-admin-1", "Bearer", "at-value", "jwt-value", "hidden"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn span_fields_are_attached_innermost_first() {
        let lines = capture(|| {
            let rpc = info_span!(
                "rpc",
                tf_rpc = "ApplyResourceChange",
                tf_req_id = "r1",
                tf_resource_type = tracing::field::Empty,
                access_token = "t"
            );
            let _rpc = rpc.enter();
            rpc.record("tf_resource_type", "example_widget");
            let inner = info_span!("inner", tf_rpc = "Overridden", step = 2);
            let _inner = inner.enter();
            info!(step = 3, "applied");
        });
        let line = &lines[0];
        assert_eq!(line["tf_rpc"], "Overridden");
        assert_eq!(line["tf_req_id"], "r1");
        assert_eq!(line["tf_resource_type"], "example_widget");
        assert_eq!(line["access_token"], "***");
        assert_eq!(line["step"], 3);
    }

    #[test]
    fn errors_render_with_their_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("request failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Outer(std::io::Error::other("connection reset"));
        let lines = capture(|| {
            error!(
                error = &err as &(dyn std::error::Error + 'static),
                "call failed"
            );
        });
        assert_eq!(lines[0]["error"], "request failed: connection reset");
    }

    #[test]
    fn modules_by_target() {
        assert_eq!(
            TEST.module_for_target("tfplugin::plugin::grpc"),
            "sdk.proto"
        );
        assert_eq!(TEST.module_for_target("tfplugin::framework"), "sdk.proto");
        assert_eq!(
            TEST.module_for_target("terraform_provider_example::resources"),
            "example"
        );
        assert_eq!(TEST.module_for_target("example_client::retry"), "example");
        assert_eq!(
            TEST.module_for_target("terraform_provider_example"),
            "example"
        );
        assert_eq!(TEST.module_for_target("tfpluginx"), "tfpluginx");
        assert_eq!(TEST.module_for_target("h2::proto"), "h2");
        assert_eq!(TEST.level_var(), "TF_LOG_PROVIDER_EXAMPLE");
        let lines = capture(|| {
            info!(target: "tfplugin::plugin::server", "Received request");
        });
        assert_eq!(lines[0]["@module"], "sdk.proto");
    }

    #[test]
    fn level_filter_from_variables() {
        let everything = filter(TEST, None, None);
        assert!(everything.would_enable("terraform_provider_example::x", &Level::TRACE));
        assert!(everything.would_enable("tfplugin::plugin", &Level::TRACE));
        assert!(!everything.would_enable("h2::codec", &Level::INFO));
        assert!(everything.would_enable("h2::codec", &Level::WARN));

        let f = filter(TEST, Some("info"), Some("ERROR"));
        assert!(f.would_enable("terraform_provider_example::x", &Level::INFO));
        assert!(f.would_enable("example_client", &Level::INFO));
        assert!(!f.would_enable("terraform_provider_example::x", &Level::DEBUG));
        assert!(f.would_enable("tfplugin::framework::plan", &Level::ERROR));
        assert!(!f.would_enable("tfplugin::framework::plan", &Level::WARN));

        let off = filter(TEST, Some("OFF"), Some("off"));
        assert!(!off.would_enable("terraform_provider_example", &Level::ERROR));
        assert!(!off.would_enable("tonic", &Level::ERROR));

        assert_eq!(parse_level(Some("bogus")), LevelFilter::TRACE);
        assert_eq!(parse_level(Some(" Warn ")), LevelFilter::WARN);
        assert_eq!(parse_level(Some("")), LevelFilter::TRACE);
    }

    #[test]
    fn secret_field_names() {
        for name in [
            "Authorization",
            "admin_api_key",
            "id_token",
            "secret",
            "db_password",
            "apikey",
        ] {
            assert!(is_secret_field(name), "{name}");
        }
        for name in ["tf_req_id", "tf_rpc", "project_id", "issuer", "key"] {
            assert!(!is_secret_field(name), "{name}");
        }
    }

    #[test]
    fn panic_line_starts_with_the_go_prefix() {
        assert_eq!(
            panic_line("boom", Some(("src/main.rs", 3, 9))),
            "panic: boom at src/main.rs:3:9"
        );
        assert_eq!(panic_line("boom", None), "panic: boom");
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_message(payload.as_ref()), "owned");
        let payload: Box<dyn std::any::Any + Send> = Box::new("static");
        assert_eq!(panic_message(payload.as_ref()), "static");
        let payload: Box<dyn std::any::Any + Send> = Box::new(42);
        assert_eq!(
            panic_message(payload.as_ref()),
            "(non-string panic payload)"
        );
    }

    #[test]
    fn timestamps_have_six_fraction_digits() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_767_366_245_123_456_789).unwrap();
        assert_eq!(timestamp(t), "2026-01-02T15:04:05.123456Z");
        let whole = OffsetDateTime::from_unix_timestamp(1_767_366_245).unwrap();
        assert_eq!(timestamp(whole), "2026-01-02T15:04:05.000000Z");
    }
}
