//! Walking a cursor-paginated list endpoint to the end: ask for the next page
//! with `after=<last_id>` while the server says `has_more`.

use std::future::Future;

use crate::error::ApiError;
use crate::models::ListPage;

/// Page size used when walking a whole collection: the documented maximum,
/// so a full listing costs as few requests as possible.
pub const PAGE_SIZE: u32 = crate::models::LIST_LIMIT_MAX;

/// Calls `fetch_page(after)` (first with `None`) until a page has
/// `has_more: false`, and returns every item in server order. `endpoint`
/// only names the list in error messages.
///
/// A server that claims more pages but returns no `last_id`, an empty page,
/// or any cursor it already gave (a cycle of any length), is reported
/// instead of looping forever.
pub async fn collect_all<T, F, Fut>(endpoint: &str, mut fetch_page: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<ListPage<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let page = fetch_page(after.clone()).await?;
        let empty = page.data.is_empty();
        items.extend(page.data);
        if !page.has_more {
            return Ok(items);
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
    async fn page_errors_propagate() {
        let err =
            collect_all::<String, _, _>("GET /x", |_| async { Err(ApiError::MissingAdminKey) })
                .await
                .unwrap_err();
        assert!(matches!(err, ApiError::MissingAdminKey));
    }
}
