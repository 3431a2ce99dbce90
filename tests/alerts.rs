//! Events and actions driven end to end through a fake /proc whose meminfo
//! the test rewrites.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Glint, copy_tree, fixtures};
use serde_json::Value;

/// Copy the basic fake root so the test can change it.
fn fake_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("root-basic"), dir.path());
    dir
}

/// Set memory use to `percent` % (atomically, as the kernel would).
fn set_mem(root: &Path, percent: u64) {
    let total = 4_000_000u64;
    let available = total * (100 - percent) / 100;
    let text = format!(
        "MemTotal: {total} kB\nMemFree: {available} kB\nMemAvailable: {available} kB\nBuffers: 0 kB\nCached: 0 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"
    );
    let tmp = root.join("proc/meminfo.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, root.join("proc/meminfo")).unwrap();
}

fn mem_events(g: &Glint) -> Vec<Value> {
    g.get("/api/3/alert")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e[3] == "MEM")
        .cloned()
        .collect()
}

fn wait_events(g: &Glint, secs: u64, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let events = mem_events(g);
        if ok(&events) {
            return events;
        }
        assert!(Instant::now() < deadline, "events never matched: {events:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn mem_event_lifecycle() {
    let root = fake_root();
    set_mem(root.path(), 20);
    let marks = tempfile::tempdir().unwrap();
    let conf = marks.path().join("glint.conf");
    std::fs::write(
        &conf,
        format!("[mem]\ncareful=50\nwarning=70\ncritical=90\nwarning_action=touch {0}/warning-{{{{percent}}}}\n[load]\ncritical=100\nwarning=99\ncareful=98\n", marks.path().display()),
    )
    .unwrap();
    let g = Glint::start(&[
        "--root",
        root.path().to_str().unwrap(),
        "-C",
        conf.to_str().unwrap(),
        "-t",
        "0.2",
    ]);
    std::thread::sleep(Duration::from_millis(600));
    assert!(mem_events(&g).is_empty());

    // WARNING creates an ongoing event…
    set_mem(root.path(), 80);
    let events = wait_events(&g, 5, |e| e.len() == 1);
    assert_eq!(
        (events[0][1].clone(), events[0][2].as_str()),
        (Value::from(-1), Some("WARNING"))
    );
    assert_eq!(events[0].as_array().unwrap().len(), 12);
    assert_eq!(events[0][11], "memory_percent");
    // …updated on each refresh, escalated to CRITICAL with top processes…
    set_mem(root.path(), 95);
    let events = wait_events(&g, 5, |e| e.len() == 1 && e[0][2] == "CRITICAL");
    assert!(events[0][8].as_u64().unwrap() >= 2, "count grows per refresh");
    assert_eq!(events[0][4].as_f64(), Some(95.0));
    // …and ended (not deleted) once it has lasted more than 6 s.
    // Event times are whole seconds: wait well past 6 s so truncation cannot bite.
    std::thread::sleep(Duration::from_millis(7500));
    set_mem(root.path(), 10);
    let events = wait_events(&g, 5, |e| e.len() == 1 && e[0][1] != -1);
    assert_eq!(events[0][2], "CRITICAL", "never goes back to WARNING");
    assert!(events[0][1].as_f64().unwrap() > events[0][0].as_f64().unwrap() + 6.0);

    // A 2-second blip leaves no event behind.
    set_mem(root.path(), 80);
    wait_events(&g, 5, |e| e.len() == 2);
    std::thread::sleep(Duration::from_secs(2));
    set_mem(root.path(), 10);
    wait_events(&g, 5, |e| e.len() == 1);

    // The action ran once for the WARNING level (after the quiet period),
    // with the stat substituted as a plain argument.
    let ran: Vec<_> = std::fs::read_dir(marks.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("warning-"))
        .collect();
    assert!(ran.contains(&"warning-80.0".to_string()), "{ran:?}");
}
