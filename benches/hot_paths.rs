//! Micro-benchmarks of glint's hot paths (no external harness, so `cargo
//! test` never builds a benchmark framework):
//!
//!     cargo bench --bench hot_paths
//!
//! Each line reports the median of several timed batches.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use clap::Parser;
use glint::actors::aggregator::{Aggregator, Query, Update};
use glint::cli::Cli;
use glint::collect::{Env, Plugin, build, logical_cpus, sample};
use glint::config::Config;
use glint::daemon::Plan;
use glint::limits::Limits;

/// Median time per call of `f` over 15 batches of `n` calls.
fn measure(name: &str, n: u32, mut f: impl FnMut()) {
    let batches = (0..15).map(|_| {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed() / n
    });
    report(name, median(batches), "");
}

/// One line of the report: what, and its time in µs.
fn report(name: &str, time: Duration, after: &str) {
    println!("{name:<48} {:>10.2} µs{after}", time.as_secs_f64() * 1e6);
}

/// Median time of `f` over 31 calls, each after `evict` has pushed the
/// caches' contents out: at a 2 s refresh every collection finds its code
/// and data cold, and that, not the instruction count, sets its cost.
fn measure_cold(evict: &mut Evictor, mut f: impl FnMut()) -> Duration {
    median((0..31).map(|_| {
        evict.run();
        let start = Instant::now();
        f();
        start.elapsed()
    }))
}

fn median(times: impl Iterator<Item = Duration>) -> Duration {
    let mut times: Vec<Duration> = times.collect();
    times.sort();
    times[times.len() / 2]
}

/// A buffer larger than the caches (64 MiB; the development VM's last
/// level is 32 MiB), written line by line to evict them.
struct Evictor(Vec<u8>);

impl Evictor {
    fn new() -> Evictor {
        Evictor(vec![0; 64 << 20])
    }

    fn run(&mut self) {
        for line in self.0.chunks_mut(64) {
            line[0] = line[0].wrapping_add(1);
        }
        black_box(&self.0);
    }
}

fn main() {
    let env = Env::new("/", Arc::new(Config::default()));
    let limits = Limits::default();

    // The process scan (processcount) over this host's /proc.
    let mut scan = build("processcount", &env).expect("processcount");
    let processes = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            })
            .count()
        })
        .unwrap_or(1);
    scan.collect();
    measure(&format!("process scan ({processes} processes)"), 20, || {
        black_box(scan.collect());
    });
    let mut evictor = Evictor::new();
    let cold = measure_cold(&mut evictor, || {
        black_box(scan.collect());
    });
    report(&format!("process scan, caches evicted ({processes})"), cold, "");

    // Serialising a large plugin (processlist) in Glances' JSON style.
    let table = build("processlist", &env).expect("processlist").collect();
    measure("processlist JSON serialisation", 50, || {
        black_box(glint::json::to_bytes(&table));
    });

    // processlist's views text (no field of it is decorated).
    let list_sample = sample(build("processlist", &env).expect("processlist").as_mut(), &limits);
    measure("processlist views serialisation", 50, || {
        black_box(list_sample.views.to_bytes(&list_sample.stats));
    });

    // One whole sample of a cheap plugin: collect, decorate, history points.
    // /proc/stat's text is shared by reads less than 100 ms apart (those of
    // one tick), so past the first call the kernel's read is not in it.
    let mut cpu = build("cpu", &env).expect("cpu");
    measure("cpu sample (collect + views + history; stat shared)", 200, || {
        black_box(sample(cpu.as_mut(), &limits));
    });

    // Each plugin the daemon collects with the shipped config and
    // bench/compare.sh's flags, loaded and planned as the daemon does (its
    // defaults, its limits), one sample each with the caches evicted
    // first, and that over the plugin's refresh period: an upper bound on
    // what each costs the daemon (there they share some warmed code).
    let cli = Cli::parse_from([
        "glint",
        "-w",
        "-C",
        "config/glint.conf",
        "--disable-plugin",
        "cloud,ip,ports,wifi",
    ]);
    let shipped = Config::load(cli.config.as_deref(), logical_cpus(&cli.root)).expect("shipped config");
    let plan = Plan::new(&cli, &shipped);
    let shipped_env = Env::new(cli.root.clone(), Arc::new(shipped));
    let mut per_second = Duration::ZERO;
    for p in plan.collected() {
        let mut plugin = build(p.name, &shipped_env).expect("a collected plugin");
        sample(plugin.as_mut(), &p.limits);
        let cold = measure_cold(&mut evictor, || {
            black_box(sample(plugin.as_mut(), &p.limits));
        });
        per_second += cold.div_f64(p.refresh.as_secs_f64());
        let every = format!(", every {} s", p.refresh.as_secs_f64());
        report(&format!("{} sample, caches evicted", p.name), cold, &every);
    }
    report("all of them, per second", per_second, "/s");

    // An aggregator round trip as the HTTP layer makes it, and /all.
    System::new().block_on(async {
        let names = ["cpu", "mem", "load", "processlist"];
        let aggregator = Aggregator::new(
            names.iter().map(|n| (*n, true, Limits::default())).collect(),
            1200,
            true,
        )
        .start();
        for name in names {
            let mut plugin: Box<dyn Plugin> = build(name, &env).expect("plugin");
            aggregator
                .send(Update {
                    plugin: name,
                    sample: sample(plugin.as_mut(), &limits),
                    at: 0,
                })
                .await
                .expect("update");
        }
        let mut times = Vec::new();
        for query in [Query::Plugin("cpu".into()), Query::All] {
            let label = format!("aggregator round trip {query:?}");
            let start = Instant::now();
            let n = 2000;
            for _ in 0..n {
                black_box(aggregator.send(query.clone()).await.expect("answer").expect("reply"));
            }
            times.push((label, start.elapsed() / n));
        }
        for (label, t) in times {
            report(&label, t, "");
        }
    });
}
