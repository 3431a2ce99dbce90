//! `containers`: Docker and Podman containers (spec §8.5), read from the
//! Docker Engine API over Unix sockets with bollard. Podman serves the same
//! API; containers of the Podman socket get Glances' Podman element shape.
//!
//! Sockets: `[containers] docker_sock=` (default `/var/run/docker.sock`)
//! and `podman_sock=` (default `/run/podman/podman.sock`), with or without
//! a `unix://` prefix. `all=True` includes stopped containers.
//!
//! `collect` runs on a blocking thread: it drives a private current-thread
//! tokio runtime. Every API call has a timeout and each engine has a total
//! budget, so a hung engine delays a collection by at most that budget.
//! With no engine reachable the stats are `{}`, logged once per change.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{
    ContainerInspectResponse, ContainerMemoryStats, ContainerStatsResponse, ContainerSummaryStateEnum,
};
use bollard::query_parameters::{ListContainersOptions, StatsOptions};
use futures_util::StreamExt;
use futures_util::future::{join, join_all};
use serde_json::{Map, Value, json};

use super::{Env, Plugin};
use crate::json::float;
use crate::limits::{Level, Limits};
use crate::views::Decorator;

const DEFAULT_DOCKER_SOCK: &str = "/var/run/docker.sock";
const DEFAULT_PODMAN_SOCK: &str = "/run/podman/podman.sock";
/// One API request (list, inspect, stats of one container, image).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Everything one engine may take in one collection.
const ENGINE_BUDGET: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    fn as_str(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }
}

/// What one engine said about one container.
#[derive(Debug, Clone)]
pub struct ContainerData {
    pub inspect: ContainerInspectResponse,
    /// The image's tags; `None` when the image could not be inspected.
    pub image_tags: Option<Vec<String>>,
    /// One-shot stats of a running/paused container, when they arrived in time.
    pub stats: Option<ContainerStatsResponse>,
}

/// Cumulative counters of one container's stats, kept for the next deltas.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    cpu_total: Option<u64>,
    system_cpu: Option<u64>,
    /// The engine's `read` timestamp, nanoseconds since the epoch.
    read_ns: Option<i128>,
    /// Docker shape: first `read` and `write` entries of blkio.
    io: Option<(u64, u64)>,
    /// Docker shape: `eth0` only, like Glances.
    network: Option<(u64, u64)>,
}

impl Sample {
    pub fn of(stats: &ContainerStatsResponse) -> Sample {
        let cpu = stats.cpu_stats.as_ref();
        let eth0 = stats.networks.as_ref().and_then(|n| n.get("eth0"));
        Sample {
            cpu_total: cpu.and_then(|c| c.cpu_usage.as_ref()).and_then(|u| u.total_usage),
            system_cpu: cpu.and_then(|c| c.system_cpu_usage),
            read_ns: stats.read.as_deref().and_then(parse_rfc3339_ns),
            io: first_io_entries(stats),
            network: eth0.and_then(|n| Some((n.rx_bytes?, n.tx_bytes?))),
        }
    }
}

fn blkio_entries(stats: &ContainerStatsResponse) -> impl Iterator<Item = (String, u64)> + '_ {
    stats
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e.op.as_ref()?.to_lowercase(), e.value?)))
}

/// Glances' docker reading: the first `read` and the first `write` entry.
fn first_io_entries(stats: &ContainerStatsResponse) -> Option<(u64, u64)> {
    let first = |op: &str| blkio_entries(stats).find(|(o, _)| o == op).map(|(_, v)| v);
    Some((first("read")?, first("write")?))
}

/// Podman's reading (BlockInput/BlockOutput): sums over all devices.
fn summed_io(stats: &ContainerStatsResponse) -> (u64, u64) {
    blkio_entries(stats).fold((0, 0), |(r, w), (op, v)| match op.as_str() {
        "read" => (r + v, w),
        "write" => (r, w + v),
        _ => (r, w),
    })
}

/// Podman's reading (NetInput/NetOutput): sums over all interfaces.
fn summed_network(stats: &ContainerStatsResponse) -> (u64, u64) {
    stats
        .networks
        .as_ref()
        .into_iter()
        .flatten()
        .fold((0, 0), |(rx, tx), (_, n)| {
            (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
        })
}

/// Docker's CPU percent: container CPU time delta over host CPU time delta,
/// times online CPUs. The engine's `precpu_stats` when it has them (Docker
/// streaming), else this plugin's previous sample (one-shot stats carry an
/// empty precpu). `None` when not computable.
pub fn docker_cpu_percent(stats: &ContainerStatsResponse, previous: Option<&Sample>) -> Option<f64> {
    let current = Sample::of(stats);
    let cpu = stats.cpu_stats.as_ref()?;
    let cores = match cpu.online_cpus {
        Some(n) if n > 0 => f64::from(n),
        _ => cpu.cpu_usage.as_ref()?.percpu_usage.as_ref().map_or(0, Vec::len) as f64,
    };
    let engine_pre = stats
        .precpu_stats
        .as_ref()
        .and_then(|p| Some((p.cpu_usage.as_ref()?.total_usage?, p.system_cpu_usage?)));
    let (pre_total, pre_system) = engine_pre.or_else(|| previous.and_then(|p| Some((p.cpu_total?, p.system_cpu?))))?;
    let cpu_delta = current.cpu_total? as f64 - pre_total as f64;
    let system_delta = current.system_cpu? as f64 - pre_system as f64;
    (cpu_delta >= 0.0 && system_delta > 0.0).then(|| cpu_delta / system_delta * cores * 100.0)
}

/// Podman's CPU percent (libpod's `CPU`): container CPU time delta over
/// wall-clock time between the two readings, so one busy core is 100 %.
pub fn podman_cpu_percent(stats: &ContainerStatsResponse, previous: Option<&Sample>) -> Option<f64> {
    let current = Sample::of(stats);
    let previous = previous?;
    let cpu_delta = current.cpu_total? as f64 - previous.cpu_total? as f64;
    let wall = (current.read_ns? - previous.read_ns?) as f64;
    (cpu_delta >= 0.0 && wall > 0.0).then(|| cpu_delta / wall * 100.0)
}

/// Glances' docker `memory` object: usage and limit (both required), then
/// rss, max_usage and cache from the detailed cgroup stats (absent on
/// cgroup v2 and Podman: nulls, or `{}` without detailed stats).
pub fn docker_memory(memory: Option<&ContainerMemoryStats>) -> Value {
    let Some(m) = memory else { return json!({}) };
    let (Some(usage), Some(limit), Some(detail)) = (m.usage, m.limit, m.stats.as_ref()) else {
        return json!({});
    };
    let rss = match detail.get("rss") {
        Some(&rss) if rss != 0 => Some(rss),
        _ => detail.get("total_rss").copied(),
    };
    json!({
        "usage": usage,
        "limit": limit,
        "rss": rss,
        "max_usage": detail.get("max_usage"),
        "cache": detail.get("cache"),
    })
}

/// `memory.usage` minus `memory.cache` when the cache is known.
pub fn memory_usage(memory: &Value) -> Value {
    let Some(usage) = memory.get("usage").filter(|u| !u.is_null()) else {
        return Value::Null;
    };
    match (usage.as_i64(), memory.get("cache").and_then(Value::as_i64)) {
        (Some(u), Some(cache)) => Value::from(u - cache),
        _ => usage.clone(),
    }
}

/// `round(max(1, seconds))` as Glances writes `time_since_update` here.
fn whole_seconds(elapsed: Option<f64>) -> i64 {
    elapsed.unwrap_or(1.0).max(1.0).round_ties_even() as i64
}

/// A Docker counter pair (io or network): cumulative values, and from the
/// second sample the deltas with `time_since_update`. `names` are the
/// cumulative keys then the delta keys.
fn docker_counters(
    current: Option<(u64, u64)>,
    previous: Option<(u64, u64)>,
    elapsed: Option<f64>,
    names: [&str; 4],
) -> Value {
    let Some((a, b)) = current else {
        return json!({});
    };
    let mut m = Map::new();
    m.insert(names[0].into(), a.into());
    m.insert(names[1].into(), b.into());
    if let Some((pa, pb)) = previous {
        m.insert("time_since_update".into(), whole_seconds(elapsed).into());
        m.insert(names[2].into(), (a as i64 - pa as i64).into());
        m.insert(names[3].into(), (b as i64 - pb as i64).into());
    }
    Value::Object(m)
}

/// Docker's activity objects in Glances' order: io, memory, network, cpu.
fn docker_activity(
    stats: Option<&ContainerStatsResponse>,
    previous: Option<&Sample>,
    elapsed: Option<f64>,
) -> Map<String, Value> {
    let sample = stats.map(Sample::of).unwrap_or_default();
    let cpu = stats.and_then(|s| docker_cpu_percent(s, previous)).unwrap_or(0.0);
    let mut m = Map::new();
    m.insert(
        "io".into(),
        docker_counters(
            sample.io,
            previous.and_then(|p| p.io),
            elapsed,
            ["cumulative_ior", "cumulative_iow", "ior", "iow"],
        ),
    );
    m.insert(
        "memory".into(),
        docker_memory(stats.and_then(|s| s.memory_stats.as_ref())),
    );
    m.insert(
        "network".into(),
        docker_counters(
            sample.network,
            previous.and_then(|p| p.network),
            elapsed,
            ["cumulative_rx", "cumulative_tx", "rx", "tx"],
        ),
    );
    m.insert("cpu".into(), json!({ "total": float(cpu) }));
    m
}

/// Podman's activity objects in Glances' order: cpu, memory, io, network;
/// values are floats and io/network are cumulative with
/// `time_since_update` 1, as Glances reports libpod's stats.
fn podman_activity(stats: Option<&ContainerStatsResponse>, previous: Option<&Sample>) -> Map<String, Value> {
    let mut m = Map::new();
    let cpu = stats.and_then(|s| podman_cpu_percent(s, previous)).unwrap_or(0.0);
    m.insert("cpu".into(), json!({ "total": float(cpu) }));
    let Some(stats) = stats else {
        for empty in ["memory", "io", "network"] {
            m.insert(empty.into(), json!({}));
        }
        return m;
    };
    let memory = stats
        .memory_stats
        .as_ref()
        .and_then(|mem| Some((mem.usage?, mem.limit?)));
    m.insert(
        "memory".into(),
        memory.map_or_else(|| json!({}), |(u, l)| json!({"usage": u as f64, "limit": l as f64})),
    );
    let (ior, iow) = summed_io(stats);
    m.insert(
        "io".into(),
        json!({"ior": ior as f64, "iow": iow as f64, "time_since_update": 1}),
    );
    let (rx, tx) = summed_network(stats);
    m.insert(
        "network".into(),
        json!({"rx": rx as f64, "tx": tx as f64, "time_since_update": 1}),
    );
    m
}

/// Glances' `pretty_date` for an elapsed time in whole seconds.
pub fn pretty_date(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    match days {
        d if d < 0 => String::new(),
        0 => match secs {
            s if s < 10 => "just now".into(),
            s if s < 60 => format!("{s} secs"),
            s if s < 120 => "a min".into(),
            s if s < 3600 => format!("{} mins", s / 60),
            s if s < 7200 => "an hour".into(),
            s => format!("{} hours", s / 3600),
        },
        1 => "yesterday".into(),
        d if d < 7 => format!("{d} days"),
        d if d < 31 => format!("{} weeks", d / 7),
        d if d < 365 => format!("{} months", d / 30),
        d => format!("{} years", d / 365),
    }
}

/// `Uptime` of a container started at `started_at` (RFC 3339), seen at
/// `now_ns` (nanoseconds since the epoch).
pub fn uptime_text(started_at: &str, now_ns: i128) -> Option<String> {
    let started = parse_rfc3339_ns(started_at)?;
    Some(pretty_date((now_ns - started).div_euclid(1_000_000_000) as i64))
}

/// Nanoseconds since the epoch of an RFC 3339 timestamp
/// (`2026-11-27T12:14:41.160733137Z`, `...+02:00`).
pub fn parse_rfc3339_ns(text: &str) -> Option<i128> {
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut ymd = date.splitn(3, '-');
    let year: i64 = ymd.next()?.parse().ok()?;
    let month: i64 = ymd.next()?.parse().ok()?;
    let day: i64 = ymd.next()?.parse().ok()?;
    let (clock, offset_secs) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (h, m) = rest[at + 1..].split_once(':')?;
        let magnitude = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
        (
            &rest[..at],
            if rest.as_bytes()[at] == b'-' {
                -magnitude
            } else {
                magnitude
            },
        )
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.splitn(3, ':');
    let hour: i64 = parts.next()?.parse().ok()?;
    let minute: i64 = parts.next()?.parse().ok()?;
    let second: i64 = parts.next()?.parse().ok()?;
    let digits: String = fraction.chars().take(9).collect();
    let nanos: i128 = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A list of strings as Python's `str(list)` prints it (`['a', 'b']`).
fn python_list_text(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn status_text(inspect: &ContainerInspectResponse) -> String {
    inspect
        .state
        .as_ref()
        .and_then(|s| s.status)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

fn is_active(status: &str) -> bool {
    status == "running" || status == "paused"
}

/// One container in Glances' shape for its engine. `previous` and
/// `elapsed` are this container's sample from the last collection and the
/// seconds since; `now_ns` is the current time for `Uptime`.
pub fn container_element(
    engine: Engine,
    data: &ContainerData,
    previous: Option<&Sample>,
    elapsed: Option<f64>,
    now_ns: i128,
) -> Value {
    let inspect = &data.inspect;
    let status = status_text(inspect);
    let command: Vec<String> = inspect
        .config
        .as_ref()
        .map(|c| c.entrypoint.iter().chain(c.cmd.iter()).flatten().cloned().collect())
        .unwrap_or_default();
    let name = inspect.name.as_deref().unwrap_or_default().trim_start_matches('/');

    let mut e = Map::new();
    e.insert("key".into(), "name".into());
    e.insert("name".into(), name.into());
    e.insert("Id".into(), inspect.id.clone().unwrap_or_default().into());
    match engine {
        Engine::Docker => {
            e.insert("Status".into(), status.clone().into());
            e.insert(
                "Created".into(),
                inspect.created.clone().map_or(Value::Null, Value::from),
            );
            e.insert(
                "Command".into(),
                if command.is_empty() {
                    Value::Null
                } else {
                    command.into()
                },
            );
            e.insert(
                "Image".into(),
                data.image_tags.clone().map_or_else(|| "-".into(), Value::from),
            );
        }
        Engine::Podman => {
            let tags = python_list_text(data.image_tags.as_deref().unwrap_or_default());
            e.insert("Image".into(), tags.into());
            e.insert("Status".into(), status.clone().into());
            e.insert(
                "Created".into(),
                inspect.created.clone().map_or(Value::Null, Value::from),
            );
            e.insert("Command".into(), command.into());
        }
    }
    if is_active(&status) {
        let activity = match engine {
            Engine::Docker => docker_activity(data.stats.as_ref(), previous, elapsed),
            Engine::Podman => podman_activity(data.stats.as_ref(), previous),
        };
        e.extend(activity);
        let field = |object: &str, key: &str| e[object].get(key).cloned().unwrap_or(Value::Null);
        let derived = [
            ("cpu_percent", field("cpu", "total")),
            ("memory_usage", memory_usage(&e["memory"])),
            ("io_r", field("io", "ior")),
            ("io_w", field("io", "iow")),
            ("network_rx", field("network", "rx")),
            ("network_tx", field("network", "tx")),
        ];
        for (key, value) in derived {
            e.insert(key.into(), value);
        }
        let started = inspect.state.as_ref().and_then(|s| s.started_at.as_deref());
        e.insert(
            "Uptime".into(),
            started
                .and_then(|s| uptime_text(s, now_ns))
                .map_or(Value::Null, Value::from),
        );
    } else {
        for empty in ["io", "cpu", "memory", "network"] {
            e.insert(empty.into(), json!({}));
        }
        for none in [
            "io_r",
            "io_w",
            "cpu_percent",
            "memory_percent",
            "network_rx",
            "network_tx",
            "Uptime",
        ] {
            e.insert(none.into(), Value::Null);
        }
    }
    e.insert("engine".into(), engine.as_str().into());
    Value::Object(e)
}

/// Glances' order: CPU percent then memory usage, both descending (null
/// last). A stopped container has no `memory_usage` key, which makes
/// Glances fall back to sorting by name, ascending.
pub fn sort_containers(containers: &mut [Value]) {
    let has_keys = containers
        .iter()
        .all(|c| c.get("cpu_percent").is_some() && c.get("memory_usage").is_some());
    if !has_keys {
        containers.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        return;
    }
    let weight = |v: &Value| v.as_f64().unwrap_or(f64::NEG_INFINITY);
    containers.sort_by(|a, b| {
        let key = |c: &Value| (weight(&c["cpu_percent"]), weight(&c["memory_usage"]));
        key(b).partial_cmp(&key(a)).unwrap_or(std::cmp::Ordering::Equal)
    });
}

// ------------------------------------------------------------ engines ----

/// One configured engine socket and its client, when connected.
struct EngineSocket {
    engine: Engine,
    socket: PathBuf,
    client: Option<Docker>,
}

fn socket_option(env: &Env, key: &str, default: &str) -> PathBuf {
    let raw = env.config.get("containers", key).unwrap_or(default).trim();
    PathBuf::from(raw.strip_prefix("unix://").unwrap_or(raw))
}

async fn with_timeout<T, E: std::fmt::Display>(
    budget: Duration,
    what: &str,
    call: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(budget, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {budget:?}")),
    }
}

/// Inspect one container and, when the list says it runs, take one-shot
/// stats, both at once.
async fn container_data(docker: &Docker, id: String, active: bool, call: Duration) -> Option<ContainerData> {
    let inspect = with_timeout(call, "inspect", docker.inspect_container(&id, None));
    let stats = async {
        if !active {
            return None;
        }
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stream = Box::pin(docker.stats(&id, Some(options)));
        with_timeout(call, "stats", async { stream.next().await.transpose() })
            .await
            .ok()
            .flatten()
    };
    let (inspect, stats) = join(inspect, stats).await;
    Some(ContainerData {
        inspect: inspect.ok()?,
        image_tags: None,
        stats,
    })
}

/// Every container of one engine, with inspect, stats and image tags
/// fetched concurrently.
async fn engine_containers(docker: &Docker, all: bool, call: Duration) -> Result<Vec<ContainerData>, String> {
    let options = ListContainersOptions {
        all,
        ..Default::default()
    };
    let summaries = with_timeout(call, "list", docker.list_containers(Some(options))).await?;
    let fetches = summaries.into_iter().filter_map(|s| {
        let active = matches!(
            s.state,
            Some(ContainerSummaryStateEnum::RUNNING | ContainerSummaryStateEnum::PAUSED)
        );
        Some(container_data(docker, s.id?, active, call))
    });
    let mut containers: Vec<ContainerData> = join_all(fetches).await.into_iter().flatten().collect();

    let images: HashSet<String> = containers.iter().filter_map(|c| c.inspect.image.clone()).collect();
    let lookups = images.into_iter().map(|image| async move {
        let tags = with_timeout(call, "image", docker.inspect_image(&image))
            .await
            .ok()
            .map(|i| {
                i.repo_tags
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .collect()
            });
        (image, tags)
    });
    let tags: HashMap<String, Option<Vec<String>>> = join_all(lookups).await.into_iter().collect();
    for container in &mut containers {
        container.image_tags = container
            .inspect
            .image
            .as_ref()
            .and_then(|i| tags.get(i).cloned().flatten());
    }
    Ok(containers)
}

pub struct Containers {
    engines: Vec<EngineSocket>,
    all: bool,
    call_timeout: Duration,
    engine_budget: Duration,
    runtime: Option<tokio::runtime::Runtime>,
    /// Per container id: last sample and when it was taken.
    previous: HashMap<String, (Sample, Instant)>,
    /// What was last logged about engine reachability.
    logged_state: Option<Vec<bool>>,
    /// Whether an engine socket existed at the last look: without one,
    /// collecting is at most a couple of stat calls and runs inline.
    socket_seen: bool,
    /// With no socket seen, when to look for one again.
    next_look: Instant,
}

/// With no engine socket, how often to look for one: an engine started
/// after glint is queried within this (Glances 3.4 never looks again), and
/// a host without one is spared two cold path lookups at every refresh.
const LOOK_FOR_ENGINE_EVERY: Duration = Duration::from_secs(10);

fn any_socket(engines: &[EngineSocket]) -> bool {
    engines.iter().any(|e| e.socket.exists())
}

impl Containers {
    pub fn new(env: &Env) -> Containers {
        let all = env
            .config
            .get("containers", "all")
            .is_some_and(|v| v.split(',').next().unwrap_or_default().to_lowercase() == "true");
        let engines = [
            (Engine::Docker, socket_option(env, "docker_sock", DEFAULT_DOCKER_SOCK)),
            (Engine::Podman, socket_option(env, "podman_sock", DEFAULT_PODMAN_SOCK)),
        ]
        .into_iter()
        .map(|(engine, socket)| EngineSocket {
            engine,
            socket,
            client: None,
        })
        .collect::<Vec<EngineSocket>>();
        Containers {
            socket_seen: any_socket(&engines),
            next_look: Instant::now() + LOOK_FOR_ENGINE_EVERY,
            engines,
            all,
            call_timeout: CALL_TIMEOUT,
            engine_budget: ENGINE_BUDGET,
            runtime: None,
            previous: HashMap::new(),
            logged_state: None,
        }
    }

    /// No engine socket at the last look: report every engine unreachable
    /// without starting a query.
    fn no_engine(&mut self) -> Value {
        let problems = vec![Some("no socket file".to_string()); self.engines.len()];
        self.log_reachability(&problems);
        json!({})
    }

    fn runtime(&mut self) -> Option<&tokio::runtime::Runtime> {
        if self.runtime.is_none() {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => self.runtime = Some(runtime),
                Err(e) => tracing::warn!("containers: cannot start an async runtime: {e}"),
            }
        }
        self.runtime.as_ref()
    }

    /// Query every engine concurrently, each within its budget (connecting
    /// and negotiating the API version first when it has no client). A
    /// Docker socket that is a link to the Podman one (podman-docker) is
    /// skipped so its containers are listed once, as Podman's.
    fn fetch(&mut self) -> Vec<Result<Vec<ContainerData>, String>> {
        let (all, call, budget) = (self.all, self.call_timeout, self.engine_budget);
        let podman_target = self
            .engines
            .iter()
            .find(|e| e.engine == Engine::Podman)
            .and_then(|e| e.socket.canonicalize().ok());
        let Some(runtime) = self.runtime.as_ref() else {
            return Vec::new();
        };
        let fetches = self.engines.iter_mut().map(|socket| {
            let duplicate = socket.engine == Engine::Docker
                && podman_target.is_some()
                && socket.socket.canonicalize().ok() == podman_target;
            async move {
                if duplicate {
                    return Err("same socket as podman".to_string());
                }
                let answer = tokio::time::timeout(budget, query_engine(socket, all, call)).await;
                let result = answer.unwrap_or_else(|_| Err(format!("no complete answer within {budget:?}")));
                if result.is_err() {
                    // Reconnect next time (the engine may have restarted).
                    socket.client = None;
                }
                result
            }
        });
        runtime.block_on(join_all(fetches))
    }

    /// Log once whenever the set of reachable engines changes.
    fn log_reachability(&mut self, problems: &[Option<String>]) {
        let state: Vec<bool> = problems.iter().map(Option::is_none).collect();
        if self.logged_state.as_ref() == Some(&state) {
            return;
        }
        let parts: Vec<String> = self
            .engines
            .iter()
            .zip(problems)
            .map(|(socket, problem)| match problem {
                None => format!(
                    "{} engine reachable at {}",
                    socket.engine.as_str(),
                    socket.socket.display()
                ),
                Some(p) => format!(
                    "{} engine not reachable at {} ({p})",
                    socket.engine.as_str(),
                    socket.socket.display()
                ),
            })
            .collect();
        tracing::info!("containers: {}", parts.join("; "));
        self.logged_state = Some(state);
    }

    /// Turn one engine's containers into elements, updating the samples.
    fn elements(
        &mut self,
        engine: Engine,
        containers: &[ContainerData],
        now: Instant,
        now_ns: i128,
        seen: &mut HashSet<String>,
    ) -> Vec<Value> {
        containers
            .iter()
            .map(|data| {
                let id = data.inspect.id.clone().unwrap_or_default();
                let previous = self.previous.get(&id).copied();
                let elapsed = previous.map(|(_, at)| now.duration_since(at).as_secs_f64());
                let element = container_element(engine, data, previous.as_ref().map(|(s, _)| s), elapsed, now_ns);
                if let Some(stats) = &data.stats {
                    self.previous.insert(id.clone(), (Sample::of(stats), now));
                }
                seen.insert(id);
                element
            })
            .collect()
    }
}

fn connect_socket(socket: &Path, budget: Duration) -> Result<Docker, String> {
    if !socket.exists() {
        return Err("no such socket".into());
    }
    let path = socket.to_str().ok_or_else(|| "socket path is not UTF-8".to_string())?;
    Docker::connect_with_unix(path, budget.as_secs().max(1), bollard::API_DEFAULT_VERSION).map_err(|e| e.to_string())
}

/// Agree on an API version the engine supports (an old Docker refuses a
/// newer client version; Podman serves the compat API at any version).
async fn negotiate(docker: Docker, budget: Duration) -> Result<Docker, String> {
    with_timeout(budget, "version", docker.negotiate_version()).await
}

/// One engine's containers, connecting first when needed.
async fn query_engine(socket: &mut EngineSocket, all: bool, call: Duration) -> Result<Vec<ContainerData>, String> {
    if socket.client.is_none() {
        let docker = connect_socket(&socket.socket, call)?;
        socket.client = Some(negotiate(docker, call).await?);
    }
    match &socket.client {
        Some(docker) => engine_containers(docker, all, call).await,
        None => Err("not connected".into()),
    }
}

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

impl Plugin for Containers {
    fn name(&self) -> &'static str {
        "containers"
    }

    /// Engine calls block (and run on their own runtime), so they go to
    /// the blocking pool; with no socket to call there is nothing to wait for.
    fn quick(&self) -> bool {
        !self.socket_seen
    }

    fn collect(&mut self) -> Value {
        // Called inline (see `quick`): at most look for a socket; a new one
        // is queried from the blocking pool at the next refresh.
        let inline = !self.socket_seen;
        if inline && Instant::now() < self.next_look {
            return self.no_engine();
        }
        self.socket_seen = any_socket(&self.engines);
        if inline {
            self.next_look = Instant::now() + LOOK_FOR_ENGINE_EVERY;
            return self.no_engine();
        }
        if self.runtime().is_none() {
            return json!({});
        }
        let results = self.fetch();
        let (now, now_ns) = (Instant::now(), now_ns());
        let mut seen = HashSet::new();
        let mut containers = Vec::new();
        let mut problems = Vec::new();
        for (index, result) in results.into_iter().enumerate() {
            match result {
                Ok(list) => {
                    let engine = self.engines[index].engine;
                    containers.extend(self.elements(engine, &list, now, now_ns, &mut seen));
                    problems.push(None);
                }
                Err(e) => problems.push(Some(e)),
            }
        }
        self.previous.retain(|id, _| seen.contains(id));
        self.log_reachability(&problems);
        if problems.iter().all(Option::is_some) {
            return json!({});
        }
        sort_containers(&mut containers);
        json!({"version": {}, "version_podman": {}, "containers": containers})
    }

    fn key(&self) -> Option<&'static str> {
        Some("name")
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["cpu_percent"]
    }

    fn history_source<'a>(&self, stats: &'a Value) -> &'a Value {
        stats.get("containers").unwrap_or(stats)
    }

    /// Per container: CPU against `containers_<name>_cpu_*` then
    /// `containers_cpu_*`; memory usage/limit against `<name>_mem` then
    /// `mem`. Log only if configured.
    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        for container in container_list(stats) {
            let name = container["name"].as_str().unwrap_or_default();
            if let Some(cpu) = container["cpu"].get("total").and_then(Value::as_f64) {
                let own = d.evaluate(
                    limits,
                    "containers",
                    &format!("{name}_cpu"),
                    name,
                    "cpu",
                    cpu,
                    100.0,
                    false,
                );
                if own == Level::Default {
                    d.evaluate(limits, "containers", "cpu", name, "cpu", cpu, 100.0, false);
                }
            }
            if let Some(usage) = container["memory"].get("usage").and_then(Value::as_f64) {
                let limit = container["memory"]
                    .get("limit")
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN);
                let own = d.evaluate(
                    limits,
                    "containers",
                    &format!("{name}_mem"),
                    name,
                    "mem",
                    usage,
                    limit,
                    false,
                );
                if own == Level::Default {
                    d.evaluate(limits, "containers", "mem", name, "mem", usage, limit, false);
                }
            }
        }
    }

    /// Base views of the three top-level keys, plus one entry per container
    /// name with only `cpu` and `mem` decorations (`{}` when the stat is
    /// missing), as Glances builds them.
    fn standard_views(&self) -> bool {
        false
    }

    fn views(&self, stats: &Value, decorator: &Decorator) -> Value {
        let mut views = decorator.views(stats, None, &[]);
        let Some(map) = views.as_object_mut() else {
            return views;
        };
        for container in container_list(stats) {
            let name = container["name"].as_str().unwrap_or_default();
            let has_cpu = container["cpu"].get("total").is_some();
            let has_mem = container["memory"].get("usage").is_some();
            let entry = |present: bool, field: &str| {
                if present {
                    json!({"decoration": decoration(decorator, name, field)})
                } else {
                    json!({})
                }
            };
            map.insert(
                name.to_string(),
                json!({"cpu": entry(has_cpu, "cpu"), "mem": entry(has_mem, "mem")}),
            );
        }
        views
    }
}

fn container_list(stats: &Value) -> impl Iterator<Item = &Value> {
    stats.get("containers").and_then(Value::as_array).into_iter().flatten()
}

/// The decoration the decorator holds for (`item`, `field`): read back
/// through a one-element view, as `Decorator` keeps its map private.
fn decoration(decorator: &Decorator, item: &str, field: &str) -> Value {
    let probe = json!([{ "name": item, field: null }]);
    decorator.views(&probe, Some("name"), &[])[item][field]["decoration"].clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::sync::Arc;

    /// A recorded API answer (tests/fixtures/containers), as bollard's type `T`.
    macro_rules! fixture {
        ($name:expr) => {{
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/containers")
                .join($name);
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        }};
    }

    fn env_with(config: &str) -> Env {
        Env::new("/", Arc::new(Config::parse(config, Path::new("t.conf")).unwrap()))
    }

    /// Both recorded one-shot stats of the busy-looping `t2` (Podman 4.3).
    fn t2_stats() -> (ContainerStatsResponse, ContainerStatsResponse) {
        (fixture!("stats-t2-1.json"), fixture!("stats-t2-2.json"))
    }

    fn t2_data(stats: ContainerStatsResponse) -> ContainerData {
        let image: bollard::models::ImageInspect = fixture!("image-tiny.json");
        ContainerData {
            inspect: fixture!("inspect-t2.json"),
            image_tags: image.repo_tags,
            stats: Some(stats),
        }
    }

    #[test]
    fn recorded_list_parses() {
        let list: Vec<bollard::models::ContainerSummary> = fixture!("containers-json.json");
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|c| c.state == Some(ContainerSummaryStateEnum::RUNNING)));
    }

    #[test]
    fn cpu_percent_from_successive_one_shot_samples() {
        let (first, second) = t2_stats();
        // Podman's one-shot precpu is empty: nothing to compare on the first.
        assert_eq!(docker_cpu_percent(&first, None), None);
        assert_eq!(podman_cpu_percent(&first, None), None);
        let previous = Sample::of(&first);
        // (360101070771 - 359094171727) / (1146226981014 - 1145033188281) * 2 * 100
        let docker = docker_cpu_percent(&second, Some(&previous)).unwrap();
        assert!((docker - 168.69).abs() < 0.01, "{docker}");
        // same CPU time over the 1.026468637 s between the two `read` stamps
        let podman = podman_cpu_percent(&second, Some(&previous)).unwrap();
        assert!((podman - 98.0937).abs() < 0.001, "{podman}");
    }

    #[test]
    fn engine_precpu_wins_over_the_previous_sample() {
        let (first, mut second) = t2_stats();
        second.precpu_stats = first.cpu_stats.clone();
        let stale = Sample {
            cpu_total: Some(1),
            system_cpu: Some(1),
            ..Sample::default()
        };
        let with_engine = docker_cpu_percent(&second, Some(&stale)).unwrap();
        let with_ours = docker_cpu_percent(&second, Some(&Sample::of(&first))).unwrap();
        assert_eq!(with_engine, with_ours);
    }

    #[test]
    fn memory_usage_minus_cache() {
        let m: ContainerMemoryStats = serde_json::from_value(json!({
            "usage": 10_485_760u64, "limit": 2_147_483_648u64,
            "stats": {"rss": 0, "total_rss": 6_291_456u64, "cache": 4_194_304u64}
        }))
        .unwrap();
        let memory = docker_memory(Some(&m));
        assert_eq!(
            crate::json::to_bytes(&memory),
            br#"{"usage":10485760,"limit":2147483648,"rss":6291456,"max_usage":null,"cache":4194304}"#
        );
        assert_eq!(memory_usage(&memory), json!(6_291_456));
        // Podman (recorded): no detailed stats, so Glances' docker reading is {}.
        let (_, second) = t2_stats();
        assert_eq!(docker_memory(second.memory_stats.as_ref()), json!({}));
        assert_eq!(memory_usage(&json!({"usage": 262144.0, "limit": 1.0})), json!(262144.0));
        assert_eq!(memory_usage(&json!({})), Value::Null);
    }

    #[test]
    fn uptime_strings_follow_pretty_date() {
        assert_eq!(pretty_date(0), "just now");
        assert_eq!(pretty_date(12), "12 secs");
        assert_eq!(pretty_date(61), "a min");
        assert_eq!(pretty_date(5 * 60 + 3), "5 mins");
        assert_eq!(pretty_date(3600), "an hour");
        assert_eq!(pretty_date(3 * 3600 + 5), "3 hours");
        assert_eq!(pretty_date(86_400 + 5), "yesterday");
        assert_eq!(pretty_date(4 * 86_400), "4 days");
        assert_eq!(pretty_date(8 * 86_400), "1 weeks");
        assert_eq!(pretty_date(62 * 86_400), "2 months");
        assert_eq!(pretty_date(400 * 86_400), "1 years");
        assert_eq!(pretty_date(-1), "");
        let inspect: ContainerInspectResponse = fixture!("inspect-t2.json");
        let started = inspect.state.unwrap().started_at.unwrap();
        let start_ns = parse_rfc3339_ns(&started).unwrap();
        assert_eq!(
            uptime_text(&started, start_ns + 75 * 1_000_000_000),
            Some("a min".into())
        );
    }

    #[test]
    fn rfc3339_parsing() {
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ns("2000-03-01T00:00:01.5Z"),
            Some(951_868_801_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("2000-03-01T02:00:01.5+02:00"),
            Some(951_868_801_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("2026-11-27T12:21:31.560914611Z"),
            Some(1_795_782_091_560_914_611)
        );
        assert_eq!(parse_rfc3339_ns("yesterday"), None);
    }

    #[test]
    fn podman_element_has_glances_podman_shape() {
        let (first, second) = t2_stats();
        let previous = Sample::of(&first);
        let data = t2_data(second);
        let now = parse_rfc3339_ns(data.stats.as_ref().unwrap().read.as_deref().unwrap()).unwrap();
        let e = container_element(Engine::Podman, &data, Some(&previous), Some(1.0), now);
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "key",
                "name",
                "Id",
                "Image",
                "Status",
                "Created",
                "Command",
                "cpu",
                "memory",
                "io",
                "network",
                "cpu_percent",
                "memory_usage",
                "io_r",
                "io_w",
                "network_rx",
                "network_tx",
                "Uptime",
                "engine"
            ]
        );
        assert_eq!(e["name"], "t2");
        assert_eq!(e["Image"], "['localhost/tiny:1']");
        assert_eq!(e["Status"], "running");
        assert_eq!(e["Command"], json!(["/bin/sh", "-c", "while true; do :; done"]));
        assert_eq!(e["memory"], json!({"usage": 262144.0, "limit": 25276502016.0}));
        assert_eq!(e["network"], json!({"rx": 936.0, "tx": 2602.0, "time_since_update": 1}));
        assert_eq!(e["io"], json!({"ior": 0.0, "iow": 0.0, "time_since_update": 1}));
        assert_eq!(e["memory_usage"], json!(262144.0));
        assert_eq!(e["cpu_percent"], e["cpu"]["total"]);
        assert_eq!(e["Uptime"], "6 mins");
        assert_eq!(e["engine"], "podman");
    }

    #[test]
    fn docker_element_has_glances_docker_shape() {
        let (first, second) = t2_stats();
        let data = t2_data(second);
        let e = container_element(Engine::Docker, &data, Some(&Sample::of(&first)), Some(1.4), 0);
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "key",
                "name",
                "Id",
                "Status",
                "Created",
                "Command",
                "Image",
                "io",
                "memory",
                "network",
                "cpu",
                "cpu_percent",
                "memory_usage",
                "io_r",
                "io_w",
                "network_rx",
                "network_tx",
                "Uptime",
                "engine"
            ]
        );
        assert_eq!(e["Image"], json!(["localhost/tiny:1"]));
        assert_eq!(e["Created"], "2026-11-27T12:14:41.193115561Z");
        // Podman's stats have no blkio entries, no eth0 and no memory detail.
        assert_eq!(
            (&e["io"], &e["network"], &e["memory"]),
            (&json!({}), &json!({}), &json!({}))
        );
        assert_eq!(
            (&e["memory_usage"], &e["io_r"], &e["network_rx"]),
            (&Value::Null, &Value::Null, &Value::Null)
        );
        assert!(e["cpu_percent"].as_f64().unwrap() > 100.0);
        // started in the future relative to now=0: pretty_date gives ""
        assert_eq!(e["Uptime"], "");
        assert_eq!(e["engine"], "docker");
    }

    #[test]
    fn docker_deltas_need_a_previous_sample() {
        let mut stats: ContainerStatsResponse = t2_stats().0;
        stats.networks = Some(HashMap::from([(
            "eth0".to_string(),
            serde_json::from_value(json!({"rx_bytes": 1500, "tx_bytes": 900})).unwrap(),
        )]));
        stats.blkio_stats = Some(
            serde_json::from_value(json!({"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "Read", "value": 4096},
                {"major": 8, "minor": 0, "op": "Write", "value": 8192},
                {"major": 8, "minor": 16, "op": "Read", "value": 1}
            ]}))
            .unwrap(),
        );
        let first = docker_activity(Some(&stats), None, None);
        assert_eq!(first["io"], json!({"cumulative_ior": 4096, "cumulative_iow": 8192}));
        assert_eq!(first["network"], json!({"cumulative_rx": 1500, "cumulative_tx": 900}));
        assert_eq!(first["cpu"], json!({"total": 0.0}));
        let previous = Sample {
            io: Some((1024, 8192)),
            network: Some((1000, 100)),
            ..Sample::default()
        };
        let second = docker_activity(Some(&stats), Some(&previous), Some(2.5));
        assert_eq!(
            crate::json::to_bytes(&second["io"]),
            br#"{"cumulative_ior":4096,"cumulative_iow":8192,"time_since_update":2,"ior":3072,"iow":0}"#
        );
        assert_eq!(second["network"]["rx"], 500);
        assert_eq!(second["network"]["tx"], 800);
        assert_eq!(second["network"]["time_since_update"], 2);
    }

    #[test]
    fn stopped_container_shape_and_name_sort() {
        let mut inspect: ContainerInspectResponse = fixture!("inspect-t2.json");
        inspect.state.as_mut().unwrap().status = Some(bollard::models::ContainerStateStatusEnum::EXITED);
        inspect.name = Some("/a-stopped".into());
        let data = ContainerData {
            inspect,
            image_tags: None,
            stats: None,
        };
        let stopped = container_element(Engine::Docker, &data, None, None, 0);
        let keys: Vec<&str> = stopped.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "key",
                "name",
                "Id",
                "Status",
                "Created",
                "Command",
                "Image",
                "io",
                "cpu",
                "memory",
                "network",
                "io_r",
                "io_w",
                "cpu_percent",
                "memory_percent",
                "network_rx",
                "network_tx",
                "Uptime",
                "engine"
            ]
        );
        assert_eq!(stopped["Image"], "-");
        assert_eq!(stopped["Status"], "exited");
        let running = json!({"name": "z-busy", "cpu_percent": 90.0, "memory_usage": 1});
        let mut list = vec![running.clone(), stopped];
        sort_containers(&mut list);
        assert_eq!(list[0]["name"], "a-stopped");
    }

    #[test]
    fn running_containers_sort_by_cpu_then_memory() {
        let mut list = vec![
            json!({"name": "a", "cpu_percent": 1.0, "memory_usage": 5}),
            json!({"name": "b", "cpu_percent": null, "memory_usage": 9}),
            json!({"name": "c", "cpu_percent": 7.5, "memory_usage": null}),
            json!({"name": "d", "cpu_percent": 1.0, "memory_usage": 8}),
        ];
        sort_containers(&mut list);
        let names: Vec<&str> = list.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["c", "d", "a", "b"]);
    }

    #[test]
    fn views_are_partial_per_container() {
        let config = Config::parse("[containers]\ncpu_careful=50\ncpu_warning=70\ncpu_critical=90\nt2_mem_critical=0.0001\nt2_mem_warning=0.00005\nt2_mem_careful=0.00001\n", Path::new("t.conf")).unwrap();
        let limits = Limits::from_config("containers", &config);
        let stats = json!({"version": {}, "version_podman": {}, "containers": [
            {"name": "t2", "cpu": {"total": 75.0}, "memory": {"usage": 262144.0, "limit": 25276502016.0}},
            {"name": "idle", "cpu": {}, "memory": {}}
        ]});
        let plugin = Containers::new(&env_with(""));
        let mut d = Decorator::default();
        plugin.decorate(&stats, &limits, &mut d);
        let views = plugin.views(&stats, &d);
        let keys: Vec<&str> = views.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["version", "version_podman", "containers", "t2", "idle"]);
        assert_eq!(views["version"]["decoration"], "DEFAULT");
        assert_eq!(
            views["t2"],
            json!({"cpu": {"decoration": "WARNING"}, "mem": {"decoration": "CRITICAL"}})
        );
        assert_eq!(views["idle"], json!({"cpu": {}, "mem": {}}));
        assert!(d.evaluations.is_empty());
    }

    #[test]
    fn no_engine_gives_an_empty_object() {
        let mut plugin = Containers::new(&env_with(
            "[containers]\ndocker_sock=/nonexistent/glint-docker.sock\npodman_sock=unix:///nonexistent/glint-podman.sock\n",
        ));
        assert_eq!(plugin.engines[1].socket, Path::new("/nonexistent/glint-podman.sock"));
        assert!(plugin.quick(), "nothing to call: collected inline");
        assert_eq!(plugin.collect(), json!({}));
        assert_eq!(plugin.logged_state, Some(vec![false, false]));
        assert_eq!(plugin.collect(), json!({}));
    }

    #[test]
    fn a_socket_that_appears_is_queried_off_the_actor_thread() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("podman.sock");
        let mut plugin = Containers::new(&env_with(&format!(
            "[containers]\ndocker_sock=/nonexistent/glint-docker.sock\npodman_sock={}\n",
            sock.display()
        )));
        assert!(plugin.quick());
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert_eq!(plugin.collect(), json!({}));
        assert!(plugin.quick(), "not looked for again before the interval");
        plugin.next_look = Instant::now();
        // This collection was scheduled inline: it only notices the socket.
        assert_eq!(plugin.collect(), json!({}));
        assert!(!plugin.quick(), "the next one runs on the blocking pool");
        drop(_listener);
        std::fs::remove_file(&sock).unwrap();
        plugin.call_timeout = Duration::from_millis(200);
        plugin.engine_budget = Duration::from_millis(300);
        assert_eq!(plugin.collect(), json!({}));
        assert!(plugin.quick(), "gone again: back inline");
    }

    #[test]
    fn silent_engine_is_bounded_by_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("glint-silent.sock");
        // Accepts connections and never answers.
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let _accepting = std::thread::spawn(move || {
            let _held: Vec<_> = listener.incoming().take(8).collect();
        });
        let mut plugin = Containers::new(&env_with(&format!(
            "[containers]\ndocker_sock={}\npodman_sock=/nonexistent/glint-podman.sock\n",
            sock.display()
        )));
        plugin.call_timeout = Duration::from_millis(200);
        plugin.engine_budget = Duration::from_millis(300);
        let started = Instant::now();
        assert_eq!(plugin.collect(), json!({}));
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn docker_link_to_the_podman_socket_is_used_once() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("podman.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let link = dir.path().join("docker.sock");
        std::os::unix::fs::symlink(&sock, &link).unwrap();
        let mut plugin = Containers::new(&env_with(&format!(
            "[containers]\ndocker_sock={}\npodman_sock={}\n",
            link.display(),
            sock.display()
        )));
        plugin.call_timeout = Duration::from_millis(100);
        plugin.engine_budget = Duration::from_millis(200);
        assert!(plugin.runtime().is_some());
        let results = plugin.fetch();
        assert_eq!(
            results[0].as_ref().err().map(String::as_str),
            Some("same socket as podman")
        );
        assert!(results[1].is_err(), "the silent podman socket never answers");
    }

    #[test]
    fn all_option_is_glances_true_only() {
        assert!(Containers::new(&env_with("[containers]\nall=True\n")).all);
        assert!(!Containers::new(&env_with("[containers]\nall=yes\n")).all);
        assert!(!Containers::new(&env_with("")).all);
    }

    /// Against a real engine: set GLINT_TEST_PODMAN_SOCK to a Podman (or
    /// Docker) API socket whose image store has `localhost/tiny:1`
    /// (`tools/podman-engine.sh up SOCKET` prepares both).
    #[test]
    fn real_podman_engine() {
        let Ok(sock) = std::env::var("GLINT_TEST_PODMAN_SOCK") else {
            eprintln!("GLINT_TEST_PODMAN_SOCK unset: real engine test skipped");
            return;
        };
        let name = format!("glint-test-{}", std::process::id());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let docker = {
            let _guard = runtime.enter();
            Docker::connect_with_unix(&sock, 10, bollard::API_DEFAULT_VERSION).unwrap()
        };
        runtime.block_on(start_busy_container(&docker, &name));

        let mut plugin = Containers::new(&env_with(&format!(
            "[containers]\npodman_sock=unix://{sock}\ndocker_sock=/nonexistent/glint-docker.sock\n"
        )));
        let first = plugin.collect();
        std::thread::sleep(Duration::from_millis(1100));
        let second = plugin.collect();
        runtime.block_on(remove_container(&docker, &name));

        for stats in [&first, &second] {
            let keys: Vec<&str> = stats.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["version", "version_podman", "containers"]);
        }
        let mine = second["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} missing from {second}"));
        assert_eq!(mine["engine"], "podman");
        assert_eq!(mine["Status"], "running");
        assert_eq!(mine["Image"], "['localhost/tiny:1']");
        assert_eq!(mine["Command"], json!(["/bin/sh", "-c", "while :; do :; done"]));
        assert_eq!(mine["Uptime"], "just now");
        assert!(mine["memory"]["usage"].as_f64().unwrap() > 0.0);
        let cpu = mine["cpu_percent"].as_f64().unwrap();
        assert!(cpu > 10.0 && cpu < 150.0, "busy loop should use about one core: {cpu}");
        assert_eq!(mine["network"]["time_since_update"], 1);
        assert_eq!(mine["key"], "name");
    }

    async fn start_busy_container(docker: &Docker, name: &str) {
        remove_container(docker, name).await;
        let options = bollard::query_parameters::CreateContainerOptions {
            name: Some(name.to_string()),
            ..Default::default()
        };
        let body = bollard::models::ContainerCreateBody {
            image: Some("localhost/tiny:1".into()),
            cmd: Some(vec!["/bin/sh".into(), "-c".into(), "while :; do :; done".into()]),
            ..Default::default()
        };
        docker
            .create_container(Some(options), body)
            .await
            .expect("create test container");
        docker.start_container(name, None).await.expect("start test container");
    }

    async fn remove_container(docker: &Docker, name: &str) {
        let options = bollard::query_parameters::RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        let _ = docker.remove_container(name, Some(options)).await;
    }
}
