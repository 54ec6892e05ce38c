//! Which S3 failures are worth another try. A reset or refused connection and the server's own
//! trouble (500, 502, 503, 504, `SlowDown`, `RequestTimeout`) usually pass; anything refused on
//! purpose (403 credentials, 404 bucket, 412 existing object, …) fails at once, since trying again
//! cannot change the answer. Timeouts are not retried either: they already took a minute.

use std::io::ErrorKind;
use std::time::Duration;

/// Attempts per request (the first one included).
pub const TRIES: u32 = 3;
/// Wait before the second attempt; doubled before each further one (250 ms, 500 ms).
const FIRST_WAIT: Duration = Duration::from_millis(250);

/// How long to wait after failed attempt number `attempt` (1-based).
pub fn backoff(attempt: u32) -> Duration {
    FIRST_WAIT * 2u32.pow(attempt.saturating_sub(1).min(4))
}

/// Log why attempt number `attempt` failed and wait before the next one. At info: the log file
/// keeps it, while stderr shows only the final error when every attempt fails (one line).
pub fn pause(attempt: u32, failed: std::fmt::Arguments) {
    let wait = backoff(attempt);
    tracing::info!(
        "{failed}; trying again in {} ms (attempt {} of {TRIES})",
        wait.as_millis(),
        attempt + 1
    );
    std::thread::sleep(wait);
}

/// A connection-level failure that a new connection may not hit.
pub fn transient_transport(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Io(io) => transient_io(io.kind()),
        ureq::Error::ConnectionFailed => true,
        _ => false,
    }
}

pub fn transient_io(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionRefused
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::Interrupted
    )
}

/// An HTTP answer that says "not now" rather than "no".
pub fn transient_status(status: u16, code: &str) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
        || matches!(
            code,
            "SlowDown" | "RequestTimeout" | "InternalError" | "ServiceUnavailable"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_final_and_server_trouble_is_not() {
        for (status, code) in [(503, "SlowDown"), (500, ""), (502, ""), (504, "")] {
            assert!(transient_status(status, code), "{status} {code}");
        }
        assert!(transient_status(400, "RequestTimeout"));
        for (status, code) in [
            (403, "AccessDenied"),
            (403, "SignatureDoesNotMatch"),
            (401, ""),
            (404, "NoSuchBucket"),
            (412, "PreconditionFailed"),
            (400, "InvalidPart"),
        ] {
            assert!(!transient_status(status, code), "{status} {code}");
        }
        assert!(transient_io(ErrorKind::ConnectionReset));
        assert!(!transient_io(ErrorKind::TimedOut));
        assert!(!transient_io(ErrorKind::PermissionDenied));
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
    }
}
