//! List query parsing and cursor pagination (`docs/reference/openai-api.md#lists-and-pagination`).
//!
//! Objects are ordered by a creation sequence number, which is unique and
//! follows creation time, so ties on `created_at` still sort deterministically.
//! The `after` cursor is an object id; its sequence number is looked up among
//! the live objects *and* the tombstones of deleted ones, so a listing keeps
//! working when the object it paused on is deleted meanwhile. An id that never
//! belonged to the list is refused with 400 (param `after`) rather than giving
//! an empty page, because an empty page would silently truncate the listing.

use super::errors::ApiError;
use openai_admin::models::{LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, ListPage, ListParams, SortOrder};

/// Parses `after`, `limit`, `order` (and returns any other pairs untouched).
pub fn parse_list_query(
    raw: Option<&str>,
) -> Result<(ListParams, Vec<(String, String)>), ApiError> {
    let mut params = ListParams::default();
    let mut rest = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "after" => {
                if v.is_empty() {
                    return Err(ApiError::invalid_value(
                        "after",
                        "'after' must be a non-empty object id.",
                    ));
                }
                params.after = Some(v.into_owned());
            }
            "limit" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| ApiError::invalid_type("limit", "an integer between 1 and 100"))?;
                if !(1..=i64::from(LIST_LIMIT_MAX)).contains(&n) {
                    return Err(ApiError::invalid_value(
                        "limit",
                        format!("Invalid 'limit' {n}: it must be between 1 and {LIST_LIMIT_MAX}."),
                    ));
                }
                params.limit = Some(n as u32);
            }
            "order" => {
                params.order = Some(match v.as_ref() {
                    "asc" => SortOrder::Asc,
                    "desc" => SortOrder::Desc,
                    other => {
                        return Err(ApiError::invalid_value(
                            "order",
                            format!("Invalid 'order' '{other}': use 'asc' or 'desc'."),
                        ));
                    }
                });
            }
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    Ok((params, rest))
}

/// One listable item: its sequence number, id and wire form.
pub struct Item<'a, T> {
    pub seq: u64,
    pub id: &'a str,
    pub obj: &'a T,
}

/// Builds one page. `items` must be sorted by ascending `seq`; `cursor` is the
/// sequence number of the `after` id (already resolved by the caller).
pub fn page<T: Clone>(
    items: Vec<Item<'_, T>>,
    cursor: Option<u64>,
    params: &ListParams,
) -> ListPage<T> {
    let limit = params.limit.unwrap_or(LIST_LIMIT_DEFAULT) as usize;
    let order = params.order.unwrap_or_default();
    let ordered: Box<dyn Iterator<Item = Item<'_, T>>> = match order {
        SortOrder::Asc => Box::new(
            items
                .into_iter()
                .filter(move |i| cursor.is_none_or(|c| i.seq > c)),
        ),
        SortOrder::Desc => Box::new(
            items
                .into_iter()
                .rev()
                .filter(move |i| cursor.is_none_or(|c| i.seq < c)),
        ),
    };
    let mut data = Vec::with_capacity(limit);
    let mut has_more = false;
    let mut ids = Vec::with_capacity(limit);
    for item in ordered {
        if data.len() == limit {
            has_more = true;
            break;
        }
        ids.push(item.id.to_owned());
        data.push(item.obj.clone());
    }
    ListPage {
        object: "list".to_owned(),
        first_id: ids.first().cloned(),
        last_id: ids.last().cloned(),
        data,
        has_more,
    }
}

/// The error for an `after` id that never belonged to this list.
pub fn unknown_cursor(after: &str) -> ApiError {
    ApiError::invalid_value(
        "after",
        format!(
            "Invalid 'after' cursor '{after}': no object with this id was ever part of this list. Use the 'last_id' of the previous page."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_bounds_are_checked() {
        assert!(parse_list_query(Some("limit=0")).is_err());
        assert!(parse_list_query(Some("limit=101")).is_err());
        assert!(parse_list_query(Some("limit=abc")).is_err());
        let (p, _) = parse_list_query(Some("limit=100&order=asc&after=x")).unwrap();
        assert_eq!(p.limit, Some(100));
        assert_eq!(p.order, Some(SortOrder::Asc));
        assert_eq!(p.after.as_deref(), Some("x"));
    }

    #[test]
    fn pages_in_both_orders() {
        let objs: Vec<(u64, String)> = (1..=5).map(|i| (i, format!("o{i}"))).collect();
        let items = || {
            objs.iter()
                .map(|(s, id)| Item {
                    seq: *s,
                    id,
                    obj: id,
                })
                .collect::<Vec<_>>()
        };
        let p = ListParams {
            limit: Some(2),
            ..Default::default()
        };
        let first = page(items(), None, &p);
        assert_eq!(first.data, vec!["o5", "o4"]);
        assert!(first.has_more);
        let second = page(items(), Some(4), &p);
        assert_eq!(second.data, vec!["o3", "o2"]);
        let asc = ListParams {
            limit: Some(10),
            order: Some(SortOrder::Asc),
            ..Default::default()
        };
        let all = page(items(), Some(2), &asc);
        assert_eq!(all.data, vec!["o3", "o4", "o5"]);
        assert!(!all.has_more);
        assert_eq!(all.first_id.as_deref(), Some("o3"));
        assert_eq!(all.last_id.as_deref(), Some("o5"));
    }
}
