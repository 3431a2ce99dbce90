//! `percpu`: the CPU time split of each logical CPU (spec §8.20).

use serde_json::{Map, Value};

use super::cpu::{CpuSampler, TIME_FIELDS, percentages};
use super::{Env, Plugin};
use crate::json::{float, round_to};

/// Output order of a percpu element after `key`, `cpu_number`, `total`.
const ORDER: [&str; 10] = [
    "user",
    "system",
    "idle",
    "nice",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
];

pub struct PerCpu {
    env: Env,
    sampler: CpuSampler,
}

impl PerCpu {
    pub fn new(env: &Env) -> PerCpu {
        PerCpu {
            env: env.clone(),
            sampler: CpuSampler::default(),
        }
    }
}

/// The percpu list from two /proc/stat samples.
pub fn percpu_list(prev: &super::cpu::ProcStat, cur: &super::cpu::ProcStat) -> Value {
    let items = cur
        .per_cpu
        .iter()
        .enumerate()
        .map(|(n, times)| {
            let before = prev.per_cpu.get(n).copied().unwrap_or_default();
            let (split, _) = percentages(&before, times);
            let pct = |f: &str| split[TIME_FIELDS.iter().position(|x| *x == f).unwrap_or(0)];
            let mut m = Map::with_capacity(ORDER.len() + 3);
            m.insert("key".into(), "cpu_number".into());
            m.insert("cpu_number".into(), n.into());
            m.insert("total".into(), float(round_to(100.0 - pct("idle"), 1)));
            for field in ORDER {
                m.insert(field.into(), float(pct(field)));
            }
            Value::Object(m)
        })
        .collect();
    Value::Array(items)
}

impl Plugin for PerCpu {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "percpu"
    }

    fn collect(&mut self) -> Value {
        let (prev, cur, _) = self.sampler.next(&self.env);
        percpu_list(&prev, &cur)
    }

    fn key(&self) -> Option<&'static str> {
        Some("cpu_number")
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["user", "system"]
    }
}
