//! Listing calls: the query checked against the spec, Twilio's filters (`To`, `From`,
//! `Status`, the start and end times), most recent first, one page at a time.

use axum::Json;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::API_PREFIX;
use super::calls::call_resource;
use super::checks::is_e164;
use super::server::{ApiError, authorize};
use super::spec::CallSpec;
use super::state::{CallRecord, Shared, take_injected_failure};

/// Twilio's default and largest page of a call list.
const DEFAULT_PAGE_SIZE: usize = 50;

/// Twilio's list semantics: the account's calls, most recent first, filtered, one page.
pub(super) fn list_calls(
    shared: &Shared,
    account: &str,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    authorize(shared, "list calls", account, headers)?;
    if let Some(status) = take_injected_failure(&mut shared.lock().fail_next_lists) {
        return Err(ApiError::http(status));
    }
    let mut query = ListQuery::parse(shared.spec, params);
    if !query.problems.is_empty() {
        let mut state = shared.lock();
        state.violations.extend(query.problems.drain(..).map(|problem| format!("list calls: {problem}")));
    }
    if let Some(error) = query.rejection.take() {
        return Err(error);
    }

    let state = shared.lock();
    let mut matching: Vec<&CallRecord> = state
        .by_sid
        .values()
        .filter(|record| {
            let call = &state.calls[record.index];
            query.to.as_ref().is_none_or(|to| *to == call.to)
                && query.from.as_ref().is_none_or(|from| *from == call.from)
                && query.status.as_ref().is_none_or(|status| *status == record.status)
                // The fake's calls have no parent call.
                && query.parent.is_none()
                && query.started.admits(Some(record.created))
                && query.ended.admits(record.ended)
        })
        .collect();
    matching.sort_unstable_by_key(|record| std::cmp::Reverse((record.created, record.index)));
    let start = query.page.saturating_mul(query.page_size);
    let page: Vec<&CallRecord> = matching.iter().skip(start).take(query.page_size).copied().collect();
    let calls: Vec<Value> =
        page.iter().map(|record| call_resource(&shared.account_sid, &state.calls[record.index], record)).collect();
    let next_page_uri = (start + page.len() < matching.len()).then(|| {
        let last = page.last().map_or("", |record| state.calls[record.index].sid.as_str());
        format!("{}&PageToken=PA{last}", query.page_uri(account, query.page + 1))
    });
    drop(state);

    let body = json!({
        "calls": calls,
        "end": if calls.is_empty() { start } else { start + calls.len() - 1 },
        "first_page_uri": query.page_uri(account, 0),
        "next_page_uri": next_page_uri,
        "page": query.page,
        "page_size": query.page_size,
        "previous_page_uri": (query.page > 0).then(|| query.page_uri(account, query.page - 1)),
        "start": start,
        "uri": query.page_uri(account, query.page),
    });
    Ok(Json(body).into_response())
}

/// A list-calls query, checked against the spec and decoded.
struct ListQuery {
    problems: Vec<String>,
    rejection: Option<ApiError>,
    to: Option<String>,
    from: Option<String>,
    status: Option<String>,
    parent: Option<String>,
    started: TimeFilter,
    ended: TimeFilter,
    page_size: usize,
    page: usize,
    /// The filters as given, for the page URIs.
    filters: Vec<(String, String)>,
}

/// `X`, `X<` and `X>` of a time field: on a UTC day, before, on or after.
#[derive(Default)]
struct TimeFilter {
    on: Option<NaiveDate>,
    before: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
}

impl TimeFilter {
    fn admits(&self, time: Option<DateTime<Utc>>) -> bool {
        if self.on.is_none() && self.before.is_none() && self.since.is_none() {
            return true;
        }
        time.is_some_and(|time| {
            self.on.is_none_or(|day| time.date_naive() == day)
                && self.before.is_none_or(|before| time < before)
                && self.since.is_none_or(|since| time >= since)
        })
    }

    /// Applies one `X` / `X<` / `X>` parameter; `suffix` is "", "<" or ">".
    fn set(&mut self, suffix: &str, value: &str) -> Result<(), String> {
        let (day, moment) = if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            (day, day.and_hms_opt(0, 0, 0).map(|midnight| midnight.and_utc()))
        } else if let Ok(moment) = DateTime::parse_from_rfc3339(value) {
            let moment = moment.with_timezone(&Utc);
            (moment.date_naive(), Some(moment))
        } else {
            let hint = if value.contains(' ') { " (a '+' must be sent as %2B)" } else { "" };
            return Err(format!("{value:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time{hint}"));
        };
        match suffix {
            "<" => self.before = moment,
            ">" => self.since = moment,
            _ => self.on = Some(day),
        }
        Ok(())
    }
}

impl ListQuery {
    fn parse(spec: &CallSpec, params: &[(String, String)]) -> ListQuery {
        let mut query = ListQuery {
            problems: Vec::new(),
            rejection: None,
            to: None,
            from: None,
            status: None,
            parent: None,
            started: TimeFilter::default(),
            ended: TimeFilter::default(),
            page_size: DEFAULT_PAGE_SIZE,
            page: 0,
            filters: Vec::new(),
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in params {
            if seen.contains(&name.as_str()) {
                query.problems.push(format!("query parameter {name} is given more than once"));
            }
            seen.push(name);
            let Some(property) = spec.list_parameters.get(name) else {
                query.problems.push(format!("query parameter {name:?} is not in the spec's list operation"));
                continue;
            };
            if let Err(problem) = property.check(value) {
                query.problems.push(format!("query parameter {name}={value:?}: {problem}"));
                query.rejection.get_or_insert(ApiError::new(400, 20001, format!("Invalid parameter {name}")));
                continue;
            }
            match name.as_str() {
                "To" | "From" => {
                    if !is_e164(value) {
                        let hint = if value.starts_with(' ') { " (a '+' must be sent as %2B)" } else { "" };
                        query.problems.push(format!("query parameter {name} {value:?} is not an E.164 number{hint}"));
                    }
                    if name == "To" {
                        query.to = Some(value.clone());
                    } else {
                        query.from = Some(value.clone());
                    }
                }
                "Status" => query.status = Some(value.clone()),
                "ParentCallSid" => query.parent = Some(value.clone()),
                "PageSize" => query.page_size = value.parse().unwrap_or(DEFAULT_PAGE_SIZE),
                "Page" => query.page = value.parse().unwrap_or(0),
                "PageToken" => {}
                time => {
                    let (field, suffix) = time.split_at(time.find(['<', '>']).unwrap_or(time.len()));
                    let filter = if field == "EndTime" { &mut query.ended } else { &mut query.started };
                    if let Err(problem) = filter.set(suffix, value) {
                        query.problems.push(format!("query parameter {name}: {problem}"));
                        query.rejection.get_or_insert(ApiError::new(400, 20001, format!("Invalid parameter {name}")));
                    }
                }
            }
            if !matches!(name.as_str(), "PageSize" | "Page" | "PageToken") {
                query.filters.push((name.clone(), value.clone()));
            }
        }
        query
    }

    /// The URI of one page of this list, as Twilio writes it (filters first, encoded).
    fn page_uri(&self, account: &str, page: usize) -> String {
        let mut pairs: Vec<String> = self
            .filters
            .iter()
            .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
            .collect();
        pairs.push(format!("PageSize={}", self.page_size));
        pairs.push(format!("Page={page}"));
        format!("{API_PREFIX}{account}/Calls.json?{}", pairs.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn calls_are_listed_most_recent_first_filtered_and_paged() {
        use super::super::API_PREFIX;
        use super::super::test_client::{ANN, BOB, SID, call_url, create, get, list, sids, start};
        use chrono::{TimeZone, Utc};
        use serde_json::{Value, json};

        let (phone, clock) = start().await;
        phone.script(ANN, &["ringing", "in-progress"]);
        let first = create(&phone, ANN).await;
        clock.advance(chrono::Duration::minutes(5));
        let second = create(&phone, BOB).await;
        clock.advance(chrono::Duration::days(1));
        let third = create(&phone, ANN).await;
        assert_eq!(phone.calls()[2].created, Utc.with_ymd_and_hms(2026, 3, 3, 1, 5, 0).single().expect("valid"));

        let (status, all) = list(&phone, "").await;
        assert_eq!(status, 200);
        assert_eq!(sids(&all), [third.as_str(), &second, &first]);
        assert_eq!(all["calls"][2]["date_created"], json!("Mon, 02 Mar 2026 01:00:00 +0000"));
        assert_eq!(all["page_size"], json!(50));
        assert_eq!(all["end"], json!(2));
        assert_eq!(all["next_page_uri"], Value::Null);
        assert_eq!(all["uri"], json!(format!("{API_PREFIX}{SID}/Calls.json?PageSize=50&Page=0")));

        let (_, to_ann) = list(&phone, "To=%2B8613800138001").await;
        assert_eq!(sids(&to_ann), [third.as_str(), &first]);
        let (_, since) = list(&phone, "To=%2B8613800138001&StartTime%3E=2026-03-03").await;
        assert_eq!(sids(&since), [third.as_str()]);
        let (_, before) = list(&phone, "StartTime%3C=2026-03-02T01:05:00Z").await;
        assert_eq!(sids(&before), [first.as_str()]);
        let (_, on_day) = list(&phone, "StartTime=2026-03-02").await;
        assert_eq!(sids(&on_day), [second.as_str(), &first]);

        // Fetching moves the first call along its script; the list shows the same status.
        assert_eq!(get(&call_url(&phone, &first)).await.1["status"], json!("ringing"));
        let (_, ringing) = list(&phone, "Status=ringing").await;
        assert_eq!(sids(&ringing), [first.as_str()]);
        assert_eq!(ringing["calls"][0]["status"], json!("ringing"));
        let (_, queued) = list(&phone, "Status=queued&PageSize=1").await;
        assert_eq!(sids(&queued), [third.as_str()]);
        assert_eq!(
            queued["next_page_uri"],
            json!(format!("{API_PREFIX}{SID}/Calls.json?Status=queued&PageSize=1&Page=1&PageToken=PA{third}"))
        );
        let (_, page_two) = list(&phone, "Status=queued&PageSize=1&Page=1").await;
        assert_eq!(sids(&page_two), [second.as_str()]);

        let requests = phone.list_requests();
        assert_eq!(requests.len(), 8);
        assert_eq!(requests[2].param("StartTime>"), Some("2026-03-03"));
        assert_eq!(requests[1].param("To"), Some(ANN));
        assert!(phone.violations().is_empty(), "{:?}", phone.violations());
    }

    #[tokio::test]
    async fn list_requests_are_checked_and_can_fail() {
        use super::super::test_client::{ANN, calls_url, client, create, list, sids, start};

        let (phone, _clock) = start().await;
        create(&phone, ANN).await;
        // A '+' sent as is arrives as a space, and an unknown parameter is ignored by Twilio.
        let (status, body) = list(&phone, "To=+8613800138001&Limit=5").await;
        assert_eq!(status, 200);
        assert!(sids(&body).is_empty());
        assert_eq!(phone.violations().len(), 2, "{:?}", phone.violations());
        assert_eq!(list(&phone, "PageSize=0").await.0, 400);
        assert_eq!(list(&phone, "Status=lost").await.0, 400);
        assert_eq!(list(&phone, "StartTime%3E=yesterday").await.0, 400);
        assert_eq!(phone.violations().len(), 5);

        phone.fail_next_lists(1, 500);
        assert_eq!(list(&phone, "").await.0, 500);
        phone.set_down(true);
        assert_eq!(list(&phone, "").await.0, 503);
        phone.set_down(false);
        assert_eq!(list(&phone, "").await.0, 200);
        let unauthenticated = client().get(calls_url(&phone)).send().await.expect("the fake answers");
        assert_eq!(unauthenticated.status(), 401);
        let statuses: Vec<u16> = phone.list_requests().iter().map(|request| request.status).collect();
        assert_eq!(statuses, [200, 400, 400, 400, 500, 503, 200, 401]);
    }
}
