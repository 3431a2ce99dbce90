//! The real binary on a loopback port: every route's status code, content
//! type, headers and JSON shape, compared with Glances 3.4.0.5 captures.

mod common;

use common::{Glint, glances_fixture, shape_diff};

const JSON: &str = "application/json; charset=utf-8";

/// Core plugins whose captured Glances shape glint must reproduce.
const CORE: [&str; 12] = [
    "alert",
    "core",
    "cpu",
    "load",
    "mem",
    "memswap",
    "now",
    "percpu",
    "psutilversion",
    "quicklook",
    "system",
    "uptime",
];

fn started() -> Glint {
    let g = Glint::start(&["-t", "0.5"]);
    // Wait for second samples so time_since_update is a float everywhere.
    g.wait_for("/api/3/processlist", 10, |r| r.json()[0]["time_since_update"].is_f64());
    for (plugin, key) in [("cpu", "user"), ("network", "")] {
        g.wait_for(&format!("/api/3/{plugin}/history"), 10, |r| {
            let h = r.json();
            let series = if key.is_empty() {
                h.as_object().and_then(|m| m.values().next())
            } else {
                h.get(key)
            };
            series.and_then(|s| s.as_array()).is_some_and(|a| a.len() >= 2)
        });
    }
    g
}

#[test]
fn every_route_answers_with_glances_status_and_type() {
    let g = started();
    let list = g.get("/api/3/pluginslist").json();
    let plugins: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut sorted = plugins.clone();
    sorted.sort();
    assert_eq!(plugins, sorted, "pluginslist is alphabetical");
    for p in CORE {
        assert!(plugins.iter().any(|x| x == p), "{p} listed");
    }
    for path in [
        "/api/3/all",
        "/api/3/all/limits",
        "/api/3/all/views",
        "/api/3/config",
        "/api/3/args",
        "/api/3/help",
        "/api/3/config/global",
    ] {
        let r = g.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(JSON), "{path}");
        assert_eq!(r.header("content-encoding"), Some("identity"), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        r.json();
    }
    for p in &plugins {
        for suffix in ["", "/history", "/history/3"] {
            let r = g.get(&format!("/api/3/{p}{suffix}"));
            assert_eq!(r.status, 200, "{p}{suffix}: {}", r.text());
            assert_eq!(r.header("content-type"), Some(JSON));
            r.json();
        }
        for suffix in ["/limits", "/views"] {
            let r = g.get(&format!("/api/3/{p}{suffix}"));
            assert_eq!(r.status, 200, "{p}{suffix}");
            assert_eq!(r.header("content-type"), Some("application/json"), "{p}{suffix}");
            assert!(r.json().is_object());
        }
        let limits = g.get(&format!("/api/3/{p}/limits")).json();
        assert!(limits["history_size"].is_f64(), "{p} limits start with history_size");
    }
    let status = g.get("/api/3/status");
    assert_eq!(status.body, b"Active");
    assert_eq!(status.header("content-type"), Some("text/html; charset=UTF-8"));
}

/// The first value of a views object keyed by item (pid, interface, CPU...).
fn first_entry(views: &serde_json::Value) -> serde_json::Value {
    views
        .as_object()
        .and_then(|m| m.values().next().cloned())
        .unwrap_or_default()
}

#[test]
fn plugin_shapes_match_glances() {
    let g = started();
    let mut problems = Vec::new();
    let list = g.get("/api/3/pluginslist").json();
    for p in list.as_array().unwrap().iter().map(|v| v.as_str().unwrap()) {
        let Some(reference) = glances_fixture(&format!("api__3__{p}.http")) else {
            continue;
        };
        let ours = g.get(&format!("/api/3/{p}")).json();
        shape_diff(&reference, &ours, p, &mut problems);
        if let Some(views) = glances_fixture(&format!("api__3__{p}__views.http")) {
            let mine = g.get(&format!("/api/3/{p}/views")).json();
            if reference.is_array() {
                shape_diff(
                    &first_entry(&views),
                    &first_entry(&mine),
                    &format!("{p}/views"),
                    &mut problems,
                );
            } else if p != "amps" {
                shape_diff(&views, &mine, &format!("{p}/views"), &mut problems);
            }
        }
    }
    for (fixture, path) in [
        ("api__3__cpu__history__3.http", "/api/3/cpu/history/3"),
        ("api__3__load__history__3.http", "/api/3/load/history/3"),
        ("api__3__mem__percent__history__2.http", "/api/3/mem/percent/history/2"),
    ] {
        shape_diff(
            &glances_fixture(fixture).unwrap(),
            &g.get(path).json(),
            path,
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "shape differences:\n{}", problems.join("\n"));
}

#[test]
fn glances_text_style_and_item_routes() {
    let g = started();
    let system = g.get("/api/3/system").text();
    assert!(!system.contains(": ") && !system.contains(", "), "compact: {system}");
    let r = g.get("/api/3/cpu/total");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(v["total"].is_f64() && v.as_object().unwrap().len() == 1);
    let numbers = g.get("/api/3/percpu/cpu_number").json();
    let n = numbers["cpu_number"].as_array().unwrap().len();
    assert!(n >= 1);
    let one = g.get("/api/3/percpu/cpu_number/00").json();
    assert_eq!(one["0"].as_array().unwrap().len(), 1, "digit strings become ints");
    assert_eq!(
        g.get("/api/3/percpu/total/99.0").json(),
        serde_json::json!({"99.0": []})
    );
    let h = g.get("/api/3/cpu/user/history/1").json();
    let point = &h["user"][0];
    assert!(point[0].as_str().unwrap().contains('T') && point[1].is_number(), "{h}");
    assert_eq!(
        g.get("/api/3/cpu/history/0").json()["user"].as_array().unwrap().len(),
        g.get("/api/3/cpu/history").json()["user"].as_array().unwrap().len()
    );
    let all = g.get("/api/3/cpu/history").json()["user"].as_array().unwrap().len();
    let dropped = g.get("/api/3/cpu/history/-1").json()["user"].as_array().unwrap().len();
    assert!(
        dropped + 1 == all || dropped + 2 == all,
        "negative nb drops the oldest ({dropped} vs {all})"
    );
    assert_eq!(g.get("/api/3/args/time").json(), serde_json::json!(0.5));
    assert_eq!(g.get("/api/3/args/cached_time").json(), serde_json::json!(1));
    assert_eq!(g.get("/api/3/alert/history").json(), serde_json::json!({}));
}

fn assert_error(r: &common::Response, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"));
    assert!(r.header("access-control-allow-origin").is_none(), "no CORS on errors");
    let want = format!("<pre>{message}");
    assert!(r.text().contains(&want), "{} lacks {want}", r.text());
}

#[test]
fn errors_use_glances_codes_and_pages() {
    let g = started();
    let r = g.get("/api/3/nope");
    assert_error(&r, 400, "Unknown plugin nope (available plugins: [&#039;alert&#039;");
    for path in [
        "/api/3/nope/x",
        "/api/3/nope/history",
        "/api/3/nope/limits",
        "/api/3/nope/a/b",
        "/api/3/all/foo",
    ] {
        assert_eq!(g.get(path).status, 400, "{path}");
    }
    assert_error(&g.get("/api/3/cpu/foo"), 404, "Cannot get item foo in plugin cpu");
    assert_error(
        &g.get("/api/3/cpu/total/5"),
        404,
        "Cannot get item (total=5) in plugin cpu",
    );
    assert_error(
        &g.get("/api/3/cpu/history/abc"),
        404,
        "Cannot get item (history=abc) in plugin cpu",
    );
    assert_error(
        &g.get("/api/3/cpu/foo/history"),
        404,
        "Cannot get item foohistory  in plugin cpu",
    );
    assert_error(&g.get("/api/3/config/nope"), 400, "Unknown configuration item nope");
    assert_error(&g.get("/api/3/args/nope"), 400, "Unknown argument item nope");
    assert_error(
        &g.get("/api/3/uptime/seconds"),
        404,
        "Cannot get item seconds in plugin uptime",
    );
    for path in [
        "/api/3/cpu/",
        "/api/3/",
        "/api/3",
        "/api/2/cpu",
        "/api/4/cpu",
        "/api/3//cpu",
        "/",
    ] {
        let r = g.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert!(r.text().contains("Not found: "), "{path}");
    }
    let full = g.get("/api/3/cpu/unknownitem").text();
    let reference = std::fs::read_to_string(common::fixtures().join("http/cpu_unknownitem.html")).unwrap();
    assert_eq!(
        full,
        reference.replace("127.0.0.1:61208", &format!("127.0.0.1:{}", g.port))
    );
}

#[test]
fn methods_head_options_and_deflate() {
    let g = Glint::start(&["-t", "30"]);
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = g.request(method, "/api/3/cpu", &[]);
        assert_error(&r, 405, "Method not allowed.");
        assert_eq!(r.header("allow"), Some("GET"));
    }
    assert_eq!(g.request("POST", "/api/3/cpu/", &[]).status, 404);
    let pre = g.request(
        "OPTIONS",
        "/api/3/cpu",
        &[
            ("Origin", "http://example.test"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert!(pre.status == 204 || pre.status == 200, "preflight {}", pre.status);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert!(pre.header("access-control-allow-methods").unwrap().contains("GET"));

    let get = g.get("/api/3/system");
    let head = g.request("HEAD", "/api/3/system", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some(get.body.len().to_string().as_str()));
    // /all is sent as the plugins' texts one after the other, still with its length.
    let all = g.get("/api/3/all/views");
    assert_eq!(all.header("content-length"), Some(all.body.len().to_string().as_str()));
    assert_eq!(all.header("transfer-encoding"), None);
    assert!(all.json().get("processlist").is_some());
    let head = g.request("HEAD", "/api/3/all/views", &[]);
    assert!(head.body.is_empty() && head.header("content-length").is_some());

    for path in ["/api/3/system", "/api/3/system/limits", "/api/3/all"] {
        let plain = g.get(path);
        let z = g.request("GET", path, &[("Accept-Encoding", "gzip, deflate;q=0")]);
        assert_eq!(z.status, 200);
        assert_eq!(z.header("content-encoding"), Some("deflate"));
        assert_eq!(z.body[0], 0x78);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&z.body[..]), &mut out).unwrap();
        if path != "/api/3/all" {
            assert_eq!(out, plain.body, "{path}");
        }
        let gz = g.request("GET", path, &[("Accept-Encoding", "gzip")]);
        assert_eq!(gz.header("content-encoding"), Some("identity"));
    }
    assert_eq!(
        g.get("/api/3/system?x=1").body,
        g.get("/api/3/system").body,
        "query strings are ignored"
    );
}
