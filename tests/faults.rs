//! Faults are contained: sources that vanish, turn into garbage or become
//! unreadable leave their plugin empty, log once, and every other plugin
//! keeps refreshing.

mod common;

use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use common::{Glint, copy_tree, fixtures, free_port, glint_command, try_request};
use serde_json::json;

#[test]
fn broken_sources_are_contained_and_logged_once() {
    let root = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("root-basic"), root.path());
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("glint.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let g = Glint::start_with(
        &["--root", root.path().to_str().unwrap(), "-t", "0.2"],
        &[("RUST_LOG", "warn")],
        Stdio::from(log),
    );
    g.wait_for("/api/3/mem", 5, |r| r.json().get("total").is_some());
    let proc = root.path().join("proc");

    // meminfo becomes unreadable (a directory), loadavg vanishes, stat turns to garbage.
    std::fs::remove_file(proc.join("meminfo")).unwrap();
    std::fs::create_dir(proc.join("meminfo")).unwrap();
    std::fs::remove_file(proc.join("loadavg")).unwrap();
    std::fs::write(proc.join("stat"), "cpu  x y z\nintr nope\n\u{0}\u{1}garbage").unwrap();
    std::fs::write(proc.join("uptime"), "not a number").unwrap();

    g.wait_for("/api/3/mem", 5, |r| r.json() == json!({}));
    g.wait_for("/api/3/load", 5, |r| r.json() == json!({}));
    let before = g.get("/api/3/now").json();
    std::thread::sleep(Duration::from_millis(1200));
    assert_ne!(g.get("/api/3/now").json(), before, "other plugins keep refreshing");
    assert_eq!(g.get("/api/3/memswap").json(), json!({}));
    assert_eq!(g.get("/api/3/cpu").status, 200);
    assert_eq!(g.get("/api/3/uptime").json(), json!("0:00:00"));
    assert_eq!(g.get("/api/3/status").status, 200);

    // The source comes back: so does the plugin.
    std::fs::remove_dir(proc.join("meminfo")).unwrap();
    std::fs::copy(fixtures().join("root-basic/proc/meminfo"), proc.join("meminfo")).unwrap();
    g.wait_for("/api/3/mem", 5, |r| r.json()["total"] == json!(4_000_000u64 * 1024));

    let text = std::fs::read_to_string(&log_path).unwrap();
    let meminfo_warnings = text
        .lines()
        .filter(|l| l.contains("cannot read source") && l.contains("meminfo"))
        .count();
    // mem, memswap and quicklook all read meminfo; each failure kind logs once.
    assert!(
        (1..=1).contains(&meminfo_warnings),
        "logged {meminfo_warnings} times:\n{text}"
    );
    assert!(text.contains("loadavg"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn a_hung_engine_socket_delays_no_other_plugin() {
    // A "Docker engine" that accepts connections and never answers.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("docker.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    let conf = dir.path().join("glint.conf");
    std::fs::write(
        &conf,
        format!(
            "[containers]\ndocker_sock={}\npodman_sock={}/none.sock\n",
            sock.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let g = Glint::start(&["-C", conf.to_str().unwrap(), "-t", "0.3"]);
    let started = std::time::Instant::now();
    let cpu_points = |g: &Glint| {
        g.get("/api/3/cpu/history").json()["user"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = cpu_points(&g);
    std::thread::sleep(Duration::from_millis(2000));
    assert!(
        cpu_points(&g) >= before + 4,
        "cpu kept its 0.3 s refresh while the engine hung"
    );
    let r = g.get("/api/3/containers");
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!held.lock().unwrap().is_empty(), "glint did try the engine");
}

/// Out of descriptors, accepting fails: glint says so, does not spin, and
/// serves again once connections close.
#[test]
fn running_out_of_descriptors_is_survived() {
    const LIMIT: u64 = 128;
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("glint.log");
    let port = free_port();
    let mut command = glint_command(&[], port);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let g = Glint::start_command(command, port, Stdio::from(std::fs::File::create(&log_path).unwrap()));
    // More connections than glint has descriptors; the listen backlog
    // takes the ones it cannot accept.
    let held: Vec<TcpStream> = (0..LIMIT + 16)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let log = std::fs::read_to_string(&log_path).unwrap();
    let warnings = log.matches("cannot accept a connection").count();
    assert!(warnings >= 1, "{log}");
    assert!(warnings <= 8, "at most one warning per pause: {warnings}");
    drop(held);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match try_request(port, "GET", "/api/3/status", &[]) {
            Ok(r) if r.status == 200 => break,
            _ => assert!(std::time::Instant::now() < deadline, "serves again"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(g.get("/api/3/mem").json().get("total").is_some());
}
