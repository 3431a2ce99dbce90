//! `processcount` and `processlist` (spec §8.22, §8.23): one walk of /proc
//! per refresh, each process shaped like Glances 3.4 over psutil 7.2.2.
//!
//! As in Glances, `processcount` drives the scan: it reads every
//! /proc/<pid>, publishes the sorted processlist elements in
//! [`Env::processes`] and returns the counts. `processlist` only mirrors that
//! table, so its effective refresh is processcount's.
//!
//! Per process the scan reads `<pid>/stat`, `statm`, `status` (Uid/Gid
//! lines) and `io` with one openat each on a /proc handle, into one reused
//! buffer; the file read at every scan stays open ([`Probe`]). Most
//! processes sleep through most scans, so:
//! - a single-threaded process is first asked for its `schedstat` (cheaper
//!   for the kernel to generate); if it has not run since its `stat` was
//!   read, that stat, statm and io still hold (for up to 30 s);
//! - any other process whose `stat` is unchanged skips `statm` and `io` for
//!   up to 10 s;
//! - a single-threaded process that runs between scans keeps its `stat`
//!   open too.
//!
//! /proc itself is listed at the first scan, and later only when processes
//! were created since the last one and their pids cannot be tried one by
//! one instead: more than 64 pids handed out since (/proc/loadavg's last
//! pid), a wrap-around, or a /proc of another pid namespace (there only
//! /proc/stat's fork counter tells whether any process was created).
//!
//! `cmdline` and `username` are kept per process and re-read every 60 s,
//! like Glances' cache; `status` (costly to generate) is only read with
//! them, so `gids` follow the same 60 s cache, and so does the cmdline
//! psutil consults to extend a 15-character name. A process is identified
//! by pid and start time, so a reused pid never inherits its predecessor's
//! cache, CPU or I/O counters.
//!
//! Cost, measured on the 2-vCPU development VM with 2000 extra `sleep`
//! processes: 10–12.5 µs of CPU per process per 2 s refresh for the whole
//! daemon (bench/compare.sh; Glances: 140–170 µs in the same runs). Opening and reading a
//! `schedstat` costs the kernel 4.3 µs there, re-reading a held one 0.7 µs.

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::fs::File;
use std::ops::Range;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::Mode;
use serde_json::{Map, Value};

use super::held::read_into;
use super::mem::VirtualMemory;
use super::{Env, Plugin, time_since_update};
use crate::json::{float, round_to};

/// Glances re-reads cmdline and username every 60 s, not on every scan.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// A process whose stat shows no activity (same CPU ticks, state, threads,
/// memory size) keeps its statm and io readings for at most this long.
/// Most processes sleep, and those two reads are most of a scan's cost.
/// (CPU ticks are 10 ms: a process may have run briefly and done I/O.)
const IDLE_REREAD: Duration = Duration::from_secs(10);
/// A single-threaded process whose schedstat run time (ns) has not moved
/// has not run at all: its stat, statm and io still hold, except resident
/// memory the kernel reclaimed, which this bounds.
const SLEEPER_REREAD: Duration = Duration::from_secs(30);

/// The /proc/<pid>/stat fields a processlist element needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub comm: String,
    pub state: u8,
    /// utime, stime, cutime, cstime, delayacct_blkio_ticks (clock ticks).
    pub ticks: [u64; 5],
    pub nice: i64,
    pub num_threads: u64,
    /// Start time after boot (ticks): tells a reused pid from its predecessor.
    pub start: u64,
    /// Virtual memory size; 0 for kernel threads and zombies (no memory map).
    pub vsize: u64,
    /// Resident pages.
    pub rss: u64,
    /// A thread other than its group's leader (exit signal −1): /proc lists
    /// only leaders, but a thread's id opens there like a pid.
    pub thread: bool,
}

impl Stat {
    /// What changes when a process does anything: if none of it moved since
    /// the last scan, its memory map and I/O counters have not either.
    fn activity(&self) -> (u64, u8, u64, u64, u64) {
        (
            self.ticks[0] + self.ticks[1],
            self.state,
            self.num_threads,
            self.vsize,
            self.rss,
        )
    }
}

/// Parse /proc/<pid>/stat. The name sits between the first `(` and the last
/// `)` and may contain anything; field indexes below count from the state
/// (psutil's convention: man proc position − 3).
pub fn parse_stat(data: &[u8]) -> Option<Stat> {
    let open = data.iter().position(|&b| b == b'(')?;
    let close = data.iter().rposition(|&b| b == b')')?;
    let comm = String::from_utf8_lossy(data.get(open + 1..close)?).into_owned();
    let rest = std::str::from_utf8(data.get(close + 1..)?).ok()?;
    let mut stat = Stat {
        comm,
        state: 0,
        ticks: [0; 5],
        nice: 0,
        num_threads: 0,
        start: 0,
        vsize: 0,
        rss: 0,
        thread: false,
    };
    let mut fields = 0;
    for (i, col) in rest.split_ascii_whitespace().enumerate().take(40) {
        let n = || col.parse::<u64>().unwrap_or(0);
        match i {
            0 => stat.state = *col.as_bytes().first()?,
            11..=14 => stat.ticks[i - 11] = n(),
            16 => stat.nice = col.parse().unwrap_or(0),
            17 => stat.num_threads = n(),
            19 => stat.start = n(),
            20 => stat.vsize = n(),
            21 => stat.rss = n(),
            35 => stat.thread = col == "-1",
            // Missing on old kernels: psutil then reports iowait 0.
            39 => stat.ticks[4] = n(),
            _ => {}
        }
        fields = i + 1;
    }
    (fields >= 21).then_some(stat)
}

/// What moves in /proc/<pid>/schedstat whenever a task runs: its run time
/// (ns) and how many times it was scheduled. `None` when the kernel does
/// not keep them (it then prints zeros).
pub fn parse_runs(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_ascii_whitespace().map(|f| f.parse::<u64>().ok());
    let (run_ns, _, times) = (fields.next()??, fields.next()??, fields.next()??);
    (run_ns > 0 || times > 0).then_some((run_ns, times))
}

/// /proc/<pid>/statm: size resident shared text lib data dirty, in pages.
pub fn parse_statm(text: &str) -> Option<[u64; 7]> {
    let mut pages = [0; 7];
    let mut cols = text.split_ascii_whitespace();
    for slot in &mut pages {
        *slot = cols.next()?.parse().ok()?;
    }
    Some(pages)
}

/// Owner and groups from /proc/<pid>/status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ids {
    pub real_uid: u32,
    /// Real, effective, saved.
    pub gids: [u32; 3],
}

/// The `Uid:` and `Gid:` lines of /proc/<pid>/status (they come early, so
/// the rest is not scanned).
pub fn parse_ids(text: &str) -> Option<Ids> {
    let mut uid = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Uid:") {
            uid = rest.split_ascii_whitespace().next()?.parse().ok();
        } else if let Some(rest) = line.strip_prefix("Gid:") {
            let mut cols = rest.split_ascii_whitespace().map(|c| c.parse().ok());
            let gids = [cols.next()??, cols.next()??, cols.next()??];
            return Some(Ids { real_uid: uid?, gids });
        }
    }
    None
}

/// `read_bytes` and `write_bytes` of /proc/<pid>/io.
pub fn parse_io(text: &str) -> Option<[u64; 2]> {
    let (mut read, mut write) = (None, None);
    for line in text.lines() {
        match line.split_once(": ") {
            Some(("read_bytes", v)) => read = v.trim().parse().ok(),
            Some(("write_bytes", v)) => write = v.trim().parse().ok(),
            _ => {}
        }
    }
    Some([read?, write?])
}

/// psutil's cmdline split: NUL-separated with a trailing NUL, else (after
/// setproctitle) space-separated.
pub fn parse_cmdline(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    if text.is_empty() {
        return Vec::new();
    }
    let sep = if text.ends_with('\0') { '\0' } else { ' ' };
    let body = text.strip_suffix(sep).unwrap_or(&text);
    let mut args: Vec<String> = body.split(sep).map(String::from).collect();
    if sep == '\0' && args.len() == 1 && body.contains(' ') {
        args = body.split(' ').map(String::from).collect();
    }
    args
}

/// psutil's name: the kernel truncates `comm` to 15 characters, so a longer
/// program name is taken from cmdline[0] when it extends `comm`.
pub fn process_name<'a>(comm: &'a str, cmdline: &'a Value) -> &'a str {
    let program = cmdline.get(0).and_then(Value::as_str);
    let base = program.map(|p| p.rsplit('/').next().unwrap_or(p));
    match base {
        Some(base) if comm.chars().count() >= 15 && base.starts_with(comm) => base,
        _ => comm,
    }
}

/// Glances keeps the first letter of psutil's status word, upper-cased.
pub fn status_letter(state: u8) -> &'static str {
    match state {
        b'R' => "R",
        b'S' => "S",
        // disk-sleep and dead
        b'D' | b'X' | b'x' => "D",
        // stopped and tracing-stop
        b'T' | b't' => "T",
        b'Z' => "Z",
        // wake-kill and waking
        b'K' | b'W' => "W",
        b'I' => "I",
        b'P' => "P",
        _ => "?",
    }
}

/// uid → user name from an /etc/passwd text; the first entry of a uid wins,
/// like getpwuid.
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut users = HashMap::new();
    for line in text.lines() {
        let mut cols = line.split(':');
        if let (Some(name), Some(_), Some(Ok(uid))) = (cols.next(), cols.next(), cols.next().map(str::parse)) {
            users.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    users
}

/// The process sort keys of Glances (`[processlist] sort_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    CpuPercent,
    MemoryPercent,
    Username,
    Name,
    CpuTimes,
    IoCounters,
}

impl SortKey {
    /// Every key's name, in Glances' order (`--sort-processes` offers them).
    pub const NAMES: [&'static str; 6] = [
        "cpu_percent",
        "memory_percent",
        "username",
        "cpu_times",
        "io_counters",
        "name",
    ];

    pub fn parse(name: &str) -> Option<SortKey> {
        Some(match name {
            "cpu_percent" => SortKey::CpuPercent,
            "memory_percent" => SortKey::MemoryPercent,
            "username" => SortKey::Username,
            "name" => SortKey::Name,
            "cpu_times" => SortKey::CpuTimes,
            "io_counters" => SortKey::IoCounters,
            _ => return None,
        })
    }

    /// The key fixed by `--sort-processes` or `[processlist] sort_key`, if
    /// any (else automatic).
    fn fixed(env: &Env) -> Option<SortKey> {
        let name = env.fixed_process_sort()?;
        Some(SortKey::parse(name).unwrap_or_else(|| {
            tracing::warn!("[processlist] sort_key={name:?} is not a sort key; sorting by cpu_percent");
            SortKey::CpuPercent
        }))
    }
}

/// The primary sort value of one process: a number (null = −∞, Glances'
/// `weighted`) or a text (null sorts last).
#[derive(Debug, Clone, PartialEq)]
enum Primary {
    Number(f64),
    Text(Option<String>),
}

/// One process ready to publish, with what it sorts by.
struct Row {
    primary: Primary,
    memory_percent: f64,
    /// For processcount.
    state: u8,
    threads: u64,
    element: Value,
}

/// Descending by the primary key, then by memory_percent; the sort is
/// stable, so ties keep pid order like Glances.
fn by_rank(a: &Row, b: &Row) -> Ordering {
    let primary = match (&a.primary, &b.primary) {
        (Primary::Number(x), Primary::Number(y)) => y.total_cmp(x),
        (Primary::Text(x), Primary::Text(y)) => y.cmp(x),
        _ => Ordering::Equal,
    };
    primary.then_with(|| b.memory_percent.total_cmp(&a.memory_percent))
}

/// What the previous scans left for a process.
struct Known {
    stat: Stat,
    /// schedstat's runs when `stat` was read, for single-threaded processes
    /// (a leader's schedstat does not cover its other threads).
    runs: Option<(u64, u64)>,
    /// user + system seconds, and when they were read.
    cpu: (f64, Instant),
    io: Option<[u64; 2]>,
    pages: Option<[u64; 7]>,
    /// When `pages` and `io` were read.
    measured_at: Instant,
    /// The open file read at every scan (see [`Probe`]).
    probe: Option<Probe>,
    /// `stat` of a single-threaded process, kept open while it runs
    /// between scans: its stat is then re-read at every scan (a busy
    /// daemon, a kernel worker) and would otherwise be opened every time.
    stat_probe: Option<Probe>,
    /// Cached for 60 s (from status, cmdline and /etc/passwd).
    ids: Option<Ids>,
    cmdline: Value,
    username: Value,
    /// The last scan that found the process.
    seen: u64,
}

impl Known {
    /// A process seen for the first time: the visit reads the rest.
    fn new(stat: Stat, now: Instant) -> Known {
        Known {
            stat,
            runs: None,
            cpu: (0.0, now),
            io: None,
            pages: None,
            measured_at: now,
            probe: None,
            stat_probe: None,
            ids: None,
            cmdline: Value::Null,
            username: Value::Null,
            seen: 0,
        }
    }
}

/// A process's stat at this scan, and how it was learnt.
struct Current {
    /// None when the process has not run since its known stat was read
    /// (same schedstat runs): that stat still holds.
    stat: Option<Stat>,
    /// schedstat's runs, for a single-threaded process.
    runs: Option<(u64, u64)>,
    probe: Option<Probe>,
    stat_probe: Option<Probe>,
}

/// The file of a process read at every scan (`schedstat` for a
/// single-threaded process, else `stat`), kept open between scans: opening
/// a /proc file costs the kernel four times what re-reading an open one
/// does (`held` explains why a held handle never reads stale text). A
/// handle on a process that exited fails to read, even when its pid was
/// reused; the file is then opened again by path.
struct Probe {
    name: &'static str,
    file: File,
}

/// What one visit learned about a process, ready to shape.
struct Proc<'a> {
    pid: u32,
    known: &'a Known,
    cpu_percent: f64,
    memory_percent: Option<f64>,
    io_counters: [u64; 5],
}

/// The processcount numbers of one scan.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Counts {
    pub total: u64,
    pub running: u64,
    pub sleeping: u64,
    pub thread: u64,
}

impl Counts {
    fn add(&mut self, state: u8, threads: u64) {
        self.total += 1;
        self.running += u64::from(state == b'R');
        self.sleeping += u64::from(state == b'S');
        self.thread += threads;
    }

    pub fn to_json(self) -> Value {
        let mut m = Map::new();
        m.insert("total".into(), self.total.into());
        m.insert("running".into(), self.running.into());
        m.insert("sleeping".into(), self.sleeping.into());
        m.insert("thread".into(), self.thread.into());
        // Glances overwrites the real pid_max with 0.
        m.insert("pid_max".into(), 0.into());
        Value::Object(m)
    }
}

/// Values shared by every process of one scan.
struct ScanContext {
    mem_total: u64,
    time_since_update: Value,
    refresh_cache: bool,
}

/// The process scan and the state it keeps between scans.
pub struct Scanner {
    env: Env,
    /// The key of the current scan; `fixed_sort` when configured, else the
    /// automatic one the alert actor sets.
    sort_key: SortKey,
    fixed_sort: Option<SortKey>,
    clock_ticks: f64,
    page_size: u64,
    known: HashMap<u32, Known>,
    /// Counts scans, to tell the known processes a scan found.
    generation: u64,
    users: HashMap<u32, String>,
    /// When cmdline, username and status were last re-read for all.
    cache_refreshed: Option<Instant>,
    last_scan: Option<Instant>,
    buf: Vec<u8>,
    /// `<pid>/<file>`, reused for every read.
    path: String,
    /// Elements of a spent table by pid, reused by [`Scanner::element`]
    /// for the same process: its strings and lists are then mostly equal
    /// already and not copied again.
    spare: HashMap<u32, Map<String, Value>>,
    /// Probes held at most (each costs a descriptor and a kernel page).
    max_probes: usize,
    /// Probes held after the scan so far; none when /proc is not procfs
    /// (a fixture tree: a handle could outlive a replaced file).
    probes: usize,
    /// Whether /proc is this process's pid namespace's (its `self` is us):
    /// then /proc/loadavg's last pid numbers the pids in it.
    our_pid_namespace: bool,
    /// What told which processes were created, at the last scan.
    creation: Option<Creation>,
}

impl Scanner {
    pub fn new(env: &Env) -> Scanner {
        Scanner {
            env: env.clone(),
            sort_key: SortKey::CpuPercent,
            fixed_sort: SortKey::fixed(env),
            clock_ticks: procfs::ticks_per_second().max(1) as f64,
            page_size: procfs::page_size(),
            known: HashMap::new(),
            generation: 0,
            users: HashMap::new(),
            cache_refreshed: None,
            last_scan: None,
            buf: Vec::new(),
            path: String::with_capacity(32),
            spare: HashMap::new(),
            max_probes: max_probes(),
            probes: 0,
            our_pid_namespace: is_our_pid_namespace(&env.proc_root()),
            creation: None,
        }
    }

    /// Walk /proc once: the counts and the sorted processlist elements, or
    /// `None` when /proc cannot be listed. `clock` is read once per process
    /// (CPU percent is per process over its own interval, like psutil).
    pub fn scan(&mut self, clock: impl Fn() -> Instant) -> Option<(Counts, Vec<Value>)> {
        let proc_root = self.env.proc_root();
        let proc_dir = open_dir(&proc_root)?;
        let procfs = super::held::regenerated_on_read(&proc_dir);
        // Only on procfs: a fixture tree has no counter to trust.
        let creation = procfs.then(|| self.creation()).flatten();
        let created = created_since(self.creation, creation).filter(|_| !self.known.is_empty());
        self.creation = creation;
        let mut pids: Vec<u32> = match created {
            Some(created) => {
                let known = &self.known;
                known
                    .keys()
                    .copied()
                    .chain(created.filter(|pid| !known.contains_key(pid)))
                    .collect()
            }
            None => std::fs::read_dir(&proc_root)
                .ok()?
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect(),
        };
        pids.sort_unstable();

        self.sort_key = self.fixed_sort.unwrap_or_else(|| {
            let auto = *self.env.process_sort.lock().unwrap_or_else(PoisonError::into_inner);
            SortKey::parse(auto).unwrap_or(SortKey::CpuPercent)
        });
        let ctx = self.begin_scan(clock());
        let mut counts = Counts::default();
        let mut rows = Vec::with_capacity(pids.len());
        // Updated in place: most entries change in a field or two, and
        // moving each into a new map every scan wrote all of it to cold
        // memory. Entries this scan does not mark are dropped at the end.
        let mut known = std::mem::take(&mut self.known);
        self.generation = self.generation.wrapping_add(1);
        self.probes = match procfs {
            true => 0,
            false => self.max_probes,
        };
        for pid in pids {
            // One lookup per process: the visit fills or replaces this entry.
            let mut entry = known.entry(pid);
            let (held, seen) = match &mut entry {
                Entry::Occupied(o) => {
                    let k = o.get_mut();
                    ((k.probe.take(), k.stat_probe.take()), Some(&*k))
                }
                Entry::Vacant(_) => ((None, None), None),
            };
            // A process that vanished mid-scan is skipped, as psutil does.
            let Some(current) = self.current_stat(&proc_dir, pid, seen, held, clock()) else {
                continue;
            };
            if current.stat.as_ref().is_some_and(|stat| stat.thread) {
                continue;
            }
            let now = clock();
            if let Some(row) = self.visit(pid, &proc_dir, current, now, entry, &ctx) {
                counts.add(row.state, row.threads);
                rows.push(row);
            }
        }
        let generation = self.generation;
        known.retain(|_, k| k.seen == generation);
        self.known = known;
        rows.sort_by(by_rank);
        // Spares left over (processes that exited) are not kept for later.
        self.spare = HashMap::new();
        Some((counts, rows.into_iter().map(|r| r.element).collect()))
    }

    /// What tells which processes are created from now on: in this process's
    /// pid namespace the last pid handed out, else (a host's /proc seen from
    /// a container) the global fork counter, which only tells whether any
    /// was.
    fn creation(&self) -> Option<Creation> {
        let last_pid = self.our_pid_namespace.then(|| last_pid(&self.env)).flatten();
        last_pid
            .map(Creation::LastPid)
            .or_else(|| forks_since_boot(&self.env).map(Creation::Forks))
    }

    /// Per-scan values; reloads /etc/passwd when the 60 s cache expires.
    fn begin_scan(&mut self, now: Instant) -> ScanContext {
        let refresh_cache = self.cache_refreshed.is_none_or(|at| super::expired(at, CACHE_TTL, now));
        if refresh_cache {
            self.cache_refreshed = Some(now);
            self.users = parse_passwd(&self.env.read("etc/passwd").unwrap_or_default());
        }
        let elapsed = self
            .last_scan
            .map(|last| now.saturating_duration_since(last).as_secs_f64());
        self.last_scan = Some(now);
        ScanContext {
            mem_total: VirtualMemory::read(&self.env).total,
            time_since_update: time_since_update(elapsed),
            refresh_cache,
        }
    }

    /// Read `<pid>/<name>` under /proc into the scan buffer (one openat on
    /// the /proc handle; no per-process directory handle to open and close).
    fn read(&mut self, proc_dir: &OwnedFd, pid: u32, name: &str) -> Option<&[u8]> {
        let file = self.open(proc_dir, pid, name)?;
        let len = read_into(&file, &mut self.buf).ok()?;
        Some(&self.buf[..len])
    }

    /// Open `<pid>/<name>` on the /proc handle.
    fn open(&mut self, proc_dir: &OwnedFd, pid: u32, name: &str) -> Option<File> {
        self.path.clear();
        let _ = write!(self.path, "{pid}/{name}");
        open_at(proc_dir, &self.path)
    }

    fn read_str(&mut self, proc_dir: &OwnedFd, pid: u32, name: &str) -> Option<&str> {
        self.read(proc_dir, pid, name).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// A process's stat: the one `known` holds when the process has not
    /// run since (schedstat costs the kernel 40 % less to generate than
    /// stat, and most processes sleep through most scans), else read.
    /// `held` is the process's probe and stat probe from the last scan.
    fn current_stat(
        &mut self,
        proc_dir: &OwnedFd,
        pid: u32,
        known: Option<&Known>,
        held: (Option<Probe>, Option<Probe>),
        now: Instant,
    ) -> Option<Current> {
        let (held, held_stat) = held;
        if known.is_some_and(|k| k.stat.num_threads > 1) {
            let (len, probe) = self.read_probe(proc_dir, pid, "stat", held);
            let stat = parse_stat(&self.buf[..len?])?;
            return Some(Current {
                stat: Some(stat),
                runs: None,
                probe,
                stat_probe: None,
            });
        }
        let (len, probe) = self.read_probe(proc_dir, pid, "schedstat", held);
        let runs = len.and_then(|len| parse_runs(std::str::from_utf8(&self.buf[..len]).ok()?));
        if known.is_some_and(|k| runs.is_some() && k.runs == runs && now < k.measured_at + SLEEPER_REREAD) {
            // It slept: its stat handle is let go.
            return Some(Current {
                stat: None,
                runs,
                probe,
                stat_probe: None,
            });
        }
        // Held only for a process seen before: one seen for the first time
        // may never run again.
        let (len, stat_probe) = match known {
            Some(_) => self.read_probe(proc_dir, pid, "stat", held_stat),
            None => (self.read(proc_dir, pid, "stat").map(<[u8]>::len), None),
        };
        let stat = parse_stat(&self.buf[..len?])?;
        Some(Current {
            runs: runs.filter(|_| stat.num_threads == 1),
            stat: Some(stat),
            probe,
            stat_probe,
        })
    }

    /// Read `<pid>/<name>` into the scan buffer through `held` when it is
    /// that file and still readable, else opened by path: the length read,
    /// and the handle to keep (none past `max_probes`).
    fn read_probe(
        &mut self,
        proc_dir: &OwnedFd,
        pid: u32,
        name: &'static str,
        held: Option<Probe>,
    ) -> (Option<usize>, Option<Probe>) {
        let reread = held
            .filter(|p| p.name == name)
            .and_then(|p| Some((read_into(&p.file, &mut self.buf).ok()?, p.file)));
        let (len, file) = match reread {
            Some((len, file)) => (Some(len), file),
            None => {
                let Some(file) = self.open(proc_dir, pid, name) else {
                    return (None, None);
                };
                (read_into(&file, &mut self.buf).ok(), file)
            }
        };
        // Held and new handles count alike: handed out in pid order, new
        // ones for earlier processes (a sleeper that ran needs its stat)
        // would otherwise push the held ones of later processes past it.
        let keep = len.is_some() && self.probes < self.max_probes;
        self.probes += usize::from(keep);
        (len, keep.then_some(Probe { name, file }))
    }

    /// Everything after `stat` for one process: read what changed into its
    /// known entry (made for a process seen for the first time, replaced
    /// for a reused pid), and shape.
    fn visit(
        &mut self,
        pid: u32,
        proc_dir: &OwnedFd,
        current: Current,
        now: Instant,
        entry: Entry<'_, u32, Known>,
        ctx: &ScanContext,
    ) -> Option<Row> {
        let Current {
            mut stat,
            runs,
            probe,
            stat_probe,
        } = current;
        let reuse_for = if stat.is_none() { SLEEPER_REREAD } else { IDLE_REREAD };
        // A new entry for a new process or a reused pid (`current_stat`
        // leaves the stat out only for a known process).
        let (k, seen_before) = match entry {
            Entry::Occupied(o) if stat.as_ref().is_none_or(|s| s.start == o.get().stat.start) => (o.into_mut(), true),
            Entry::Occupied(o) => {
                let k = o.into_mut();
                *k = Known::new(stat.take()?, now);
                (k, false)
            }
            Entry::Vacant(v) => (v.insert(Known::new(stat.take()?, now)), false),
        };
        let idle = seen_before
            && stat.as_ref().is_none_or(|s| s.activity() == k.stat.activity())
            && now < k.measured_at + reuse_for;
        let previous_cpu = seen_before.then_some(k.cpu);
        let previous_io = if seen_before { k.io } else { None };
        if let Some(stat) = stat {
            k.stat = stat;
        }
        let io = match idle {
            true => k.io,
            false => {
                // Kernel threads and zombies have no memory map: statm is all zeros.
                k.pages = match k.stat.vsize {
                    0 => Some([0; 7]),
                    _ => self.read_str(proc_dir, pid, "statm").and_then(parse_statm),
                };
                k.measured_at = now;
                self.read_str(proc_dir, pid, "io").and_then(parse_io)
            }
        };
        // Glances keeps the last readable counters when io turns unreadable.
        k.io = io.or(previous_io);
        let busy = self.seconds(k.stat.ticks[0]) + self.seconds(k.stat.ticks[1]);
        let cpu_percent = previous_cpu.map_or(0.0, |cpu| cpu_percent(cpu, (busy, now)));
        k.cpu = (busy, now);
        k.runs = runs;
        k.probe = probe;
        k.stat_probe = stat_probe;
        k.seen = self.generation;
        // status is the costliest file: its ids are cached with username.
        if !seen_before || ctx.refresh_cache {
            k.ids = self.read_str(proc_dir, pid, "status").and_then(parse_ids);
            k.cmdline = self.read_cmdline(proc_dir, pid, k.stat.state);
            k.username = self.username(k.ids);
        }
        let rss = k.pages.map(|p| p[1] * self.page_size);
        let proc = Proc {
            pid,
            known: k,
            cpu_percent,
            memory_percent: rss
                .filter(|_| ctx.mem_total > 0)
                .map(|rss| rss as f64 / ctx.mem_total as f64 * 100.0),
            io_counters: io_counters(io, previous_io),
        };
        // --hide-kernel-threads uses Glances' test for a kernel thread, which
        // also hides user processes whose real group is root. A hidden
        // process is still known, for its caches, but gets no element.
        let hidden = self.env.switches.hide_kernel_threads && proc.known.ids.is_some_and(|ids| ids.gids[0] == 0);
        (!hidden).then(|| Row {
            primary: self.primary(&proc),
            memory_percent: proc.memory_percent.unwrap_or(f64::NEG_INFINITY),
            state: proc.known.stat.state,
            threads: proc.known.stat.num_threads,
            element: self.element(&proc, &ctx.time_since_update),
        })
    }

    fn seconds(&self, ticks: u64) -> f64 {
        ticks as f64 / self.clock_ticks
    }

    /// The processlist element, in a recycled element's map when there is
    /// one: only the values are rewritten, in place where they fit.
    fn element(&mut self, p: &Proc, time_since_update: &Value) -> Value {
        let k = p.known;
        let mut m = match self.spare.remove(&p.pid) {
            Some(m) if m.len() == ELEMENT_FIELDS.len() => m,
            _ => ELEMENT_FIELDS.iter().map(|k| (k.to_string(), Value::Null)).collect(),
        };
        let mut values = m.values_mut();
        let mut next = || values.next().expect("an element has every field");
        set_str(next(), status_letter(k.stat.state));
        set_list(next(), k.stat.ticks.iter().map(|&t| float(self.seconds(t))));
        set_list(next(), p.io_counters.iter().map(|&n| Value::from(n)));
        *next() = float(p.cpu_percent);
        match k.ids {
            Some(ids) => set_list(next(), ids.gids.iter().map(|&g| Value::from(g))),
            None => *next() = Value::Null,
        }
        *next() = p.memory_percent.map_or(Value::Null, float);
        *next() = k.stat.num_threads.into();
        match k.pages {
            Some(pages) => set_list(next(), memory_info(pages, self.page_size).map(Value::from).into_iter()),
            None => *next() = Value::Null,
        }
        set_str(next(), process_name(&k.stat.comm, &k.cmdline));
        *next() = k.stat.nice.into();
        *next() = p.pid.into();
        set_str(next(), "pid");
        time_since_update.clone_into(next());
        set_value(next(), &k.cmdline);
        set_value(next(), &k.username);
        Value::Object(m)
    }

    /// Keep the elements of a table no one else holds any more, to write
    /// the next scan's elements into (building one costs some 30
    /// allocations, and dropping a table as many frees).
    pub fn recycle(&mut self, table: Arc<Value>) {
        if let Ok(Value::Array(elements)) = Arc::try_unwrap(table) {
            self.spare = elements
                .into_iter()
                .filter_map(|e| match e {
                    // By position: hashing "pid" in every element's index
                    // costs more than the rest of the recycling.
                    Value::Object(m) => Some((u32::try_from(m.values().nth(PID_FIELD)?.as_u64()?).ok()?, m)),
                    _ => None,
                })
                .collect();
        }
    }

    /// cmdline as a JSON list; null for a zombie (psutil raises
    /// ZombieProcess on its empty cmdline) or when unreadable.
    fn read_cmdline(&mut self, proc_dir: &OwnedFd, pid: u32, state: u8) -> Value {
        match self.read(proc_dir, pid, "cmdline") {
            Some([]) if state == b'Z' => Value::Null,
            Some(data) => parse_cmdline(data).into_iter().map(Value::from).collect(),
            None => Value::Null,
        }
    }

    /// psutil's username: the real uid's name, or the uid as text.
    fn username(&self, ids: Option<Ids>) -> Value {
        ids.map_or(Value::Null, |ids| match self.users.get(&ids.real_uid) {
            Some(name) => name.as_str().into(),
            None => ids.real_uid.to_string().into(),
        })
    }

    fn primary(&self, p: &Proc) -> Primary {
        let (io, k) = (&p.io_counters, p.known);
        match self.sort_key {
            SortKey::CpuPercent => Primary::Number(p.cpu_percent),
            SortKey::MemoryPercent => Primary::Number(p.memory_percent.unwrap_or(f64::NEG_INFINITY)),
            SortKey::CpuTimes => Primary::Number((k.stat.ticks[0] + k.stat.ticks[1]) as f64),
            // Bytes read and written since the previous scan.
            SortKey::IoCounters => Primary::Number((io[0] as f64 - io[2] as f64) + (io[1] as f64 - io[3] as f64)),
            SortKey::Name => Primary::Text(Some(process_name(&k.stat.comm, &k.cmdline).to_string())),
            SortKey::Username => Primary::Text(k.username.as_str().map(String::from)),
        }
    }
}

/// psutil `cpu_percent(interval=None)`: CPU seconds over wall seconds since
/// the previous reading, ×100, not divided by the core count, 1 decimal.
fn cpu_percent(previous: (f64, Instant), current: (f64, Instant)) -> f64 {
    let wall = current.1.saturating_duration_since(previous.1).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    round_to((current.0 - previous.0) / wall * 100.0, 1)
}

/// `[read_bytes, write_bytes, prev_read, prev_write, io_tag]`: tag 1 when the
/// previous counters are known, all zero when io is unreadable.
fn io_counters(current: Option<[u64; 2]>, previous: Option<[u64; 2]>) -> [u64; 5] {
    match (current, previous) {
        (Some([r, w]), Some([pr, pw])) => [r, w, pr, pw, 1],
        (Some([r, w]), None) => [r, w, 0, 0, 0],
        (None, _) => [0; 5],
    }
}

/// psutil `memory_info()`: [rss, vms, shared, text, lib, data, dirty] bytes
/// from statm's [size, resident, shared, text, lib, data, dirty] pages.
fn memory_info(pages: [u64; 7], page_size: u64) -> [u64; 7] {
    let [size, resident, shared, text, lib, data, dirty] = pages.map(|p| p * page_size);
    [resident, size, shared, text, lib, data, dirty]
}

/// Processes (and threads) created since boot, in every pid namespace:
/// `processes` in /proc/stat, read afresh (not [`Env::read_shared`]): a
/// count even a few milliseconds old could miss a process created since.
/// Listing /proc costs the kernel about five times reading /proc/stat (30 vs
/// 6 µs with 120 processes here), and an idle host forks rarely.
fn forks_since_boot(env: &Env) -> Option<u64> {
    let text = env.read("proc/stat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("processes "))?
        .trim()
        .parse()
        .ok()
}

/// The pid most recently handed out in this pid namespace: the last field
/// of /proc/loadavg, read afresh like [`forks_since_boot`].
fn last_pid(env: &Env) -> Option<u32> {
    env.read("proc/loadavg")
        .ok()?
        .split_ascii_whitespace()
        .nth(4)?
        .parse()
        .ok()
}

/// Whether `proc_root` is the procfs of this process's pid namespace.
fn is_our_pid_namespace(proc_root: &Path) -> bool {
    nix::fcntl::readlink(&proc_root.join("self"))
        .is_ok_and(|link| link.to_str().and_then(|pid| pid.parse().ok()) == Some(std::process::id()))
}

/// What tells, from one scan to the next, which processes were created.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Creation {
    /// /proc/loadavg's last pid handed out in /proc's pid namespace.
    LastPid(u32),
    /// /proc/stat's count of processes created since boot.
    Forks(u64),
}

/// Most ids [`created_since`] hands out; past that, listing /proc is cheaper.
const MAX_NEW_PIDS: u32 = 64;

/// The ids of the processes created between two scans, when they can be
/// told without listing /proc: none when nothing was (the processes are
/// the ones known then, less those that have exited, whose reads fail).
/// Pids are allocated upwards from the last one, so every process created
/// since has an id in `then+1..=now`, unless allocation wrapped around
/// (`now` below `then`); some of these ids are threads, or already gone.
/// Trying a few costs less than listing /proc, which makes the kernel look
/// up every process there. The fork counter only tells whether any was.
fn created_since(then: Option<Creation>, now: Option<Creation>) -> Option<Range<u32>> {
    match (then?, now?) {
        (Creation::LastPid(then), Creation::LastPid(now)) => {
            (then <= now && now - then <= MAX_NEW_PIDS).then(|| then + 1..now + 1)
        }
        (Creation::Forks(then), Creation::Forks(now)) if then == now => Some(0..0),
        _ => None,
    }
}

fn open_dir(path: &Path) -> Option<OwnedFd> {
    open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

/// Probes to hold: a quarter of the descriptors this process may open, at
/// most 1024 (the daemon raises its soft limit at start).
fn max_probes() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft);
    usize::try_from(soft / 4).unwrap_or(usize::MAX).min(1024)
}

fn open_at(dir: &OwnedFd, name: &str) -> Option<File> {
    let fd = openat(dir, name, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    Some(File::from(fd))
}

/// The order of a processlist element's fields (as observed from Glances;
/// it varies between Glances runs).
const ELEMENT_FIELDS: [&str; 15] = [
    "status",
    "cpu_times",
    "io_counters",
    "cpu_percent",
    "gids",
    "memory_percent",
    "num_threads",
    "memory_info",
    "name",
    "nice",
    "pid",
    "key",
    "time_since_update",
    "cmdline",
    "username",
];

/// Where `pid` is in [`ELEMENT_FIELDS`].
const PID_FIELD: usize = 10;
const _: () = assert!(matches!(ELEMENT_FIELDS[PID_FIELD].as_bytes(), b"pid"));

/// Write `text` into `slot`, reusing its String.
fn set_str(slot: &mut Value, text: &str) {
    match slot {
        Value::String(s) => text.clone_into(s),
        _ => *slot = text.into(),
    }
}

/// Write a list into `slot`, reusing its Vec.
fn set_list(slot: &mut Value, items: impl Iterator<Item = Value>) {
    match slot {
        Value::Array(list) => {
            list.clear();
            list.extend(items);
        }
        _ => *slot = Value::Array(items.collect()),
    }
}

/// Write `value` into `slot` unless it is already there.
fn set_value(slot: &mut Value, value: &Value) {
    if slot != value {
        value.clone_into(slot);
    }
}

/// `processcount`: runs the process scan and counts.
pub struct ProcessCount {
    env: Env,
    scanner: Scanner,
    /// The tables published by the last two scans. When the scan after
    /// next starts, the older one has been replaced everywhere (the
    /// processlist plugin delivers each table to the aggregator right after
    /// the scan), so its elements can be recycled.
    published: VecDeque<Arc<Value>>,
}

impl ProcessCount {
    pub fn new(env: &Env) -> ProcessCount {
        ProcessCount {
            env: env.clone(),
            scanner: Scanner::new(env),
            published: VecDeque::with_capacity(2),
        }
    }

    /// Replace the shared process table with `table`.
    fn publish(&mut self, table: Vec<Value>) {
        let table = Arc::new(Value::Array(table));
        *self.env.processes.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&table);
        self.published.push_back(table);
    }
}

impl Plugin for ProcessCount {
    fn name(&self) -> &'static str {
        "processcount"
    }

    fn collect(&mut self) -> Value {
        if self.published.len() == 2
            && let Some(spent) = self.published.pop_front()
        {
            self.scanner.recycle(spent);
        }
        match self.scanner.scan(Instant::now) {
            Some((counts, table)) => {
                self.publish(table);
                counts.to_json()
            }
            None => {
                self.publish(Vec::new());
                Value::Object(Map::new())
            }
        }
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["total", "running", "sleeping", "thread"]
    }
}

/// `processlist`: the table of the latest processcount scan.
pub struct ProcessList {
    env: Env,
}

impl ProcessList {
    pub fn new(env: &Env) -> ProcessList {
        ProcessList { env: env.clone() }
    }
}

impl Plugin for ProcessList {
    fn name(&self) -> &'static str {
        "processlist"
    }

    /// It only hands over the table the scan published.
    fn quick(&self) -> bool {
        true
    }

    fn collect(&mut self) -> Value {
        self.collect_shared().as_ref().clone()
    }

    /// The scan's table itself, without copying it; with `--programs`, the
    /// programs made of it.
    fn collect_shared(&mut self) -> Arc<Value> {
        let table = Arc::clone(&self.env.processes.read().unwrap_or_else(PoisonError::into_inner));
        match (self.env.switches.programs, table.as_array()) {
            (true, Some(processes)) => Arc::new(Value::Array(programs(processes))),
            _ => table,
        }
    }

    fn key(&self) -> Option<&'static str> {
        Some("pid")
    }
}

/// Glances' `--programs` list: one element per process name, in the order
/// the sorted table first shows each name. Counts and percentages are sums
/// (a null counts as Python's `0`, so a lone 0.0 stays the integer 0), the
/// `cpu_times`, `memory_info` and `io_counters` lists are the members'
/// lists end to end, `childrens` lists their pids, and `username`, `nice`
/// and `status` turn into `"_"` where members differ. No `key`, no `gids`,
/// and every `pid` is `"_"`.
fn programs(processes: &[Value]) -> Vec<Value> {
    let mut programs: Vec<Map<String, Value>> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for p in processes {
        let name = p["name"].as_str().unwrap_or_default();
        let Some(&at) = by_name.get(name) else {
            by_name.insert(name.to_string(), programs.len());
            programs.push(program_of(p));
            continue;
        };
        let program = &mut programs[at];
        for field in ["num_threads", "cpu_percent", "memory_percent"] {
            let sum = python_sum(&program[field], &p[field]);
            program[field] = sum;
        }
        for field in ["cpu_times", "memory_info", "io_counters"] {
            if let (Value::Array(list), Some(more)) = (&mut program[field], p[field].as_array()) {
                list.extend(more.iter().cloned());
            }
        }
        if let Value::Array(children) = &mut program["childrens"] {
            children.push(p["pid"].clone());
        }
        for field in ["username", "nice", "status"] {
            if program[field] != p[field] {
                program[field] = "_".into();
            }
        }
    }
    programs.into_iter().map(Value::Object).collect()
}

/// The first process of a program, as Glances starts its entry.
fn program_of(p: &Value) -> Map<String, Value> {
    let zero_if_falsy = |v: &Value| match v.as_f64() {
        Some(n) if n != 0.0 => v.clone(),
        _ => 0.into(),
    };
    let list = |v: &Value| Value::Array(v.as_array().cloned().unwrap_or_default());
    let mut m = Map::new();
    m.insert("time_since_update".into(), p["time_since_update"].clone());
    m.insert("num_threads".into(), zero_if_falsy(&p["num_threads"]));
    m.insert("cpu_percent".into(), zero_if_falsy(&p["cpu_percent"]));
    m.insert("memory_percent".into(), zero_if_falsy(&p["memory_percent"]));
    m.insert("cpu_times".into(), list(&p["cpu_times"]));
    m.insert("memory_info".into(), list(&p["memory_info"]));
    m.insert("io_counters".into(), list(&p["io_counters"]));
    m.insert("childrens".into(), Value::Array(vec![p["pid"].clone()]));
    m.insert("name".into(), p["name"].clone());
    m.insert("cmdline".into(), Value::Array(vec![p["name"].clone()]));
    m.insert("pid".into(), "_".into());
    m.insert("username".into(), p["username"].clone());
    m.insert("nice".into(), p["nice"].clone());
    m.insert("status".into(), p["status"].clone());
    m
}

/// `total + (value or 0)` with Python's types: a null or zero value (0.0
/// too) adds the integer 0, which leaves the total as it is; integers stay
/// integers until a non-zero float joins.
fn python_sum(total: &Value, value: &Value) -> Value {
    if value.as_f64().is_none_or(|n| n == 0.0) {
        return total.clone();
    }
    match (total.as_i64(), value.as_i64()) {
        (Some(a), Some(b)) => (a + b).into(),
        _ => float(total.as_f64().unwrap_or(0.0) + value.as_f64().unwrap_or(0.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::PathBuf;

    const STAT_PID1: &[u8] = b"1 (process_api) S 0 0 0 0 -1 4194560 44921 8488929 0 525 77 279 20926 3879 10 -10 13 0 24 47595520 3968 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 0 0 0 7 0 0 0 0 0 0 0 0 0 0\n";

    fn fixture_root() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/processes"))
    }

    fn env_at(root: &Path, config: &str) -> Env {
        let config = Config::parse(config, Path::new("test.conf")).unwrap();
        Env::new(root, Arc::new(config))
    }

    /// A writable copy of the fixture tree.
    fn copy_fixture() -> tempfile::TempDir {
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                let target = to.join(entry.file_name());
                if entry.file_type().unwrap().is_dir() {
                    copy(&entry.path(), &target);
                } else {
                    std::fs::copy(entry.path(), &target).unwrap();
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        copy(&fixture_root(), dir.path());
        dir
    }

    fn pids(table: &[Value]) -> Vec<u64> {
        table.iter().map(|p| p["pid"].as_u64().unwrap()).collect()
    }

    fn by_pid(table: &[Value], pid: u64) -> &Value {
        table.iter().find(|p| p["pid"] == pid).unwrap()
    }

    /// Add `ticks` to utime of /proc/<pid>/stat in `root`.
    fn add_utime(root: &Path, pid: u32, ticks: u64) {
        let path = root.join(format!("proc/{pid}/stat"));
        let text = std::fs::read_to_string(&path).unwrap();
        let close = text.rfind(')').unwrap();
        let mut cols: Vec<String> = text[close + 2..].split(' ').map(String::from).collect();
        cols[11] = (cols[11].parse::<u64>().unwrap() + ticks).to_string();
        std::fs::write(&path, format!("{}{}", &text[..close + 2], cols.join(" "))).unwrap();
    }

    #[test]
    fn parses_stat_fields() {
        let stat = parse_stat(STAT_PID1).unwrap();
        assert_eq!(stat.comm, "process_api");
        assert_eq!(stat.state, b'S');
        assert_eq!(stat.ticks, [77, 279, 20926, 3879, 7]);
        assert_eq!(
            (stat.nice, stat.num_threads, stat.start, stat.vsize),
            (-10, 13, 24, 47595520)
        );
        // Names may hold spaces and parentheses; old kernels lack blkio.
        let odd = parse_stat(b"42 (a) (b c)) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 2 0 99 4096").unwrap();
        assert_eq!(
            (odd.comm.as_str(), odd.state, odd.ticks, odd.start, odd.vsize),
            ("a) (b c)", b'R', [5, 6, 0, 0, 0], 99, 4096)
        );
        assert!(!stat.thread && !odd.thread);
        let mut thread = STAT_PID1.to_vec();
        let at = thread.windows(4).position(|w| w == b" 17 ").unwrap();
        thread.splice(at..at + 4, *b" -1 ");
        assert!(parse_stat(&thread).unwrap().thread, "exit signal -1");
        assert_eq!(parse_stat(b"42 (x) R 1 2"), None);
        assert_eq!(parse_stat(b""), None);
    }

    #[test]
    fn parses_statm_status_io() {
        assert_eq!(
            parse_statm("11620 4008 1619 1330 0 9774 0\n"),
            Some([11620, 4008, 1619, 1330, 0, 9774, 0])
        );
        assert_eq!(parse_statm("1 2 3"), None);
        let status = "Name:\tx\nUid:\t1000\t1001\t1002\t1003\nGid:\t4242\t100\t4243\t4242\nThreads:\t1\n";
        assert_eq!(
            parse_ids(status),
            Some(Ids {
                real_uid: 1000,
                gids: [4242, 100, 4243]
            })
        );
        assert_eq!(parse_ids("Name:\tx\n"), None);
        let io = "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 573440\nwrite_bytes: 909312\ncancelled_write_bytes: 0\n";
        assert_eq!(parse_io(io), Some([573440, 909312]));
        assert_eq!(parse_io(""), None);
    }

    #[test]
    fn cmdline_and_name_like_psutil() {
        assert_eq!(parse_cmdline(b"/bin/sleep\x00600\x00"), ["/bin/sleep", "600"]);
        assert_eq!(parse_cmdline(b"nginx: worker process"), ["nginx:", "worker", "process"]);
        assert_eq!(
            parse_cmdline(b"python3 -m http.server\x00"),
            ["python3", "-m", "http.server"]
        );
        assert_eq!(parse_cmdline(b"a\x00\x00b\x00"), ["a", "", "b"]);
        assert!(parse_cmdline(b"").is_empty());

        let cmd = Value::from(vec!["/usr/bin/gnome-keyring-daemon", "--start"]);
        assert_eq!(process_name("gnome-keyring-d", &cmd), "gnome-keyring-daemon");
        assert_eq!(
            process_name("memfd:sealed-91", &Value::from(vec!["line_io_tools/binary_backend"])),
            "memfd:sealed-91"
        );
        assert_eq!(process_name("short", &cmd), "short");
        assert_eq!(
            process_name("kworker/u8:0-events_unbound", &Value::Array(vec![])),
            "kworker/u8:0-events_unbound"
        );
    }

    #[test]
    fn status_letters_and_passwd() {
        let letters: String = b"RSDTtZXxKWIPQ".iter().map(|&s| status_letter(s)).collect();
        assert_eq!(letters, "RSDTTZDDWWIP?");
        let users = parse_passwd("root:x:0:0:root:/root:/bin/bash\nbroken\ntoor:x:0:0::/:/bin/sh\nu:x:1000:1000::/:\n");
        assert_eq!(users.get(&0).map(String::as_str), Some("root"));
        assert_eq!(users.get(&1000).map(String::as_str), Some("u"));
        assert_eq!(users.len(), 2);
    }

    #[test]
    fn processcount_counts_the_fixture_tree() {
        let env = env_at(&fixture_root(), "");
        let count = ProcessCount::new(&env).collect();
        assert_eq!(
            crate::json::to_bytes(&count),
            br#"{"total":8,"running":1,"sleeping":5,"thread":20,"pid_max":0}"#
        );
        // processlist mirrors the table the scan published.
        let list = ProcessList::new(&env).collect();
        assert_eq!(list.as_array().unwrap().len(), 8);
    }

    #[test]
    fn first_scan_elements_follow_glances() {
        let env = env_at(&fixture_root(), "");
        let (_, table) = Scanner::new(&env).scan(Instant::now).unwrap();
        let page = procfs::page_size();
        let ticks = procfs::ticks_per_second() as f64;

        // No CPU history yet: memory_percent decides, ties keep pid order.
        assert_eq!(pids(&table), [1, 8679, 20781, 18365, 18288, 2, 12, 20784]);

        let init = by_pid(&table, 1);
        let keys: Vec<&str> = init.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "status",
                "cpu_times",
                "io_counters",
                "cpu_percent",
                "gids",
                "memory_percent",
                "num_threads",
                "memory_info",
                "name",
                "nice",
                "pid",
                "key",
                "time_since_update",
                "cmdline",
                "username"
            ]
        );
        assert_eq!(init["status"], "S");
        assert_eq!(init["name"], "process_api");
        assert_eq!(init["nice"], -10);
        assert_eq!(init["num_threads"], 13);
        assert_eq!(init["cpu_percent"], 0.0);
        assert_eq!(
            init["cpu_times"],
            serde_json::json!([77.0 / ticks, 279.0 / ticks, 20926.0 / ticks, 3879.0 / ticks, 0.0])
        );
        let info: Vec<u64> = [4008, 11620, 1619, 1330, 0, 9774, 0].iter().map(|p| p * page).collect();
        assert_eq!(init["memory_info"], serde_json::json!(info));
        let mem_total = 24684084.0 * 1024.0;
        assert_eq!(
            init["memory_percent"].as_f64().unwrap(),
            (4008 * page) as f64 / mem_total * 100.0
        );
        // /proc/1/io is unreadable even for root here (no ptrace access).
        assert_eq!(init["io_counters"], serde_json::json!([0, 0, 0, 0, 0]));
        assert_eq!(init["gids"], serde_json::json!([0, 0, 0]));
        assert_eq!(init["username"], "root");
        assert_eq!(init["key"], "pid");
        assert_eq!(init["time_since_update"], serde_json::json!(1));
        assert_eq!(init["cmdline"].as_array().unwrap().len(), 15);
        assert_eq!(init["cmdline"][0], "/process_api");

        let shell = by_pid(&table, 8679);
        assert_eq!(shell["cmdline"], serde_json::json!(["bash", "/dev/fd/3"]));
        assert_eq!(shell["io_counters"], serde_json::json!([222707712, 42553344, 0, 0, 0]));

        // Truncated comm extended from cmdline; unknown uid shown as text.
        let long = by_pid(&table, 20781);
        assert_eq!(long["name"], "averylongprogramname");
        assert_eq!(long["username"], "4242");
        assert_eq!(long["gids"], serde_json::json!([4242, 100, 4243]));
        assert_eq!(by_pid(&table, 18288)["username"], "cloudsdk");
        assert_eq!(by_pid(&table, 18365)["status"], "R");

        let kworker = by_pid(&table, 12);
        assert_eq!(kworker["name"], "kworker/u8:0-events_unbound");
        assert_eq!(kworker["status"], "I");
        assert_eq!(kworker["cmdline"], serde_json::json!([]));
        assert_eq!(kworker["memory_info"], serde_json::json!([0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(kworker["memory_percent"], 0.0);

        let zombie = by_pid(&table, 20784);
        assert_eq!(zombie["status"], "Z");
        assert_eq!(zombie["cmdline"], Value::Null);
    }

    #[test]
    fn second_scan_has_cpu_and_io_deltas() {
        let dir = copy_fixture();
        let env = env_at(dir.path(), "");
        let mut scanner = Scanner::new(&env);
        let t0 = Instant::now();
        scanner.scan(|| t0).unwrap();

        let ticks = procfs::ticks_per_second();
        add_utime(dir.path(), 18365, ticks * 3 / 2);
        add_utime(dir.path(), 8679, ticks / 5);
        let io = "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 222711808\nwrite_bytes: 42553344\ncancelled_write_bytes: 0\n";
        std::fs::write(dir.path().join("proc/8679/io"), io).unwrap();
        // cmdline is cached for 60 s: a change is not seen yet.
        std::fs::write(dir.path().join("proc/8679/cmdline"), "changed\0").unwrap();

        let (counts, table) = scanner.scan(|| t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(counts.total, 8);
        assert_eq!(pids(&table)[..3], [18365, 8679, 1]);
        let busy = by_pid(&table, 18365);
        assert_eq!(busy["cpu_percent"], 75.0);
        assert_eq!(busy["time_since_update"], 2.0);
        let shell = by_pid(&table, 8679);
        assert_eq!(shell["cpu_percent"], 10.0);
        assert_eq!(
            shell["io_counters"],
            serde_json::json!([222711808, 42553344, 222707712, 42553344, 1])
        );
        assert_eq!(shell["cmdline"], serde_json::json!(["bash", "/dev/fd/3"]));
        assert_eq!(by_pid(&table, 12)["io_counters"][4], 1);
        assert_eq!(by_pid(&table, 1)["io_counters"], serde_json::json!([0, 0, 0, 0, 0]));

        // After 60 s the cache is refreshed.
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(62)).unwrap();
        assert_eq!(by_pid(&table, 8679)["cmdline"], serde_json::json!(["changed"]));
    }

    #[test]
    fn idle_processes_reuse_statm_and_io_for_a_while() {
        let dir = copy_fixture();
        let env = env_at(dir.path(), "");
        let mut scanner = Scanner::new(&env);
        let t0 = Instant::now();
        let (_, first) = scanner.scan(|| t0).unwrap();
        let io =
            "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 999999999\nwrite_bytes: 0\ncancelled_write_bytes: 0\n";
        std::fs::write(dir.path().join("proc/8679/io"), io).unwrap();
        // Same stat: the old readings stand (delta 0, still tagged valid).
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(2)).unwrap();
        let before = &by_pid(&first, 8679)["io_counters"];
        let shell = by_pid(&table, 8679);
        assert_eq!(shell["io_counters"][0], before[0]);
        assert_eq!(shell["io_counters"][4], 1);
        assert_eq!(shell["memory_info"], by_pid(&first, 8679)["memory_info"]);
        // Any activity, or IDLE_REREAD later, reads them again.
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(12)).unwrap();
        assert_eq!(by_pid(&table, 8679)["io_counters"][0], 999999999);
        std::fs::write(dir.path().join("proc/18365/io"), io).unwrap();
        add_utime(dir.path(), 18365, 1);
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(14)).unwrap();
        assert_eq!(by_pid(&table, 18365)["io_counters"][0], 999999999);
    }

    #[test]
    fn sleepers_keep_their_stat_while_schedstat_stands_still() {
        let dir = copy_fixture();
        let env = env_at(dir.path(), "");
        let mut scanner = Scanner::new(&env);
        let t0 = Instant::now();
        let (_, first) = scanner.scan(|| t0).unwrap();
        // stat moves but schedstat does not: a single-threaded process that
        // has not run is not read again (nothing could have changed).
        add_utime(dir.path(), 18288, 100);
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(by_pid(&table, 18288)["cpu_times"], by_pid(&first, 18288)["cpu_times"]);
        // pid 1 has 13 threads: its leader's schedstat says nothing of the
        // others, so its stat is read on every scan.
        add_utime(dir.path(), 1, 100);
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(4)).unwrap();
        assert_eq!(by_pid(&table, 1)["cpu_percent"], 50.0);
        // Once it has run, everything is read again.
        std::fs::write(dir.path().join("proc/18288/schedstat"), "19834211 1203344 32\n").unwrap();
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(6)).unwrap();
        assert_eq!(by_pid(&table, 18288)["cpu_percent"], 50.0);
        // And SLEEPER_REREAD after the last read, even if it never runs.
        let io = "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 0\ncancelled_write_bytes: 0\n";
        std::fs::write(dir.path().join("proc/18288/io"), io).unwrap();
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(30)).unwrap();
        assert_eq!(by_pid(&table, 18288)["io_counters"][0], 0);
        let (_, table) = scanner.scan(|| t0 + Duration::from_secs(37)).unwrap();
        assert_eq!(by_pid(&table, 18288)["io_counters"][0], 4096);
    }

    #[test]
    fn schedstat_runs() {
        assert_eq!(parse_runs("186612624 16721052 530\n"), Some((186612624, 530)));
        assert_eq!(parse_runs("0 0 2\n"), Some((0, 2)));
        // Kernels without sched_info print zeros: no information.
        assert_eq!(parse_runs("0 0 0\n"), None);
        assert_eq!(parse_runs("garbage"), None);
    }

    #[test]
    fn reused_pid_and_vanished_process() {
        let dir = copy_fixture();
        let env = env_at(dir.path(), "");
        let mut scanner = Scanner::new(&env);
        let t0 = Instant::now();
        scanner.scan(|| t0).unwrap();

        // Pid 8679 now belongs to a new process (other start time).
        let stat = std::fs::read_to_string(dir.path().join("proc/8679/stat")).unwrap();
        std::fs::write(dir.path().join("proc/8679/stat"), stat.replace(" 51746 ", " 99999 ")).unwrap();
        add_utime(dir.path(), 8679, 100);
        // A process whose files are gone between readdir and open.
        std::fs::create_dir(dir.path().join("proc/31337")).unwrap();
        std::fs::remove_dir_all(dir.path().join("proc/18288")).unwrap();

        let (counts, table) = scanner.scan(|| t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(counts.total, 7);
        let reused = by_pid(&table, 8679);
        assert_eq!(reused["cpu_percent"], 0.0);
        assert_eq!(reused["io_counters"][4], 0);
        assert!(!pids(&table).contains(&31337));
    }

    #[test]
    fn sort_key_from_config() {
        let sorted = |key: &str| {
            let env = env_at(&fixture_root(), &format!("[processlist]\nsort_key={key}\n"));
            pids(&Scanner::new(&env).scan(Instant::now).unwrap().1)
        };
        assert_eq!(sorted("memory_percent"), [1, 8679, 20781, 18365, 18288, 2, 12, 20784]);
        // Glances sorts names in reverse order too; equal names by memory.
        assert_eq!(sorted("name")[..3], [18288, 20784, 18365]);
        // "root" > "cloudsdk" > "4242"
        assert_eq!(sorted("username"), [1, 8679, 18365, 2, 12, 20784, 18288, 20781]);
        // user + system time: the busy shell loop first.
        assert_eq!(sorted("cpu_times")[..4], [18365, 1, 12, 8679]);
        // First scan: read + write bytes so far.
        assert_eq!(sorted("io_counters")[0], 8679);
        assert_eq!(sorted("bogus"), sorted("cpu_percent"));
        assert!(SortKey::NAMES.iter().all(|name| SortKey::parse(name).is_some()));
    }

    #[test]
    fn sort_processes_flag_wins_over_the_config() {
        let mut env = env_at(&fixture_root(), "[processlist]\nsort_key=memory_percent\n");
        env.switches.sort_processes = Some("name".into());
        assert_eq!(env.fixed_process_sort(), Some("name"));
        *env.process_sort.lock().unwrap() = "username";
        let table = Scanner::new(&env).scan(Instant::now).unwrap().1;
        assert_eq!(pids(&table)[..3], [18288, 20784, 18365]);
    }

    #[test]
    fn hidden_kernel_threads_are_neither_counted_nor_listed() {
        // Glances' test is the real gid: 0 hides root's own processes too.
        let mut env = env_at(&fixture_root(), "");
        env.switches.hide_kernel_threads = true;
        let count = ProcessCount::new(&env).collect();
        assert_eq!(
            crate::json::to_bytes(&count),
            br#"{"total":2,"running":0,"sleeping":2,"thread":2,"pid_max":0}"#
        );
        let list = ProcessList::new(&env).collect();
        assert_eq!(pids(list.as_array().unwrap()), [20781, 18288]);
    }

    #[test]
    fn programs_group_processes_by_name_like_glances() {
        let process = |pid: u32, name: &str, threads: u64, cpu: f64, mem: Value, user: &str, status: &str| {
            serde_json::json!({
                "status": status, "cpu_times": [1.0, 0.5, 0.0, 0.0, 0.0], "io_counters": [4096, 0, 0, 0, 1],
                "cpu_percent": cpu, "gids": [0, 0, 0], "memory_percent": mem, "num_threads": threads,
                "memory_info": [1, 2, 3, 4, 5, 6, 7], "name": name, "nice": 0, "pid": pid, "key": "pid",
                "time_since_update": 2.0, "cmdline": ["/bin/x"], "username": user
            })
        };
        let table = [
            process(10, "bash", 1, 0.0, 1.5.into(), "u", "S"),
            process(11, "sshd", 1, 0.0, 0.25.into(), "root", "S"),
            process(12, "bash", 2, 2.5, Value::Null, "root", "R"),
            process(13, "sshd", 1, 0.0, 0.0.into(), "root", "S"),
        ];
        let programs = Value::Array(programs(&table));
        assert_eq!(
            String::from_utf8(crate::json::to_bytes(&programs)).unwrap(),
            concat!(
                r#"[{"time_since_update":2.0,"num_threads":3,"cpu_percent":2.5,"memory_percent":1.5,"#,
                r#""cpu_times":[1.0,0.5,0.0,0.0,0.0,1.0,0.5,0.0,0.0,0.0],"memory_info":[1,2,3,4,5,6,7,1,2,3,4,5,6,7],"#,
                r#""io_counters":[4096,0,0,0,1,4096,0,0,0,1],"childrens":[10,12],"name":"bash","cmdline":["bash"],"#,
                r#""pid":"_","username":"_","nice":0,"status":"_"},"#,
                // 0.0 or 0 is Python's integer 0: the sum stays an integer.
                r#"{"time_since_update":2.0,"num_threads":2,"cpu_percent":0,"memory_percent":0.25,"#,
                r#""cpu_times":[1.0,0.5,0.0,0.0,0.0,1.0,0.5,0.0,0.0,0.0],"memory_info":[1,2,3,4,5,6,7,1,2,3,4,5,6,7],"#,
                r#""io_counters":[4096,0,0,0,1,4096,0,0,0,1],"childrens":[11,13],"name":"sshd","cmdline":["sshd"],"#,
                r#""pid":"_","username":"root","nice":0,"status":"S"}]"#
            )
        );
    }

    #[test]
    fn processlist_lists_programs_with_the_switch() {
        let mut env = env_at(&fixture_root(), "");
        env.switches.programs = true;
        ProcessCount::new(&env).collect();
        let list = ProcessList::new(&env).collect();
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "one element per name: {names:?}");
        let members: usize = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["childrens"].as_array().unwrap().len())
            .sum();
        assert_eq!(members, 8, "every process belongs to one program");
        // The shared table keeps the processes, for AMPs and events.
        assert_eq!(env.processes.read().unwrap().as_array().unwrap().len(), 8);
    }

    #[test]
    fn automatic_sort_follows_the_alert_actor_unless_fixed() {
        let env = env_at(&fixture_root(), "");
        *env.process_sort.lock().unwrap() = "name";
        let table = Scanner::new(&env).scan(Instant::now).unwrap().1;
        assert_eq!(pids(&table)[..3], [18288, 20784, 18365]);
        // A configured key wins: CPU (all 0 on a first scan, so memory decides).
        let fixed = env_at(&fixture_root(), "[processlist]\nsort_key=cpu_percent\n");
        *fixed.process_sort.lock().unwrap() = "name";
        let table = Scanner::new(&fixed).scan(Instant::now).unwrap().1;
        assert_eq!(pids(&table)[..3], [1, 8679, 20781]);
    }

    #[test]
    fn missing_proc_gives_empty_shapes() {
        let env = env_at(Path::new("/nonexistent-root"), "");
        *env.processes.write().unwrap() = Arc::new(Value::Array(vec![Value::from(1)]));
        assert_eq!(ProcessCount::new(&env).collect(), Value::Object(Map::new()));
        assert_eq!(ProcessList::new(&env).collect(), Value::Array(Vec::new()));
    }

    #[test]
    fn probes_stay_open_on_live_proc_and_read_afresh() {
        let mut busy = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let pid = busy.id();
        let env = env_at(Path::new("/"), "");
        let mut scanner = Scanner::new(&env);
        scanner.scan(Instant::now).unwrap();
        assert!(
            scanner.known[&pid].probe.is_some(),
            "the probe of a live process is held"
        );
        // The second scan reads its stat by a held handle: the third, through it.
        for scan in [2, 3] {
            std::thread::sleep(Duration::from_millis(300));
            let (_, table) = scanner.scan(Instant::now).unwrap();
            let cpu = by_pid(&table, u64::from(pid))["cpu_percent"].as_f64().unwrap();
            assert!(
                cpu > 20.0,
                "scan {scan}: the held probes saw the spinning child run: {cpu}"
            );
            assert!(
                scanner.known[&pid].stat_probe.is_some(),
                "scan {scan}: a process that ran keeps its stat open"
            );
        }
        busy.kill().unwrap();
        busy.wait().unwrap();
        let (_, table) = scanner.scan(Instant::now).unwrap();
        assert!(!pids(&table).contains(&u64::from(pid)));
        assert!(!scanner.known.contains_key(&pid));
    }

    #[test]
    fn recycled_elements_equal_fresh_ones() {
        let dir = copy_fixture();
        let env = env_at(dir.path(), "");
        let at = Instant::now();
        let (mut recycling, mut fresh) = (Scanner::new(&env), Scanner::new(&env));
        let (_, first) = recycling.scan(|| at).unwrap();
        fresh.scan(|| at).unwrap();
        // Every field but the pid of a spent element is wrong (values of
        // another kind, or another process's), one element has an unknown
        // pid, and one is not a processlist element at all.
        let junk = [
            Value::from("junk"),
            Value::from(vec![9, 9]),
            Value::Null,
            Value::from(1.5),
        ];
        let mut spent: Vec<Value> = first
            .iter()
            .map(|e| {
                let mut m = e.as_object().unwrap().clone();
                for (i, (key, value)) in m.iter_mut().enumerate() {
                    if key != "pid" {
                        *value = junk[i % junk.len()].clone();
                    }
                }
                Value::Object(m)
            })
            .collect();
        let mut stranger = first[0].as_object().unwrap().clone();
        stranger.insert("pid".into(), Value::from(999_999));
        spent.push(Value::Object(stranger));
        spent.push(Value::from("not an element"));
        recycling.recycle(Arc::new(Value::Array(spent)));
        add_utime(dir.path(), 1, 7);
        let later = at + Duration::from_secs(2);
        let (_, recycled) = recycling.scan(|| later).unwrap();
        let (_, built) = fresh.scan(|| later).unwrap();
        assert_eq!(recycled, built);
        let text = |table: Vec<Value>| crate::json::to_bytes(&Value::Array(table));
        assert_eq!(text(recycled), text(built));
    }

    #[test]
    fn a_table_still_held_elsewhere_is_not_recycled() {
        let dir = copy_fixture();
        let env = env_at(dir.path(), "");
        let mut scanner = Scanner::new(&env);
        let (_, table) = scanner.scan(Instant::now).unwrap();
        let table = Arc::new(Value::Array(table));
        let held = Arc::clone(&table);
        scanner.recycle(table);
        assert!(scanner.spare.is_empty());
        scanner.recycle(held);
        assert!(!scanner.spare.is_empty());
    }

    #[test]
    fn processcount_keeps_the_last_two_tables() {
        let dir = copy_fixture();
        let env = env_at(dir.path(), "");
        let mut count = ProcessCount::new(&env);
        for _ in 0..4 {
            count.collect();
        }
        assert_eq!(count.published.len(), 2);
        let current = Arc::clone(&env.processes.read().unwrap());
        assert!(Arc::ptr_eq(&current, &count.published[1]));
    }

    #[test]
    fn created_pids_are_the_few_ids_handed_out_since() {
        use Creation::{Forks, LastPid};
        let count = |then, now| created_since(Some(then), Some(now)).map(Iterator::count);
        assert_eq!(created_since(Some(LastPid(100)), Some(LastPid(103))), Some(101..104));
        assert_eq!(count(LastPid(100), LastPid(100)), Some(0), "none: the known pids");
        assert_eq!(count(LastPid(100), LastPid(100 + MAX_NEW_PIDS)), Some(64));
        assert_eq!(count(LastPid(100), LastPid(101 + MAX_NEW_PIDS)), None, "too many: list");
        assert_eq!(count(LastPid(4_000_000), LastPid(310)), None, "wrapped around: list");
        assert_eq!(count(Forks(7), Forks(7)), Some(0), "no fork since");
        assert_eq!(count(Forks(7), Forks(8)), None, "a fork since: list");
        assert_eq!(count(Forks(7), LastPid(8)), None, "changed kind: list");
        assert_eq!(created_since(None, Some(LastPid(310))), None, "first scan");
        assert_eq!(created_since(Some(LastPid(310)), None), None, "no counter (not procfs)");
    }

    #[test]
    fn a_threads_id_is_not_a_process() {
        let env = env_at(Path::new("/"), "");
        let mut scanner = Scanner::new(&env);
        assert!(scanner.our_pid_namespace, "the tests run in /proc's namespace");
        scanner.scan(Instant::now).unwrap();
        // Creating the thread hands out a pid: the next scan tries the ids
        // handed out since, the thread's among them. Tests running beside
        // this one may hand out too many for that (the scan then lists
        // /proc, where threads do not show): try again until it did.
        for _ in 0..20 {
            let then = scanner.creation;
            let (tid_sender, tid) = std::sync::mpsc::channel();
            let (stop, stopped) = std::sync::mpsc::channel::<()>();
            let thread = std::thread::spawn(move || {
                tid_sender.send(nix::unistd::gettid().as_raw().cast_unsigned()).unwrap();
                let _ = stopped.recv();
            });
            let tid = tid.recv().unwrap();
            let (_, table) = scanner.scan(Instant::now).unwrap();
            stop.send(()).unwrap();
            thread.join().unwrap();
            let tried = created_since(then, scanner.creation).is_some_and(|ids| ids.contains(&tid));
            if tried {
                assert!(!pids(&table).contains(&u64::from(tid)));
                assert!(!scanner.known.contains_key(&tid));
                assert!(pids(&table).contains(&u64::from(std::process::id())));
                return;
            }
        }
        panic!("twenty scans in a row listed /proc instead of trying the new ids");
    }

    #[test]
    fn live_scans_see_a_new_process_and_drop_an_exited_one() {
        let env = env_at(Path::new("/"), "");
        let mut scanner = Scanner::new(&env);
        let pids = |scanner: &mut Scanner| -> Vec<u64> {
            let (_, table) = scanner.scan(Instant::now).unwrap();
            table.iter().filter_map(|e| e["pid"].as_u64()).collect()
        };
        let before = pids(&mut scanner);
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = u64::from(child.id());
        assert!(!before.contains(&pid));
        assert!(pids(&mut scanner).contains(&pid));
        child.kill().unwrap();
        child.wait().unwrap();
        // Unless another test forks meanwhile, these scans reuse the known
        // pids instead of listing /proc; either way the child must be gone.
        assert!(!pids(&mut scanner).contains(&pid));
        assert!(!pids(&mut scanner).contains(&pid));
    }

    #[test]
    fn held_probes_stay_within_the_cap_across_scans() {
        let env = env_at(Path::new("/"), "");
        let mut scanner = Scanner::new(&env);
        let held = |scanner: &Scanner| -> usize {
            scanner
                .known
                .values()
                .map(|k| usize::from(k.probe.is_some()) + usize::from(k.stat_probe.is_some()))
                .sum()
        };
        scanner.max_probes = 6;
        scanner.scan(Instant::now).unwrap();
        assert_eq!(held(&scanner), 6, "the live /proc has more than 6 processes");
        // Handles already held count against a lower cap as new ones do.
        scanner.max_probes = 3;
        for _ in 0..3 {
            scanner.scan(Instant::now).unwrap();
            assert_eq!(held(&scanner), 3);
        }
    }

    #[test]
    fn fixture_trees_hold_no_probes() {
        let dir = copy_fixture();
        let env = env_at(dir.path(), "");
        let mut scanner = Scanner::new(&env);
        scanner.scan(Instant::now).unwrap();
        assert!(!scanner.known.is_empty());
        scanner.scan(Instant::now).unwrap();
        assert!(
            scanner
                .known
                .values()
                .all(|k| k.probe.is_none() && k.stat_probe.is_none())
        );
    }

    /// Cost of a scan on the live /proc with 2000 extra `sleep` processes:
    /// `cargo test --release --lib collect::processes::tests::scan_cost -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn scan_cost() {
        /// (user, system) CPU time of this thread.
        fn thread_cpu() -> (Duration, Duration) {
            let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
            // SAFETY: getrusage fills the struct it is given.
            let usage = unsafe {
                assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()), 0);
                usage.assume_init()
            };
            let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
            (tv(usage.ru_utime), tv(usage.ru_stime))
        }
        let mut children: Vec<_> = (0..2000)
            .map(|_| std::process::Command::new("sleep").arg("120").spawn().unwrap())
            .collect();
        let env = env_at(Path::new("/"), "");
        let mut scanner = Scanner::new(&env);
        scanner.scan(Instant::now).unwrap();
        let before = thread_cpu();
        let mut seen = 0;
        for _ in 0..10 {
            seen += scanner.scan(Instant::now).unwrap().1.len();
        }
        let after = thread_cpu();
        for child in &mut children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let per_process = |d: Duration| d.as_secs_f64() * 1e6 / seen as f64;
        let (user, system) = (per_process(after.0 - before.0), per_process(after.1 - before.1));
        eprintln!(
            "{seen} process visits: {:.2} µs CPU per process per scan ({user:.2} user, {system:.2} system)",
            user + system
        );
    }
}
