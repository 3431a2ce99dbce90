//! `quicklook`: the summary line — CPU, per-CPU, memory, swap, CPU model
//! and frequency (spec §8.25).

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::cpu::{CpuSampler, percentages};
use super::mem::{VirtualMemory, parse_meminfo, swap_from_meminfo};
use super::percpu::percpu_list;
use super::{Env, Plugin};
use crate::json::float;
use crate::limits::Limits;
use crate::views::Decorator;

/// Like Glances, the CPU model is read once and the frequency (costly:
/// /proc/cpuinfo makes the kernel query every CPU) at most every 6 s: twice
/// the 3 s of its shared CPU helper (spec §6.3).
const FREQ_CACHE: Duration = Duration::from_secs(6);

pub struct QuickLook {
    env: Env,
    sampler: CpuSampler,
    cpu_name: Option<String>,
    freq: Option<(Instant, Option<(f64, f64)>)>,
}

impl QuickLook {
    pub fn new(env: &Env) -> QuickLook {
        QuickLook {
            env: env.clone(),
            sampler: CpuSampler::default(),
            cpu_name: None,
            freq: None,
        }
    }

    fn cpu_name(&mut self) -> &str {
        let env = &self.env;
        self.cpu_name.get_or_insert_with(|| {
            cpu_name(&env.read("proc/cpuinfo").unwrap_or_default()).unwrap_or_else(|| "CPU".into())
        })
    }

    fn cpu_freq(&mut self) -> Option<(f64, f64)> {
        match self.freq {
            Some((at, freq)) if !super::expired(at, FREQ_CACHE, Instant::now()) => freq,
            _ => {
                let freq = cpu_freq(&self.env);
                self.freq = Some((Instant::now(), freq));
                freq
            }
        }
    }
}

/// Text after the colon on the 5th line of /proc/cpuinfo ("model name" on
/// x86), as Glances reads it.
pub fn cpu_name(cpuinfo: &str) -> Option<String> {
    let line = cpuinfo.lines().nth(4)?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// psutil `cpu_freq()`: (current MHz, max MHz) from cpufreq sysfs, falling
/// back to the mean `cpu MHz` of /proc/cpuinfo with max 0.
pub fn cpu_freq(env: &Env) -> Option<(f64, f64)> {
    let khz = |p: std::path::PathBuf| -> Option<f64> { super::read_text(&p).ok()?.trim().parse().ok() };
    let mut current = Vec::new();
    let mut max = Vec::new();
    if let Ok(dir) = std::fs::read_dir(env.path("sys/devices/system/cpu/cpufreq")) {
        for entry in dir
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("policy"))
        {
            if let Some(c) = khz(entry.path().join("scaling_cur_freq")) {
                current.push(c / 1000.0);
            }
            if let Some(m) = khz(entry.path().join("cpuinfo_max_freq")) {
                max.push(m / 1000.0);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    if !current.is_empty() {
        return Some((mean(&current), if max.is_empty() { 0.0 } else { mean(&max) }));
    }
    let cpuinfo = env.read("proc/cpuinfo").ok()?;
    let mhz: Vec<f64> = cpuinfo
        .lines()
        .filter(|l| l.to_lowercase().starts_with("cpu mhz"))
        .filter_map(|l| l.split_once(':')?.1.trim().parse().ok())
        .collect();
    (!mhz.is_empty()).then(|| (mean(&mhz), 0.0))
}

impl Plugin for QuickLook {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "quicklook"
    }

    fn collect(&mut self) -> Value {
        let (prev, cur, _) = self.sampler.next(&self.env);
        let (_, busy) = percentages(&prev.total, &cur.total);
        let meminfo_text = self.env.read_shared("proc/meminfo").unwrap_or_default();
        let meminfo = parse_meminfo(&meminfo_text);
        let vm = VirtualMemory::from_meminfo(&meminfo);
        let (_, _, _, swap) = swap_from_meminfo(&meminfo);
        let freq = self.cpu_freq();
        let mut m = Map::with_capacity(7);
        m.insert("cpu".into(), float(busy));
        m.insert("percpu".into(), percpu_list(&prev, &cur));
        m.insert("mem".into(), float(vm.percent));
        m.insert("swap".into(), float(swap));
        m.insert("cpu_name".into(), self.cpu_name().into());
        m.insert(
            "cpu_hz_current".into(),
            freq.map_or(Value::Null, |(c, _)| float(c * 1e6)),
        );
        m.insert("cpu_hz".into(), freq.map_or(Value::Null, |(_, mx)| float(mx * 1e6)));
        Value::Object(m)
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["cpu", "percpu", "mem", "swap"]
    }

    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        for field in ["cpu", "mem", "swap"] {
            if let Some(v) = stats.get(field).and_then(Value::as_f64) {
                d.evaluate(limits, "quicklook", field, "", field, v, 100.0, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_name_is_the_fifth_line() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\nstepping\t: 1\n";
        assert_eq!(super::cpu_name(info).as_deref(), Some("AMD EPYC"));
        assert_eq!(super::cpu_name("short"), None);
    }
}
