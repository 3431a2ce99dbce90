//! `diskio`: per-device I/O deltas from /proc/diskstats (spec §8.8).
//!
//! Devices are psutil's `disk_io_counters(perdisk=True)`: every line of
//! /proc/diskstats (disks, partitions, loop, dm, zram...), or, without that
//! file, every `stat` under /sys/block. Glances skips `ram*` devices.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::filter::DisplayFilter;
use super::network::{WrapNumbers, all_zero, configured_alias, mark_non_zero};
use super::{Env, Interval, Plugin, read_opt, time_since_update};
use crate::limits::Limits;
use crate::views::Decorator;

/// Linux counts diskstats sectors in 512-byte units whatever the device.
const SECTOR: u64 = 512;

/// `[reads, writes, bytes read, bytes written]` of one device.
type DiskCounters = [u64; 4];

const FIELDS: [&str; 4] = ["read_count", "write_count", "read_bytes", "write_bytes"];
const HIDE_ZERO_FIELDS: [&str; 2] = ["read_bytes", "write_bytes"];

fn sectors(count: u64) -> u64 {
    count.saturating_mul(SECTOR)
}

/// One /proc/diskstats line, psutil's way: 14 or 18+ columns for a disk on
/// Linux 2.6+ (4.18 and 5.5 appended columns), 7 for an old-style
/// partition line. Anything else (Linux 2.4's layout) is skipped.
fn parse_diskstats_line(line: &str) -> Option<(String, DiskCounters)> {
    let cols: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize| cols.get(i).and_then(|c| c.parse::<u64>().ok());
    let [reads, read_sectors, writes, write_sectors] = match cols.len() {
        14 | 18.. => [3, 5, 7, 9],
        7 => [3, 4, 5, 6],
        _ => return None,
    };
    let name = cols[2].to_string();
    Some((
        name,
        [
            num(reads)?,
            num(writes)?,
            sectors(num(read_sectors)?),
            sectors(num(write_sectors)?),
        ],
    ))
}

/// /proc/diskstats → counters per device, in file order.
pub fn parse_diskstats(text: &str) -> Vec<(String, DiskCounters)> {
    text.lines().filter_map(parse_diskstats_line).collect()
}

/// A /sys/block/.../stat file: reads, read sectors, writes, write sectors
/// are columns 0, 2, 4 and 6.
fn parse_block_stat(text: &str) -> Option<DiskCounters> {
    let cols: Vec<u64> = text
        .split_whitespace()
        .take(10)
        .map(|c| c.parse().ok())
        .collect::<Option<_>>()?;
    (cols.len() == 10).then(|| [cols[0], cols[4], sectors(cols[2]), sectors(cols[6])])
}

/// psutil's fallback without /proc/diskstats: every directory holding a
/// `stat` file under /sys/block/<disk> (the disk and its partitions),
/// symlinks not followed. Disks are taken in name order.
fn read_sys_block(root: &Path) -> Option<Vec<(String, DiskCounters)>> {
    let mut disks: Vec<_> = std::fs::read_dir(root).ok()?.flatten().map(|e| e.path()).collect();
    disks.sort();
    let mut out = Vec::new();
    for disk in disks {
        collect_block_stats(&disk, &mut out);
    }
    Some(out)
}

fn collect_block_stats(dir: &Path, out: &mut Vec<(String, DiskCounters)>) {
    let stat = super::read_text(&dir.join("stat")).ok();
    if let (Some(counters), Some(name)) = (stat.as_deref().and_then(parse_block_stat), dir.file_name()) {
        out.push((name.to_string_lossy().into_owned(), counters));
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        collect_block_stats(&sub, out);
    }
}

pub struct DiskIo {
    env: Env,
    filter: DisplayFilter,
    hide_zero: bool,
    show_ramfs: bool,
    wrap: WrapNumbers<4>,
    previous: Option<HashMap<String, DiskCounters>>,
    interval: Interval,
}

impl DiskIo {
    /// Glances' constructor tries a first collection too, but its refresh
    /// guard skips it: the first visible sample is all zeros.
    pub fn new(env: &Env) -> DiskIo {
        DiskIo {
            env: env.clone(),
            filter: DisplayFilter::from_config(&env.config, "diskio"),
            hide_zero: env.config.get_bool("diskio", "hide_zero").unwrap_or(false),
            show_ramfs: env.switches.diskio_show_ramfs,
            wrap: WrapNumbers::default(),
            previous: None,
            interval: Interval::default(),
        }
    }

    fn read_counters(&mut self) -> Option<Vec<(String, DiskCounters)>> {
        let raw = match read_opt(&self.env, "proc/diskstats") {
            Some(text) => parse_diskstats(&text),
            None => read_sys_block(&self.env.path("sys/block"))?,
        };
        Some(self.wrap.adjust(raw))
    }

    fn element(&self, name: &str, since: &Value, delta: DiskCounters) -> Value {
        let mut m = Map::with_capacity(FIELDS.len() + 4);
        m.insert("time_since_update".into(), since.clone());
        m.insert("disk_name".into(), name.into());
        for (field, value) in FIELDS.iter().zip(delta) {
            m.insert(field.to_string(), value.into());
        }
        if let Some(alias) = configured_alias(&self.env.config, "diskio", name) {
            m.insert("alias".into(), alias.into());
        }
        m.insert("key".into(), "disk_name".into());
        Value::Object(m)
    }
}

impl Plugin for DiskIo {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "diskio"
    }

    fn collect(&mut self) -> Value {
        let Some(current) = self.read_counters() else {
            return Value::Array(Vec::new());
        };
        let since = time_since_update(self.interval.tick());
        let previous = self.previous.replace(current.iter().cloned().collect());
        let items = current
            .iter()
            // RAM disks are hidden unless --diskio-show-ramfs.
            .filter(|(name, _)| self.show_ramfs || !name.starts_with("ram"))
            .filter(|(name, _)| self.filter.displays(name))
            .map(|(name, now)| {
                // A device seen for the first time reports zeros.
                let before = previous.as_ref().and_then(|p| p.get(name)).unwrap_or(now);
                let delta = std::array::from_fn(|i| now[i].saturating_sub(before[i]));
                self.element(name, &since, delta)
            })
            .collect();
        Value::Array(items)
    }

    fn key(&self) -> Option<&'static str> {
        Some("disk_name")
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["read_bytes", "write_bytes"]
    }

    /// Bytes per second against `diskio_<disk>_rx_*` / `_tx_*`, falling
    /// back to `diskio_*`; log only if configured.
    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        for item in stats.as_array().into_iter().flatten() {
            let Some(disk) = item.get("disk_name").and_then(Value::as_str) else {
                continue;
            };
            if self.hide_zero && all_zero(item, &HIDE_ZERO_FIELDS) {
                HIDE_ZERO_FIELDS.iter().for_each(|f| d.hide(disk, f));
            }
            let since = item.get("time_since_update").and_then(Value::as_f64).unwrap_or(0.0);
            if since <= 0.0 {
                continue;
            }
            for (field, direction) in [("read_bytes", "rx"), ("write_bytes", "tx")] {
                let bytes = item.get(field).and_then(Value::as_f64).unwrap_or(0.0);
                let rate = (bytes / since).floor();
                let header = format!("{disk}_{direction}");
                d.evaluate(limits, "diskio", &header, disk, field, rate, 100.0, false);
            }
        }
    }

    /// hide_zero also rewrites `_zero`, which the standard views cannot.
    fn standard_views(&self) -> bool {
        !self.hide_zero
    }

    fn views(&self, stats: &Value, decorator: &Decorator) -> Value {
        let mut views = decorator.views(stats, self.key(), self.optional_fields());
        if self.hide_zero {
            mark_non_zero(&mut views, stats, "disk_name", &HIDE_ZERO_FIELDS);
        }
        views
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::json::to_bytes;
    use std::path::PathBuf;
    use std::sync::Arc;

    /// /proc/diskstats captured on the build VM (kernel 6.x, 20 columns):
    /// eight idle loop devices, the virtio disk vda and zram0.
    fn captured_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diskio")
    }

    fn env_with(root: &Path, config: &str) -> Env {
        let config = Config::parse(config, Path::new("t.conf")).expect("test config");
        Env::new(root, Arc::new(config))
    }

    /// A 20-column diskstats line with the given reads/sectors/writes/sectors.
    fn line(name: &str, reads: u64, rsect: u64, writes: u64, wsect: u64) -> String {
        format!("   8       0 {name} {reads} 0 {rsect} 0 {writes} 0 {wsect} 0 0 0 0 0 0 0 0 0 0\n")
    }

    fn write_diskstats(root: &Path, lines: &[String]) {
        std::fs::create_dir_all(root.join("proc")).expect("mkdir");
        std::fs::write(root.join("proc/diskstats"), lines.concat()).expect("diskstats");
    }

    fn text(v: &Value) -> String {
        String::from_utf8(to_bytes(v)).expect("utf8")
    }

    #[test]
    fn parses_captured_diskstats() {
        let text = std::fs::read_to_string(captured_root().join("proc/diskstats")).expect("fixture");
        let disks = parse_diskstats(&text);
        let names: Vec<&str> = disks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "loop0", "loop1", "loop2", "loop3", "loop4", "loop5", "loop6", "loop7", "vda", "zram0"
            ]
        );
        assert_eq!(disks[8].1, [80936, 13442, 6295026 * 512, 6485664 * 512]);
    }

    #[test]
    fn parses_old_layouts_and_skips_garbage() {
        // 14 columns (2.6 to 4.17) and a 7-column partition line
        let text = "   8  0 sda 10 0 20 0 30 0 40 0 0 0 0\n   8  1 sda1 1 2 3 4\n   8  2 sdb 1 2\n";
        assert_eq!(
            parse_diskstats(text),
            vec![
                ("sda".to_string(), [10, 30, 20 * 512, 40 * 512]),
                ("sda1".to_string(), [1, 3, 2 * 512, 4 * 512])
            ]
        );
    }

    #[test]
    fn first_sample_is_zeros_then_deltas() {
        let root = tempfile::tempdir().expect("tempdir");
        write_diskstats(
            root.path(),
            &[line("vda", 100, 1000, 50, 2000), line("ram0", 1, 1, 1, 1)],
        );
        let env = env_with(root.path(), "[diskio]\nvda_alias=SystemDisk\n");
        let mut diskio = DiskIo::new(&env);
        let first = diskio.collect();
        assert_eq!(
            text(&first),
            r#"[{"time_since_update":1,"disk_name":"vda","read_count":0,"write_count":0,"read_bytes":0,"write_bytes":0,"alias":"SystemDisk","key":"disk_name"}]"#
        );

        write_diskstats(
            root.path(),
            &[line("vda", 103, 1016, 60, 2100), line("sdb", 7, 8, 9, 10)],
        );
        let second = diskio.collect();
        let items = second.as_array().expect("list");
        assert!(items[0]["time_since_update"].is_f64());
        let counts = |i: usize| FIELDS.map(|f| items[i][f].as_u64().unwrap_or(u64::MAX));
        assert_eq!(counts(0), [3, 10, 16 * 512, 100 * 512]);
        // sdb appeared: zeros, and no alias key without configuration
        assert_eq!(items[1]["disk_name"], "sdb");
        assert_eq!(counts(1), [0, 0, 0, 0]);
        assert_eq!(
            items[1].as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(
                [
                    "time_since_update",
                    "disk_name",
                    "read_count",
                    "write_count",
                    "read_bytes",
                    "write_bytes",
                    "key"
                ]
                .map(String::from)
                .to_vec()
            )
        );
    }

    #[test]
    fn shipped_config_hides_loop_devices() {
        let env = env_with(&captured_root(), "[diskio]\nhide=loop.*,/dev/loop.*\n");
        let stats = DiskIo::new(&env).collect();
        let names: Vec<_> = stats
            .as_array()
            .expect("list")
            .iter()
            .map(|i| i["disk_name"].clone())
            .collect();
        assert_eq!(names, ["vda", "zram0"]);
        let shown = env_with(&captured_root(), "[diskio]\nhide=loop.*\nshow=LOOP7\n");
        assert_eq!(DiskIo::new(&shown).collect()[0]["disk_name"], "loop7");
    }

    #[test]
    fn sys_block_fallback_lists_disks_and_partitions() {
        let root = tempfile::tempdir().expect("tempdir");
        let stat =
            "     100        0     2000        0       50        0     4000        0        0        0        0\n";
        for dir in [
            "sys/block/sda",
            "sys/block/sda/sda1",
            "sys/block/sda/queue",
            "sys/block/ram0",
        ] {
            std::fs::create_dir_all(root.path().join(dir)).expect("mkdir");
        }
        for file in ["sys/block/sda/stat", "sys/block/sda/sda1/stat", "sys/block/ram0/stat"] {
            std::fs::write(root.path().join(file), stat).expect("stat");
        }
        let disks = read_sys_block(&root.path().join("sys/block")).expect("sysfs");
        let names: Vec<&str> = disks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["ram0", "sda", "sda1"]);
        assert_eq!(disks[1].1, [100, 50, 2000 * 512, 4000 * 512]);
        let stats = DiskIo::new(&env_with(root.path(), "")).collect();
        assert_eq!(stats.as_array().map(Vec::len), Some(2), "ram0 skipped");
        let mut show_ramfs = env_with(root.path(), "");
        show_ramfs.switches.diskio_show_ramfs = true;
        let stats = DiskIo::new(&show_ramfs).collect();
        assert_eq!(stats[0]["disk_name"], "ram0", "--diskio-show-ramfs keeps it");
    }

    #[test]
    fn no_source_gives_an_empty_list() {
        let root = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            DiskIo::new(&env_with(root.path(), "")).collect(),
            Value::Array(Vec::new())
        );
    }

    fn decorated(config: &str, stats: &Value) -> Value {
        let env = env_with(Path::new("/nonexistent"), config);
        let diskio = DiskIo::new(&env);
        let limits = Limits::from_config("diskio", &env.config);
        let mut d = Decorator::default();
        diskio.decorate(stats, &limits, &mut d);
        diskio.views(stats, &d)
    }

    #[test]
    fn views_judge_bytes_per_second_and_hide_zero() {
        let stats = serde_json::json!([
            {"time_since_update": 2.0, "disk_name": "vda", "read_bytes": 3000, "write_bytes": 0},
            {"time_since_update": 2.0, "disk_name": "vdb", "read_bytes": 0, "write_bytes": 0}
        ]);
        // vda reads 1500 B/s: WARNING against its own thresholds; writes
        // fall back to the plugin-wide diskio_* ones
        let views = decorated(
            "[diskio]\nvda_rx_careful=1000\nvda_rx_warning=1500\nvda_rx_critical=2000\ncareful=10\nwarning=20\ncritical=30\nhide_zero=true\n",
            &stats,
        );
        assert_eq!(views["vda"]["read_bytes"]["decoration"], "WARNING");
        assert_eq!(views["vda"]["write_bytes"]["decoration"], "OK");
        assert_eq!(views["vdb"]["read_bytes"]["decoration"], "OK");
        assert_eq!(views["vdb"]["read_bytes"]["hidden"], true);
        assert_eq!(views["vdb"]["write_bytes"]["_zero"], true);
        assert_eq!(views["vda"]["write_bytes"]["hidden"], false);
        assert_eq!(views["vda"]["write_bytes"]["_zero"], false);
        let plain = decorated("", &stats);
        assert_eq!(plain["vda"]["read_bytes"]["decoration"], "DEFAULT");
        assert_eq!(plain["vdb"]["read_bytes"]["hidden"], false);
    }
}
