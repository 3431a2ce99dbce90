//! Authentication, secrets, CORS and Host policy.

mod common;

use std::io::Write;
use std::process::Stdio;

use base64::Engine;
use common::{Glint, free_port, glint_command};

fn basic(user: &str, pw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    )
}

/// Create `<home>/.config/glint/<user>.pwd` through `glint --set-password`.
fn set_password(home: &std::path::Path, user: &str, password: &str) {
    let mut child = glint_command(&["--set-password", "-u", user], free_port())
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn password_protects_matched_routes_only() {
    let home = tempfile::tempdir().unwrap();
    set_password(home.path(), "glances", "s3cret");
    let file = home.path().join(".config/glint/glances.pwd");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let hash = std::fs::read_to_string(&file).unwrap();
    let salt = hash.split('$').next().unwrap().to_string();

    let g = Glint::start_env(&["--password"], &[("HOME", home.path().to_str().unwrap())]);
    for path in [
        "/api/3/cpu",
        "/api/3/status",
        "/api/3/args",
        "/api/3/all",
        "/api/3/nope",
    ] {
        let r = g.get(path);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"private\""));
        assert!(r.text().contains("<pre>Access denied</pre>"));
        assert!(r.header("access-control-allow-origin").is_none());
    }
    let good = basic("glances", "s3cret");
    assert_eq!(g.request("GET", "/api/3/cpu", &[("Authorization", &good)]).status, 200);
    assert_eq!(g.request("GET", "/api/3/cpu", &[("Authorization", &good)]).status, 200);
    assert_eq!(
        g.request("GET", "/api/3/cpu", &[("Authorization", &basic("glances", "wrong"))])
            .status,
        401
    );
    assert_eq!(
        g.request("GET", "/api/3/cpu", &[("Authorization", &basic("root", "s3cret"))])
            .status,
        401
    );
    assert_eq!(
        g.request("GET", "/api/3/cpu", &[("Authorization", "Basic %%%")]).status,
        401
    );
    // Routing errors come before auth, as in Glances.
    assert_eq!(g.get("/api/3/").status, 404);
    assert_eq!(g.request("POST", "/api/3/cpu", &[]).status, 405);
    // No secret in /args.
    let args = g.request("GET", "/api/3/args", &[("Authorization", &good)]).text();
    assert!(!args.contains(&salt) && !args.contains("s3cret"), "{args}");
    // With a password, CORS never pairs a wildcard origin with credentials.
    let r = g.request(
        "GET",
        "/api/3/cpu",
        &[("Authorization", &good), ("Origin", "http://evil.test")],
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-allow-credentials").is_none());
}

#[test]
fn missing_password_file_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let out = glint_command(&["--password", "-u", "alice"], free_port())
        .env("HOME", home.path())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alice.pwd") && err.contains("--set-password"), "{err}");
}

#[test]
fn authorization_is_ignored_without_a_password() {
    let g = Glint::start(&[]);
    // Homepage always sends credentials, even when none are configured.
    let r = g.request(
        "GET",
        "/api/3/cpu",
        &[("Authorization", &basic("undefined", "undefined"))],
    );
    assert_eq!(r.status, 200);
}

#[test]
fn config_secrets_are_redacted_and_never_executed() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let conf = dir.path().join("glint.conf");
    std::fs::write(
        &conf,
        format!(
            "[influxdb]\nhost=localhost\npassword=hunter2\n[influxdb2]\ntoken=tok-123\n[passwords]\nlocalhost=pw-xyz\n[global]\nhostname=`touch {}`\n",
            marker.display()
        ),
    )
    .unwrap();
    let g = Glint::start(&["-C", conf.to_str().unwrap()]);
    let config = g.get("/api/3/config").text();
    for secret in ["hunter2", "tok-123", "pw-xyz"] {
        assert!(!config.contains(secret), "{secret} served: {config}");
    }
    assert!(config.contains("localhost"));
    assert!(!marker.exists(), "backticks must not run");
}

#[test]
fn cors_origins_and_allowed_hosts() {
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        conf.path(),
        "[outputs]\ncors_origins=http://dash.lan\nallowed_hosts=127.0.0.1,localhost\n",
    )
    .unwrap();
    let g = Glint::start(&["-C", conf.path().to_str().unwrap()]);
    let listed = g.request("GET", "/api/3/cpu", &[("Origin", "http://dash.lan")]);
    assert_eq!(listed.header("access-control-allow-origin"), Some("http://dash.lan"));
    assert_eq!(listed.header("vary"), Some("Origin"));
    let other = g.request("GET", "/api/3/cpu", &[("Origin", "http://evil.test")]);
    assert_eq!(other.status, 200);
    assert!(other.header("access-control-allow-origin").is_none());
    // DNS rebinding: a foreign Host name is refused.
    let port = g.port;
    let rebound = common::try_request(port, "GET", "/api/3/cpu", &[("Host", "evil.test:61208")]).unwrap();
    assert_eq!(rebound.status, 400);
    assert!(rebound.text().contains("Host not allowed"));
    let local = common::try_request(port, "GET", "/api/3/cpu", &[("Host", &format!("localhost:{port}"))]).unwrap();
    assert_eq!(local.status, 200);
}
