//! Body of the `cel` fuzz target in `fuzz/` (cargo-fuzz), kept here so the
//! normal test suite can replay its seed corpus on stable Rust. It must never
//! panic or overflow the stack, whatever the bytes: the emulator evaluates
//! expressions that any admin-key holder can upload.

use serde_json::json;

/// Parses the bytes as a transformation expression and, when it parses,
/// evaluates it against a token-shaped set of claims.
pub fn cel(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(expression) = crate::cel::Expression::parse(src) {
        let claims = json!({
            "sub": "repo:my-org/app:ref:refs/heads/main",
            "repository": "my-org/app",
            "ref": "refs/heads/main",
            "run_attempt": 1,
            "groups": ["team-a", "team-b"],
            "email_verified": true,
            "nested": { "a": { "b": "c" } },
        });
        let _ = expression.evaluate(&claims);
        let _ = expression.evaluate_to_string(&claims);
    }
}

/// The size guard against the parser: whenever `cel`'s parser accepts the text, the guard
/// must have counted at least the operators the parser built (it once stopped counting at a
/// quote inside a `//` comment).
pub fn cel_guard(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    // Past the length limit nothing reaches the parser.
    if src.chars().count() > crate::cel::MAX_TRANSFORMATION_EXPRESSION_LEN {
        return;
    }
    assert_ne!(
        crate::cel::guard_agrees_with_parser(src),
        Some(false),
        "the guard undercounts {src:?}"
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn replay_cel_guard_corpus() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/cel_guard");
        let inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        assert!(!inputs.is_empty(), "no seed inputs found");
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || inputs.iter().for_each(|input| super::cel_guard(input)))
            .unwrap()
            .join()
            .expect("the guard agrees with the parser on every seed");
    }

    /// Replays the seed corpus and the regression inputs of the fuzz target,
    /// on a thread with a small stack: the nesting limit must hold there too.
    #[test]
    fn replay_cel_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/cel");
        let inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        assert!(!inputs.is_empty(), "no seed inputs found");
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || inputs.iter().for_each(|input| super::cel(input)))
            .unwrap()
            .join()
            .expect("no input panics or overflows the stack");
    }
}
