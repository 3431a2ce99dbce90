//! `raid`: Linux software RAID arrays from /proc/mdstat (spec §8.26), in
//! the shape of pymdstat 0.5, the library Glances reads them with — its
//! quirks included: counts are strings, the line after a degraded array's
//! status line is skipped, and a greedy `(...)` removal can drop member
//! devices of arrays with flagged (`(S)`, `(F)`) members.

use std::sync::LazyLock;

use regex_lite::Regex;
use serde_json::{Map, Value};

use super::{Env, Plugin};

static NON_WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\W+").expect("static regex"));
static PARENTHESISED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\(.+\)").expect("static regex"));

/// Python's `re.split(r'\W+', line)`, empty leading/trailing pieces kept.
fn words(line: &str) -> Vec<&str> {
    NON_WORD.split(line).collect()
}

/// Parse /proc/mdstat into `{"md0": {...}, ...}`; `None` where pymdstat
/// would raise (no personalities line, a truncated array block).
pub fn parse_mdstat(text: &str) -> Option<Map<String, Value>> {
    // pymdstat works on readlines(): lines keep their newline.
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let personalities = personalities(lines.first()?)?;
    // The first line lists personalities, the last one unused devices.
    let body = lines.get(1..lines.len().saturating_sub(1)).unwrap_or_default();
    let mut arrays = Map::new();
    let mut i = 0;
    while i < body.len() {
        let name = words(body[i])[0];
        if name.starts_with("md") {
            let mut array = md_device(body[i], &personalities)?;
            i += 1;
            array.extend(md_status(body.get(i)?)?);
            let degraded = array
                .get("config")
                .and_then(Value::as_str)
                .is_some_and(|c| c.contains('_'));
            if degraded {
                // pymdstat skips the action line (recovery progress) unread.
                i += 1;
                body.get(i)?;
            }
            arrays.insert(name.to_string(), Value::Object(array));
        }
        i += 1;
    }
    Some(arrays)
}

/// `Personalities : [raid1] [raid6]` → `["raid1", "raid6"]`.
fn personalities(line: &str) -> Option<Vec<String>> {
    let list = line.split(':').nth(1)?;
    let items = list.split(' ').filter(|item| item.starts_with('['));
    Some(
        items
            .map(|item| words(item).get(1).copied().unwrap_or_default().to_string())
            .collect(),
    )
}

/// `md0 : active raid1 sdb1[1] sda1[0]` → status, type and components.
fn md_device(line: &str, personalities: &[String]) -> Option<Map<String, Value>> {
    let w = words(line);
    let mut array = Map::new();
    array.insert("status".into(), (*w.get(1)?).into());
    let kind = w.get(2).filter(|k| personalities.iter().any(|p| p == *k));
    array.insert("type".into(), kind.map_or(Value::Null, |k| (*k).into()));
    array.insert("components".into(), Value::Object(components(line, kind.is_some())));
    Some(array)
}

/// `dev[slot]` pairs after the status (and type, when it is a known
/// personality); everything between the first `(` and the last `)` is
/// removed first, as pymdstat does.
fn components(line: &str, with_type: bool) -> Map<String, Value> {
    let stripped: String = PARENTHESISED.split(line).collect();
    let w = words(&stripped);
    let skip = if with_type { 3 } else { 2 };
    let members = w.get(skip..).unwrap_or_default();
    members
        .chunks_exact(2)
        .map(|pair| (pair[0].to_string(), Value::from(pair[1])))
        .collect()
}

/// `976630464 blocks super 1.2 [2/1] [U_]` → available, used, config
/// (null when the line has no `[n/m] [U_]` tail, nothing when it is a
/// progress line).
fn md_status(line: &str) -> Option<Map<String, Value>> {
    let mut status = Map::new();
    if line.trim_end().ends_with(']') {
        let w = words(line);
        let from_end = |k: usize| w.len().checked_sub(k).map(|i| Value::from(w[i]));
        status.insert("available".into(), from_end(4)?);
        status.insert("used".into(), from_end(3)?);
        status.insert("config".into(), from_end(2)?);
    } else if !line.trim_start().starts_with('[') {
        for field in ["available", "used", "config"] {
            status.insert(field.into(), Value::Null);
        }
    }
    Some(status)
}

pub struct Raid {
    env: Env,
    last: Map<String, Value>,
}

impl Raid {
    pub fn new(env: &Env) -> Raid {
        Raid {
            env: env.clone(),
            last: Map::new(),
        }
    }
}

impl Plugin for Raid {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "raid"
    }

    /// No md driver: `{}`. A text pymdstat cannot parse keeps the previous
    /// stats, like Glances.
    fn collect(&mut self) -> Value {
        match self.env.read("proc/mdstat") {
            Err(_) => self.last = Map::new(),
            Ok(text) => match parse_mdstat(&text) {
                Some(arrays) => self.last = arrays,
                None => {
                    tracing::debug!("raid: cannot parse /proc/mdstat, keeping the previous stats")
                }
            },
        }
        Value::Object(self.last.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::sync::Arc;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/raid/{name}.mdstat", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).expect("raid fixture")
    }

    /// Expected texts are pymdstat 0.5.1's output on the same fixture.
    fn parsed(name: &str) -> String {
        let arrays = parse_mdstat(&fixture(name)).expect("parsable");
        String::from_utf8(crate::json::to_bytes(&Value::Object(arrays))).expect("utf-8")
    }

    #[test]
    fn healthy_raid1() {
        assert_eq!(
            parsed("raid1-healthy"),
            r#"{"md0":{"status":"active","type":"raid1","components":{"sdb1":"1","sda1":"0"},"available":"2","used":"2","config":"UU"}}"#
        );
    }

    #[test]
    fn degraded_raid1_with_failed_member() {
        assert_eq!(
            parsed("raid1-degraded"),
            r#"{"md0":{"status":"active","type":"raid1","components":{"sdb1":"1","sda1":"0"},"available":"2","used":"1","config":"U_"}}"#
        );
    }

    #[test]
    fn recovery_and_resync_progress_lines() {
        assert_eq!(
            parsed("recovery-resync"),
            r#"{"md1":{"status":"active","type":"raid5","components":{"sdd1":"4","sdc1":"2","sdb1":"1","sda1":"0"},"available":"4","used":"3","config":"UUU_"},"md0":{"status":"active","type":"raid1","components":{"sdf1":"1","sde1":"0"},"available":"2","used":"2","config":"UU"}}"#
        );
    }

    #[test]
    fn inactive_array_has_no_type_and_loses_members_to_the_greedy_strip() {
        assert_eq!(
            parsed("inactive"),
            r#"{"md127":{"status":"inactive","type":null,"components":{"sdb":"1"},"available":null,"used":null,"config":null}}"#
        );
    }

    #[test]
    fn raid0_raid5_raid10() {
        assert_eq!(
            parsed("raid0-raid5-raid10"),
            r#"{"md2":{"status":"active","type":"raid10","components":{"sdh":"3","sdg":"2","sdf":"1","sde":"0"},"available":"4","used":"4","config":"UUUU"},"md1":{"status":"active","type":"raid5","components":{"sdd":"3","sdc":"1","sdb":"0"},"available":"3","used":"3","config":"UUU"},"md0":{"status":"active","type":"raid0","components":{"nvme1n1p1":"1","nvme0n1p1":"0"},"available":null,"used":null,"config":null}}"#
        );
    }

    #[test]
    fn no_arrays_and_unparsable_texts() {
        let empty = parse_mdstat("Personalities : \nunused devices: <none>\n").expect("parsable");
        assert!(empty.is_empty());
        assert_eq!(parse_mdstat(""), None);
        assert_eq!(parse_mdstat("garbage\n"), None);
        // An array line with nothing after it is a pymdstat IndexError.
        assert_eq!(
            parse_mdstat("Personalities : [raid1]\nmd0 : active raid1 sda[0]\nunused devices: <none>\n"),
            None
        );
    }

    #[test]
    fn plugin_reads_under_root_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::new(dir.path(), Arc::new(Config::default()));
        let mut raid = Raid::new(&env);
        assert_eq!(raid.collect(), Value::Object(Map::new()));
        std::fs::create_dir(dir.path().join("proc")).unwrap();
        std::fs::write(dir.path().join("proc/mdstat"), fixture("raid1-degraded")).unwrap();
        assert_eq!(raid.collect()["md0"]["config"], "U_");
        // A text pymdstat chokes on keeps the last good stats.
        std::fs::write(dir.path().join("proc/mdstat"), "garbage\n").unwrap();
        assert_eq!(raid.collect()["md0"]["used"], "1");
    }
}
