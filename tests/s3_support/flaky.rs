//! A loopback HTTP proxy between vannactl and the S3 server that makes chosen requests fail, so
//! retries are seen from outside, over a real socket. One request per connection (it asks both
//! sides for `Connection: close`), which is all it needs to understand of HTTP; presigned URLs
//! sign only the host, which the proxy passes on unchanged.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// What to do to a request whose method is `method` and whose request line contains `matching`.
#[derive(Clone)]
pub struct Fault {
    pub method: &'static str,
    pub matching: String,
    /// Only requests without a `Range` header (a whole-object GET, not a resumed one).
    pub whole_only: bool,
    pub times: usize,
    pub kind: FaultKind,
}

#[derive(Clone, Copy)]
pub enum FaultKind {
    /// Answer `503 SlowDown` (after reading the request).
    SlowDown,
    /// Pass the request on, then close the connection after this many bytes of the answer.
    CutAfter(usize),
    /// Flip the bits of the request body's byte at this offset, as a bad link or NIC would.
    Corrupt(usize),
    /// Pass the request on and remove this header from the answer (a server without it).
    DropAnswerHeader(&'static str),
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The path and query (the query is a signed one: never print it outside a test).
    pub target: String,
    pub range: Option<String>,
    pub if_match: Option<String>,
    pub content_md5: bool,
    pub faulted: bool,
}

pub struct Flaky {
    pub port: u16,
    faults: Arc<Mutex<Vec<Fault>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Flaky {
    pub fn start(upstream: u16) -> Flaky {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (f, s) = (faults.clone(), seen.clone());
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (f, s) = (f.clone(), s.clone());
                thread::spawn(move || {
                    let _ = serve(conn, upstream, &f, &s);
                });
            }
        });
        Flaky { port, faults, seen }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn inject(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    pub fn clear(&self) {
        self.faults.lock().unwrap().clear();
        self.seen.lock().unwrap().clear();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests of `method` whose request line contains `matching`.
    pub fn count(&self, method: &str, matching: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.target.contains(matching))
            .count()
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Read up to the end of the head; returns (head, bytes after it).
fn read_head(s: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(i + 4);
            return Ok(Some((String::from_utf8_lossy(&buf).into_owned(), rest)));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The head with its `Connection` header replaced by `Connection: close`.
fn closing(head: &str) -> String {
    let mut out: Vec<&str> = head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    out.push("Connection: close");
    format!("{}\r\n\r\n", out.join("\r\n"))
}

fn answer(client: &mut TcpStream, status: &str, code: &str) -> std::io::Result<()> {
    let body =
        format!("<Error><Code>{code}</Code><Message>injected by the test proxy</Message></Error>");
    write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn serve(
    mut client: TcpStream,
    upstream: u16,
    faults: &Mutex<Vec<Fault>>,
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    let Some((head, mut body)) = read_head(&mut client)? else {
        return Ok(());
    };
    let len: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while body.len() < len {
        let mut chunk = vec![0u8; (len - body.len()).min(1 << 20)];
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let range = header(&head, "range").map(str::to_string);
    let fault = {
        let mut all = faults.lock().unwrap();
        let hit = all.iter_mut().find(|f| {
            f.times > 0
                && f.method == method
                && target.contains(&f.matching)
                && !(f.whole_only && range.is_some())
        });
        hit.map(|f| {
            f.times -= 1;
            f.kind
        })
    };
    seen.lock().unwrap().push(Seen {
        method,
        target,
        range,
        if_match: header(&head, "if-match").map(str::to_string),
        content_md5: header(&head, "content-md5").is_some(),
        faulted: fault.is_some(),
    });
    if let Some(FaultKind::SlowDown) = fault {
        return answer(&mut client, "503 Service Unavailable", "SlowDown");
    }
    if let Some(FaultKind::Corrupt(at)) = fault {
        if let Some(b) = body.get_mut(at) {
            *b ^= 0xff;
        }
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(closing(&head).as_bytes())?;
    up.write_all(&body)?;
    let Some((resp_head, first)) = read_head(&mut up)? else {
        return Ok(());
    };
    let mut limit = match fault {
        Some(FaultKind::CutAfter(n)) => n,
        _ => usize::MAX,
    };
    let resp_head = match fault {
        Some(FaultKind::DropAnswerHeader(name)) => resp_head
            .split("\r\n")
            .filter(|l| {
                !l.split_once(':')
                    .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            })
            .collect::<Vec<_>>()
            .join("\r\n"),
        _ => resp_head,
    };
    client.write_all(closing(&resp_head).as_bytes())?;
    let mut pending = first;
    let mut chunk = vec![0u8; 256 << 10];
    loop {
        let n = pending.len().min(limit);
        client.write_all(&pending[..n])?;
        limit -= n;
        if limit == 0 {
            // Mid-body: the client sees the connection end before Content-Length.
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        let got = up.read(&mut chunk)?;
        if got == 0 {
            return Ok(());
        }
        pending = chunk[..got].to_vec();
    }
}
