//! `irq`: the five busiest interrupt lines of /proc/interrupts (spec §8.14).
//!
//! Glances quirk kept: `irq_rate` is the count since the previous
//! collection, not divided by time (0 the first time a line is seen).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Env, Interval, Plugin, read_opt, time_since_update};

/// How many lines Glances reports.
const TOP: usize = 5;

/// /proc/interrupts → `(irq_line, total over the CPU columns)` in file order.
pub fn parse_interrupts(text: &str) -> Vec<(String, u64)> {
    let mut lines = text.lines();
    let cpus = lines.next().map_or(0, |header| header.split_whitespace().count());
    lines
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            Some((line_name(&cols)?, line_total(&cols, cpus)))
        })
        .collect()
}

/// Named lines keep their name (`LOC`); numbered ones get the last column
/// appended (`36_virtio1-req.0`).
fn line_name(cols: &[&str]) -> Option<String> {
    let name = cols.first()?.replace(':', "");
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        Some(format!("{name}_{}", cols.last()?))
    } else {
        Some(name)
    }
}

/// Sum of the per-CPU columns; a row with a non-number among them counts 0
/// (lines like `ERR:` have a single column and still count).
fn line_total(cols: &[&str], cpus: usize) -> u64 {
    cols.iter()
        .skip(1)
        .take(cpus)
        .map(|c| c.parse::<u64>().ok())
        .sum::<Option<u64>>()
        .unwrap_or(0)
}

/// Glances' `irq_rate`: the raw delta (signed, like Python's), 0 when the
/// line had no previous non-zero total.
fn irq_rate(total: u64, last: Option<u64>) -> i64 {
    match last {
        Some(last) if last != 0 => total as i64 - last as i64,
        _ => 0,
    }
}

pub struct Irq {
    env: Env,
    lasts: HashMap<String, u64>,
    interval: Interval,
}

impl Irq {
    pub fn new(env: &Env) -> Irq {
        Irq {
            env: env.clone(),
            lasts: HashMap::new(),
            interval: Interval::default(),
        }
    }
}

impl Plugin for Irq {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "irq"
    }

    fn collect(&mut self) -> Value {
        let Some(text) = read_opt(&self.env, "proc/interrupts") else {
            return Value::Array(Vec::new());
        };
        let since = time_since_update(self.interval.tick());
        let mut rates: Vec<(String, i64)> = parse_interrupts(&text)
            .into_iter()
            .map(|(name, total)| {
                let rate = irq_rate(total, self.lasts.insert(name.clone(), total));
                (name, rate)
            })
            .collect();
        // Stable, like Python's sorted(reverse=True): ties keep file order.
        rates.sort_by_key(|(_, rate)| std::cmp::Reverse(*rate));
        let items = rates
            .into_iter()
            .take(TOP)
            .map(|(name, rate)| {
                let mut m = Map::new();
                m.insert("irq_line".into(), name.into());
                m.insert("irq_rate".into(), rate.into());
                m.insert("key".into(), "irq_line".into());
                m.insert("time_since_update".into(), since.clone());
                Value::Object(m)
            })
            .collect();
        Value::Array(items)
    }

    fn key(&self) -> Option<&'static str> {
        Some("irq_line")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::json::to_bytes;
    use std::path::Path;
    use std::sync::Arc;

    /// /proc/interrupts captured on the build VM (2 vCPUs, virtio devices).
    fn captured() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/irq/proc/interrupts");
        std::fs::read_to_string(path).expect("fixture")
    }

    fn env_at(root: &Path) -> Env {
        Env::new(root, Arc::new(Config::default()))
    }

    #[test]
    fn parses_captured_interrupts() {
        let lines = parse_interrupts(&captured());
        let get = |name: &str| lines.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
        assert_eq!(lines.len(), 35);
        assert_eq!(lines[0], ("24_ACPI:Ged".to_string(), 1));
        assert_eq!(get("36_virtio1-req.0"), Some(81902));
        assert_eq!(get("LOC"), Some(73595 + 80586));
        assert_eq!(get("CAL"), Some(77738 + 61576));
        // single-column lines still count
        assert_eq!(get("ERR"), Some(0));
    }

    #[test]
    fn unparsable_rows_count_zero() {
        let text = "  CPU0 CPU1\nFIQ:   usb_fiq\n 5:  3 x  IO-APIC  eth0\nIPI0:  4  5  Rescheduling\n";
        assert_eq!(
            parse_interrupts(text),
            vec![
                ("FIQ".to_string(), 0),
                ("5_eth0".to_string(), 0),
                ("IPI0".to_string(), 9)
            ]
        );
    }

    #[test]
    fn top_five_raw_deltas() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(root.path().join("proc")).expect("mkdir");
        let write = |body: &str| {
            std::fs::write(root.path().join("proc/interrupts"), format!("  CPU0  CPU1\n{body}")).expect("write")
        };
        write(" 1: 10 0 a\n 2: 10 0 b\n 3: 0 0 c\n 4: 10 0 d\n 5: 10 0 e\n 6: 10 0 f\nLOC: 100 100 Local\n");
        let mut irq = Irq::new(&env_at(root.path()));
        let first = irq.collect();
        // All 0 the first time; ties keep file order.
        assert_eq!(
            String::from_utf8(to_bytes(&first[0])).expect("utf8"),
            r#"{"irq_line":"1_a","irq_rate":0,"key":"irq_line","time_since_update":1}"#
        );
        let names = |v: &Value| {
            v.as_array()
                .expect("list")
                .iter()
                .map(|i| i["irq_line"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&first), ["1_a", "2_b", "3_c", "4_d", "5_e"]);

        write(" 1: 11 0 a\n 2: 10 5 b\n 3: 50 0 c\n 4: 10 0 d\n 5: 30 0 e\n 6: 10 1 f\nLOC: 150 150 Local\n");
        let second = irq.collect();
        assert_eq!(names(&second), ["LOC", "5_e", "2_b", "1_a", "6_f"]);
        let rates: Vec<_> = second
            .as_array()
            .expect("list")
            .iter()
            .map(|i| i["irq_rate"].as_i64())
            .collect();
        // 3_c had a previous total of 0, so Glances reports 0 for it
        assert_eq!(rates, [Some(100), Some(20), Some(5), Some(1), Some(1)]);
        assert!(second[0]["time_since_update"].is_f64());
    }

    #[test]
    fn missing_file_gives_an_empty_list() {
        let root = tempfile::tempdir().expect("tempdir");
        assert_eq!(Irq::new(&env_at(root.path())).collect(), Value::Array(Vec::new()));
    }
}
