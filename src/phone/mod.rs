//! The phone edge: places voice calls and reads their status, behind the
//! [`Phone`](crate::jobs::ports::Phone) port the job runner calls.
//!
//! Two providers exist: [`twilio::Twilio`] (Programmable Voice, with call status, lookups and
//! hang-ups) and [`webhook::Webhook`] (a JSON POST to any other service, without status).
//!
//! Phone numbers are private: no error, log line or `Debug` output of this module carries one,
//! nor a credential or a request body.

pub mod twilio;
pub mod webhook;

use crate::jobs::ports::{PhoneError, mask_digits};

/// Longest provider message kept in an error, so a chatty error page cannot flood the logs.
const MAX_DETAIL_CHARS: usize = 200;

/// A provider-supplied message made safe for an error: numbers masked, length capped.
pub(crate) fn safe_detail(message: &str) -> String {
    let masked = mask_digits(message.trim());
    if masked.chars().count() <= MAX_DETAIL_CHARS {
        return masked;
    }
    let mut cut: String = masked.chars().take(MAX_DETAIL_CHARS).collect();
    cut.push('…');
    cut
}

/// A failed HTTP exchange (no response). The URL is dropped because it can carry an account id
/// or a webhook token; the causes are kept because "connection refused" or "dns error" is what
/// an operator needs.
pub(crate) fn transport_error(err: reqwest::Error) -> PhoneError {
    let err = err.without_url();
    if err.is_timeout() {
        return PhoneError::Unavailable("request timed out".to_owned());
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    let text = safe_detail(&text);
    if err.is_builder() { PhoneError::Refused(text) } else { PhoneError::Unavailable(text) }
}

/// A non-success HTTP status: 429 and 5xx are worth retrying, anything else is not (3xx included,
/// since redirects are not followed: the configured URL is wrong).
pub(crate) fn status_error(status: reqwest::StatusCode, detail: Option<String>) -> PhoneError {
    let mut text = format!("HTTP {}", status.as_u16());
    if let Some(detail) = detail {
        text.push_str(": ");
        text.push_str(&detail);
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        PhoneError::Unavailable(text)
    } else {
        PhoneError::Refused(text)
    }
}

/// The HTTP client both providers use: bounded in time, no redirects (a redirected POST would
/// turn into a GET and lose the call), no credentials sent anywhere but the configured URL.
pub(crate) fn http_client(request_timeout: std::time::Duration) -> Result<reqwest::Client, PhoneError> {
    reqwest::Client::builder()
        .timeout(request_timeout)
        .connect_timeout(request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("floorbot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| PhoneError::Refused(format!("cannot build the HTTP client: {}", err.without_url())))
}

#[cfg(test)]
pub(crate) mod test_server {
    //! A one-shot HTTP/1.1 server on 127.0.0.1 that records what it receives and answers with
    //! canned responses, one connection per response.

    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    /// One request as received.
    #[derive(Debug)]
    pub struct Recorded {
        pub method: String,
        pub path: String,
        /// Header names in lower case.
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Recorded {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
        }

        pub fn form(&self) -> Vec<(String, String)> {
            url::form_urlencoded::parse(&self.body).into_owned().collect()
        }
    }

    /// Starts a server that answers the given (status, body) pairs in order, then stops.
    /// Returns its base URL and a handle yielding what it recorded.
    pub async fn serve(responses: Vec<(u16, &'static str)>) -> (url::Url, JoinHandle<Vec<Recorded>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let mut recorded = Vec::new();
            for (status, body) in responses {
                let (mut stream, _) = listener.accept().await.unwrap();
                recorded.push(read_request(&mut stream).await);
                let response = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    reason(status),
                    body.len()
                );
                stream.write_all(response.as_bytes()).await.unwrap();
                stream.shutdown().await.unwrap();
            }
            recorded
        });
        (url::Url::parse(&format!("http://{address}")).unwrap(), handle)
    }

    /// Starts a server that accepts one connection and never answers.
    pub async fn silent() -> (url::Url, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(stream);
        });
        (url::Url::parse(&format!("http://{address}")).unwrap(), handle)
    }

    /// A URL on which nothing listens.
    pub async fn closed() -> url::Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        url::Url::parse(&format!("http://{address}")).unwrap()
    }

    async fn read_request(stream: &mut TcpStream) -> Recorded {
        let mut data = Vec::new();
        let mut buffer = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "connection closed before the request head ended");
            data.extend_from_slice(&buffer[..n]);
        };
        let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap().split(' ');
        let method = request_line.next().unwrap().to_owned();
        let path = request_line.next().unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = data[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "connection closed before the request body ended");
            body.extend_from_slice(&buffer[..n]);
        }
        Recorded { method, path, headers, body }
    }

    fn reason(status: u16) -> &'static str {
        match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            301 => "Moved Permanently",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Whatever",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_detail_caps_the_length() {
        let long = "x".repeat(500);
        let detail = safe_detail(&long);
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(detail.ends_with('…'));
        assert_eq!(safe_detail("  short  "), "short");
    }

    #[test]
    fn status_errors_split_retryable_from_refused() {
        use reqwest::StatusCode;
        assert!(status_error(StatusCode::TOO_MANY_REQUESTS, None).is_retryable());
        assert!(status_error(StatusCode::SERVICE_UNAVAILABLE, None).is_retryable());
        assert!(status_error(StatusCode::INTERNAL_SERVER_ERROR, None).is_retryable());
        assert!(!status_error(StatusCode::BAD_REQUEST, None).is_retryable());
        assert!(!status_error(StatusCode::UNAUTHORIZED, None).is_retryable());
        assert!(!status_error(StatusCode::MOVED_PERMANENTLY, None).is_retryable());
        assert_eq!(
            status_error(StatusCode::NOT_FOUND, Some("gone".to_owned())),
            PhoneError::Refused("HTTP 404: gone".to_owned())
        );
    }
}
