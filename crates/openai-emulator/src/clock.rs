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

pub async fn get(State(app): State<Arc<App>>) -> Json<Json_> {
    Json(json!({ "offset_secs": app.clock_offset() }))
}

pub async fn set(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let offset = serde_json::from_slice::<Json_>(&body)
        .ok()
        .and_then(|v| v.get("offset_secs").and_then(Json_::as_i64));
    match offset {
        Some(offset) => {
            app.set_clock_offset(offset);
            Json(json!({ "offset_secs": offset })).into_response()
        }
        None => ApiError::invalid_value(
            "offset_secs",
            "Send {\"offset_secs\": N} with N a whole number of seconds (negative: the past).",
        )
        .into_response(),
    }
}
