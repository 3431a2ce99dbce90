//! Hostile input: random paths, encodings, methods and headers never crash
//! glint or produce a 5xx; random config text is always a clean error.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Glint;
use proptest::prelude::*;

/// Send raw request bytes; return the status code (None: connection closed
/// without an answer, which a server may do for unparseable requests).
fn raw_status(port: u16, request: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("server still accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let head = String::from_utf8_lossy(&buf[..buf.len().min(32)]).into_owned();
    head.split_whitespace().nth(1)?.parse().ok()
}

fn path_strategy() -> impl Strategy<Value = Vec<u8>> {
    let segment = prop_oneof![
        Just(b"api".to_vec()),
        Just(b"3".to_vec()),
        Just(b"cpu".to_vec()),
        Just(b"history".to_vec()),
        Just(b"processlist".to_vec()),
        Just(b"..".to_vec()),
        Just(b"%2F".to_vec()),
        Just(b"%ff%fe".to_vec()),
        Just(b"%".to_vec()),
        Just(b"-99999999999999999999999999".to_vec()),
        Just(b"99999999999999999999".to_vec()),
        Just(b"\xc3\x28".to_vec()),
        "[a-z0-9_]{0,12}".prop_map(String::into_bytes),
        proptest::collection::vec(0x21u8..0x7f, 0..20),
    ];
    proptest::collection::vec(segment, 0..8).prop_map(|segs| {
        let mut p = b"/api/3".to_vec();
        for s in segs {
            p.push(b'/');
            p.extend(s);
        }
        p
    })
}

fn method_strategy() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("GET"), Just("HEAD"), Just("POST"), Just("OPTIONS"), Just("DELETE")]
}

#[test]
fn router_never_panics_or_fails() {
    let g = Glint::start(&["-t", "0.5"]);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    let answered = std::cell::Cell::new(0);
    runner
        .run(&(path_strategy(), method_strategy()), |(path, method)| {
            let mut req = format!("{method} ").into_bytes();
            req.extend(&path);
            req.extend(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            if let Some(status) = raw_status(g.port, &req) {
                answered.set(answered.get() + 1);
                prop_assert!(
                    status < 500,
                    "{} {} -> {}",
                    method,
                    String::from_utf8_lossy(&path),
                    status
                );
                prop_assert!([200, 204, 400, 404, 405].contains(&status), "status {}", status);
            }
            prop_assert_eq!(g.get("/api/3/status").status, 200);
            Ok(())
        })
        .unwrap();
    assert!(answered.get() > 250, "most requests got an answer ({})", answered.get());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn config_parser_never_panics(text in "(\\[[a-z_]{0,8}\\]\n|[a-zA-Z_/.*]{0,10}[=:][ -~]{0,20}\n|[;#][ -~]{0,10}\n| +[ -~]{0,10}\n|[ -~]{0,15}\n){0,12}") {
        let result = glint::config::Config::parse(&text, std::path::Path::new("fuzz.conf"));
        if let Err(e) = result {
            prop_assert!(e.to_string().contains("fuzz.conf"));
        }
    }
}

#[test]
fn oversized_requests_are_refused_cleanly() {
    let g = Glint::start(&[]);
    let long_path = format!("/api/3/{}", "a".repeat(20_000));
    let status = raw_status(
        g.port,
        format!("GET {long_path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, Some(414));
    let longer = format!("/api/3/{}", "a".repeat(100_000));
    let status = raw_status(g.port, format!("GET {longer} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    assert!(status.is_none_or(|s| (400..500).contains(&s)), "{status:?}");
    let huge_header = format!(
        "GET /api/3/cpu HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(200_000)
    );
    let status = raw_status(g.port, huge_header.as_bytes());
    assert!(status.is_none_or(|s| (400..500).contains(&s)), "{status:?}");
    let many_headers: String = (0..500).map(|i| format!("X-{i}: v\r\n")).collect();
    let status = raw_status(
        g.port,
        format!("GET /api/3/cpu HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").as_bytes(),
    );
    assert!(status.is_none_or(|s| (400..500).contains(&s)), "{status:?}");
    assert_eq!(g.get("/api/3/cpu").status, 200, "still serving");
}

#[test]
fn known_hostile_paths_get_the_right_answers() {
    let g = Glint::start(&["-t", "0.5"]);
    for (path, want) in [
        ("/api/3/cpu/history/-99999999999999999999999", 200),
        ("/api/3/cpu/history/99999999999999999999999", 200),
        ("/api/3/cpu/user/history/-5", 200),
        ("/api/3/%ff%fe", 400),
        ("/api/3/../cpu", 400),
        ("/api/3/cpu/..", 404),
        ("/api/3/%63pu", 200),
        ("/api/3/percpu/cpu_number/%30", 200),
        ("/api/3/nope%2F..%2F..%2Fetc", 400),
        ("/api/3/cpu%2F..%2F..%2Fetc", 404),
        ("/api/3/config/..", 400),
        ("/api/3/\u{00e9}", 400),
    ] {
        let status = raw_status(
            g.port,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, Some(want), "{path}");
    }
}
