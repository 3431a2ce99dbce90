//! A plugin's limits (spec §9.1) and Glances' level computation (§9.2–§9.4).

use serde_json::{Map, Value};

use crate::config::Config;
use crate::json::float;

#[derive(Debug, Clone, PartialEq)]
pub enum LimitValue {
    Float(f64),
    /// Only the runtime `system_refresh`, which Glances stores as an int.
    Int(i64),
    /// A value that does not parse as a float, split on commas untrimmed.
    List(Vec<String>),
}

impl LimitValue {
    fn from_raw(raw: &str) -> LimitValue {
        match raw.trim().parse::<f64>() {
            Ok(f) => LimitValue::Float(f),
            Err(_) => LimitValue::List(raw.split(',').map(str::to_string).collect()),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            LimitValue::Float(f) => Some(*f),
            LimitValue::Int(i) => Some(*i as f64),
            LimitValue::List(_) => None,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            LimitValue::Float(f) => float(*f),
            LimitValue::Int(i) => Value::from(*i),
            LimitValue::List(items) => items.iter().map(|s| Value::from(s.as_str())).collect(),
        }
    }
}

/// The flat limits object of one plugin, in Glances' key order.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    entries: Vec<(String, LimitValue)>,
}

impl Limits {
    /// `history_size` first, then `<plugin>_<option>` for each option of the
    /// plugin's section, then the runtime keys the caller adds with [`set`].
    pub fn from_config(plugin: &str, config: &Config) -> Limits {
        let history_size = config.get_f64("global", "history_size").unwrap_or(28800.0);
        let mut entries = vec![("history_size".to_string(), LimitValue::Float(history_size))];
        if let Some(section) = config.section(plugin) {
            for (key, raw) in &section.options {
                entries.push((format!("{plugin}_{key}"), LimitValue::from_raw(raw)));
            }
        }
        Limits { entries }
    }

    /// Add or replace a runtime key (`system_refresh`, `sensors_refresh`).
    pub fn set(&mut self, key: &str, value: LimitValue) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&LimitValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(LimitValue::as_f64)
    }

    /// The entry named by the non-empty `parts` joined with `_`, found
    /// without building the name (views are decided per item per update).
    fn get_joined(&self, parts: &[&str]) -> Option<&LimitValue> {
        self.entries.iter().find(|(k, _)| is_joined(k, parts)).map(|(_, v)| v)
    }

    /// `<plugin>_<header>_<suffix>`, else `<plugin>_<suffix>` (an empty
    /// header names the plugin itself).
    fn get_stat(
        &self,
        plugin: &str,
        header: &str,
        suffix: &str,
        accept: impl Fn(&LimitValue) -> bool,
    ) -> Option<&LimitValue> {
        let found = |parts: &[&str]| self.get_joined(parts).filter(|v| accept(v));
        found(&[plugin, header, suffix]).or_else(|| found(&[plugin, suffix]))
    }

    pub fn to_json(&self) -> Value {
        let map: Map<String, Value> = self.entries.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
        Value::Object(map)
    }

    /// Glances' `get_alert`: the level of `current` (scaled by `maximum`)
    /// for the stat `<plugin>_<header>` with fallback to `<plugin>_*`.
    pub fn level(&self, plugin: &str, header: &str, current: f64, maximum: f64, minimum: f64) -> Level {
        let value = current * 100.0 / maximum;
        if !value.is_finite() {
            return Level::Default;
        }
        let threshold = |level: &str| self.threshold(plugin, header, level);
        let Some(critical) = threshold("critical") else {
            return Level::Default;
        };
        if value >= critical {
            return Level::Critical;
        }
        let Some(warning) = threshold("warning") else {
            return Level::Default;
        };
        if value >= warning {
            return Level::Warning;
        }
        let Some(careful) = threshold("careful") else {
            return Level::Default;
        };
        if value >= careful || current < minimum {
            Level::Careful
        } else {
            Level::Ok
        }
    }

    /// The careful, warning and critical thresholds of a stat, when all exist.
    pub fn thresholds(&self, plugin: &str, header: &str) -> Option<[f64; 3]> {
        let get = |level: &str| self.threshold(plugin, header, level);
        Some([get("careful")?, get("warning")?, get("critical")?])
    }

    /// The number `<plugin>_<header>_<level>`, else `<plugin>_<level>`.
    fn threshold(&self, plugin: &str, header: &str, level: &str) -> Option<f64> {
        self.get_stat(plugin, header, level, |v| v.as_f64().is_some())
            .and_then(LimitValue::as_f64)
    }

    /// Whether `<stat>_log` (then `<plugin>_log`) switches logging on; else
    /// the field's own default (§9.4).
    pub fn log_enabled(&self, plugin: &str, header: &str, default: bool) -> bool {
        match self.get_stat(plugin, header, "log", |_| true) {
            Some(LimitValue::List(items)) => items.first().is_some_and(|s| s.to_lowercase() == "true"),
            Some(_) => false,
            None => default,
        }
    }
}

/// Whether `key` is the non-empty `parts` joined with `_`.
fn is_joined(key: &str, parts: &[&str]) -> bool {
    let mut rest = key;
    for (i, part) in parts.iter().filter(|p| !p.is_empty()).enumerate() {
        if i > 0 {
            let Some(after) = rest.strip_prefix('_') else {
                return false;
            };
            rest = after;
        }
        let Some(after) = rest.strip_prefix(part) else {
            return false;
        };
        rest = after;
    }
    rest.is_empty()
}

/// `cpu` + `user` → `cpu_user`; an empty header is the plugin itself (`mem`).
pub fn stat_name(plugin: &str, header: &str) -> String {
    if header.is_empty() {
        plugin.to_string()
    } else {
        format!("{plugin}_{header}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Default,
    Ok,
    Careful,
    Warning,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Default => "DEFAULT",
            Level::Ok => "OK",
            Level::Careful => "CAREFUL",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
        }
    }

    /// The views decoration: `_LOG` is appended when the stat logs.
    pub fn decoration(self, log: bool) -> &'static str {
        match (self, log) {
            (Level::Ok, true) => "OK_LOG",
            (Level::Careful, true) => "CAREFUL_LOG",
            (Level::Warning, true) => "WARNING_LOG",
            (Level::Critical, true) => "CRITICAL_LOG",
            (level, _) => level.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn limits(text: &str, plugin: &str) -> Limits {
        let config = Config::parse(text, Path::new("t.conf")).unwrap();
        Limits::from_config(plugin, &config)
    }

    #[test]
    fn limits_keep_section_order_and_types() {
        let l = limits(
            "[global]\nhistory_size=1200\n[fs]\ndisable=False\nhide=/boot.*,/snap.*\ncareful=50\n",
            "fs",
        );
        assert_eq!(
            crate::json::to_bytes(&l.to_json()),
            br#"{"history_size":1200.0,"fs_disable":["False"],"fs_hide":["\/boot.*","\/snap.*"],"fs_careful":50.0}"#
        );
    }

    #[test]
    fn level_table() {
        let l = limits(
            "[mem]\ncareful=50\nwarning=70\ncritical=90\n[cpu]\nuser_critical=90\n",
            "mem",
        );
        assert_eq!(l.level("mem", "", 49.9, 100.0, 0.0), Level::Ok);
        assert_eq!(l.level("mem", "", 50.0, 100.0, 0.0), Level::Careful);
        assert_eq!(l.level("mem", "", 70.0, 100.0, 0.0), Level::Warning);
        assert_eq!(l.level("mem", "", 90.0, 100.0, 0.0), Level::Critical);
        // maximum scales the value: 45 of 50 is 90 %
        assert_eq!(l.level("mem", "", 45.0, 50.0, 0.0), Level::Critical);
        // division by zero and missing thresholds
        assert_eq!(l.level("mem", "", 45.0, 0.0, 0.0), Level::Default);
        assert_eq!(l.level("swap", "", 95.0, 100.0, 0.0), Level::Default);
        // below the minimum is CAREFUL
        assert_eq!(l.level("mem", "", 10.0, 100.0, 20.0), Level::Careful);
        // critical present but warning missing: DEFAULT once warning is needed
        let cpu = limits("[cpu]\nuser_critical=90\n", "cpu");
        assert_eq!(cpu.level("cpu", "user", 95.0, 100.0, 0.0), Level::Critical);
        assert_eq!(cpu.level("cpu", "user", 50.0, 100.0, 0.0), Level::Default);
    }

    #[test]
    fn joined_names_match_whole_parts_only() {
        assert!(is_joined("cpu_user_critical", &["cpu", "user", "critical"]));
        assert!(is_joined("mem_critical", &["mem", "", "critical"]));
        assert!(!is_joined("memswap_critical", &["mem", "", "critical"]));
        assert!(!is_joined("cpu_usercritical", &["cpu", "user", "critical"]));
        assert!(!is_joined("cpu_user_critical_x", &["cpu", "user", "critical"]));
        assert!(!is_joined("cpu_user", &["cpu", "user", "critical"]));
        assert!(is_joined("network_eth0:1_rx_log", &["network", "eth0:1_rx", "log"]));
    }

    #[test]
    fn per_stat_thresholds_win_over_plugin_ones() {
        let l = limits("[fs]\ncareful=50\nwarning=70\ncritical=90\n/_critical=10\n", "fs");
        assert_eq!(l.level("fs", "/", 20.0, 100.0, 0.0), Level::Critical);
        assert_eq!(l.level("fs", "/home", 20.0, 100.0, 0.0), Level::Ok);
    }

    #[test]
    fn log_switch() {
        let l = limits("[cpu]\nuser_log=False\nlog=True\n", "cpu");
        assert!(!l.log_enabled("cpu", "user", true));
        assert!(l.log_enabled("cpu", "steal", false));
        let none = limits("[cpu]\n", "cpu");
        assert!(none.log_enabled("cpu", "user", true));
        assert!(!none.log_enabled("cpu", "steal", false));
        assert_eq!(Level::Ok.decoration(true), "OK_LOG");
        assert_eq!(Level::Default.decoration(true), "DEFAULT");
    }
}
