//! Start the real `glint` binary on a loopback port and speak HTTP to it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copy a fixture tree (e.g. a fake /proc root) so a test can change it.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A free loopback port (bound then released; fine for tests on one host).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct Glint {
    pub child: Child,
    pub port: u16,
}

impl Glint {
    /// Start glint with `args` (plus -B 127.0.0.1 -p <free port>), wait until it answers.
    pub fn start(args: &[&str]) -> Glint {
        Glint::start_env(args, &[])
    }

    /// Like [`Glint::start`] with extra environment variables (e.g. HOME).
    pub fn start_env(args: &[&str], envs: &[(&str, &str)]) -> Glint {
        Glint::start_with(args, envs, Stdio::null())
    }

    /// Like [`Glint::start`], logging to `stderr` (e.g. a file).
    pub fn start_with(args: &[&str], envs: &[(&str, &str)], stderr: Stdio) -> Glint {
        let port = free_port();
        let mut command = glint_command(args, port);
        command.envs(envs.iter().copied());
        Glint::start_command(command, port, stderr)
    }

    /// Spawn a [`glint_command`] for `port`, wait until it answers.
    pub fn start_command(mut command: Command, port: u16, stderr: Stdio) -> Glint {
        let child = command
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn glint");
        let glint = Glint { child, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(r) = try_request(port, "GET", "/api/3/status", &[])
                && (r.status == 200 || r.status == 401)
            {
                return glint;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("glint did not start on port {port}");
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[])
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        try_request(self.port, method, path, headers).expect("request")
    }

    /// Poll `path` until `ok` holds (or panic after `secs`).
    pub fn wait_for(&self, path: &str, secs: u64, ok: impl Fn(&Response) -> bool) -> Response {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let r = self.get(path);
            if ok(&r) {
                return r;
            }
            assert!(Instant::now() < deadline, "timed out waiting on {path}: {}", r.text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Glint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn glint_command(args: &[&str], port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_glint"));
    // The daemon dies with the test process, even if a test never drops it.
    // SAFETY: prctl is async-signal-safe and touches only the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.args(["-w", "-B", "127.0.0.1", "-p", &port.to_string()]).args(args);
    cmd.env_remove("XDG_CONFIG_HOME").env("HOME", "/nonexistent");
    cmd
}

pub fn try_request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// The JSON body of a captured Glances response in shared fixtures.
pub fn glances_fixture(name: &str) -> Option<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/glances-3.4.0.5")
        .join(name);
    let raw = std::fs::read(path).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    serde_json::from_slice(&raw[split + 4..]).ok()
}

/// Type name as the shape comparison sees it.
fn kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value::*;
    match v {
        Null => "null",
        Bool(_) => "bool",
        Number(n) if n.is_f64() => "float",
        Number(_) => "int",
        String(_) => "str",
        Array(_) => "list",
        Object(_) => "dict",
    }
}

/// Differences in key names, key order and value types (values ignored;
/// null matches anything, lists compare their first elements).
pub fn shape_diff(reference: &serde_json::Value, ours: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    use serde_json::Value::*;
    match (reference, ours) {
        (Null, _) | (_, Null) => {}
        (Object(a), Object(b)) => {
            let ka: Vec<_> = a.keys().collect();
            let kb: Vec<_> = b.keys().collect();
            if ka != kb {
                out.push(format!("{at}: keys {ka:?} != {kb:?}"));
                return;
            }
            for (k, v) in a {
                shape_diff(v, &b[k], &format!("{at}.{k}"), out);
            }
        }
        (Array(a), Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                shape_diff(x, y, &format!("{at}[0]"), out);
            }
        }
        (a, b) if kind(a) != kind(b) => out.push(format!("{at}: {} != {}", kind(a), kind(b))),
        _ => {}
    }
}
