//! Daemon behaviour: per-plugin refresh, fake roots, config and CLI errors,
//! plugin enablement, history limits, signals.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Glint, fixtures, free_port, glint_command};
use serde_json::json;

fn write_config(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    f
}

fn history_len(g: &Glint, plugin: &str, key: &str) -> usize {
    g.get(&format!("/api/3/{plugin}/history")).json()[key]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn plugins_refresh_at_their_own_rates() {
    let conf = write_config("[cpu]\nrefresh=0.25\n[memswap]\nrefresh=1.5\n");
    let g = Glint::start(&["-C", conf.path().to_str().unwrap(), "-t", "5"]);
    // Ticks fall on multiples of the period (at least half a period after
    // the start-up sample), so wait for memswap's third sample: at least
    // one full 1.5 s period, in which cpu ticks 6 times.
    g.wait_for("/api/3/memswap/history", 10, |r| {
        r.json()["percent"].as_array().is_some_and(|a| a.len() >= 3)
    });
    let cpu = history_len(&g, "cpu", "user");
    let swap = history_len(&g, "memswap", "percent");
    assert!(cpu >= 2 * swap, "cpu refreshes faster: {cpu} points vs memswap {swap}");
    let cpu_tsu = g.get("/api/3/cpu/time_since_update").json()["time_since_update"]
        .as_f64()
        .unwrap();
    let swap_tsu = g.get("/api/3/memswap/time_since_update").json()["time_since_update"]
        .as_f64()
        .unwrap();
    assert!(
        swap_tsu > 2.0 * cpu_tsu,
        "measured intervals follow refresh= ({cpu_tsu} vs {swap_tsu})"
    );
    // Limits show the configured refresh; system is forced to 60, sensors doubles the global.
    assert_eq!(g.get("/api/3/cpu/limits").json()["cpu_refresh"], json!(0.25));
    assert_eq!(g.get("/api/3/system/limits").json()["system_refresh"], json!(60));
}

#[test]
fn collectors_read_a_fake_root() {
    let root = fixtures().join("root-basic");
    let g = Glint::start(&["--root", root.to_str().unwrap(), "-t", "0.5"]);
    let mem = g.get("/api/3/mem").json();
    assert_eq!(mem["total"], json!(4_000_000u64 * 1024));
    assert_eq!(mem["available"], json!(3_000_000u64 * 1024));
    assert_eq!(mem["free"], mem["available"], "Glances: free = available");
    assert_eq!(mem["used"], json!(1_000_000u64 * 1024));
    assert_eq!(mem["percent"], json!(25.0));
    let swap = g.get("/api/3/memswap").json();
    assert_eq!(
        (swap["total"].clone(), swap["percent"].clone(), swap["sin"].clone()),
        (json!(2_000_000u64 * 1024), json!(25.0), json!(40960))
    );
    assert_eq!(
        g.get("/api/3/load").json(),
        json!({"min1": 0.5, "min5": 1.25, "min15": 2.0, "cpucore": 2})
    );
    assert_eq!(g.get("/api/3/uptime").json(), json!("1 day, 2:03:04"));
    let system = g.get("/api/3/system").json();
    assert_eq!(system["hostname"], "testhost");
    assert_eq!(system["hr_name"], "Debian GNU/Linux 12 64bit");
    let quick = g.get("/api/3/quicklook").json();
    assert_eq!(quick["cpu_name"], "Test CPU @ 2.00GHz");
    assert_eq!(quick["cpu_hz_current"], json!(2.5e9));
    // load min15 per core = 1.0 → WARNING, logged by default.
    assert_eq!(g.get("/api/3/load/views").json()["min15"]["decoration"], "WARNING_LOG");
    let alert = g
        .wait_for("/api/3/alert", 5, |r| !r.json().as_array().unwrap().is_empty())
        .json();
    let event = alert
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e[3] == "LOAD")
        .expect("a LOAD event");
    assert_eq!(event.as_array().unwrap().len(), 12);
    assert_eq!((event[1].clone(), event[2].clone()), (json!(-1), json!("WARNING")));
}

/// A Glances command line starts unchanged: display options are accepted
/// and shown in /api/3/args, mode options switch plugins, and process
/// options reshape processlist.
#[test]
fn glances_command_line_options() {
    let g = Glint::start(&[
        "--light",
        "-1",
        "-b",
        "--fahrenheit",
        "--disable-check-update",
        "--disable-autodiscover",
        "--programs",
        "--sort-processes",
        "name",
    ]);
    let plugins = g.get("/api/3/pluginslist").json();
    let plugins = plugins.as_array().unwrap();
    assert!(plugins.contains(&json!("cpu")));
    assert!(
        !plugins.contains(&json!("alert")) && !plugins.contains(&json!("amps")),
        "{plugins:?}"
    );
    let args = g.get("/api/3/args").json();
    for key in [
        "enable_light",
        "percpu",
        "byte",
        "fahrenheit",
        "programs",
        "disable_amps",
    ] {
        assert_eq!(args[key], true, "{key}");
    }
    assert_eq!(args["sort_processes_key"], "name");
    let programs = g.get("/api/3/processlist").json();
    let programs = programs.as_array().unwrap();
    assert!(!programs.is_empty());
    for program in programs {
        assert_eq!(program["pid"], "_");
        assert!(!program["childrens"].as_array().unwrap().is_empty());
    }
    // Names sort in reverse, as Glances sorts every key descending.
    let names: Vec<&str> = programs.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]), "{names:?}");
}

#[test]
fn enable_and_disable_plugins() {
    let g = Glint::start(&["--disable-plugin", "all", "--enable-plugin", "cpu,mem"]);
    assert_eq!(g.get("/api/3/pluginslist").json(), json!(["cpu", "mem"]));
    let all = g.get("/api/3/all").json();
    assert!(all.get("load").is_some(), "/all lists disabled plugins too");
    assert!(g.get("/api/3/all/views").json().get("load").is_some());
    let limits = g.get("/api/3/all/limits").json();
    assert_eq!(limits.as_object().unwrap().keys().collect::<Vec<_>>(), ["cpu", "mem"]);
    assert_eq!(g.get("/api/3/load").status, 400);

    let conf = write_config("[load]\ndisable=True\n");
    let g = Glint::start(&["-C", conf.path().to_str().unwrap(), "--disable-plugin", "uptime"]);
    let list = g.get("/api/3/pluginslist").json();
    assert!(!list.as_array().unwrap().iter().any(|p| p == "load" || p == "uptime"));
    let g2 = Glint::start(&["-C", conf.path().to_str().unwrap(), "--enable-plugin", "load"]);
    assert_eq!(
        g2.get("/api/3/load").status,
        200,
        "--enable-plugin wins over the config"
    );
}

#[test]
fn history_size_and_disable_history() {
    let conf = write_config("[global]\nhistory_size=3\n");
    let g = Glint::start(&["-C", conf.path().to_str().unwrap(), "-t", "0.2"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(history_len(&g, "cpu", "user"), 3);
    let g = Glint::start(&["--disable-history", "-t", "0.2"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(g.get("/api/3/cpu/history").json(), json!({}));
    assert_eq!(g.get("/api/3/cpu/user/history").status, 404);
}

fn run_to_exit(args: &[&str]) -> (i32, String) {
    let out = glint_command(args, free_port())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_config_and_usage_exit_2_with_clear_messages() {
    let conf = write_config("[mem]\ncareful=50\nwarning=lots\n");
    let path = conf.path().to_str().unwrap().to_string();
    let (code, err) = run_to_exit(&["-C", &path]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&path) && err.contains("[mem]") && err.contains("'warning'"),
        "{err}"
    );
    let (code, err) = run_to_exit(&["-C", "/nonexistent/glint.conf"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/glint.conf"), "{err}");
    let (code, err) = run_to_exit(&["--disable-plugin", "all"]);
    assert_eq!(code, 2, "{err}");
    let (code, err) = run_to_exit(&["--disable-plugin", "nosuch"]);
    assert_eq!(code, 2);
    assert!(err.contains("nosuch"), "{err}");
    let (code, _) = run_to_exit(&["-t", "-1"]);
    assert_eq!(code, 2);
    let (code, _) = run_to_exit(&["--bogus-flag"]);
    assert_eq!(code, 2);
}

#[test]
fn port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = glint_command(&[], port).stderr(Stdio::piped()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn sigterm_sigint_and_sigquit_stop_cleanly() {
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT] {
        let mut g = Glint::start(&[]);
        unsafe { libc::kill(g.child.id() as i32, signal) };
        assert_eq!(exit_code_within(&mut g, Duration::from_secs(5)), Some(0));
    }
}

/// The daemon's exit code, once it has stopped; fails after `limit`.
fn exit_code_within(g: &mut Glint, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Some(status) = g.child.try_wait().unwrap() {
            return status.code();
        }
        assert!(started.elapsed() < limit, "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Once a stop signal comes, new connections are refused, and a request
/// under way is still answered.
#[test]
fn a_stop_lets_an_open_request_finish() {
    let mut g = Glint::start(&[]);
    let mut conn = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"GET /api/3/status HTTP/1.1\r\n").unwrap();
    // The connection is accepted before the signal.
    std::thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(g.child.id() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(300));
    assert!(g.child.try_wait().unwrap().is_none(), "waits for the open request");
    assert!(
        TcpStream::connect(("127.0.0.1", g.port)).is_err(),
        "a new connection while stopping is refused"
    );
    conn.write_all(b"Host: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("Active"), "{answer}");
    assert_eq!(exit_code_within(&mut g, Duration::from_secs(5)), Some(0));
}

/// Without a Host header, error pages name the listening address, as
/// Bottle's do.
#[test]
fn an_error_page_without_host_names_the_listener() {
    let g = Glint::start(&[]);
    let mut conn = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"GET /api/3/nosuchplugin HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 400"), "{answer}");
    let url = format!("http://127.0.0.1:{}/api/3/nosuchplugin", g.port);
    assert!(answer.contains(&url), "{answer}");
}

#[test]
fn help_and_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glint"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for flag in [
        "--bind",
        "--port",
        "--time",
        "--config",
        "--disable-plugin",
        "--enable-plugin",
        "--disable-history",
        "--cached-time",
    ] {
        assert!(text.contains(flag), "--help mentions {flag}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glint"))
        .arg("-V")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("glint "));
}

#[test]
fn the_first_answers_carry_every_plugins_first_sample() {
    // The harness returns as soon as /status answers: requests wait for
    // the first samples, so nothing answers with a start-up placeholder.
    let g = Glint::start(&[]);
    assert!(g.get("/api/3/processcount").json()["total"].as_u64().unwrap() > 0);
    assert!(!g.get("/api/3/processlist").json().as_array().unwrap().is_empty());
    assert!(g.get("/api/3/mem").json()["total"].as_u64().unwrap() > 0);
    assert!(g.get("/api/3/fs").json().is_array());
}

/// The Date header is formatted on demand (patches/actix-http): it is
/// there, in HTTP form, and follows the clock.
#[test]
fn date_header_follows_the_clock() {
    let g = Glint::start(&[]);
    let date = |r: &common::Response| r.header("date").expect("a Date header").to_string();
    let first = date(&g.get("/api/3/status"));
    assert_eq!(first.len(), "Sun, 06 Nov 1994 08:49:37 GMT".len(), "{first}");
    assert!(first.ends_with(" GMT"), "{first}");
    std::thread::sleep(Duration::from_millis(1100));
    let later = date(&g.get("/api/3/status"));
    assert_ne!(first, later, "a second later, the date has moved");
}
