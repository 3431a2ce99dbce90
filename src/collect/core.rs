//! `core`: physical and logical CPU counts (spec §8.6), as psutil counts them.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{Env, Plugin, logical_cpus};

pub struct Core {
    env: Env,
    /// Physical cores, counted for this many logical CPUs: the topology
    /// only changes when CPUs go on- or offline, and costs a sysfs walk.
    physical: Option<(usize, Option<usize>)>,
}

impl Core {
    pub fn new(env: &Env) -> Core {
        Core {
            env: env.clone(),
            physical: None,
        }
    }
}

/// Physical cores: distinct core sibling lists in sysfs, else distinct
/// (physical id, core id) pairs of /proc/cpuinfo; None when neither says.
pub fn physical_cores(env: &Env) -> Option<usize> {
    let mut lists = HashSet::new();
    if let Ok(dir) = std::fs::read_dir(env.path("sys/devices/system/cpu")) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("cpu") && name[3..].chars().all(|c| c.is_ascii_digit()) && name.len() > 3) {
                continue;
            }
            let topology = entry.path().join("topology");
            let list = super::read_text(&topology.join("core_cpus_list"))
                .or_else(|_| super::read_text(&topology.join("thread_siblings_list")));
            if let Ok(list) = list {
                lists.insert(list.trim().to_string());
            }
        }
    }
    if !lists.is_empty() {
        return Some(lists.len());
    }
    let cpuinfo = env.read("proc/cpuinfo").ok()?;
    let mut pairs = HashSet::new();
    let mut physical = None;
    for line in cpuinfo.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim() {
            "physical id" => physical = Some(v.trim().to_string()),
            "core id" => {
                pairs.insert((physical.clone(), v.trim().to_string()));
            }
            _ => {}
        }
    }
    (!pairs.is_empty()).then_some(pairs.len())
}

impl Plugin for Core {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "core"
    }

    fn collect(&mut self) -> Value {
        let logical = logical_cpus(&self.env.root);
        let physical = match self.physical {
            Some((counted_for, physical)) if counted_for == logical => physical,
            _ => {
                let physical = physical_cores(&self.env);
                self.physical = Some((logical, physical));
                physical
            }
        };
        let mut m = Map::new();
        m.insert("phys".into(), physical.into());
        m.insert("log".into(), logical.into());
        Value::Object(m)
    }
}
