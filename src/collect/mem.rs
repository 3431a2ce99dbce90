//! `mem` and `memswap`: /proc/meminfo with psutil's Linux arithmetic and
//! Glances' overrides (spec §8.16, §8.17), swap traffic from /proc/vmstat.

use serde_json::{Map, Value};

use super::{Env, Interval, Plugin, time_since_update};
use crate::json::{float, round_to};
use crate::limits::Limits;
use crate::views::Decorator;

/// The /proc/meminfo fields psutil's `virtual_memory()` and
/// `swap_memory()` use, in bytes; a missing field reads 0. Picked out while
/// the text is scanned: four plugins and the process scan parse it at every
/// tick, and a map of all fifty-odd fields was most of the cost of doing so.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Meminfo {
    mem_total: u64,
    mem_free: u64,
    /// Absent before Linux 3.14; psutil then estimates it.
    mem_available: Option<u64>,
    buffers: u64,
    cached: u64,
    s_reclaimable: u64,
    active: u64,
    inactive: u64,
    shmem: u64,
    swap_total: u64,
    swap_free: u64,
}

pub fn parse_meminfo(text: &str) -> Meminfo {
    let mut m = Meminfo::default();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let field = match name {
            "MemTotal" => &mut m.mem_total,
            "MemFree" => &mut m.mem_free,
            // Unreadable counts as absent, so psutil's estimate stands in.
            "MemAvailable" => {
                m.mem_available = bytes(rest);
                continue;
            }
            "Buffers" => &mut m.buffers,
            "Cached" => &mut m.cached,
            "SReclaimable" => &mut m.s_reclaimable,
            "Active" => &mut m.active,
            "Inactive" => &mut m.inactive,
            "Shmem" => &mut m.shmem,
            "SwapTotal" => &mut m.swap_total,
            "SwapFree" => &mut m.swap_free,
            _ => continue,
        };
        *field = bytes(rest).unwrap_or(0);
    }
    m
}

/// A meminfo value (`  24684092 kB`) in bytes.
fn bytes(value: &str) -> Option<u64> {
    let mut cols = value.split_whitespace();
    let number: u64 = cols.next()?.parse().ok()?;
    let scale = if cols.next() == Some("kB") { 1024 } else { 1 };
    Some(number * scale)
}

/// psutil `virtual_memory()` on Linux.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualMemory {
    pub total: u64,
    pub available: u64,
    pub percent: f64,
    pub free: u64,
    pub active: u64,
    pub inactive: u64,
    pub buffers: u64,
    pub cached: u64,
    pub shared: u64,
}

impl VirtualMemory {
    pub fn from_meminfo(m: &Meminfo) -> VirtualMemory {
        let total = m.mem_total;
        let free = m.mem_free;
        let buffers = m.buffers;
        let cached = m.cached + m.s_reclaimable;
        let available = m.mem_available.unwrap_or(free + cached + buffers).min(total);
        let percent = if total > 0 {
            round_to((total - available) as f64 / total as f64 * 100.0, 1)
        } else {
            0.0
        };
        VirtualMemory {
            total,
            available,
            percent,
            free,
            active: m.active,
            inactive: m.inactive,
            buffers,
            cached,
            shared: m.shmem,
        }
    }

    pub fn read(env: &Env) -> VirtualMemory {
        VirtualMemory::from_meminfo(&parse_meminfo(
            &env.read_shared_logged("mem", "proc/meminfo").unwrap_or_default(),
        ))
    }
}

/// psutil `swap_memory()`: (total, used, free, percent).
pub fn swap_from_meminfo(m: &Meminfo) -> (u64, u64, u64, f64) {
    let total = m.swap_total;
    let free = m.swap_free.min(total);
    let used = total - free;
    let percent = if total > 0 {
        round_to(used as f64 / total as f64 * 100.0, 1)
    } else {
        0.0
    };
    (total, used, free, percent)
}

pub struct Mem {
    env: Env,
}

impl Mem {
    pub fn new(env: &Env) -> Mem {
        Mem { env: env.clone() }
    }
}

impl Plugin for Mem {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "mem"
    }

    fn collect(&mut self) -> Value {
        let vm = VirtualMemory::read(&self.env);
        if vm.total == 0 {
            return Value::Object(Map::new());
        }
        // Glances overrides psutil: free = available, used = total - available.
        let mut m = Map::with_capacity(10);
        m.insert("total".into(), vm.total.into());
        m.insert("available".into(), vm.available.into());
        m.insert("percent".into(), float(vm.percent));
        m.insert("used".into(), (vm.total - vm.available).into());
        m.insert("free".into(), vm.available.into());
        m.insert("active".into(), vm.active.into());
        m.insert("inactive".into(), vm.inactive.into());
        m.insert("buffers".into(), vm.buffers.into());
        m.insert("cached".into(), vm.cached.into());
        m.insert("shared".into(), vm.shared.into());
        Value::Object(m)
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["percent"]
    }

    fn optional_fields(&self) -> &'static [&'static str] {
        &["active", "inactive", "buffers", "cached"]
    }

    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        used_over_total(stats, limits, d, "mem");
    }
}

/// mem and memswap judge `percent` by used/total, logged by default.
fn used_over_total(stats: &Value, limits: &Limits, d: &mut Decorator, plugin: &str) {
    let get = |f: &str| stats.get(f).and_then(Value::as_f64);
    if let (Some(used), Some(total)) = (get("used"), get("total")) {
        d.evaluate(limits, plugin, "", "", "percent", used, total, true);
    }
}

pub struct MemSwap {
    env: Env,
    interval: Interval,
    /// Bytes swapped in and out, as last read.
    traffic: Option<(u64, u64)>,
    /// Whether a swap device existed at the last collection.
    had_swap: bool,
}

impl MemSwap {
    pub fn new(env: &Env) -> MemSwap {
        MemSwap {
            env: env.clone(),
            interval: Interval::default(),
            traffic: None,
            had_swap: false,
        }
    }

    /// Swap traffic since boot. Without a swap device nothing is swapped,
    /// so /proc/vmstat (some 180 counters the kernel formats on every read)
    /// is read again only while one exists, and once after the last one
    /// goes (swapoff swaps everything back in first).
    fn traffic(&mut self, swap_total: u64) -> (u64, u64) {
        if swap_total > 0 || self.had_swap || self.traffic.is_none() {
            self.traffic = Some(swap_traffic(&self.env.read("proc/vmstat").unwrap_or_default()));
        }
        self.had_swap = swap_total > 0;
        self.traffic.unwrap_or_default()
    }
}

/// Cumulative bytes swapped in and out since boot (/proc/vmstat pages).
pub fn swap_traffic(vmstat: &str) -> (u64, u64) {
    let page = 4096;
    let mut sin = 0;
    let mut sout = 0;
    for line in vmstat.lines() {
        let mut cols = line.split_whitespace();
        match (cols.next(), cols.next().and_then(|v| v.parse::<u64>().ok())) {
            (Some("pswpin"), Some(v)) => sin = v * page,
            (Some("pswpout"), Some(v)) => sout = v * page,
            _ => {}
        }
    }
    (sin, sout)
}

impl Plugin for MemSwap {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "memswap"
    }

    fn collect(&mut self) -> Value {
        let Some(text) = self.env.read_shared_logged("memswap", "proc/meminfo") else {
            return Value::Object(Map::new());
        };
        let (total, used, free, percent) = swap_from_meminfo(&parse_meminfo(&text));
        let (sin, sout) = self.traffic(total);
        let mut m = Map::with_capacity(7);
        m.insert("total".into(), total.into());
        m.insert("used".into(), used.into());
        m.insert("free".into(), free.into());
        m.insert("percent".into(), float(percent));
        m.insert("sin".into(), sin.into());
        m.insert("sout".into(), sout.into());
        m.insert("time_since_update".into(), time_since_update(self.interval.tick()));
        Value::Object(m)
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["percent"]
    }

    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        used_over_total(stats, limits, d, "memswap");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       24684092 kB\nMemFree:        20000000 kB\nMemAvailable:   24044536 kB\nBuffers:           22612 kB\nCached:          3000000 kB\nSwapCached:            0 kB\nActive:          1132120 kB\nInactive:        1926744 kB\nShmem:              8856 kB\nSReclaimable:      44068 kB\nSwapTotal:       1000000 kB\nSwapFree:         750000 kB\n";

    #[test]
    fn virtual_memory_like_psutil() {
        let vm = VirtualMemory::from_meminfo(&parse_meminfo(MEMINFO));
        assert_eq!(vm.total, 24684092 * 1024);
        assert_eq!(vm.available, 24044536 * 1024);
        assert_eq!(vm.cached, (3000000 + 44068) * 1024);
        assert_eq!(vm.shared, 8856 * 1024);
        assert_eq!(vm.percent, 2.6);
    }

    #[test]
    fn available_is_estimated_where_meminfo_lacks_it() {
        let old_kernel = MEMINFO.replace("MemAvailable:   24044536 kB\n", "");
        let vm = VirtualMemory::from_meminfo(&parse_meminfo(&old_kernel));
        assert_eq!(vm.available, (20000000 + 3000000 + 44068 + 22612) * 1024);
        assert_eq!(
            parse_meminfo("MemTotal: 12\nbroken line\nMemFree:\nMemAvailable: x kB\n"),
            Meminfo {
                mem_total: 12,
                ..Meminfo::default()
            }
        );
    }

    #[test]
    fn swap_and_traffic() {
        let (total, used, free, percent) = swap_from_meminfo(&parse_meminfo(MEMINFO));
        assert_eq!((total, used, free, percent), (1024000000, 256000000, 768000000, 25.0));
        assert_eq!(swap_traffic("pswpin 3\npswpout 5\n"), (3 * 4096, 5 * 4096));
        assert_eq!(swap_from_meminfo(&Meminfo::default()), (0, 0, 0, 0.0));
    }

    #[test]
    fn vmstat_is_read_again_only_while_a_swap_device_exists() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("proc")).unwrap();
        let write = |swap_kib: u64, pswpin: u64| {
            std::fs::write(
                root.path().join("proc/meminfo"),
                format!("SwapTotal: {swap_kib} kB\nSwapFree: 0 kB\n"),
            )
            .unwrap();
            std::fs::write(root.path().join("proc/vmstat"), format!("pswpin {pswpin}\npswpout 0\n")).unwrap();
        };
        let config = std::sync::Arc::new(crate::config::Config::default());
        let mut swap = MemSwap::new(&Env::new(root.path(), config));
        let sin = |swap: &mut MemSwap| swap.collect()["sin"].as_u64().unwrap() / 4096;
        write(0, 1);
        assert_eq!(sin(&mut swap), 1, "read once");
        write(0, 2);
        assert_eq!(sin(&mut swap), 1, "no swap: not read again");
        write(1000, 3);
        assert_eq!(sin(&mut swap), 3);
        write(0, 4);
        assert_eq!(sin(&mut swap), 4, "read once more after swapoff");
        write(0, 5);
        assert_eq!(sin(&mut swap), 4);
    }
}
