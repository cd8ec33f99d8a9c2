//! A small subset of CEL for provider attribute transformations
//! (`docs/reference/openai-api.md#attribute-transformations`).
//!
//! Supported (enough for every documented example):
//! - the single variable `assertion` (the verified JWT claims);
//! - member access `assertion.x` and indexing `assertion["x"]["y"]`, `list[0]`;
//! - literals: strings ('…' or "…" with `\\ \" \' \n \r \t` escapes), integers,
//!   decimals, `true`, `false`, `null`;
//! - `+` (string concatenation, number addition, list concatenation),
//!   `==`, `!=`, `&&`, `||`, `!`, parentheses.
//!
//! Anything else (functions, macros, methods, ternaries, raw or triple-quoted
//! strings, comparisons `<`…) is an error, and per
//! `docs/reference/openai-api.md#attribute-transformations` an error fails mapping resolution (the
//! token exchange is refused); it is never a create-time error. Results must be scalars and are
//! stringified (`true` → `"true"`, `7` → `"7"`).

use serde_json::Value as Json;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CelError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, CelError> {
    Err(CelError(msg.into()))
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(Json),
    Dot,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Plus,
    EqEq,
    NotEq,
    AndAnd,
    OrOr,
    Bang,
}

fn lex(src: &str) -> Result<Vec<Tok>, CelError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '.' => {
                out.push(Tok::Dot);
                i += 1;
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1;
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '+' => {
                out.push(Tok::Plus);
                i += 1;
            }
            '=' if next == Some('=') => {
                out.push(Tok::EqEq);
                i += 2;
            }
            '!' if next == Some('=') => {
                out.push(Tok::NotEq);
                i += 2;
            }
            '!' => {
                out.push(Tok::Bang);
                i += 1;
            }
            '&' if next == Some('&') => {
                out.push(Tok::AndAnd);
                i += 2;
            }
            '|' if next == Some('|') => {
                out.push(Tok::OrOr);
                i += 2;
            }
            '"' | '\'' => {
                let quote = c;
                if next == Some(quote) && chars.get(i + 2) == Some(&quote) {
                    return err(
                        "triple-quoted strings are not supported by the emulator's CEL subset",
                    );
                }
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return err("unterminated string literal");
                    };
                    i += 1;
                    match ch {
                        ch if ch == quote => break,
                        '\\' => {
                            let Some(&esc) = chars.get(i) else {
                                return err("unterminated escape in string literal");
                            };
                            i += 1;
                            s.push(match esc {
                                '\\' => '\\',
                                '"' => '"',
                                '\'' => '\'',
                                'n' => '\n',
                                'r' => '\r',
                                't' => '\t',
                                other => {
                                    return err(format!(
                                        "unsupported escape '\\{other}' in string literal"
                                    ));
                                }
                            });
                        }
                        '\n' => return err("newline in string literal"),
                        ch => s.push(ch),
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
                    i += 1;
                }
                let mut is_float = false;
                if chars.get(i) == Some(&'.')
                    && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit())
                {
                    is_float = true;
                    i += 1;
                    while chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
                        i += 1;
                    }
                }
                let text: String = chars[start..i].iter().collect();
                let num = if is_float {
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Json::Number)
                } else {
                    text.parse::<i64>().ok().map(Json::from)
                };
                match num {
                    Some(n) => out.push(Tok::Num(n)),
                    None => return err(format!("invalid number literal '{text}'")),
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => {
                return err(format!(
                    "unsupported character '{other}' (the emulator supports only a small CEL subset)"
                ));
            }
        }
    }
    Ok(out)
}

#[derive(Clone, Debug)]
enum Expr {
    Assertion,
    Lit(Json),
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    Eq(Box<Expr>, Box<Expr>, bool),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), CelError> {
        if self.eat(t) {
            Ok(())
        } else {
            err(format!("expected {what}"))
        }
    }

    fn or(&mut self) -> Result<Expr, CelError> {
        let mut left = self.and()?;
        while self.eat(&Tok::OrOr) {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, CelError> {
        let mut left = self.equality()?;
        while self.eat(&Tok::AndAnd) {
            left = Expr::And(Box::new(left), Box::new(self.equality()?));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, CelError> {
        let mut left = self.additive()?;
        loop {
            let negate = if self.eat(&Tok::EqEq) {
                false
            } else if self.eat(&Tok::NotEq) {
                true
            } else {
                return Ok(left);
            };
            left = Expr::Eq(Box::new(left), Box::new(self.additive()?), negate);
        }
    }

    fn additive(&mut self) -> Result<Expr, CelError> {
        let mut left = self.unary()?;
        while self.eat(&Tok::Plus) {
            left = Expr::Add(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, CelError> {
        if self.eat(&Tok::Bang) {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, CelError> {
        let mut e = self.primary()?;
        loop {
            if self.eat(&Tok::Dot) {
                match self.toks.get(self.pos).cloned() {
                    Some(Tok::Ident(name)) => {
                        self.pos += 1;
                        if self.peek() == Some(&Tok::LParen) {
                            return err(format!(
                                "method '{name}()' is not supported by the emulator's CEL subset"
                            ));
                        }
                        e = Expr::Member(Box::new(e), name);
                    }
                    _ => return err("expected a field name after '.'"),
                }
            } else if self.eat(&Tok::LBracket) {
                let index = self.or()?;
                self.expect(&Tok::RBracket, "']'")?;
                e = Expr::Index(Box::new(e), Box::new(index));
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, CelError> {
        let Some(tok) = self.toks.get(self.pos).cloned() else {
            return err("unexpected end of expression");
        };
        self.pos += 1;
        match tok {
            Tok::Str(s) => Ok(Expr::Lit(Json::String(s))),
            Tok::Num(n) => Ok(Expr::Lit(n)),
            Tok::LParen => {
                let e = self.or()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::Ident(name) => {
                if self.peek() == Some(&Tok::LParen) {
                    return err(format!(
                        "function '{name}()' is not supported by the emulator's CEL subset"
                    ));
                }
                match name.as_str() {
                    "assertion" => Ok(Expr::Assertion),
                    "true" => Ok(Expr::Lit(Json::Bool(true))),
                    "false" => Ok(Expr::Lit(Json::Bool(false))),
                    "null" => Ok(Expr::Lit(Json::Null)),
                    other => err(format!(
                        "undeclared reference '{other}' (the only variable is 'assertion')"
                    )),
                }
            }
            other => err(format!("unexpected token {other:?}")),
        }
    }
}

fn parse(src: &str) -> Result<Expr, CelError> {
    let mut p = Parser {
        toks: lex(src)?,
        pos: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return err(format!(
            "unexpected {:?} after the end of the expression",
            p.toks[p.pos]
        ));
    }
    Ok(e)
}

fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "double",
        Json::Number(_) => "int",
        Json::String(_) => "string",
        Json::Array(_) => "list",
        Json::Object(_) => "map",
    }
}

fn values_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        // CEL compares numbers across int/double by value.
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

fn as_bool(v: Json, op: &str) -> Result<bool, CelError> {
    match v {
        Json::Bool(b) => Ok(b),
        other => err(format!(
            "no matching overload for '{op}' on {}",
            type_name(&other)
        )),
    }
}

fn eval(e: &Expr, assertion: &Json) -> Result<Json, CelError> {
    match e {
        Expr::Assertion => Ok(assertion.clone()),
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Member(target, name) => match eval(target, assertion)? {
            Json::Object(map) => map
                .get(name)
                .cloned()
                .ok_or_else(|| CelError(format!("no such key: '{name}'"))),
            other => err(format!(
                "cannot select field '{name}' from a {}",
                type_name(&other)
            )),
        },
        Expr::Index(target, index) => {
            let target = eval(target, assertion)?;
            let index = eval(index, assertion)?;
            match (&target, &index) {
                (Json::Object(map), Json::String(key)) => map
                    .get(key)
                    .cloned()
                    .ok_or_else(|| CelError(format!("no such key: '{key}'"))),
                (Json::Array(items), Json::Number(n)) => n
                    .as_u64()
                    .and_then(|i| items.get(i as usize))
                    .cloned()
                    .ok_or_else(|| CelError(format!("index {n} out of range"))),
                _ => err(format!(
                    "cannot index a {} with a {}",
                    type_name(&target),
                    type_name(&index)
                )),
            }
        }
        Expr::Add(a, b) => {
            let a = eval(a, assertion)?;
            let b = eval(b, assertion)?;
            match (&a, &b) {
                (Json::String(x), Json::String(y)) => Ok(Json::String(format!("{x}{y}"))),
                (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
                    (Some(x), Some(y)) => x
                        .checked_add(y)
                        .map(Json::from)
                        .ok_or_else(|| CelError("integer overflow".into())),
                    _ => serde_json::Number::from_f64(
                        x.as_f64().unwrap_or(f64::NAN) + y.as_f64().unwrap_or(f64::NAN),
                    )
                    .map(Json::Number)
                    .ok_or_else(|| CelError("non-finite number".into())),
                },
                (Json::Array(x), Json::Array(y)) => {
                    Ok(Json::Array(x.iter().chain(y).cloned().collect()))
                }
                _ => err(format!(
                    "no matching overload for '+' on {} and {}",
                    type_name(&a),
                    type_name(&b)
                )),
            }
        }
        Expr::Eq(a, b, negate) => {
            let equal = values_equal(&eval(a, assertion)?, &eval(b, assertion)?);
            Ok(Json::Bool(equal != *negate))
        }
        Expr::And(a, b) => {
            if !as_bool(eval(a, assertion)?, "&&")? {
                return Ok(Json::Bool(false));
            }
            Ok(Json::Bool(as_bool(eval(b, assertion)?, "&&")?))
        }
        Expr::Or(a, b) => {
            if as_bool(eval(a, assertion)?, "||")? {
                return Ok(Json::Bool(true));
            }
            Ok(Json::Bool(as_bool(eval(b, assertion)?, "||")?))
        }
        Expr::Not(a) => Ok(Json::Bool(!as_bool(eval(a, assertion)?, "!")?)),
    }
}

/// Evaluates `expression` with `assertion` bound to `claims`, and stringifies
/// the scalar result.
pub fn evaluate_to_string(expression: &str, claims: &Json) -> Result<String, CelError> {
    let value = eval(&parse(expression)?, claims)?;
    match value {
        Json::String(s) => Ok(s),
        Json::Bool(b) => Ok(b.to_string()),
        Json::Number(n) => Ok(n.to_string()),
        other => err(format!(
            "the result is a {}, but transformations must produce a scalar",
            type_name(&other)
        )),
    }
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

    #[test]
    fn documented_examples() {
        let c = claims();
        assert_eq!(
            evaluate_to_string("assertion.sub", &c).unwrap(),
            "repo:my-org/my-repo:ref:refs/heads/main"
        );
        assert_eq!(
            evaluate_to_string(r#"assertion.repository + "@" + assertion.ref"#, &c).unwrap(),
            "my-org/my-repo@refs/heads/main"
        );
        assert_eq!(
            evaluate_to_string(r#"assertion.ref == "refs/heads/main""#, &c).unwrap(),
            "true"
        );
        assert_eq!(
            evaluate_to_string(
                r#"assertion["https://sts.amazonaws.com/"]["principal_tags"]["environment"]"#,
                &c
            )
            .unwrap(),
            "prod"
        );
    }

    #[test]
    fn scalars_are_stringified() {
        let c = claims();
        assert_eq!(evaluate_to_string("assertion.run_number", &c).unwrap(), "7");
        assert_eq!(
            evaluate_to_string("assertion.email_verified", &c).unwrap(),
            "true"
        );
        assert_eq!(
            evaluate_to_string("assertion.run_number + 1", &c).unwrap(),
            "8"
        );
        assert_eq!(evaluate_to_string("assertion.groups[1]", &c).unwrap(), "b");
        assert_eq!(
            evaluate_to_string(
                r#"assertion.ref != 'x' && !(assertion.run_number == 8)"#,
                &c
            )
            .unwrap(),
            "true"
        );
    }

    #[test]
    fn unsupported_or_failing_expressions_error() {
        let c = claims();
        for bad in [
            "assertion.missing",
            "assertion.groups",
            "assertion[\"https://sts.amazonaws.com/\"]",
            "size(assertion.sub)",
            "assertion.sub.startsWith('x')",
            "claims.sub",
            "assertion.sub + 1",
            "assertion.run_number > 3",
            "'unterminated",
            "assertion.sub ? 'a' : 'b'",
            "",
            "null",
        ] {
            assert!(evaluate_to_string(bad, &c).is_err(), "{bad}");
        }
    }
}
