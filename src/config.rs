//! The Glances-compatible INI configuration (spec §13).
//!
//! Sections and options keep their file order (limits and `/api/3/config`
//! expose it). Option names are lower-cased like Python's configparser;
//! values stay raw strings, are never executed (no backtick expansion), and
//! Glances' injected defaults (§13.3) are appended after the file's options.

use std::path::{Path, PathBuf};

use ini::{Ini, ParseOption};

/// A configuration problem, always naming where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config file {path}, section [{section}], key '{key}': {message}")]
    Value {
        path: PathBuf,
        section: String,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Section {
    pub name: String,
    pub options: Vec<(String, String)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn set_default(&mut self, key: &str, value: &str) {
        if self.get(key).is_none() {
            self.options.push((key.to_string(), value.to_string()));
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file that was loaded, if any.
    pub path: Option<PathBuf>,
    pub sections: Vec<Section>,
}

/// Where a config is looked for when `-C` is not given: glint's own
/// locations first, then Glances' so an existing glances.conf keeps working.
pub fn search_paths() -> Vec<PathBuf> {
    let user_dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    let mut paths = Vec::new();
    if let Some(dir) = &user_dir {
        paths.push(dir.join("glint/glint.conf"));
    }
    paths.push(PathBuf::from("/etc/glint/glint.conf"));
    if let Some(dir) = &user_dir {
        paths.push(dir.join("glances/glances.conf"));
    }
    paths.push(PathBuf::from("/etc/glances/glances.conf"));
    paths
}

impl Config {
    /// Load `explicit` (which must exist), else the first existing file of
    /// [`search_paths`], else nothing; then inject Glances' defaults.
    pub fn load(explicit: Option<&Path>, logical_cpus: usize) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => search_paths().into_iter().find(|p| p.is_file()),
        };
        let mut config = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?;
                Config::parse(&text, p)?
            }
            None => Config::default(),
        };
        config.inject_defaults(logical_cpus);
        config.validate()?;
        Ok(config)
    }

    /// Parse INI text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let options = ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..ParseOption::default()
        };
        let ini = Ini::load_from_str_opt(text, options).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut sections: Vec<Section> = Vec::new();
        for (name, props) in ini.iter() {
            let Some(name) = name else {
                if props.iter().next().is_some() {
                    return Err(ConfigError::Syntax {
                        path: path.to_path_buf(),
                        message: "options found before the first [section] header".into(),
                    });
                }
                continue;
            };
            let mut section = Section {
                name: name.to_string(),
                options: Vec::new(),
            };
            for (key, value) in props.iter() {
                let key = key.trim().to_lowercase();
                if section.get(&key).is_some() {
                    return Err(ConfigError::Value {
                        path: path.to_path_buf(),
                        section: section.name.clone(),
                        key,
                        message: "option given twice".into(),
                    });
                }
                section.options.push((key, value.trim().to_string()));
            }
            match sections.iter_mut().find(|s| s.name == section.name) {
                Some(existing) => existing.options.extend(section.options),
                None => sections.push(section),
            }
        }
        Ok(Config {
            path: Some(path.to_path_buf()),
            sections,
        })
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section).and_then(|s| s.get(key))
    }

    /// Python-style boolean (`true/false/yes/no/on/off/1/0`, any case).
    pub fn get_bool(&self, section: &str, key: &str) -> Option<bool> {
        self.get(section, key).and_then(parse_bool)
    }

    pub fn get_f64(&self, section: &str, key: &str) -> Option<f64> {
        self.get(section, key).and_then(|v| v.trim().parse().ok())
    }

    /// A comma-separated list option (`hide=docker.*,lo`), items trimmed.
    pub fn get_list(&self, section: &str, key: &str) -> Vec<String> {
        self.get(section, key)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn section_mut(&mut self, name: &str) -> &mut Section {
        if let Some(i) = self.sections.iter().position(|s| s.name == name) {
            return &mut self.sections[i];
        }
        self.sections.push(Section {
            name: name.to_string(),
            options: Vec::new(),
        });
        self.sections.last_mut().expect("just pushed")
    }

    /// Glances adds these when missing, with or without a file (§13.3).
    fn inject_defaults(&mut self, logical_cpus: usize) {
        let ncpu = logical_cpus.max(1) as f64;
        let (iowait, ctx) = (100.0 / ncpu, 50000.0 * ncpu);
        let py = crate::json::py_float;
        let standard = ["50", "70", "90"].map(String::from);

        let global = self.section_mut("global");
        global.set_default("strftime_format", "");
        global.set_default("check_update", "true");
        for prefix in ["cpu_", "mem_", "swap_"] {
            self.set_levels("quicklook", prefix, &standard);
        }
        for prefix in ["user_", "system_", "steal_"] {
            self.set_levels("cpu", prefix, &standard);
        }
        self.set_levels("cpu", "iowait_", &[py(0.8 * iowait), py(0.9 * iowait), py(iowait)]);
        self.set_levels("cpu", "ctx_switches_", &[py(0.8 * ctx), py(0.9 * ctx), py(ctx)]);
        self.set_levels("percpu", "user_", &standard);
        self.set_levels("percpu", "system_", &standard);
        self.set_levels("load", "", &["0.7", "1.0", "5.0"].map(String::from));
        self.set_levels("mem", "", &standard);
        self.set_levels("memswap", "", &standard);
        self.set_levels("network", "rx_", &standard);
        self.set_levels("network", "tx_", &standard);
        self.set_levels("fs", "", &standard);
        self.set_levels("sensors", "temperature_core_", &["60", "70", "80"].map(String::from));
        self.set_levels("sensors", "temperature_hdd_", &["45", "52", "60"].map(String::from));
        self.set_levels("sensors", "battery_", &["80", "90", "95"].map(String::from));
        self.set_levels("processlist", "cpu_", &standard);
        self.set_levels("processlist", "mem_", &standard);
    }

    fn set_levels(&mut self, section: &str, prefix: &str, values: &[String; 3]) {
        let section = self.section_mut(section);
        for (level, value) in ["careful", "warning", "critical"].iter().zip(values) {
            section.set_default(&format!("{prefix}{level}"), value);
        }
    }

    /// Reject values glint would otherwise misread silently.
    fn validate(&self) -> Result<(), ConfigError> {
        for section in &self.sections {
            for (key, value) in &section.options {
                let problem = value_problem(&section.name, key, value);
                if let Some(message) = problem {
                    return Err(ConfigError::Value {
                        path: self.path.clone().unwrap_or_else(|| PathBuf::from("(defaults)")),
                        section: section.name.clone(),
                        key: key.clone(),
                        message,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Why `value` is not acceptable for `key`, if it is not.
fn value_problem(section: &str, key: &str, value: &str) -> Option<String> {
    let number = value.trim().parse::<f64>();
    let is_threshold = ["careful", "warning", "critical"]
        .iter()
        .any(|l| key == *l || key.ends_with(&format!("_{l}")));
    // processlist nice_* thresholds are lists of nice values, not numbers.
    let list_threshold = section == "processlist" && key.starts_with("nice");
    if key == "refresh" || (section == "global" && key == "history_size") {
        return match number {
            Ok(n) if n.is_finite() && n >= 0.0 && (key != "refresh" || n > 0.0) => None,
            _ => Some(format!(
                "expected a {} number of seconds/points, got '{value}'",
                if key == "refresh" { "positive" } else { "non-negative" }
            )),
        };
    }
    if is_threshold && !list_threshold && !value.trim().is_empty() {
        return match number {
            Ok(n) if n.is_finite() => None,
            _ => Some(format!("expected a number, got '{value}'")),
        };
    }
    if (key == "disable" || key == "log" || key.ends_with("_log") || key == "enable") && parse_bool(value).is_none() {
        return Some(format!("expected true or false, got '{value}'"));
    }
    None
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

impl Config {
    /// The sections Glances creates even without a file, in its order.
    pub fn default_sections() -> Vec<&'static str> {
        vec![
            "global",
            "quicklook",
            "cpu",
            "percpu",
            "load",
            "mem",
            "memswap",
            "network",
            "fs",
            "sensors",
            "processlist",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::parse(text, Path::new("test.conf"))?;
        c.inject_defaults(2);
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn keeps_order_lowercases_keys_and_regex_backslashes() {
        let c = parse(
            "# comment\n[amp_nginx]\nRegex=\\/usr\\/sbin\\/nginx\nrefresh: 60\n; other\n[diskio]\nhide=loop.*,/dev/loop.*\n",
        )
        .unwrap();
        let amp = c.section("amp_nginx").unwrap();
        assert_eq!(amp.options[0], ("regex".into(), "\\/usr\\/sbin\\/nginx".into()));
        assert_eq!(amp.get("refresh"), Some("60"));
        assert_eq!(c.get_list("diskio", "hide"), vec!["loop.*", "/dev/loop.*"]);
        assert_eq!(c.sections[0].name, "amp_nginx");
    }

    #[test]
    fn injects_glances_defaults_after_file_options() {
        let c = parse("[cpu]\nuser_careful=10\ntotal_careful=65\n").unwrap();
        let cpu = c.section("cpu").unwrap();
        assert_eq!(cpu.options[0], ("user_careful".into(), "10".into()));
        assert_eq!(cpu.options[1].0, "total_careful");
        assert_eq!(cpu.get("iowait_careful"), Some("40.0"));
        assert_eq!(cpu.get("ctx_switches_critical"), Some("100000.0"));
        let names: Vec<_> = Config::default_sections();
        assert!(names.iter().all(|n| c.section(n).is_some()));
    }

    #[test]
    fn no_file_gives_the_eleven_default_sections() {
        let mut c = Config::default();
        c.inject_defaults(2);
        let names: Vec<&str> = c.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, Config::default_sections());
        assert_eq!(c.get("load", "careful"), Some("0.7"));
    }

    #[test]
    fn malformed_values_name_file_section_and_key() {
        let err = parse("[mem]\ncareful=lots\n").unwrap_err().to_string();
        assert!(
            err.contains("test.conf") && err.contains("[mem]") && err.contains("'careful'"),
            "{err}"
        );
        let err = parse("[cpu]\nrefresh=0\n").unwrap_err().to_string();
        assert!(err.contains("[cpu]") && err.contains("refresh"), "{err}");
        let err = parse("[fs]\ndisable=maybe\n").unwrap_err().to_string();
        assert!(err.contains("disable"), "{err}");
        let err = parse("[fs]\ncareful=1\ncareful=2\n").unwrap_err().to_string();
        assert!(err.contains("twice"), "{err}");
        assert!(parse("orphan=1\n[fs]\n").is_err());
    }

    #[test]
    fn values_are_never_executed() {
        let c = parse("[global]\nhostname=`touch /tmp/glint-pwned`\n").unwrap();
        assert_eq!(c.get("global", "hostname"), Some("`touch /tmp/glint-pwned`"));
    }

    #[test]
    fn processlist_nice_lists_are_allowed() {
        let c = parse("[processlist]\nnice_warning=-20,-19,1\n").unwrap();
        assert_eq!(c.get("processlist", "nice_warning"), Some("-20,-19,1"));
    }
}
