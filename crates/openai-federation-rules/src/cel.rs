//! Attribute transformations: CEL expressions over the verified claims
//! (`docs/reference/openai-api.md#attribute-transformations`), evaluated with the
//! maintained `cel` crate (cel-rust).
//!
//! OpenAI's rules on top of CEL: the only variable is `assertion` (the claims), and a result
//! must be a scalar (string, bool, integer or finite number), compared as text.
//!
//! Hostile input: `cel` parses with a generated recursive-descent parser, builds its tree
//! recursively and evaluates recursively, so a deeply nested expression could overflow the
//! stack in any of the three. [`Expression::parse`] therefore measures nesting and chain
//! length on the raw text *before* handing it to `cel`, and refuses what goes past
//! [`MAX_NESTING`] or [`MAX_OPERATORS`]. Both bounds are far above any real transformation
//! and far below what overflows a 2 MiB thread stack in a debug build (tested). The text is
//! at most [`MAX_TRANSFORMATION_EXPRESSION_LEN`] characters, as the API allows.
//!
//! Cost: `cel` has no evaluation budget, and a comprehension inside another one's body
//! (`assertion.g.map(a, assertion.g.map(b, ...))`) costs the product of the lists' lengths.
//! So [`Expression::parse`] refuses a comprehension, or an `in` over a non-literal list,
//! inside the body of a comprehension: what is left costs at most the operator count times
//! the longest list. And [`Expression::evaluate`] refuses claims larger than
//! [`MAX_CLAIM_LIST_ITEMS`], [`MAX_CLAIM_STRING_BYTES`] or [`MAX_CLAIM_VALUES`], which bounds
//! the lists. (The emulator also evaluates off its async workers, with a deadline.)

use std::collections::HashMap;
use std::fmt;

use cel::Value;
use cel::common::ast::{EntryExpr, Expr, operators};
use cel::parser::Parser;
pub use openai_admin::models::MAX_TRANSFORMATION_EXPRESSION_LEN;
use serde_json::Value as Json;

/// The one variable in scope.
pub const VARIABLE: &str = "assertion";

/// Deepest bracket nesting (`(`, `[`, `{`) plus conditional operators (`?`, which the grammar
/// nests to the right) allowed in one expression.
pub const MAX_NESTING: usize = 32;

/// Most operators and member accesses allowed in one expression: each adds a level to the
/// tree that `cel` builds and evaluates recursively.
pub const MAX_OPERATORS: usize = 128;

/// Longest list in the claims a transformation is evaluated on. Group claims, the longest
/// real ones, stay in the low hundreds (Entra ID sends at most 200 before its overage claim).
pub const MAX_CLAIM_LIST_ITEMS: usize = 1000;

/// Longest string in the claims a transformation is evaluated on.
pub const MAX_CLAIM_STRING_BYTES: usize = 8 * 1024;

/// Most values (scalars, lists and maps, nested ones included) in the claims a
/// transformation is evaluated on.
pub const MAX_CLAIM_VALUES: usize = 10_000;

/// Why an expression cannot be used: it does not parse (or is refused before parsing), or it
/// failed for these claims.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CelError {
    /// The text is not a usable expression; found without any claims (at plan time).
    #[error("{0}")]
    Invalid(String),
    /// The expression parsed but failed for these claims, or gave a non-scalar.
    #[error("{0}")]
    Evaluation(String),
}

/// A parsed transformation expression.
pub struct Expression {
    expr: cel::parser::Expression,
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expression").finish_non_exhaustive()
    }
}

/// Nesting and operator counts of `src`, read lexically (string literals skipped).
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    nesting: usize,
    operators: usize,
}

fn shape(src: &str) -> Shape {
    let bytes = src.as_bytes();
    let mut out = Shape::default();
    let mut depth = 0usize;
    let mut conditionals = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            // A comment runs to the end of the line; a quote in it opens no string.
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                // Raw strings (r"..") have no escapes; the prefix letter was skipped already.
                let raw = i > 0 && matches!(bytes[i - 1], b'r' | b'R');
                let triple = bytes.get(i..i + 3) == Some(&[c, c, c][..]);
                let quote_len = if triple { 3 } else { 1 };
                i += quote_len;
                while i < bytes.len() {
                    if !raw && bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if bytes[i] == c && (!triple || bytes.get(i..i + 3) == Some(&[c, c, c][..])) {
                        i += quote_len;
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                out.operators += 1;
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'?' => {
                conditionals += 1;
                out.operators += 1;
            }
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => out.operators += 1,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'!' | b'<' | b'>' | b'=' | b'&' | b'|' => {
                out.operators += 1;
                // Two-character operators count once.
                if matches!(
                    bytes.get(i..i + 2),
                    Some(b"==" | b"!=" | b"<=" | b">=" | b"&&" | b"||")
                ) {
                    i += 1;
                }
            }
            _ => {}
        }
        out.nesting = out.nesting.max(depth + conditionals);
        i += 1;
    }
    out
}

impl Expression {
    /// Parses `src`, refusing hostile nesting before `cel` sees it, and any variable other
    /// than `assertion`.
    pub fn parse(src: &str) -> Result<Expression, CelError> {
        if src.trim().is_empty() {
            return Err(CelError::Invalid("the expression is empty".into()));
        }
        let chars = src.chars().count();
        if chars > MAX_TRANSFORMATION_EXPRESSION_LEN {
            return Err(CelError::Invalid(format!(
                "the expression is {chars} characters long; at most \
                 {MAX_TRANSFORMATION_EXPRESSION_LEN} are allowed"
            )));
        }
        let Shape { nesting, operators } = shape(src);
        if nesting > MAX_NESTING {
            return Err(CelError::Invalid(format!(
                "the expression nests {nesting} levels deep; at most {MAX_NESTING} are allowed"
            )));
        }
        if operators > MAX_OPERATORS {
            return Err(CelError::Invalid(format!(
                "the expression has {operators} operators; at most {MAX_OPERATORS} are allowed"
            )));
        }
        // A panic in the parser (it has had one on malformed input, see the
        // workspace's Cargo.toml) refuses the expression instead of taking
        // the emulator's request or the provider's RPC down with it.
        let parsed = std::panic::catch_unwind(|| {
            Parser::new()
                .max_recursion_depth(MAX_NESTING as u16)
                .parse(src)
        })
        .map_err(|_| CelError::Invalid("not valid CEL: the parser could not read it".into()))?;
        let expr =
            parsed.map_err(|e| CelError::Invalid(format!("not valid CEL: {}", one_line(&e))))?;
        let references = expr.references();
        let unknown: Vec<&str> = references
            .variables()
            .into_iter()
            .filter(|v| *v != VARIABLE && !bound_by_macro(src, v))
            .collect();
        if let Some(first) = unknown.first() {
            return Err(CelError::Invalid(format!(
                "unknown variable '{first}': the only variable in scope is '{VARIABLE}' (the token's claims)"
            )));
        }
        // A call the evaluator does not know parses fine and fails every
        // exchange ("Undeclared reference"): refuse it here, at plan.
        if let Some(unknown) = references
            .functions()
            .into_iter()
            .filter(|f| !is_known_function(f))
            .min()
        {
            return Err(CelError::Invalid(format!(
                "unknown function '{unknown}': the functions available are {}",
                FUNCTIONS.join(", ")
            )));
        }
        if let Some(what) = nested_iteration(&expr, false) {
            return Err(CelError::Invalid(format!(
                "{what} inside the body of a comprehension (all, exists, exists_one, map, \
                 filter) is not allowed: its cost grows with the product of the lists' lengths. \
                 Iterate once, and compare against literal lists"
            )));
        }
        Ok(Expression { expr })
    }

    /// Evaluates with `assertion` bound to `claims`. The result is a scalar JSON value.
    /// Claims past the size bounds ([`MAX_CLAIM_LIST_ITEMS`] and the others) are refused.
    pub fn evaluate(&self, claims: &Json) -> Result<Json, CelError> {
        check_claim_size(claims)?;
        let mut ctx = cel::Context::default();
        ctx.add_variable_from_value(VARIABLE, to_cel(claims));
        let value = ctx
            .resolve(&self.expr)
            .map_err(|e| CelError::Evaluation(one_line(&e)))?;
        scalar(value)
    }

    /// Evaluates and gives the result as the text matchers compare against.
    pub fn evaluate_to_string(&self, claims: &Json) -> Result<String, CelError> {
        Ok(crate::matching::text(&self.evaluate(claims)?))
    }
}

/// Parsed expressions by text: parsing (a generated ANTLR parser) costs far more than
/// evaluating, and an exchange evaluates the same few expressions again and again. Bounded:
/// cleared when full.
type Parsed = Result<std::sync::Arc<Expression>, CelError>;
static PARSED: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Parsed>>> =
    std::sync::LazyLock::new(Default::default);
const PARSED_MAX: usize = 512;

/// [`Expression::parse`], remembered.
pub fn parse_cached(src: &str) -> Result<std::sync::Arc<Expression>, CelError> {
    let lock = || PARSED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = lock().get(src) {
        return hit.clone();
    }
    let parsed = Expression::parse(src).map(std::sync::Arc::new);
    let mut cache = lock();
    if cache.len() >= PARSED_MAX {
        cache.clear();
    }
    cache.insert(src.to_owned(), parsed.clone());
    parsed
}

/// Parses (remembered) and evaluates `expression`, stringifying the scalar result.
pub fn evaluate_to_string(expression: &str, claims: &Json) -> Result<String, CelError> {
    parse_cached(expression)?.evaluate_to_string(claims)
}

/// Checks that `expression` would parse: the plan-time check.
pub fn check(expression: &str) -> Result<(), CelError> {
    parse_cached(expression).map(|_| ())
}

/// The functions (by name, called as `f(x)` or `x.f()`) that the evaluator
/// knows: those of `cel`'s standard context with its default features
/// (the unit test `every_known_function_evaluates` proves each one), less
/// those of optional values, which a transformation cannot make: the
/// `optional.*` constructors would need a second variable, and the parser
/// does not take `.?`.
/// Macros (`has`, `all`, `exists`, `exists_one`, `map`, `filter`) are
/// expanded by the parser and never appear as calls.
pub const FUNCTIONS: &[&str] = &[
    "contains",
    "size",
    "max",
    "min",
    "startsWith",
    "endsWith",
    "matches",
    "string",
    "bytes",
    "double",
    "int",
    "uint",
    "duration",
    "timestamp",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
];

/// Whether the evaluator knows the function `name`. Operators reach the
/// reference list as calls too, named by their syntax (`_+_`, `!_`, `-_`,
/// `@in`, `@not_strictly_false`); the parser only makes those itself.
fn is_known_function(name: &str) -> bool {
    OPERATORS.contains(&name) || FUNCTIONS.contains(&name)
}

/// The first iteration found inside a comprehension's body (`in_body`): another
/// comprehension, or `in` over anything but a literal list or map. Each would run once per
/// element of the outer list. A comprehension's range is evaluated once, so it may iterate.
fn nested_iteration(e: &cel::IdedExpr, in_body: bool) -> Option<&'static str> {
    match &e.expr {
        Expr::Comprehension(c) => {
            if in_body {
                return Some("a comprehension");
            }
            nested_iteration(&c.iter_range, false)
                .or_else(|| nested_iteration(&c.accu_init, true))
                .or_else(|| nested_iteration(&c.loop_cond, true))
                .or_else(|| nested_iteration(&c.loop_step, true))
                .or_else(|| nested_iteration(&c.result, true))
        }
        Expr::Call(call) => {
            if in_body
                && call.func_name == operators::IN
                && !call
                    .args
                    .get(1)
                    .is_some_and(|rhs| matches!(rhs.expr, Expr::List(_) | Expr::Map(_)))
            {
                return Some("'in' over a list that is not written out");
            }
            call.target
                .iter()
                .map(|t| &**t)
                .chain(call.args.iter())
                .find_map(|a| nested_iteration(a, in_body))
        }
        Expr::List(l) => l.elements.iter().find_map(|x| nested_iteration(x, in_body)),
        Expr::Map(m) => m
            .entries
            .iter()
            .find_map(|x| entry_iteration(&x.expr, in_body)),
        Expr::Struct(st) => st
            .entries
            .iter()
            .find_map(|x| entry_iteration(&x.expr, in_body)),
        Expr::Select(sel) => nested_iteration(&sel.operand, in_body),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => None,
    }
}

fn entry_iteration(e: &EntryExpr, in_body: bool) -> Option<&'static str> {
    match e {
        EntryExpr::MapEntry(m) => {
            nested_iteration(&m.key, in_body).or_else(|| nested_iteration(&m.value, in_body))
        }
        EntryExpr::StructField(f) => nested_iteration(&f.value, in_body),
    }
}

/// Refuses claims past the size bounds, which with [`nested_iteration`] bound the cost of
/// any accepted expression.
fn check_claim_size(claims: &Json) -> Result<(), CelError> {
    fn walk(v: &Json, count: &mut usize) -> Result<(), String> {
        *count += 1;
        if *count > MAX_CLAIM_VALUES {
            return Err(format!("they hold more than {MAX_CLAIM_VALUES} values"));
        }
        match v {
            Json::String(s) if s.len() > MAX_CLAIM_STRING_BYTES => Err(format!(
                "a string is {} bytes long, more than {MAX_CLAIM_STRING_BYTES}",
                s.len()
            )),
            Json::Array(items) if items.len() > MAX_CLAIM_LIST_ITEMS => Err(format!(
                "a list has {} items, more than {MAX_CLAIM_LIST_ITEMS}",
                items.len()
            )),
            Json::Array(items) => items.iter().try_for_each(|x| walk(x, count)),
            Json::Object(map) => map.iter().try_for_each(|(k, x)| {
                if k.len() > MAX_CLAIM_STRING_BYTES {
                    return Err(format!(
                        "a claim name is longer than {MAX_CLAIM_STRING_BYTES} bytes"
                    ));
                }
                walk(x, count)
            }),
            _ => Ok(()),
        }
    }
    let mut count = 0;
    walk(claims, &mut count).map_err(|why| {
        CelError::Evaluation(format!(
            "the token's claims are too large to evaluate transformations on: {why}"
        ))
    })
}

/// Whether the size guard saw at least as many operators as `cel`'s parser builds nodes for
/// in `src` (calls and field selections outside comprehensions): the guard must never skip
/// text the parser reads. `None` when the parser does not accept `src`. For the fuzz target
/// and the property test.
#[doc(hidden)]
pub fn guard_agrees_with_parser(src: &str) -> Option<bool> {
    fn operators(e: &cel::IdedExpr) -> usize {
        let entry = |x: &EntryExpr| match x {
            EntryExpr::MapEntry(m) => operators(&m.key) + operators(&m.value),
            EntryExpr::StructField(f) => operators(&f.value),
        };
        match &e.expr {
            Expr::Call(c) => {
                1 + c.target.iter().map(|t| operators(t)).sum::<usize>()
                    + c.args.iter().map(operators).sum::<usize>()
            }
            Expr::Select(sel) => 1 + operators(&sel.operand),
            Expr::List(l) => l.elements.iter().map(operators).sum(),
            Expr::Map(m) => m.entries.iter().map(|x| entry(&x.expr)).sum(),
            Expr::Struct(st) => st.entries.iter().map(|x| entry(&x.expr)).sum(),
            // Macros add nodes of their own; the range and the rest are source text.
            Expr::Comprehension(c) => 1 + operators(&c.iter_range),
            Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => 0,
        }
    }
    let parsed = std::panic::catch_unwind(|| {
        Parser::new()
            .max_recursion_depth(MAX_NESTING as u16)
            .parse(src)
    })
    .ok()?
    .ok()?;
    Some(operators(&parsed) <= shape(src).operators)
}

/// The names the parser gives operators in the reference list. Listed one
/// by one: a user's own call spelled like one (`_nosuch(x)`) is a function.
const OPERATORS: &[&str] = &[
    "_+_",
    "_-_",
    "_*_",
    "_/_",
    "_%_",
    "_==_",
    "_!=_",
    "_<_",
    "_<=_",
    "_>_",
    "_>=_",
    "_&&_",
    "_||_",
    "_?_:_",
    "_[_]",
    "!_",
    "-_",
    "@in",
    "@not_strictly_false",
];

/// Macro loop variables (`assertion.groups.exists(g, g == "x")`) are listed among an
/// expression's references; they are bound, not free. A name that appears as the first
/// argument of a macro call is treated as bound.
fn bound_by_macro(src: &str, name: &str) -> bool {
    ["all", "exists", "exists_one", "map", "filter"]
        .iter()
        .any(|m| {
            src.match_indices(&format!("{m}(")).any(|(at, pat)| {
                src[at + pat.len()..]
                    .trim_start()
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.trim_start().starts_with(','))
            })
        })
}

fn one_line(e: &impl fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// JSON to CEL: integers as `int` when they fit (so `assertion.run_number + 1` works; `cel`'s
/// serde conversion would make them `uint`), then `uint`, else `double`.
fn to_cel(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone().into()),
        Json::Array(items) => Value::List(items.iter().map(to_cel).collect::<Vec<_>>().into()),
        Json::Object(map) => {
            let map: HashMap<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            Value::from(map)
        }
    }
}

fn scalar(value: Value) -> Result<Json, CelError> {
    let kind = match value {
        Value::String(s) => return Ok(Json::String(s.to_string())),
        Value::Bool(b) => return Ok(Json::Bool(b)),
        Value::Int(i) => return Ok(Json::from(i)),
        Value::UInt(u) => return Ok(Json::from(u)),
        Value::Float(f) => {
            return serde_json::Number::from_f64(f)
                .map(Json::Number)
                .ok_or_else(|| {
                    CelError::Evaluation(format!(
                        "the result is {f}, but transformations must produce a finite number"
                    ))
                });
        }
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Null => "null",
        Value::Bytes(_) => "bytes",
        _ => "not a string, number or bool",
    };
    Err(CelError::Evaluation(format!(
        "the result is {kind}, but transformations must produce a scalar (string, number or bool)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> Json {
        json!({
            "sub": "repo:my-org/my-repo:ref:refs/heads/main",
            "repository": "my-org/my-repo",
            "ref": "refs/heads/main",
            "run_number": 7,
            "email_verified": true,
            "https://sts.amazonaws.com/": {"principal_tags": {"environment": "prod"}},
            "groups": ["a", "b"]
        })
    }

    fn eval(src: &str) -> Result<String, CelError> {
        evaluate_to_string(src, &claims())
    }

    #[test]
    fn unknown_functions_are_refused_before_any_exchange() {
        for (src, name) in [
            ("nosuchfn(assertion.sub)", "nosuchfn"),
            ("assertion.sub.split(':')[2]", "split"),
            ("assertion.sub.lowerAscii()", "lowerAscii"),
            ("_nosuch(assertion.sub)", "_nosuch"),
        ] {
            let err = Expression::parse(src).unwrap_err();
            assert!(
                matches!(&err, CelError::Invalid(m) if m.contains(&format!("unknown function '{name}'"))),
                "{src}: {err:?}"
            );
        }
        // Operators and macros are not functions to refuse.
        Expression::parse(
            "has(assertion.sub) && 'a' in assertion.groups && !(1 < 2) || -1 < 0 \
             && assertion.groups.map(a, a).filter(b, b != '').exists(c, c == 'a') \
             ? assertion.groups[0] : {'k': 'v'}['k']",
        )
        .unwrap();
        // Every operator the parser names.
        Expression::parse(
            "string(1 + 2 - 3 * 4 / 5 % 6) + (1 <= 2 && 2 >= 1 && 1 != 2 && 1 > 0 ? 'a' : 'b')",
        )
        .unwrap();
    }

    /// Every name `FUNCTIONS` lets through really evaluates: a call of it
    /// that fails with an undeclared reference would fail every exchange.
    #[test]
    fn every_known_function_evaluates() {
        let calls = [
            ("contains", "assertion.sub.contains('repo')"),
            ("size", "size(assertion.groups)"),
            ("max", "max(1, 2)"),
            ("min", "min(1, 2)"),
            ("startsWith", "assertion.sub.startsWith('repo')"),
            ("endsWith", "assertion.sub.endsWith('main')"),
            ("matches", "assertion.sub.matches('^repo:')"),
            ("string", "string(1)"),
            ("bytes", "size(bytes('a'))"),
            ("double", "double(1)"),
            ("int", "int('1')"),
            ("uint", "uint(1)"),
            ("duration", "string(duration('1s'))"),
            ("timestamp", "string(timestamp('2024-01-01T00:00:00Z'))"),
            (
                "getFullYear",
                "timestamp('2024-01-01T00:00:00Z').getFullYear()",
            ),
            ("getMonth", "timestamp('2024-01-01T00:00:00Z').getMonth()"),
            (
                "getDayOfYear",
                "timestamp('2024-01-01T00:00:00Z').getDayOfYear()",
            ),
            (
                "getDayOfMonth",
                "timestamp('2024-01-01T00:00:00Z').getDayOfMonth()",
            ),
            ("getDate", "timestamp('2024-01-01T00:00:00Z').getDate()"),
            (
                "getDayOfWeek",
                "timestamp('2024-01-01T00:00:00Z').getDayOfWeek()",
            ),
            ("getHours", "timestamp('2024-01-01T00:00:00Z').getHours()"),
            (
                "getMinutes",
                "timestamp('2024-01-01T00:00:00Z').getMinutes()",
            ),
            (
                "getSeconds",
                "timestamp('2024-01-01T00:00:00Z').getSeconds()",
            ),
            (
                "getMilliseconds",
                "timestamp('2024-01-01T00:00:00Z').getMilliseconds()",
            ),
        ];
        let tested: Vec<&str> = calls.iter().map(|(name, _)| *name).collect();
        assert_eq!(tested, FUNCTIONS, "one call per known function, in order");
        for (name, src) in calls {
            let parsed = cel::parser::Parser::new().parse(src).unwrap();
            assert!(parsed.references().has_function(name), "{src} calls {name}");
            if let Err(e) = eval(src) {
                assert!(
                    !e.to_string().contains("Undeclared reference"),
                    "{name}: {src}: {e}"
                );
            }
        }
    }

    #[test]
    fn documented_examples() {
        assert_eq!(
            eval("assertion.sub").unwrap(),
            "repo:my-org/my-repo:ref:refs/heads/main"
        );
        assert_eq!(
            eval(r#"assertion.repository + "@" + assertion.ref"#).unwrap(),
            "my-org/my-repo@refs/heads/main"
        );
        assert_eq!(
            eval(r#"assertion.ref == "refs/heads/main""#).unwrap(),
            "true"
        );
        assert_eq!(
            eval(r#"assertion["https://sts.amazonaws.com/"]["principal_tags"]["environment"]"#)
                .unwrap(),
            "prod"
        );
    }

    #[test]
    fn scalars_are_stringified() {
        assert_eq!(eval("assertion.run_number").unwrap(), "7");
        assert_eq!(eval("assertion.email_verified").unwrap(), "true");
        assert_eq!(eval("assertion.run_number + 1").unwrap(), "8");
        assert_eq!(eval("assertion.groups[1]").unwrap(), "b");
        assert_eq!(
            eval(r#"assertion.ref != 'x' && !(assertion.run_number == 8)"#).unwrap(),
            "true"
        );
    }

    #[test]
    fn full_cel_is_available() {
        // What the old hand-written subset refused, real CEL evaluates.
        assert_eq!(eval("size(assertion.sub)").unwrap(), "39");
        assert_eq!(eval("assertion.sub.startsWith('repo:')").unwrap(), "true");
        assert_eq!(eval("assertion.run_number > 3").unwrap(), "true");
        assert_eq!(eval("assertion.ref == 'x' ? 'a' : 'b'").unwrap(), "b");
        assert_eq!(
            eval("assertion.groups.exists(g, g == 'b')").unwrap(),
            "true"
        );
        assert_eq!(eval("1.5 * 2.0").unwrap(), "3.0");
    }

    #[test]
    fn failures_at_evaluation() {
        for bad in [
            "assertion.missing",
            "assertion.groups",
            "assertion[\"https://sts.amazonaws.com/\"]",
            "assertion.sub + 1",
            "null",
            "1.0 / 0.0",
        ] {
            assert!(
                matches!(eval(bad), Err(CelError::Evaluation(_))),
                "{bad}: {:?}",
                eval(bad)
            );
        }
    }

    #[test]
    fn invalid_expressions_are_found_without_claims() {
        for bad in [
            "assertion.sub +",
            "'unterminated",
            "",
            "   ",
            "claims.sub",
            "(assertion.sub",
            "assertion.sub )",
        ] {
            assert!(
                matches!(check(bad), Err(CelError::Invalid(_))),
                "{bad}: {:?}",
                check(bad)
            );
        }
        let e = check("claims.sub").unwrap_err().to_string();
        assert!(e.contains("'claims'") && e.contains("assertion"), "{e}");
        for good in [
            "assertion.sub",
            "assertion.groups.exists(g, g == 'b')",
            "assertion.groups.map(x, x + '!')[0]",
            "'a(b[c{' + \"?))\"",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    /// The hostile input that once overflowed the stack: 2040 nested parentheses.
    fn hostile() -> String {
        format!("{}assertion.sub{}", "(".repeat(2040), ")".repeat(2040))
    }

    #[test]
    fn hostile_nesting_is_refused_before_parsing() {
        let src = hostile();
        assert_eq!(src.len(), 4093);
        let e = check(&src).unwrap_err();
        assert!(matches!(e, CelError::Invalid(_)));
        assert!(e.to_string().contains("2040 levels"), "{e}");
        let e = evaluate_to_string(&src, &claims()).unwrap_err();
        assert!(e.to_string().contains("at most 32"), "{e}");
        for src in [
            format!("{}1{}", "[".repeat(500), "]".repeat(500)),
            format!("{}1{}", "{1:".repeat(500), "}".repeat(500)),
            "true ? 1 : ".repeat(500) + "1",
            "!".repeat(3000) + "true",
            "-".repeat(3000) + "1",
            "assertion.sub".to_owned() + &" + assertion.sub".repeat(1000),
            "assertion".to_owned() + &".sub".repeat(1000),
            "f(".repeat(1000),
        ] {
            assert!(
                matches!(check(&src), Err(CelError::Invalid(_))),
                "{}",
                &src[..40]
            );
        }
    }

    /// Right at the limits, parsing and evaluating fit in a small stack, so the limits leave
    /// a wide margin on the 2 MiB threads of tokio and of the provider (debug build too).
    #[test]
    fn the_limits_fit_in_a_small_stack() {
        let at_limit = [
            format!("{}assertion.sub{}", "(".repeat(32), ")".repeat(32)),
            format!("{}1{}", "[".repeat(32), "]".repeat(32)),
            "true ? 1 : ".repeat(16) + &"(".repeat(16) + "1" + &")".repeat(16),
            "!".repeat(128) + "true",
            "1".to_owned() + &" + 1".repeat(128),
            "assertion.sub".to_owned() + &" + ''".repeat(127),
        ];
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || {
                for src in at_limit {
                    // Valid or not, it must return.
                    let _ = evaluate_to_string(&src, &claims());
                }
            })
            .unwrap()
            .join()
            .expect("no stack overflow at the limits");
    }

    #[test]
    fn a_quote_in_a_comment_does_not_hide_operators() {
        // Was accepted: the guard took the quote for a string's start.
        for comment in ["// \"", "// '", "// '''", "//\"\"\""] {
            let src = format!("0 {comment}\n{}", "+1".repeat(200));
            let e = check(&src).unwrap_err();
            assert!(e.to_string().contains("200 operators"), "{src:?}: {e}");
        }
        assert_eq!(shape("1 // ((((\n+ 2").operators, 1);
        assert_eq!(shape("1 // ((((\n+ 2").nesting, 0);
        // `//` inside a string is no comment.
        assert_eq!(shape("'//' + 1").operators, 1);
        assert_eq!(
            eval("assertion.ref // the branch\n").unwrap(),
            "refs/heads/main"
        );
    }

    #[test]
    fn expressions_longer_than_the_api_allows_are_refused() {
        let src = format!("'{}'", "a".repeat(MAX_TRANSFORMATION_EXPRESSION_LEN - 2));
        assert_eq!(check(&src), Ok(()));
        let src = format!("'{}'", "a".repeat(MAX_TRANSFORMATION_EXPRESSION_LEN - 1));
        let e = check(&src).unwrap_err();
        assert!(e.to_string().contains("at most 4096"), "{e}");
    }

    #[test]
    fn iteration_inside_a_comprehension_body_is_refused() {
        for bad in [
            "assertion.g.map(a, assertion.g.map(b, a + b)).size()",
            "assertion.g.exists(a, assertion.g.exists(b, a == b))",
            "assertion.g.all(a, [1, 2].exists(b, b == 1))",
            "assertion.g.filter(a, a in assertion.h).size() > 0",
            "assertion.g.exists(a, {'k': assertion.h.all(b, true)}.k)",
        ] {
            let e = check(bad).unwrap_err();
            assert!(matches!(e, CelError::Invalid(_)), "{bad}");
            assert!(e.to_string().contains("product of the lists"), "{bad}: {e}");
        }
        for good in [
            "assertion.groups.exists(g, g in ['a', 'b'])",
            "assertion.groups.map(g, g + '!').exists(g, g == 'b!')",
            "assertion.groups.exists(g, g == assertion.sub)",
            "'a' in assertion.groups",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        assert_eq!(
            eval("assertion.groups.exists(g, g in ['x', 'b'])").unwrap(),
            "true"
        );
    }

    #[test]
    fn oversized_claims_are_refused_before_evaluation() {
        let e = Expression::parse("assertion.groups.exists(g, g == 'x')").unwrap();
        let at = json!({"groups": vec!["g"; MAX_CLAIM_LIST_ITEMS]});
        assert_eq!(e.evaluate(&at), Ok(Json::Bool(false)));
        for claims in [
            json!({"groups": vec!["g"; MAX_CLAIM_LIST_ITEMS + 1]}),
            json!({"groups": ["g"], "s": "x".repeat(MAX_CLAIM_STRING_BYTES + 1)}),
            json!({"groups": ["g"], "many": vec![vec![1; 100]; 101]}),
        ] {
            let err = e.evaluate(&claims).unwrap_err();
            assert!(
                matches!(&err, CelError::Evaluation(m) if m.contains("too large")),
                "{err}"
            );
        }
    }

    mod agreement {
        use super::*;
        use proptest::prelude::*;

        /// Space between tokens: nothing, blanks, or comments holding quotes, brackets and
        /// operators that the guard must skip.
        fn gap() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "",
                "",
                " ",
                "\n",
                "// \" comment\n",
                "// ' ((( +++\n",
                "//\n",
                "//'''\n",
                " /* no */ ",
            ])
        }

        fn leaf() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "1",
                "2.5",
                "assertion",
                "assertion.sub",
                "'a'",
                "\"b\"",
                "'\"'",
                "\"'\"",
                "'//'",
                "\"//(\"",
                "'''x'''",
                "r'\\'",
                "'\\''",
                "\"\\\"(\"",
                "true",
            ])
            .prop_map(str::to_owned)
        }

        /// Valid CEL (mostly; a `/* */` gap makes it invalid) with gaps between tokens.
        fn expression() -> impl Strategy<Value = String> {
            leaf().prop_recursive(6, 64, 3, |inner| {
                prop_oneof![
                    (
                        inner.clone(),
                        gap(),
                        prop::sample::select(vec!["+", "-", "*", "==", "&&", "||", "<", "/"]),
                        gap(),
                        inner.clone()
                    )
                        .prop_map(|(a, g1, op, g2, b)| format!("{a}{g1}{op}{g2}{b}")),
                    (gap(), inner.clone(), gap()).prop_map(|(g1, a, g2)| format!("({g1}{a}{g2})")),
                    (inner.clone(), gap(), inner.clone())
                        .prop_map(|(a, g, b)| format!("[{a},{g}{b}]")),
                    (inner.clone(), gap()).prop_map(|(a, g)| format!("!{g}({a})")),
                    (inner.clone(), gap(), inner.clone(), inner)
                        .prop_map(|(a, g, b, c)| format!("{a} ?{g}{b} : {c}")),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            /// Whatever the parser builds, the guard saw at least as many operators: it never
            /// skips text the parser reads (a quote in a comment once made it skip the rest).
            #[test]
            fn the_guard_counts_every_operator_the_parser_sees(src in expression()) {
                prop_assert!(guard_agrees_with_parser(&src) != Some(false), "{src:?}");
            }
        }
    }

    #[test]
    fn shape_skips_strings() {
        assert_eq!(shape(r#"'((((' + "]]]" + '''((''' + r'\'"#).nesting, 0,);
        assert_eq!(shape("a.b[c(d)]").nesting, 2);
        assert_eq!(shape("1.5 + 2").operators, 1);
    }
}
