//! Walking a cursor-paginated list endpoint to the end: ask for the next page
//! with `after=<last_id>` while the server says `has_more`.

use std::future::Future;

use crate::error::ApiError;
use crate::models::ListPage;

/// Page size used when walking a whole collection: the documented maximum,
/// so a full listing costs as few requests as possible.
pub const PAGE_SIZE: u32 = crate::models::LIST_LIMIT_MAX;

/// Most pages one listing reads. OpenAI's limits keep every list this
/// provider walks small (50 providers per organization, 50 rules per
/// provider: one page each); the cap is far above that and above any real
/// project listing, and stops a server that answers `has_more: true` with
/// fresh cursors forever.
pub const MAX_PAGES: usize = 500;

/// Most items one listing collects (what is held in memory).
pub const MAX_ITEMS: usize = 10_000;

/// Calls `fetch_page(after)` (first with `None`) until a page has
/// `has_more: false`, and returns every item in server order. `endpoint`
/// only names the list in error messages.
///
/// A server that claims more pages but returns no `last_id`, an empty page,
/// or any cursor it already gave (a cycle of any length), is reported
/// instead of looping forever; so is a listing past [`MAX_PAGES`] pages or
/// [`MAX_ITEMS`] items.
pub async fn collect_all<T, F, Fut>(endpoint: &str, mut fetch_page: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<ListPage<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    let mut pages = 0usize;
    loop {
        let page = fetch_page(after.clone()).await?;
        pages += 1;
        let empty = page.data.is_empty();
        if items.len() + page.data.len() > MAX_ITEMS {
            return Err(too_long(
                endpoint,
                format!("it holds more than {MAX_ITEMS} items"),
            ));
        }
        items.extend(page.data);
        if !page.has_more {
            return Ok(items);
        }
        if pages >= MAX_PAGES {
            return Err(too_long(
                endpoint,
                format!("the server still reported more after {MAX_PAGES} pages"),
            ));
        }
        let next = match page.last_id {
            Some(id) if !id.is_empty() => id,
            _ => {
                return Err(ApiError::Pagination {
                    endpoint: endpoint.to_owned(),
                    detail: "the server reported more pages but sent no last_id".into(),
                });
            }
        };
        if empty || !seen.insert(next.clone()) {
            return Err(ApiError::Pagination {
                endpoint: endpoint.to_owned(),
                detail: format!("the cursor did not advance past {next}"),
            });
        }
        after = Some(next);
    }
}

fn too_long(endpoint: &str, why: String) -> ApiError {
    ApiError::Pagination {
        endpoint: endpoint.to_owned(),
        detail: format!(
            "{why}, far more than OpenAI's limits allow in one list (50 providers per \
             organization, 50 mappings per provider); check the provider's base URL"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn page(ids: &[&str], has_more: bool) -> ListPage<String> {
        ListPage {
            object: "list".into(),
            data: ids.iter().map(|s| s.to_string()).collect(),
            first_id: ids.first().map(|s| s.to_string()),
            last_id: ids.last().map(|s| s.to_string()),
            has_more,
        }
    }

    #[tokio::test]
    async fn walks_every_page_with_the_last_id_as_cursor() {
        let seen = Mutex::new(Vec::new());
        let all = collect_all("GET /x", |after| {
            seen.lock().unwrap().push(after.clone());
            async move {
                Ok(match after.as_deref() {
                    None => page(&["a", "b"], true),
                    Some("b") => page(&["c", "d"], true),
                    Some("d") => page(&["e"], false),
                    other => panic!("unexpected cursor {other:?}"),
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(all, ["a", "b", "c", "d", "e"]);
        assert_eq!(
            *seen.lock().unwrap(),
            [None, Some("b".to_string()), Some("d".to_string())]
        );
    }

    #[tokio::test]
    async fn missing_cursor_is_an_error_not_a_loop() {
        let err = collect_all("GET /x", |_| async {
            let mut p = page(&["a"], true);
            p.last_id = None;
            Ok(p)
        })
        .await
        .unwrap_err();
        assert!(matches!(err, ApiError::Pagination { .. }), "{err}");
    }

    #[tokio::test]
    async fn repeated_cursor_is_an_error_not_a_loop() {
        let err = collect_all("GET /x", |_| async { Ok(page(&["a"], true)) })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did not advance"), "{err}");
    }

    #[tokio::test]
    async fn a_cursor_cycle_of_any_length_is_an_error_not_a_loop() {
        let err = collect_all("GET /x", |after| async move {
            Ok(match after.as_deref() {
                None => page(&["a", "b"], true),
                Some("b") => page(&["c", "d"], true),
                // Back to an earlier cursor: b -> d -> b -> ...
                Some("d") => page(&["a", "b"], true),
                other => panic!("unexpected cursor {other:?}"),
            })
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("did not advance past b"), "{err}");
    }

    #[tokio::test]
    async fn an_endless_listing_stops_at_the_page_cap() {
        let calls = Mutex::new(0usize);
        let err = collect_all("GET /endless", |_| {
            let n = {
                let mut c = calls.lock().unwrap();
                *c += 1;
                *c
            };
            async move { Ok(page(&[&format!("id_{n}")], true)) }
        })
        .await
        .unwrap_err();
        assert_eq!(*calls.lock().unwrap(), MAX_PAGES);
        let text = err.to_string();
        assert!(text.contains("GET /endless"), "{text}");
        assert!(text.contains(&format!("after {MAX_PAGES} pages")), "{text}");
    }

    #[tokio::test]
    async fn a_listing_past_the_item_cap_stops() {
        let calls = Mutex::new(0usize);
        let err = collect_all("GET /big", |_| {
            let n = {
                let mut c = calls.lock().unwrap();
                *c += 1;
                *c
            };
            async move {
                let ids: Vec<String> = (0..3000).map(|i| format!("id_{n}_{i}")).collect();
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                Ok(page(&ids, true))
            }
        })
        .await
        .unwrap_err();
        assert_eq!(*calls.lock().unwrap(), 4);
        assert!(err.to_string().contains("more than 10000 items"), "{err}");
    }

    #[tokio::test]
    async fn page_errors_propagate() {
        let err =
            collect_all::<String, _, _>("GET /x", |_| async { Err(ApiError::MissingAdminKey) })
                .await
                .unwrap_err();
        assert!(matches!(err, ApiError::MissingAdminKey));
    }
}
