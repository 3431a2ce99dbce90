//! `ports`: reachability of the hosts, ports and URLs named in `[ports]`
//! (spec §8.21).
//!
//! Nothing is scanned unless the config names it; the default gateway entry
//! (`port_0`) only exists with `port_default_gateway=True`. Scans run on a
//! background thread started by a collection when none is running, and write
//! their results into the shared entries, so results show in later
//! collections and `collect` never waits on the network.
//!
//! Differences from Glances 3.4.0.5: URL checks speak plain HTTP only (no TLS
//! library in glint), so `https://` URLs report `"Error"`; an entry whose
//! host starts with `-` (it would reach `ping` as an option) or whose port
//! is not a number is never scanned and keeps `status: null`.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tracing::{debug, warn};

use super::amps::{Stderr, run_command};
use super::ip::default_gateway;
use super::{Env, Plugin};
use crate::config::parse_bool;
use crate::json::{float, round_to};

/// Glances' defaults for the informational `refresh` and the check timeout.
const DEFAULT_REFRESH: i64 = 60;
const DEFAULT_TIMEOUT: i64 = 3;
/// Entries are numbered 1..=255 in the config.
const MAX_ENTRIES: usize = 255;
/// Glances waits this long after each host/port check (not after URLs).
const PAUSE_AFTER_PORT: Duration = Duration::from_secs(1);

/// What the scanner does for one entry.
#[derive(Debug, Clone, PartialEq)]
enum Check {
    Tcp {
        host: String,
        port: u16,
        timeout: Duration,
    },
    Icmp {
        host: String,
        timeout: i64,
    },
    Url {
        url: String,
        timeout: Duration,
        proxy: Option<String>,
    },
    /// Misconfigured or unresolvable entry: shown, never scanned.
    Skip,
}

pub struct Ports {
    /// The entries as served; the scanner updates `status`/`elapsed` in place.
    entries: Arc<Mutex<Vec<Value>>>,
    checks: Arc<Vec<Check>>,
    scan: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    pause: Duration,
    /// The ping program (tests substitute `true`/`false`).
    ping: String,
    /// Config problems, logged on the first collection (construction also
    /// happens just to probe which plugins exist).
    problems: Vec<String>,
}

impl Ports {
    pub fn new(env: &Env) -> Ports {
        let mut problems = Vec::new();
        let (entries, checks): (Vec<Value>, Vec<Check>) = load_entries(env, &mut problems).into_iter().unzip();
        Ports {
            entries: Arc::new(Mutex::new(entries)),
            checks: Arc::new(checks),
            scan: None,
            stop: Arc::new(AtomicBool::new(false)),
            pause: PAUSE_AFTER_PORT,
            ping: "ping".into(),
            problems,
        }
    }

    fn scan_running(&self) -> bool {
        self.scan.as_ref().is_some_and(|h| !h.is_finished())
    }

    fn start_scan(&mut self) {
        let (entries, checks, stop) = (
            Arc::clone(&self.entries),
            Arc::clone(&self.checks),
            Arc::clone(&self.stop),
        );
        let (pause, ping) = (self.pause, self.ping.clone());
        let spawned = std::thread::Builder::new()
            .name("glint-ports-scan".into())
            .spawn(move || scan_all(&entries, &checks, &stop, pause, &ping));
        match spawned {
            Ok(handle) => self.scan = Some(handle),
            Err(e) => warn!(error = %e, "ports: cannot start the scan thread"),
        }
    }
}

impl Drop for Ports {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Plugin for Ports {
    fn name(&self) -> &'static str {
        "ports"
    }

    fn collect(&mut self) -> Value {
        for problem in self.problems.drain(..) {
            warn!("ports: {problem}");
        }
        if !self.checks.is_empty() && !self.scan_running() {
            self.start_scan();
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Value::Array(entries.clone())
    }

    fn key(&self) -> Option<&'static str> {
        Some("indice")
    }
}

/// Python's `int(value)` for the integer options (fractions truncated).
fn int_option(value: Option<&str>, default: i64) -> i64 {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(default, |v| v as i64)
}

/// `<n>_rtt_warning` is in milliseconds; the entry shows seconds.
fn rtt_warning(value: Option<&str>) -> Value {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(Value::Null, |ms| float((ms as i64) as f64 / 1000.0))
}

/// Every entry of `[ports]` in Glances' order: gateway, ports, then URLs.
fn load_entries(env: &Env, problems: &mut Vec<String>) -> Vec<(Value, Check)> {
    let Some(section) = env.config.section("ports") else {
        return Vec::new();
    };
    let refresh = int_option(section.get("refresh"), DEFAULT_REFRESH);
    let timeout = int_option(section.get("timeout"), DEFAULT_TIMEOUT);
    let mut entries = Vec::new();
    if section.get("port_default_gateway").and_then(parse_bool) == Some(true) {
        entries.push(gateway_entry(env, refresh, timeout));
    }
    for n in 1..=MAX_ENTRIES {
        let opt = |name: &str| section.get(&format!("port_{n}_{name}"));
        if let Some(host) = opt("host") {
            let timeout = int_option(opt("timeout"), timeout);
            entries.push(port_entry(
                n,
                host,
                opt("port"),
                opt("description"),
                refresh,
                timeout,
                opt("rtt_warning"),
                problems,
            ));
        }
    }
    for n in 1..=MAX_ENTRIES {
        let opt = |name: &str| section.get(&format!("web_{n}_{name}"));
        if let Some(url) = opt("url") {
            let options = WebOptions {
                description: opt("description"),
                timeout: int_option(opt("timeout"), timeout),
                rtt_warning: opt("rtt_warning"),
                ssl_verify: opt("ssl_verify"),
                http_proxy: opt("http_proxy"),
                https_proxy: opt("https_proxy"),
            };
            match web_entry(n, url, refresh, &options) {
                Some(entry) => entries.push(entry),
                None => problems.push(format!("web_{n}_url '{url}' has no scheme or host; ignored")),
            }
        }
    }
    entries
}

fn gateway_entry(env: &Env, refresh: i64, timeout: i64) -> (Value, Check) {
    let host = default_gateway(env).map(|g| g.gateway.to_string());
    let check = host.clone().map_or(Check::Skip, |host| Check::Icmp { host, timeout });
    let entry = json!({
        "host": host, "port": 0, "description": "DefaultGateway", "refresh": refresh,
        "timeout": timeout, "status": null, "rtt_warning": null, "indice": "port_0",
    });
    (entry, check)
}

#[allow(clippy::too_many_arguments)]
fn port_entry(
    n: usize,
    host: &str,
    port: Option<&str>,
    description: Option<&str>,
    refresh: i64,
    timeout: i64,
    rtt: Option<&str>,
    problems: &mut Vec<String>,
) -> (Value, Check) {
    // The port shows as written; absent means 0, an ICMP ping.
    let port_value = port.map_or(Value::from(0), Value::from);
    let port_text = port.unwrap_or("0");
    let check = match port_text.trim().parse::<u16>() {
        _ if host.starts_with('-') => {
            problems.push(format!("port_{n}_host '{host}' starts with '-'; not scanned"));
            Check::Skip
        }
        Ok(0) => Check::Icmp {
            host: host.to_string(),
            timeout,
        },
        Ok(port) => Check::Tcp {
            host: host.to_string(),
            port,
            timeout: check_timeout(timeout),
        },
        Err(_) => {
            problems.push(format!("port_{n}_port '{port_text}' is not a port number; not scanned"));
            Check::Skip
        }
    };
    let mut m = Map::new();
    m.insert("host".into(), host.into());
    m.insert("port".into(), port_value);
    m.insert(
        "description".into(),
        description
            .map_or_else(|| format!("{host}:{port_text}"), String::from)
            .into(),
    );
    m.insert("status".into(), Value::Null);
    m.insert("refresh".into(), refresh.into());
    m.insert("timeout".into(), timeout.into());
    m.insert("rtt_warning".into(), rtt_warning(rtt));
    m.insert("indice".into(), format!("port_{n}").into());
    (Value::Object(m), check)
}

struct WebOptions<'a> {
    description: Option<&'a str>,
    timeout: i64,
    rtt_warning: Option<&'a str>,
    ssl_verify: Option<&'a str>,
    http_proxy: Option<&'a str>,
    https_proxy: Option<&'a str>,
}

/// A URL entry, or `None` when the URL lacks a scheme or host (Glances
/// drops those with an error).
fn web_entry(n: usize, url: &str, refresh: i64, o: &WebOptions) -> Option<(Value, Check)> {
    let (scheme, rest) = url.split_once("://")?;
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if scheme.is_empty() || netloc.is_empty() {
        return None;
    }
    let proxies = match (o.http_proxy, o.https_proxy) {
        (None, None) => Value::Null,
        (http, https) => json!({"http": http, "https": https}),
    };
    let check = Check::Url {
        url: url.to_string(),
        timeout: check_timeout(o.timeout),
        proxy: o.http_proxy.map(String::from),
    };
    let mut m = Map::new();
    m.insert("url".into(), url.into());
    m.insert("description".into(), o.description.unwrap_or(netloc).into());
    m.insert("status".into(), Value::Null);
    m.insert("elapsed".into(), 0.into());
    m.insert("refresh".into(), refresh.into());
    m.insert("timeout".into(), o.timeout.into());
    m.insert("rtt_warning".into(), rtt_warning(o.rtt_warning));
    m.insert("indice".into(), format!("web_{n}").into());
    m.insert("ssl_verify".into(), o.ssl_verify.map_or(Value::Bool(true), Value::from));
    m.insert("proxies".into(), proxies);
    Some((Value::Object(m), check))
}

/// Socket timeouts must be positive; Glances' are whole seconds.
fn check_timeout(seconds: i64) -> Duration {
    Duration::from_secs(seconds.max(1) as u64)
}

/// Seconds with microsecond precision, like Glances' timers.
fn seconds(elapsed: Duration) -> Value {
    float(round_to(elapsed.as_secs_f64(), 6))
}

/// One pass over all entries, writing each result as soon as it is known.
fn scan_all(entries: &Mutex<Vec<Value>>, checks: &[Check], stop: &AtomicBool, pause: Duration, ping: &str) {
    for (i, check) in checks.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let update = match check {
            Check::Skip => continue,
            Check::Tcp { host, port, timeout } => Some(vec![("status", tcp_check(host, *port, *timeout))]),
            Check::Icmp { host, timeout } => icmp_check(ping, host, *timeout, stop).map(|s| vec![("status", s)]),
            Check::Url { url, timeout, proxy } => Some(url_check(url, *timeout, proxy.as_deref())),
        };
        if let Some(fields) = update {
            let mut entries = entries.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(Value::Object(entry)) = entries.get_mut(i) {
                for (field, value) in fields {
                    entry.insert(field.into(), value);
                }
            }
        }
        if matches!(check, Check::Tcp { .. } | Check::Icmp { .. }) {
            std::thread::sleep(pause);
        }
    }
}

/// The address Glances would connect to: IPv4 first, as `gethostbyname`.
fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().ok()?.collect();
    addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).copied()
}

/// Round-trip time of a TCP connect in seconds, or `false`.
fn tcp_check(host: &str, port: u16, timeout: Duration) -> Value {
    let Some(addr) = resolve(host, port) else {
        debug!(host, "ports: cannot resolve host");
        return Value::Bool(false);
    };
    let started = Instant::now();
    match TcpStream::connect_timeout(&addr, timeout) {
        Ok(_) => seconds(started.elapsed()),
        Err(_) => Value::Bool(false),
    }
}

/// `ping -c 1 -W <timeout> <host>`, without a shell: its run time in
/// seconds, `false` when it fails, `None` (status unchanged) when ping
/// cannot be run at all.
fn icmp_check(ping: &str, host: &str, timeout: i64, stop: &AtomicBool) -> Option<Value> {
    let argv = [ping, "-c", "1", "-W", &timeout.to_string(), host].map(String::from);
    // ping bounds its own wait; the margin covers name resolution.
    let limit = Duration::from_secs(timeout.max(1) as u64 + 5);
    let started = Instant::now();
    match run_command(&argv, Stderr::Discard, limit, stop) {
        Ok(out) if out.success => Some(seconds(started.elapsed())),
        Ok(_) => Some(Value::Bool(false)),
        Err(e) => {
            debug!(error = %e, "ports: ping unavailable");
            None
        }
    }
}

/// HEAD request following redirects: `status` (int or "Error") and
/// `elapsed` (seconds, 0 on error).
fn url_check(url: &str, timeout: Duration, proxy: Option<&str>) -> Vec<(&'static str, Value)> {
    let started = Instant::now();
    match http::request("HEAD", url, timeout, proxy) {
        Ok(response) => vec![
            ("status", response.status.into()),
            ("elapsed", seconds(started.elapsed())),
        ],
        Err(e) => {
            debug!(url, error = %e, "ports: URL check failed");
            vec![("status", "Error".into()), ("elapsed", 0.into())]
        }
    }
}

/// A minimal plain-HTTP client over `std::net` for the few outbound checks
/// glint makes when configured to (port URLs, nginx status, public IP,
/// cloud metadata). HTTP/1.0 requests, so replies are never chunked; a
/// whole-request deadline; bodies capped; redirects followed; no TLS.
pub mod http {
    use std::io::{Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::{Duration, Instant};

    /// Bodies beyond this are cut (status pages and IPs are tiny).
    pub const MAX_BODY: usize = 64 * 1024;
    const MAX_HEAD: usize = 16 * 1024;
    const MAX_REDIRECTS: usize = 10;

    #[derive(Debug, thiserror::Error)]
    pub enum HttpError {
        #[error("only http:// URLs are supported (no TLS in glint): {0}")]
        Unsupported(String),
        #[error("malformed URL: {0}")]
        BadUrl(String),
        #[error("cannot resolve {0}")]
        Resolve(String),
        #[error("timed out")]
        Timeout,
        #[error("malformed HTTP response")]
        Malformed,
        #[error("more than {MAX_REDIRECTS} redirects")]
        TooManyRedirects,
        #[error(transparent)]
        Io(#[from] std::io::Error),
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Response {
        pub status: u16,
        /// The body as text (invalid UTF-8 replaced), at most [`MAX_BODY`] bytes.
        pub body: String,
    }

    impl Response {
        /// What `requests` calls `ok`.
        pub fn ok(&self) -> bool {
            self.status < 400
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Url {
        /// `host[:port]` as written, for the Host header.
        authority: String,
        host: String,
        port: u16,
        /// Path and query, at least `/`.
        target: String,
    }

    fn parse_url(url: &str) -> Result<Url, HttpError> {
        let rest = match url.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &url[7..],
            _ => return Err(HttpError::Unsupported(url.to_string())),
        };
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let target = target.split('#').next().unwrap_or_default();
        let target = if target.starts_with('/') {
            target.to_string()
        } else {
            format!("/{target}")
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(HttpError::BadUrl(url.to_string()));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p.parse().map_err(|_| HttpError::BadUrl(url.to_string()))?),
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Url {
            authority: authority.to_string(),
            host: host.to_string(),
            port,
            target,
        })
    }

    /// `method` `url` (plain HTTP), following up to 10 redirects, all within
    /// `timeout`. `proxy` (`http://host:port`) receives absolute-form requests.
    pub fn request(method: &str, url: &str, timeout: Duration, proxy: Option<&str>) -> Result<Response, HttpError> {
        let deadline = Instant::now() + timeout;
        let proxy = proxy.map(parse_url).transpose()?;
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let target = parse_url(&url)?;
            let (status, location, body) = exchange(method, &url, &target, proxy.as_ref(), deadline)?;
            match location {
                Some(next) if matches!(status, 301 | 302 | 303 | 307 | 308) => url = join(&target, &next),
                _ => return Ok(Response { status, body }),
            }
        }
        Err(HttpError::TooManyRedirects)
    }

    /// The absolute URL a `Location` header points to.
    fn join(base: &Url, location: &str) -> String {
        if location.contains("://") {
            location.to_string()
        } else if location.starts_with('/') {
            format!("http://{}{location}", base.authority)
        } else {
            let dir = base.target.split('?').next().unwrap_or("/");
            let dir = &dir[..dir.rfind('/').map_or(0, |i| i + 1)];
            format!("http://{}{dir}{location}", base.authority)
        }
    }

    fn remaining(deadline: Instant) -> Result<Duration, HttpError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(HttpError::Timeout)
        } else {
            Ok(left)
        }
    }

    fn connect(to: &Url, deadline: Instant) -> Result<TcpStream, HttpError> {
        let addrs = (to.host.as_str(), to.port)
            .to_socket_addrs()
            .map_err(|_| HttpError::Resolve(to.host.clone()))?;
        let mut last = HttpError::Resolve(to.host.clone());
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, remaining(deadline)?) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e.into(),
            }
        }
        Err(last)
    }

    /// One request/response: status, `Location`, body.
    fn exchange(
        method: &str,
        url: &str,
        target: &Url,
        proxy: Option<&Url>,
        deadline: Instant,
    ) -> Result<(u16, Option<String>, String), HttpError> {
        let mut stream = connect(proxy.unwrap_or(target), deadline)?;
        let request_target = if proxy.is_some() { url } else { &target.target };
        let request = format!(
            "{method} {request_target} HTTP/1.0\r\nHost: {}\r\nUser-Agent: glint/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            target.authority,
            env!("CARGO_PKG_VERSION"),
        );
        stream.set_write_timeout(Some(remaining(deadline)?))?;
        stream.write_all(request.as_bytes()).map_err(timeout_error)?;
        let raw = read_reply(&mut stream, method == "HEAD", deadline)?;
        parse_reply(&raw)
    }

    fn timeout_error(e: std::io::Error) -> HttpError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => HttpError::Timeout,
            _ => e.into(),
        }
    }

    fn head_end(buf: &[u8]) -> Option<usize> {
        buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
    }

    /// Read until EOF, the end of the head (HEAD), or the size caps.
    fn read_reply(stream: &mut TcpStream, head_only: bool, deadline: Instant) -> Result<Vec<u8>, HttpError> {
        let mut raw = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = head_end(&raw)
                && (head_only || raw.len() - end >= MAX_BODY)
            {
                return Ok(raw);
            }
            if head_end(&raw).is_none() && raw.len() > MAX_HEAD {
                return Err(HttpError::Malformed);
            }
            stream.set_read_timeout(Some(remaining(deadline)?))?;
            match stream.read(&mut chunk) {
                Ok(0) => return Ok(raw),
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(timeout_error(e)),
            }
        }
    }

    fn parse_reply(raw: &[u8]) -> Result<(u16, Option<String>, String), HttpError> {
        let end = head_end(raw).ok_or(HttpError::Malformed)?;
        let head = String::from_utf8_lossy(&raw[..end]);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.split_whitespace();
        let status = match (parts.next(), parts.next()) {
            (Some(version), Some(code)) if version.starts_with("HTTP/") => {
                code.parse().map_err(|_| HttpError::Malformed)?
            }
            _ => return Err(HttpError::Malformed),
        };
        let header = |name: &str| {
            lines.clone().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        let location = header("location");
        let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
        let body = &raw[end..];
        let body = &body[..body.len().min(length.unwrap_or(usize::MAX)).min(MAX_BODY)];
        Ok((status, location, String::from_utf8_lossy(body).into_owned()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::collect::ports::test_http::Server;

        #[test]
        fn parses_urls() {
            let u = parse_url("http://127.0.0.1:8080/a/b?x=1#frag").unwrap();
            assert_eq!(
                (u.host.as_str(), u.port, u.target.as_str()),
                ("127.0.0.1", 8080, "/a/b?x=1")
            );
            let u = parse_url("HTTP://[::1]?q").unwrap();
            assert_eq!(
                (u.host.as_str(), u.port, u.target.as_str(), u.authority.as_str()),
                ("::1", 80, "/?q", "[::1]")
            );
            assert!(matches!(
                parse_url("https://example.com/"),
                Err(HttpError::Unsupported(_))
            ));
            assert!(matches!(parse_url("http://user:pw@host/"), Err(HttpError::BadUrl(_))));
            assert!(matches!(parse_url("http://host:notaport/"), Err(HttpError::BadUrl(_))));
        }

        #[test]
        fn joins_redirect_locations() {
            let base = parse_url("http://h:1/dir/page?x").unwrap();
            assert_eq!(join(&base, "/top"), "http://h:1/top");
            assert_eq!(join(&base, "other"), "http://h:1/dir/other");
            assert_eq!(join(&base, "http://elsewhere/"), "http://elsewhere/");
        }

        #[test]
        fn get_follows_redirects_and_reads_the_body() {
            let server = Server::start(|_, path| match path {
                "/old" => (302, vec![("Location", "/new".into())], String::new()),
                "/new" => (200, vec![], "fresh body".into()),
                _ => (404, vec![], "missing".into()),
            });
            let r = request("GET", &server.url("/old"), Duration::from_secs(2), None).unwrap();
            assert_eq!(
                r,
                Response {
                    status: 200,
                    body: "fresh body".into()
                }
            );
            let requests = server.requests();
            assert_eq!(requests[0].0, "GET /old HTTP/1.0");
            assert_eq!(requests[1].0, "GET /new HTTP/1.0");
            assert!(requests[0].1.contains(&format!("Host: 127.0.0.1:{}", server.port())));
            let r = request("GET", &server.url("/x"), Duration::from_secs(2), None).unwrap();
            assert!(!r.ok() && r.body == "missing");
        }

        #[test]
        fn proxy_gets_absolute_form_requests() {
            let proxy = Server::start(|_, _| (200, vec![], String::new()));
            let url = "http://service.invalid:81/status";
            let r = request("HEAD", url, Duration::from_secs(2), Some(&proxy.url(""))).unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(proxy.requests()[0].0, format!("HEAD {url} HTTP/1.0"));
        }

        #[test]
        fn silent_server_times_out_within_the_deadline() {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/", listener.local_addr().unwrap());
            let started = Instant::now();
            let err = request("GET", &url, Duration::from_millis(300), None).unwrap_err();
            assert!(matches!(err, HttpError::Timeout), "{err}");
            assert!(started.elapsed() < Duration::from_secs(2));
        }

        #[test]
        fn caps_the_body() {
            let server = Server::start(|_, _| (200, vec![], "x".repeat(MAX_BODY * 2)));
            let r = request("GET", &server.url("/"), Duration::from_secs(2), None).unwrap();
            assert_eq!(r.body.len(), MAX_BODY);
        }
    }
}

/// A loopback HTTP server for tests of the outbound checks.
#[cfg(test)]
pub mod test_http {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// `(method, path) -> (status, extra headers, body)`.
    type Handler = dyn Fn(&str, &str) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync;

    pub struct Server {
        port: u16,
        stop: Arc<AtomicBool>,
        /// Request line and raw head of every request served.
        seen: Arc<Mutex<Vec<(String, String)>>>,
    }

    impl Server {
        pub fn start(
            handler: impl Fn(&str, &str) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync + 'static,
        ) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
            listener.set_nonblocking(true).expect("nonblocking");
            let port = listener.local_addr().expect("addr").port();
            let stop = Arc::new(AtomicBool::new(false));
            let seen = Arc::new(Mutex::new(Vec::new()));
            let (stop2, seen2) = (Arc::clone(&stop), Arc::clone(&seen));
            let handler: Arc<Handler> = Arc::new(handler);
            std::thread::spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => serve(stream, &*handler, &seen2),
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
            Server { port, stop, seen }
        }

        pub fn port(&self) -> u16 {
            self.port
        }

        pub fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }

        pub fn requests(&self) -> Vec<(String, String)> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn serve(stream: std::net::TcpStream, handler: &Handler, seen: &Mutex<Vec<(String, String)>>) {
        stream.set_nonblocking(false).ok();
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let request_line = head.lines().next().unwrap_or_default().to_string();
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let path = target.find("://").map_or(target, |i| &target[i + 3..]);
        let path = &path[path.find('/').unwrap_or(0)..];
        let (status, headers, body) = handler(method, path);
        seen.lock().unwrap().push((request_line.clone(), head.clone()));
        let mut reply = format!("HTTP/1.0 {status} X\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            reply.push_str(&format!("{k}: {v}\r\n"));
        }
        reply.push_str("\r\n");
        if method != "HEAD" {
            reply.push_str(&body);
        }
        let mut stream = stream;
        let _ = stream.write_all(reply.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::test_http::Server;
    use super::*;
    use crate::config::Config;
    use std::net::TcpListener;
    use std::path::Path;

    fn ports(conf: &str, root: &str) -> Ports {
        let config = Config::parse(conf, Path::new("test.conf")).unwrap();
        let mut p = Ports::new(&Env::new(root, Arc::new(config)));
        p.pause = Duration::ZERO;
        p
    }

    /// Collect until no scan runs any more, then once more for the results.
    fn scanned(p: &mut Ports) -> Value {
        p.collect();
        let started = Instant::now();
        while p.scan_running() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        p.collect_without_scan()
    }

    impl Ports {
        fn collect_without_scan(&self) -> Value {
            Value::Array(self.entries.lock().unwrap().clone())
        }
    }

    fn closed_port() -> u16 {
        // Bind then drop: nothing listens there right after.
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    #[test]
    fn no_section_no_entries_and_no_scan() {
        let mut p = ports("[cpu]\nrefresh=1\n", "/nonexistent");
        assert_eq!(p.collect(), json!([]));
        assert!(p.scan.is_none());
    }

    #[test]
    fn tcp_open_port_gives_rtt_and_closed_port_false() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        let closed = closed_port();
        let conf = format!(
            "[ports]\nrefresh=5\ntimeout=1\nport_1_host=127.0.0.1\nport_1_port={open}\nport_1_description=Local glint\n\
             port_2_host=127.0.0.1\nport_2_port={closed}\nport_2_rtt_warning=100\n"
        );
        let mut p = ports(&conf, "/nonexistent");
        assert!(
            p.entries.lock().unwrap().iter().all(|e| e["status"].is_null()),
            "null before the first scan"
        );
        let stats = scanned(&mut p);
        let open_entry = &stats[0];
        let keys: Vec<&str> = open_entry.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "host",
                "port",
                "description",
                "status",
                "refresh",
                "timeout",
                "rtt_warning",
                "indice"
            ]
        );
        assert_eq!(open_entry["port"], json!(open.to_string()));
        assert_eq!(open_entry["description"], "Local glint");
        let rtt = open_entry["status"].as_f64().expect("float status");
        assert!(rtt > 0.0 && rtt < 1.0, "{rtt}");
        assert_eq!(
            (open_entry["refresh"].clone(), open_entry["timeout"].clone()),
            (json!(5), json!(1))
        );
        assert_eq!(open_entry["rtt_warning"], Value::Null);
        assert_eq!(stats[1]["status"], json!(false));
        assert_eq!(stats[1]["description"], json!(format!("127.0.0.1:{closed}")));
        assert_eq!(stats[1]["rtt_warning"], json!(0.1));
        assert_eq!(stats[1]["indice"], "port_2");
    }

    #[test]
    fn url_check_sends_head_and_reports_the_status() {
        let server = Server::start(|_, path| match path {
            "/" => (301, vec![("Location", "/home".into())], String::new()),
            "/home" => (200, vec![], "welcome".into()),
            _ => (404, vec![], String::new()),
        });
        let conf = format!(
            "[ports]\nweb_1_url={}\nweb_2_url={}\nweb_2_description=Missing\nweb_2_rtt_warning=250\nweb_2_ssl_verify=False\n\
             web_3_url=https://127.0.0.1:1/\nweb_4_url=not a url\n",
            server.url("/"),
            server.url("/gone"),
        );
        let mut p = ports(&conf, "/nonexistent");
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        let stats = scanned(&mut p);
        let first = &stats[0];
        let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "url",
                "description",
                "status",
                "elapsed",
                "refresh",
                "timeout",
                "rtt_warning",
                "indice",
                "ssl_verify",
                "proxies"
            ]
        );
        assert_eq!(first["status"], json!(200));
        assert!(first["elapsed"].as_f64().unwrap() > 0.0);
        assert_eq!(first["description"], json!(format!("127.0.0.1:{}", server.port())));
        assert_eq!(
            (first["refresh"].clone(), first["timeout"].clone()),
            (json!(60), json!(3))
        );
        assert_eq!(
            (first["ssl_verify"].clone(), first["proxies"].clone()),
            (json!(true), Value::Null)
        );
        assert_eq!(stats[1]["status"], json!(404));
        assert_eq!(stats[1]["rtt_warning"], json!(0.25));
        assert_eq!(stats[1]["ssl_verify"], json!("False"));
        assert_eq!(stats[2]["status"], json!("Error"));
        assert_eq!(stats[2]["elapsed"], json!(0));
        assert_eq!(stats.as_array().unwrap().len(), 3, "the URL without scheme is dropped");
        assert!(server.requests().iter().all(|(line, _)| line.starts_with("HEAD ")));
    }

    #[test]
    fn icmp_uses_the_ping_program_without_a_shell() {
        let conf = "[ports]\ntimeout=2\nport_1_host=192.0.2.1\nport_2_host=-oops\nport_2_port=0\n";
        let p = ports(conf, "/nonexistent");
        assert_eq!(
            p.checks[0],
            Check::Icmp {
                host: "192.0.2.1".into(),
                timeout: 2
            }
        );
        assert_eq!(p.checks[1], Check::Skip);
        // Read the entries without scanning: tests never ping a real host.
        let entries = p.collect_without_scan();
        assert_eq!(entries[0]["port"], json!(0));
        assert_eq!(entries[0]["description"], "192.0.2.1:0");
        // Stand-ins for ping: success, failure, absent.
        let status_with = |program: &str| {
            let mut p = ports(conf, "/nonexistent");
            p.ping = program.into();
            scanned(&mut p)[0]["status"].clone()
        };
        assert!(status_with("true").as_f64().is_some());
        assert_eq!(status_with("false"), json!(false));
        assert_eq!(status_with("/nonexistent/ping"), Value::Null);
    }

    #[test]
    fn default_gateway_entry_only_when_configured() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ports");
        let mut p = ports("[ports]\nport_default_gateway=True\nrefresh=30\n", root);
        p.ping = "true".into();
        let entries = p.collect();
        let gw = &entries[0];
        let keys: Vec<&str> = gw.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "host",
                "port",
                "description",
                "refresh",
                "timeout",
                "status",
                "rtt_warning",
                "indice"
            ]
        );
        assert_eq!(gw["host"], "192.0.2.1");
        assert_eq!(
            (gw["port"].clone(), gw["description"].clone(), gw["indice"].clone()),
            (json!(0), json!("DefaultGateway"), json!("port_0"))
        );
        assert_eq!(gw["refresh"], json!(30));
        let off = ports("[ports]\nport_default_gateway=False\n", root);
        assert!(off.checks.is_empty());
        let absent = ports("[ports]\nport_1_host=127.0.0.1\nport_1_port=1\n", root);
        assert_eq!(absent.checks.len(), 1);
    }

    #[test]
    fn unparsable_port_is_reported_and_skipped() {
        let mut p = ports("[ports]\nport_1_host=127.0.0.1\nport_1_port=http\n", "/nonexistent");
        assert_eq!(p.checks[0], Check::Skip);
        assert_eq!(p.problems.len(), 1);
        assert_eq!(scanned(&mut p)[0]["status"], Value::Null);
    }
}
