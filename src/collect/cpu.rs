//! `cpu`: system-wide CPU time split from /proc/stat (spec §8.7).

use serde_json::{Map, Value};

use super::{Env, Interval, Plugin, logical_cpus, num, time_since_update};
use crate::json::{float, round_to};
use crate::limits::Limits;
use crate::views::Decorator;

/// The ten time columns of a `cpu` line of /proc/stat, in its order.
pub const TIME_FIELDS: [&str; 10] = [
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
];

/// One `cpu`/`cpuN` line: ticks per column.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes(pub [f64; 10]);

impl CpuTimes {
    fn parse(line: &str) -> CpuTimes {
        let mut t = [0.0; 10];
        for (slot, col) in t.iter_mut().zip(line.split_whitespace().skip(1)) {
            *slot = num(col) as f64;
        }
        CpuTimes(t)
    }

    fn get(&self, field: &str) -> f64 {
        TIME_FIELDS.iter().position(|f| *f == field).map_or(0.0, |i| self.0[i])
    }

    /// psutil's total: guest time is already counted in user/nice.
    fn total(&self) -> f64 {
        self.0[..8].iter().sum()
    }

    fn busy(&self) -> f64 {
        self.total() - self.get("idle") - self.get("iowait")
    }
}

/// The parsed parts of /proc/stat glint uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcStat {
    pub total: CpuTimes,
    pub per_cpu: Vec<CpuTimes>,
    pub ctx_switches: u64,
    pub interrupts: u64,
    pub soft_interrupts: u64,
}

impl ProcStat {
    pub fn parse(text: &str) -> ProcStat {
        let mut stat = ProcStat::default();
        for line in text.lines() {
            let mut cols = line.split_whitespace();
            match cols.next() {
                Some("cpu") => stat.total = CpuTimes::parse(line),
                Some(c) if c.starts_with("cpu") => stat.per_cpu.push(CpuTimes::parse(line)),
                Some("ctxt") => stat.ctx_switches = cols.next().map_or(0, num),
                Some("intr") => stat.interrupts = cols.next().map_or(0, num),
                Some("softirq") => stat.soft_interrupts = cols.next().map_or(0, num),
                _ => {}
            }
        }
        stat
    }

    pub fn read(env: &Env) -> ProcStat {
        ProcStat::parse(&env.read_shared_logged("cpu", "proc/stat").unwrap_or_default())
    }
}

/// Percent of each column between two samples (psutil `cpu_times_percent`),
/// plus the busy percent (`cpu_percent`), 1 decimal like psutil.
pub fn percentages(prev: &CpuTimes, cur: &CpuTimes) -> ([f64; 10], f64) {
    let all = cur.total() - prev.total();
    let mut out = [0.0; 10];
    if all <= 0.0 {
        return (out, 0.0);
    }
    for (i, slot) in out.iter_mut().enumerate() {
        let delta = (cur.0[i] - prev.0[i]).max(0.0);
        *slot = round_to((100.0 * delta / all).clamp(0.0, 100.0), 1);
    }
    let busy = round_to((100.0 * (cur.busy() - prev.busy()) / all).clamp(0.0, 100.0), 1);
    (out, busy)
}

/// Keeps the previous /proc/stat sample to compute percentages and deltas.
/// The first collection is measured since boot (zero previous sample).
#[derive(Debug, Default)]
pub struct CpuSampler {
    prev: Option<ProcStat>,
}

impl CpuSampler {
    /// Returns (previous, current); previous is all zeros the first time.
    pub fn next(&mut self, env: &Env) -> (ProcStat, ProcStat, bool) {
        let cur = ProcStat::read(env);
        let first = self.prev.is_none();
        let prev = self.prev.replace(cur.clone()).unwrap_or_else(|| ProcStat {
            per_cpu: vec![CpuTimes::default(); cur.per_cpu.len()],
            ..ProcStat::default()
        });
        (prev, cur, first)
    }
}

pub struct Cpu {
    env: Env,
    sampler: CpuSampler,
    interval: Interval,
}

impl Cpu {
    pub fn new(env: &Env) -> Cpu {
        Cpu {
            env: env.clone(),
            sampler: CpuSampler::default(),
            interval: Interval::default(),
        }
    }
}

impl Plugin for Cpu {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn collect(&mut self) -> Value {
        let (prev, cur, first) = self.sampler.next(&self.env);
        let elapsed = self.interval.tick();
        let (split, busy) = percentages(&prev.total, &cur.total);
        let delta = |c: u64, p: u64| if first { 0 } else { c.saturating_sub(p) };
        let mut m = Map::with_capacity(TIME_FIELDS.len() + 7);
        m.insert("total".into(), float(busy));
        for (field, pct) in TIME_FIELDS.iter().zip(split) {
            m.insert(field.to_string(), float(pct));
        }
        m.insert("time_since_update".into(), time_since_update(elapsed));
        m.insert("cpucore".into(), logical_cpus(&self.env.root).into());
        m.insert("ctx_switches".into(), delta(cur.ctx_switches, prev.ctx_switches).into());
        m.insert("interrupts".into(), delta(cur.interrupts, prev.interrupts).into());
        m.insert(
            "soft_interrupts".into(),
            delta(cur.soft_interrupts, prev.soft_interrupts).into(),
        );
        m.insert("syscalls".into(), 0.into());
        Value::Object(m)
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["user", "system"]
    }

    fn optional_fields(&self) -> &'static [&'static str] {
        &[
            "nice",
            "irq",
            "idle",
            "steal",
            "ctx_switches",
            "interrupts",
            "soft_interrupts",
            "syscalls",
        ]
    }

    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        let get = |f: &str| stats.get(f).and_then(Value::as_f64);
        for field in ["user", "system", "iowait", "total"] {
            if let Some(v) = get(field) {
                d.evaluate(limits, "cpu", field, "", field, v, 100.0, true);
            }
        }
        if let Some(v) = get("steal") {
            d.evaluate(limits, "cpu", "steal", "", "steal", v, 100.0, false);
        }
        if let (Some(ctx), Some(cores)) = (get("ctx_switches"), get("cpucore")) {
            d.evaluate(
                limits,
                "cpu",
                "ctx_switches",
                "",
                "ctx_switches",
                ctx,
                100.0 * cores,
                false,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 5 50 800 20 0 10 15 0 0\ncpu0 60 5 20 400 10 0 5 0 0 0\ncpu1 40 0 30 400 10 0 5 15 0 0\nintr 1000 1 2 3\nctxt 5000\nbtime 1700000000\nprocesses 10\nsoftirq 700 1 2\n";

    #[test]
    fn parses_proc_stat() {
        let s = ProcStat::parse(STAT);
        assert_eq!(s.per_cpu.len(), 2);
        assert_eq!(s.total.get("steal"), 15.0);
        assert_eq!((s.ctx_switches, s.interrupts, s.soft_interrupts), (5000, 1000, 700));
    }

    #[test]
    fn percentages_follow_psutil() {
        let prev = CpuTimes([100.0, 0.0, 50.0, 800.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let cur = CpuTimes([130.0, 0.0, 60.0, 850.0, 10.0, 0.0, 0.0, 0.0, 5.0, 0.0]);
        let (split, busy) = percentages(&prev, &cur);
        // 100 ticks elapsed (guest is not counted twice)
        assert_eq!(split[0], 30.0);
        assert_eq!(split[2], 10.0);
        assert_eq!(split[3], 50.0);
        assert_eq!(split[4], 10.0);
        assert_eq!(busy, 40.0);
        assert_eq!(percentages(&cur, &cur), ([0.0; 10], 0.0));
    }
}
