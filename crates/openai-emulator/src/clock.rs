//! The emulator's clock, shiftable for tests: `POST /_emulator/clock
//! {"offset_secs": N}` (also [`crate::RunningEmulator::set_clock_offset`])
//! moves it N seconds from real time, `GET` shows the offset. It dates what
//! the emulator writes (`created_at`, `updated_at`), the exchange's token
//! checks and minted tokens, and the `Date` response header, so a test can
//! make an object that looks an hour old, or a server whose clock is off.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json_, json};

use super::App;
use super::errors::ApiError;

/// The largest offset either way: a century covers any test of expiry or
/// age, and keeps the emulator's dates far inside what it can format.
pub const MAX_OFFSET_SECS: i64 = 100 * 366 * 24 * 3600;

/// 9999-12-31T23:59:59Z, the last second RFC 3339 and HTTP dates can show.
pub const MAX_UNIX_SECS: i64 = 253_402_300_799;

/// Why `offset` cannot be used at `real_now` (Unix seconds), if it cannot.
pub fn check_offset(offset: i64, real_now: i64) -> Result<(), String> {
    if !(-MAX_OFFSET_SECS..=MAX_OFFSET_SECS).contains(&offset) {
        return Err(format!(
            "offset_secs must be between -{MAX_OFFSET_SECS} and {MAX_OFFSET_SECS} (100 years)"
        ));
    }
    match real_now.checked_add(offset) {
        Some(t) if (0..=MAX_UNIX_SECS).contains(&t) => Ok(()),
        _ => Err("offset_secs would move the clock before 1970 or past 9999".into()),
    }
}

pub(crate) async fn get(State(app): State<Arc<App>>) -> Json<Json_> {
    Json(json!({ "offset_secs": app.clock_offset() }))
}

pub(crate) async fn set(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let offset = serde_json::from_slice::<Json_>(&body)
        .ok()
        .and_then(|v| v.get("offset_secs").and_then(Json_::as_i64));
    match offset {
        Some(offset) => match check_offset(offset, crate::now()) {
            Ok(()) => {
                app.set_clock_offset(offset);
                Json(json!({ "offset_secs": offset })).into_response()
            }
            Err(why) => ApiError::invalid_value("offset_secs", why).into_response(),
        },
        None => ApiError::invalid_value(
            "offset_secs",
            "Send {\"offset_secs\": N} with N a whole number of seconds (negative: the past).",
        )
        .into_response(),
    }
}
