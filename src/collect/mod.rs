//! One file per plugin: what is measured and how Glances shapes it.
//!
//! A plugin reads Linux sources under a root path (`/` in production, a
//! fixture tree in tests), returns its stats as Glances' JSON value, and
//! decides the decorations of its views. It never knows about actors or HTTP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::Config;
use crate::limits::Limits;
use crate::views::{Decorator, key_text};

// Plugin modules, one line each, sorted.
pub mod amps;
pub mod atasmart;
pub mod cloud;
pub mod connections;
pub mod containers;
pub mod core;
pub mod cpu;
pub mod diskio;
pub mod filter;
pub mod folders;
pub mod fs;
pub mod gpu;
pub mod held;
pub mod help;
pub mod ip;
pub mod irq;
pub mod load;
pub mod mem;
pub mod network;
pub mod now;
pub mod percpu;
pub mod ports;
pub mod processes;
pub mod psutilversion;
pub mod quicklook;
pub mod raid;
pub mod sensors;
pub mod smart;
pub mod sock_diag;
pub mod system;
pub mod uptime;
pub mod wifi;

/// The latest process table (processlist elements), written by the
/// processcount scan and read by processlist and amps, so /proc is walked
/// once per refresh.
pub type ProcessTable = Arc<RwLock<Arc<Value>>>;

/// The processes of a [`ProcessTable`] snapshot.
pub fn process_list(table: &Value) -> &[Value] {
    table.as_array().map_or(&[], Vec::as_slice)
}

/// The automatic process sort key (spec §10.4): `cpu_percent`, switched by
/// the alert actor to `memory_percent`/`io_counters` while MEM*/CPU_IOWAIT
/// events are active, unless `[processlist] sort_key` fixes it.
pub type ProcessSort = Arc<std::sync::Mutex<&'static str>>;

/// Where collectors read from and what they were configured with.
#[derive(Debug, Clone)]
pub struct Env {
    pub root: PathBuf,
    pub config: Arc<Config>,
    /// `--strftime` (empty: use the config or Glances' default).
    pub strftime: String,
    pub processes: ProcessTable,
    pub process_sort: ProcessSort,
    pub switches: Switches,
    /// Read failures already logged, so a broken source logs once, not per tick.
    reported: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Env {
    pub fn new(root: impl Into<PathBuf>, config: Arc<Config>) -> Env {
        Env {
            root: root.into(),
            config,
            strftime: String::new(),
            processes: ProcessTable::default(),
            process_sort: Arc::new(std::sync::Mutex::new("cpu_percent")),
            switches: Switches::default(),
            reported: Arc::default(),
        }
    }

    /// Path of `rel` (like `proc/stat`) under the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    pub fn read(&self, rel: &str) -> std::io::Result<String> {
        read_text(&self.path(rel))
    }

    /// [`Env::read`] for the files several plugins read at each refresh
    /// tick: see [`held::read_shared`].
    pub fn read_shared(&self, rel: &str) -> std::io::Result<String> {
        held::read_shared(&self.path(rel))
    }

    /// Read a source every host has; on failure log once per (file, error
    /// kind) and return None so the plugin falls back to its empty shape.
    pub fn read_logged(&self, plugin: &str, rel: &str) -> Option<String> {
        self.logged(plugin, rel, self.read(rel))
    }

    /// [`Env::read_logged`] through [`Env::read_shared`].
    pub fn read_shared_logged(&self, plugin: &str, rel: &str) -> Option<String> {
        self.logged(plugin, rel, self.read_shared(rel))
    }

    fn logged(&self, plugin: &str, rel: &str, read: std::io::Result<String>) -> Option<String> {
        match read {
            Ok(text) => Some(text),
            Err(e) => {
                let key = format!("{rel}:{:?}", e.kind());
                let first = self.reported.lock().map(|mut seen| seen.insert(key)).unwrap_or(false);
                if first {
                    tracing::warn!(plugin, file = %self.path(rel).display(), error = %e, "cannot read source; the plugin stays empty until it can");
                }
                None
            }
        }
    }

    pub fn proc_root(&self) -> PathBuf {
        self.path("proc")
    }

    /// The process sort key fixed by `--sort-processes`, else by
    /// `[processlist] sort_key`; `None` leaves it automatic.
    pub fn fixed_process_sort(&self) -> Option<&str> {
        let configured = || self.config.get("processlist", "sort_key").map(str::trim);
        self.switches.sort_processes.as_deref().or_else(configured)
    }
}

/// Command-line switches that change what plugins report (spec §14.1).
#[derive(Debug, Clone, Default)]
pub struct Switches {
    /// `--hide-kernel-threads`: leave out processes whose real gid is 0.
    pub hide_kernel_threads: bool,
    /// `--programs`: processlist groups processes by name.
    pub programs: bool,
    /// `--diskio-show-ramfs`: keep `ram*` disks.
    pub diskio_show_ramfs: bool,
    /// `--sort-processes`.
    pub sort_processes: Option<String>,
}

/// A monitored subsystem. `collect` may block; it runs off the actor thread.
pub trait Plugin: Send + 'static {
    fn name(&self) -> &'static str;

    /// One collection, shaped like Glances' stats for this plugin.
    fn collect(&mut self) -> Value;

    /// The same, shared: plugins that already hold their stats in an `Arc`
    /// (processlist mirrors the scan's table) hand it over without a copy.
    fn collect_shared(&mut self) -> Arc<Value> {
        Arc::new(self.collect())
    }

    /// True for collectors that only read a few small /proc files: they run
    /// on the actor thread, sparing a thread hop per refresh. Anything that
    /// may block (walks, sockets, ioctls, commands, network mounts) keeps
    /// the default and runs on the blocking pool.
    fn quick(&self) -> bool {
        false
    }

    /// The field naming each element of a list plugin.
    fn key(&self) -> Option<&'static str> {
        None
    }

    /// Fields recorded in history (§11).
    fn history_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// The part of the stats that history is recorded from (containers
    /// keeps its list under `containers`).
    fn history_source<'a>(&self, stats: &'a Value) -> &'a Value {
        stats
    }

    /// Fields whose views say `optional: true`.
    fn optional_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Decide the decorations of this update (§9.3); most plugins have none.
    fn decorate(&self, _stats: &Value, _limits: &Limits, _decorator: &mut Decorator) {}

    /// Whether views are the standard ones, built from the decorations only
    /// when someone asks for them. Plugins overriding [`Plugin::views`]
    /// return false.
    fn standard_views(&self) -> bool {
        true
    }

    /// Views for `stats`; plugins with partial views (gpu, containers) override.
    fn views(&self, stats: &Value, decorator: &Decorator) -> Value {
        decorator.views(stats, self.key(), self.optional_fields())
    }
}

/// A plugin's views as a sample carries them: built by the plugin, or the
/// standard ones, built by the aggregator on the first request after the
/// update (most updates are never looked at: processlist views are large).
#[derive(Debug)]
pub enum ViewSource {
    Built(Value),
    Standard {
        decorator: Decorator,
        key: Option<&'static str>,
        optional: &'static [&'static str],
    },
}

impl ViewSource {
    /// The views of `stats` as JSON text.
    pub fn to_bytes(&self, stats: &Value) -> Vec<u8> {
        match self {
            ViewSource::Built(v) => crate::json::to_bytes(v),
            ViewSource::Standard {
                decorator,
                key,
                optional,
            } => {
                let mut out = Vec::new();
                decorator.write_views(stats, *key, optional, &mut out);
                out
            }
        }
    }
}

/// Everything one collection produces, ready for the aggregator.
#[derive(Debug)]
pub struct Sample {
    pub stats: Arc<Value>,
    pub views: ViewSource,
    pub history: Vec<(String, Value)>,
    pub evaluations: Vec<crate::views::Evaluation>,
    pub triggers: Vec<crate::views::Trigger>,
}

/// Collect once and derive views, history points and evaluations.
pub fn sample(plugin: &mut dyn Plugin, limits: &Limits) -> Sample {
    let stats = plugin.collect_shared();
    let mut decorator = Decorator::default();
    plugin.decorate(&stats, limits, &mut decorator);
    let history = history_points(plugin.history_source(&stats), plugin.key(), plugin.history_fields());
    let evaluations = std::mem::take(&mut decorator.evaluations);
    let triggers = std::mem::take(&mut decorator.triggers);
    let views = if plugin.standard_views() {
        ViewSource::Standard {
            decorator,
            key: plugin.key(),
            optional: plugin.optional_fields(),
        }
    } else {
        ViewSource::Built(plugin.views(&stats, &decorator))
    };
    Sample {
        stats,
        views,
        history,
        evaluations,
        triggers,
    }
}

/// History keys and values of one update: the field name for dict stats,
/// `<key value>_<field>` for list stats (fields outer, items inner).
pub fn history_points(stats: &Value, key: Option<&str>, fields: &[&str]) -> Vec<(String, Value)> {
    let mut points = Vec::new();
    match (stats, key) {
        (Value::Object(obj), _) => {
            for field in fields {
                if let Some(v) = obj.get(*field) {
                    points.push((field.to_string(), v.clone()));
                }
            }
        }
        (Value::Array(items), Some(key)) => {
            for field in fields {
                for item in items {
                    if let Some(v) = item.get(*field) {
                        points.push((format!("{}_{field}", key_text(item.get(key))), v.clone()));
                    }
                }
            }
        }
        _ => {}
    }
    points
}

/// Seconds since the previous collection of a counter family; `None` on
/// the first one (Glances then reports the integer 1).
#[derive(Debug, Default)]
pub struct Interval {
    last: Option<Instant>,
}

impl Interval {
    pub fn tick(&mut self) -> Option<f64> {
        let now = Instant::now();
        let elapsed = self.last.map(|t| now.duration_since(t).as_secs_f64());
        self.last = Some(now);
        elapsed
    }
}

/// How early a reading kept for a while may be taken again. Collections
/// land on their period's boundaries give or take a few microseconds, so a
/// reading kept for a multiple of the refresh (the 6 s CPU frequency, the
/// 60 s command lines) came due just before or just after the tick that
/// should renew it, and waited a whole extra period when just after
/// (strace: /proc/cpuinfo read every 8 s, not 6).
const TICK_JITTER: Duration = Duration::from_millis(100);

/// Whether a reading taken at `at` and kept for `ttl` is due again at `now`.
pub fn expired(at: Instant, ttl: Duration, now: Instant) -> bool {
    now + TICK_JITTER >= at + ttl
}

/// `time_since_update` as Glances writes it: int 1 first, then a float.
pub fn time_since_update(elapsed: Option<f64>) -> Value {
    match elapsed {
        Some(s) => crate::json::float(s),
        None => Value::from(1),
    }
}

/// The 31 plugins of Glances 3.4.0.5, alphabetically (spec §7.1).
pub const ALL_PLUGINS: [&str; 31] = [
    "alert",
    "amps",
    "cloud",
    "connections",
    "containers",
    "core",
    "cpu",
    "diskio",
    "folders",
    "fs",
    "gpu",
    "help",
    "ip",
    "irq",
    "load",
    "mem",
    "memswap",
    "network",
    "now",
    "percpu",
    "ports",
    "processcount",
    "processlist",
    "psutilversion",
    "quicklook",
    "raid",
    "sensors",
    "smart",
    "system",
    "uptime",
    "wifi",
];

/// Build the collector of `name`, if glint implements it. `alert` is fed by
/// the alert actor, not by a collector.
pub fn build(name: &str, env: &Env) -> Option<Box<dyn Plugin>> {
    let plugin: Box<dyn Plugin> = match name {
        "amps" => Box::new(amps::Amps::new(env)),
        "cloud" => Box::new(cloud::Cloud::new(env)),
        "connections" => Box::new(connections::Connections::new(env)),
        "containers" => Box::new(containers::Containers::new(env)),
        "core" => Box::new(core::Core::new(env)),
        "cpu" => Box::new(cpu::Cpu::new(env)),
        "diskio" => Box::new(diskio::DiskIo::new(env)),
        "folders" => Box::new(folders::Folders::new(env)),
        "fs" => Box::new(fs::Fs::new(env)),
        "gpu" => Box::new(gpu::Gpu::new(env)),
        "help" => Box::new(help::Help),
        "ip" => Box::new(ip::Ip::new(env)),
        "irq" => Box::new(irq::Irq::new(env)),
        "load" => Box::new(load::Load::new(env)),
        "mem" => Box::new(mem::Mem::new(env)),
        "memswap" => Box::new(mem::MemSwap::new(env)),
        "network" => Box::new(network::Network::new(env)),
        "now" => Box::new(now::Now::new(env)),
        "percpu" => Box::new(percpu::PerCpu::new(env)),
        "ports" => Box::new(ports::Ports::new(env)),
        "processcount" => Box::new(processes::ProcessCount::new(env)),
        "processlist" => Box::new(processes::ProcessList::new(env)),
        "psutilversion" => Box::new(psutilversion::PsutilVersion),
        "quicklook" => Box::new(quicklook::QuickLook::new(env)),
        "raid" => Box::new(raid::Raid::new(env)),
        "sensors" => Box::new(sensors::Sensors::new(env)),
        "smart" => Box::new(smart::Smart::new(env)),
        "system" => Box::new(system::System::new(env)),
        "uptime" => Box::new(uptime::Uptime::new(env)),
        "wifi" => Box::new(wifi::Wifi::new(env)),
        _ => return None,
    };
    Some(plugin)
}

/// The stats a plugin holds before its first collection (what `/all` shows
/// for a disabled plugin, §4.3).
pub fn initial_stats(name: &str) -> Value {
    match name {
        "help" => Value::Null,
        "now" | "uptime" => Value::from(""),
        // Glances' connections plugin starts with its two switches on.
        "connections" => serde_json::json!({"net_connections_enabled": true, "nf_conntrack_enabled": true}),
        "core" | "cpu" | "load" | "mem" | "memswap" | "quicklook" | "system" | "processcount" | "containers" | "ip"
        | "cloud" | "raid" | "smart" => Value::Object(Default::default()),
        _ => Value::Array(Vec::new()),
    }
}

/// Read a whole file under the root, treating any failure as absent.
pub fn read_opt(env: &Env, rel: &str) -> Option<String> {
    env.read(rel).ok()
}

/// Parse an integer column, 0 when malformed (Linux counters never are).
pub fn num(s: &str) -> u64 {
    s.trim().parse().unwrap_or(0)
}

/// Read a whole text file. /proc and /sys report a size of 0, so
/// `fs::read_to_string` stats them and then reads 32, 64, 128... bytes at a
/// time (9 system calls for /proc/stat); a page-sized buffer gets a procfs
/// or sysfs file in one read, and one more says it ended. procfs and sysfs
/// files stay open between reads ([`held`]). The page is the thread's own,
/// kept between reads: most of these files are a few bytes (a link's
/// `speed`, `operstate`), and a fresh zero-filled page per read wrote 4 KiB
/// for each; the text gets an allocation of its own size.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    thread_local! {
        static PAGE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    /// A larger page (a long mount table) is let go after the read.
    const KEEP: usize = 64 * 1024;
    PAGE.with_borrow_mut(|page| {
        let text = held::read(path, page).map(|len| std::str::from_utf8(&page[..len]).map(str::to_owned));
        if page.len() > KEEP {
            *page = Vec::new();
        }
        text?.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    })
}

/// Logical CPU count under the root: the online CPUs, as psutil gets them
/// from `sysconf(_SC_NPROCESSORS_ONLN)`. /proc/stat has one `cpuN` line per
/// online CPU (glibc's fallback when sysfs is missing): counted from the
/// text cpu, percpu and quicklook share each tick, it costs no read of its
/// own, where sysfs' `online` list was one more cold file per tick. That
/// list is the fallback here.
pub fn logical_cpus(root: &Path) -> usize {
    let listed = held::read_shared(&root.join("proc/stat")).ok().map(|s| {
        s.lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count()
    });
    listed
        .filter(|&n| n > 0)
        .or_else(|| {
            held::read_shared(&root.join("sys/devices/system/cpu/online"))
                .ok()
                .and_then(|list| count_cpu_list(&list))
        })
        .unwrap_or(0)
        .max(1)
}

/// How many CPUs a sysfs CPU list (`0-3,6,8-9`) names; `None` when malformed.
fn count_cpu_list(list: &str) -> Option<usize> {
    list.trim().split(',').try_fold(0, |total, part| {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let (first, last): (usize, usize) = (first.parse().ok()?, last.parse().ok()?);
        Some(total + last.checked_sub(first)? + 1)
    })
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn read_text_reads_whole_files_of_any_size() {
        let dir = tempfile::tempdir().unwrap();
        // Up and down: the thread's page is reused, and a shorter text must
        // not carry the end of a longer one; 100 000 bytes is past what the
        // page keeps.
        for len in [0, 1, 4095, 4096, 4097, 20_000, 100_000, 4097, 1, 0] {
            let text: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &text).unwrap();
            assert_eq!(read_text(&path).unwrap(), text);
        }
        // procfs hands over a seq_file a page at a time.
        let mounts = read_text(Path::new("/proc/self/mountinfo")).unwrap();
        assert_eq!(mounts, std::fs::read_to_string("/proc/self/mountinfo").unwrap());
        assert!(read_text(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn logical_cpus_are_the_online_ones() {
        // /proc/stat's cpuN lines and sysfs' online list name the same CPUs.
        let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
        assert_eq!(Some(logical_cpus(Path::new("/"))), count_cpu_list(&online));
        // Without /proc/stat, the online list.
        let root = tempfile::tempdir().unwrap();
        let cpu = root.path().join("sys/devices/system/cpu");
        std::fs::create_dir_all(&cpu).unwrap();
        std::fs::write(cpu.join("online"), "0-5\n").unwrap();
        assert_eq!(logical_cpus(root.path()), 6);
    }

    #[test]
    fn a_reading_is_due_at_the_tick_that_ends_its_time() {
        let at = Instant::now();
        let six = Duration::from_secs(6);
        assert!(!expired(at, six, at + Duration::from_secs(4)));
        // The third 2 s tick, a little early or late.
        assert!(expired(at, six, at + six - Duration::from_micros(50)));
        assert!(expired(at, six, at + six + Duration::from_micros(50)));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-1\n"), Some(2));
        assert_eq!(count_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list(""), None);
    }

    #[test]
    fn every_plugin_but_alert_has_a_collector() {
        let env = Env::new("/nonexistent-root", Arc::new(Config::default()));
        for name in ALL_PLUGINS {
            assert_eq!(build(name, &env).is_some(), name != "alert", "{name}");
        }
    }
}
