//! `sensors`: temperatures, fan speeds and the battery (spec §8.27), read
//! from /sys the way psutil's `sensors_temperatures()`, `sensors_fans()` and
//! `sensors_battery()` do, then shaped and labelled like Glances.
//!
//! Not done on purpose: the hddtemp daemon (Glances connects to
//! 127.0.0.1:7634 by default; glint reaches nothing unasked), and Glances'
//! one-collection lag of temperatures (glint reports the current reading).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::filter::DisplayFilter;
use super::{Env, Plugin};
use crate::limits::{Level, Limits};
use crate::views::Decorator;

pub const TEMPERATURE: &str = "temperature_core";
pub const FAN: &str = "fan_speed";
pub const BATTERY: &str = "battery";

/// One psutil sensor entry (`shwtemp` or `sfan`).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub label: String,
    pub current: f64,
    pub high: Option<f64>,
    pub critical: Option<f64>,
}

impl Reading {
    /// psutil copies a lone high point to critical and a lone critical point
    /// to high (a 0 counts as missing).
    fn temperature(label: String, current: f64, high: Option<f64>, critical: Option<f64>) -> Reading {
        let set = |v: Option<f64>| v.filter(|v| *v != 0.0);
        let (high, critical) = match (set(high), set(critical)) {
            (Some(h), None) => (high, Some(h)),
            (None, Some(c)) => (Some(c), critical),
            _ => (high, critical),
        };
        Reading {
            label,
            current,
            high,
            critical,
        }
    }
}

/// psutil's dict of chip name → readings, in first-seen order (chips with
/// the same name share one list).
pub type Chips = Vec<(String, Vec<Reading>)>;

fn add_reading(chips: &mut Chips, chip: String, reading: Reading) {
    match chips.iter_mut().find(|(name, _)| *name == chip) {
        Some((_, readings)) => readings.push(reading),
        None => chips.push((chip, vec![reading])),
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    super::read_text(path).ok().map(|s| s.trim().to_string())
}

fn read_number(path: &Path) -> Option<f64> {
    read_trimmed(path)?.parse().ok()
}

/// The files of every `hwmon*` directory and of its `device/`, listed
/// once per collection (temperatures and fans look at both layouts).
struct HwmonFiles {
    direct: Vec<PathBuf>,
    under_device: Vec<PathBuf>,
}

impl HwmonFiles {
    fn list(env: &Env) -> HwmonFiles {
        let dirs: Vec<PathBuf> = std::fs::read_dir(env.path("sys/class/hwmon"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("hwmon"))
            .map(|e| e.path())
            .collect();
        let files_in = |dir: PathBuf| std::fs::read_dir(dir).into_iter().flatten().flatten().map(|f| f.path());
        HwmonFiles {
            direct: dirs.iter().cloned().flat_map(files_in).collect(),
            under_device: dirs.iter().map(|d| d.join("device")).flat_map(files_in).collect(),
        }
    }

    /// `hwmon*/[device/]<kind>N` bases that have at least one `<kind>N_*`
    /// file, deduplicated and sorted like psutil's glob results.
    fn bases(&self, kind: &str, under_device: bool) -> Vec<PathBuf> {
        let files = if under_device { &self.under_device } else { &self.direct };
        let mut bases: Vec<PathBuf> = files
            .iter()
            .filter_map(|file| {
                let name = file.file_name()?.to_string_lossy();
                let (base, _) = name.split_once('_')?;
                base.starts_with(kind).then(|| file.with_file_name(base))
            })
            .collect();
        sort_as_text(&mut bases);
        bases.dedup();
        bases
    }
}

/// The chip name of a sensor base (`name` beside it).
fn chip_name(base: &Path) -> Option<String> {
    read_trimmed(&base.with_file_name("name"))
}

/// Sort paths as text, as psutil sorts its glob results: byte order is
/// code point order for UTF-8 names (not `Path`'s order, which compares
/// components), without a String per comparison.
fn sort_as_text(paths: &mut [PathBuf]) {
    paths.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
}

fn suffixed(base: &Path, suffix: &str) -> PathBuf {
    let mut name = base.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// psutil `sensors_temperatures()`: hwmon `temp*` sensors in °C (a sensor
/// whose input or chip name cannot be read is skipped); thermal zones only
/// when hwmon has no temperature at all.
fn temperatures(env: &Env, hwmon: &HwmonFiles) -> Chips {
    let mut bases = hwmon.bases("temp", false);
    bases.extend(hwmon.bases("temp", true));
    sort_as_text(&mut bases);
    if bases.is_empty() {
        return thermal_zones(env);
    }
    let millis = |base: &Path, suffix: &str| read_number(&suffixed(base, suffix)).map(|v| v / 1000.0);
    let mut chips = Chips::new();
    for base in &bases {
        let (Some(current), Some(chip)) = (millis(base, "_input"), chip_name(base)) else {
            continue;
        };
        let label = read_trimmed(&suffixed(base, "_label")).unwrap_or_default();
        let reading = Reading::temperature(label, current, millis(base, "_max"), millis(base, "_crit"));
        add_reading(&mut chips, chip, reading);
    }
    chips
}

/// psutil's fallback: `thermal_zone*` with `high`/`critical` trip points.
fn thermal_zones(env: &Env) -> Chips {
    let Ok(dir) = std::fs::read_dir(env.path("sys/class/thermal")) else {
        return Chips::new();
    };
    let mut zones: Vec<PathBuf> = dir
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
        .map(|e| e.path())
        .collect();
    zones.sort();
    let mut chips = Chips::new();
    for zone in zones {
        let (Some(temp), Some(kind)) = (read_number(&zone.join("temp")), read_trimmed(&zone.join("type"))) else {
            continue;
        };
        let (high, critical) = trip_points(&zone);
        let reading = Reading::temperature(String::new(), temp / 1000.0, high, critical);
        add_reading(&mut chips, kind, reading);
    }
    chips
}

/// (high, critical) trip temperatures of a thermal zone, in °C.
fn trip_points(zone: &Path) -> (Option<f64>, Option<f64>) {
    let (mut high, mut critical) = (None, None);
    for n in 0.. {
        let Some(kind) = read_trimmed(&zone.join(format!("trip_point_{n}_type"))) else {
            break;
        };
        let temp = read_number(&zone.join(format!("trip_point_{n}_temp"))).map(|t| t / 1000.0);
        match kind.as_str() {
            "critical" => critical = temp,
            "high" => high = temp,
            _ => {}
        }
    }
    (high, critical)
}

/// psutil `sensors_fans()`: hwmon `fan*` inputs in RPM (the `device/`
/// layout only when no hwmon directory has fans itself).
fn fans(hwmon: &HwmonFiles) -> Chips {
    let mut bases = hwmon.bases("fan", false);
    if bases.is_empty() {
        bases = hwmon.bases("fan", true);
    }
    let mut chips = Chips::new();
    for base in &bases {
        let rpm = read_trimmed(&suffixed(base, "_input")).and_then(|v| v.parse::<i64>().ok());
        let (Some(rpm), Some(chip)) = (rpm, chip_name(base)) else {
            continue;
        };
        let label = read_trimmed(&suffixed(base, "_label")).unwrap_or_default();
        add_reading(
            &mut chips,
            chip,
            Reading {
                label,
                current: rpm as f64,
                high: None,
                critical: None,
            },
        );
    }
    chips
}

/// psutil `sensors_battery()`: (percent, AC plugged in) of the first
/// battery, by name, under power_supply.
pub fn battery(env: &Env) -> Option<(f64, Option<bool>)> {
    let supplies = env.path("sys/class/power_supply");
    let name = std::fs::read_dir(&supplies)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("BAT") || n.to_lowercase().contains("battery"))
        .min()?;
    let dir = supplies.join(name);
    // The first of `paths` that exists; a non-integer content fails psutil.
    let first_int = |paths: &[PathBuf]| -> Result<Option<i64>, ()> {
        match paths.iter().find_map(|p| read_trimmed(p)) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| ()),
        }
    };
    let energy_now = first_int(&[dir.join("energy_now"), dir.join("charge_now")]).ok()?;
    let energy_full = first_int(&[dir.join("energy_full"), dir.join("charge_full")]).ok()?;
    let percent = match (energy_now, energy_full) {
        (Some(_), Some(0)) => 0.0,
        (Some(now), Some(full)) => 100.0 * now as f64 / full as f64,
        _ => read_trimmed(&dir.join("capacity"))?.parse::<i64>().ok()? as f64,
    };
    let plugged = match first_int(&[supplies.join("AC0/online"), supplies.join("AC/online")]) {
        Ok(Some(online)) => Some(online == 1),
        Err(()) => Some(false),
        Ok(None) => match read_trimmed(&dir.join("status"))
            .unwrap_or_default()
            .to_lowercase()
            .as_str()
        {
            "discharging" => Some(false),
            "charging" | "full" => Some(true),
            _ => None,
        },
    };
    Some((percent, plugged))
}

/// Glances' elements for one psutil dict: empty labels become
/// `"<chip> <index in chip>"`, a label already used in this list becomes
/// `"<label> <k>"` (k counting per chip from 1); values are truncated.
pub fn labelled(chips: &Chips, unit: &str, kind: &str) -> Vec<Map<String, Value>> {
    let mut out: Vec<Map<String, Value>> = Vec::new();
    for (chip, readings) in chips {
        let mut repeat = 1;
        for (index, reading) in readings.iter().enumerate() {
            let label = if reading.label.is_empty() {
                format!("{chip} {index}")
            } else if out.iter().any(|m| m["label"] == reading.label.as_str()) {
                let numbered = format!("{} {repeat}", reading.label);
                repeat += 1;
                numbered
            } else {
                reading.label.clone()
            };
            let truncated = |v: Option<f64>| v.map_or(Value::Null, |v| Value::from(v as i64));
            let mut m = Map::with_capacity(7);
            m.insert("label".into(), label.into());
            m.insert("unit".into(), unit.into());
            m.insert("value".into(), (reading.current as i64).into());
            m.insert("warning".into(), truncated(reading.high));
            m.insert("critical".into(), truncated(reading.critical));
            m.insert("type".into(), kind.into());
            m.insert("key".into(), "label".into());
            out.push(m);
        }
    }
    out
}

fn battery_element(percent: f64, plugged: Option<bool>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("label".into(), "Battery".into());
    m.insert("value".into(), (percent as i64).into());
    m.insert("unit".into(), "%".into());
    let status = if plugged == Some(true) {
        "Charging"
    } else {
        "Discharging"
    };
    m.insert("status".into(), status.into());
    m.insert("type".into(), BATTERY.into());
    m.insert("key".into(), "label".into());
    m
}

pub struct Sensors {
    env: Env,
    filter: DisplayFilter,
}

impl Sensors {
    pub fn new(env: &Env) -> Sensors {
        Sensors {
            env: env.clone(),
            filter: DisplayFilter::from_config(&env.config, "sensors"),
        }
    }

    /// `[sensors] <label>_alias=`, then `<label>_<type>_alias=` (lower
    /// case); the first comma-separated piece, if not empty.
    fn alias(&self, label: &str, kind: &str) -> Option<String> {
        [label.to_lowercase(), format!("{label}_{kind}").to_lowercase()]
            .iter()
            .filter_map(|key| self.env.config.get("sensors", &format!("{key}_alias")))
            .map(|raw| raw.split(',').next().unwrap_or_default().to_string())
            .find(|alias| !alias.is_empty())
    }
}

impl Plugin for Sensors {
    fn name(&self) -> &'static str {
        "sensors"
    }

    fn collect(&mut self) -> Value {
        let hwmon = HwmonFiles::list(&self.env);
        let mut all = labelled(&temperatures(&self.env, &hwmon), "C", TEMPERATURE);
        all.extend(labelled(&fans(&hwmon), "R", FAN));
        all.extend(battery(&self.env).map(|(percent, plugged)| battery_element(percent, plugged)));
        let mut shown = Vec::with_capacity(all.len());
        for mut element in all {
            let label = element["label"].as_str().unwrap_or_default().to_string();
            if !self.filter.displays(&label) {
                continue;
            }
            let kind = element["type"].as_str().unwrap_or_default();
            if let Some(alias) = self.alias(&label, kind) {
                element.insert("label".into(), alias.into());
            }
            shown.push(Value::Object(element));
        }
        Value::Array(shown)
    }

    fn key(&self) -> Option<&'static str> {
        Some("label")
    }

    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        for item in stats.as_array().into_iter().flatten() {
            let (Some(label), Some(kind)) = (item["label"].as_str(), item["type"].as_str()) else {
                continue;
            };
            // Glances skips zero (and non-numeric) values.
            let Some(value) = item["value"].as_f64().filter(|v| *v != 0.0) else {
                continue;
            };
            match kind {
                TEMPERATURE => {
                    let header = format!("temperature_{label}");
                    if limits.get(&format!("sensors_{header}_critical")).is_some() {
                        d.evaluate(limits, "sensors", &header, label, "value", value, 100.0, false);
                    } else {
                        let own = own_limits_level(value, item["warning"].as_f64(), item["critical"].as_f64());
                        d.set(label, "value", own, false);
                    }
                }
                BATTERY => {
                    d.evaluate(limits, "sensors", kind, label, "value", 100.0 - value, 100.0, false);
                }
                _ => {
                    d.evaluate(limits, "sensors", kind, label, "value", value, 100.0, false);
                }
            }
        }
    }
}

/// A temperature against the sensor's own high/critical points.
fn own_limits_level(value: f64, warning: Option<f64>, critical: Option<f64>) -> Level {
    match (warning, critical) {
        (_, None) => Level::Default,
        (_, Some(c)) if value >= c => Level::Critical,
        (None, _) => Level::Default,
        (Some(w), _) if value >= w => Level::Warning,
        _ => Level::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::sync::Arc;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sensors");

    fn env(config: &str) -> Env {
        let config = Config::parse(config, Path::new("t.conf")).expect("test config");
        Env::new(FIXTURE, Arc::new(config))
    }

    fn labels(stats: &Value) -> Vec<String> {
        let items = stats.as_array().expect("sensors stats are a list");
        items
            .iter()
            .map(|i| i["label"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn temperatures_like_psutil() {
        let env = env("[sensors]\n");
        let chips = temperatures(&env, &HwmonFiles::list(&env));
        let names: Vec<&str> = chips.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["nvme", "coretemp", "acpitz"]);
        assert_eq!(
            chips[0].1[0],
            Reading {
                label: String::new(),
                current: 38.85,
                high: Some(81.85),
                critical: Some(84.85)
            }
        );
        // Two coretemp chips share one list; temp10 sorts before temp2.
        let core: Vec<&str> = chips[1].1.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            core,
            ["Package id 0", "Core 0", "Core 1", "Package id 1", "Core 8", "Core 0"]
        );
    }

    /// What Glances 3.4.0.5 with psutil 7.2.2 returned for this fixture tree
    /// (mounted over /sys/class in a private mount namespace), second update.
    const GLANCES_OUTPUT: &str = concat!(
        r#"[{"label":"nvme 0","unit":"C","value":38,"warning":81,"critical":84,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"nvme 1","unit":"C","value":41,"warning":null,"critical":null,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"Package id 0","unit":"C","value":52,"warning":80,"critical":100,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"Core 0","unit":"C","value":50,"warning":80,"critical":100,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"Core 1","unit":"C","value":49,"warning":80,"critical":100,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"Package id 1","unit":"C","value":60,"warning":80,"critical":100,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"Core 8","unit":"C","value":85,"warning":80,"critical":100,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"Core 0 1","unit":"C","value":57,"warning":80,"critical":100,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"acpitz 0","unit":"C","value":27,"warning":105,"critical":105,"type":"temperature_core","key":"label"},"#,
        r#"{"label":"nct6775 0","unit":"R","value":1250,"warning":null,"critical":null,"type":"fan_speed","key":"label"},"#,
        r#"{"label":"nct6775 1","unit":"R","value":0,"warning":null,"critical":null,"type":"fan_speed","key":"label"},"#,
        r#"{"label":"Battery","value":82,"unit":"%","status":"Discharging","type":"battery","key":"label"}]"#
    );

    #[test]
    fn full_list_matches_glances_on_the_same_tree() {
        // Labels: unlabeled chips get "<chip> <index>", the repeated "Core 0"
        // of the second package becomes "Core 0 1"; acpitz's lone critical
        // point is copied to warning; the battery's energy ratio (82 %) wins
        // over its capacity file (87).
        let stats = Sensors::new(&env("[sensors]\n")).collect();
        assert_eq!(
            String::from_utf8(crate::json::to_bytes(&stats)).unwrap(),
            GLANCES_OUTPUT
        );
    }

    #[test]
    fn hide_show_and_aliases() {
        let stats = Sensors::new(&env(
            "[sensors]\nhide=NVME.*,core 0.*\npackage id 0_alias=CPU\nbattery_battery_alias=Laptop\n",
        ))
        .collect();
        assert_eq!(
            labels(&stats),
            [
                "CPU",
                "Core 1",
                "Package id 1",
                "Core 8",
                "acpitz 0",
                "nct6775 0",
                "nct6775 1",
                "Laptop"
            ]
        );
        let only = Sensors::new(&env("[sensors]\nshow=battery\n")).collect();
        assert_eq!(labels(&only), ["Battery"]);
    }

    #[test]
    fn old_and_new_layouts_are_sorted_together() {
        // psutil globs hwmon*/temp*_* and hwmon*/device/temp*_* and sorts
        // the joined list: hwmon0/device/temp1 comes before hwmon1/temp1.
        let dir = tempfile::tempdir().unwrap();
        let hwmon = dir.path().join("sys/class/hwmon");
        for (base, chip) in [("hwmon0/device", "old"), ("hwmon1", "new")] {
            std::fs::create_dir_all(hwmon.join(base)).unwrap();
            std::fs::write(hwmon.join(base).join("name"), format!("{chip}\n")).unwrap();
            std::fs::write(hwmon.join(base).join("temp1_input"), "40000\n").unwrap();
        }
        let env = Env::new(dir.path(), Arc::new(Config::default()));
        let chips = temperatures(&env, &HwmonFiles::list(&env));
        let names: Vec<&str> = chips.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["old", "new"]);
    }

    #[test]
    fn battery_status_from_status_file_without_mains() {
        let dir = tempfile::tempdir().unwrap();
        let bat = dir.path().join("sys/class/power_supply/BAT1");
        std::fs::create_dir_all(&bat).unwrap();
        std::fs::write(bat.join("capacity"), "64\n").unwrap();
        std::fs::write(bat.join("status"), "Charging\n").unwrap();
        let env = Env::new(dir.path(), Arc::new(Config::default()));
        assert_eq!(battery(&env), Some((64.0, Some(true))));
        std::fs::write(bat.join("status"), "Not charging\n").unwrap();
        assert_eq!(battery(&env), Some((64.0, None)));
        std::fs::remove_file(bat.join("capacity")).unwrap();
        assert_eq!(battery(&env), None);
    }

    #[test]
    /// psutil divides an already converted trip temperature by 1000 again
    /// for every later trip point, in set (hash) order, so Glances shows 0
    /// or 100 at random here; glint converts once.
    fn thermal_zones_when_hwmon_has_no_temperature() {
        let dir = tempfile::tempdir().unwrap();
        let zone = dir.path().join("sys/class/thermal/thermal_zone0");
        std::fs::create_dir_all(&zone).unwrap();
        for (file, text) in [
            ("temp", "47000"),
            ("type", "x86_pkg_temp"),
            ("trip_point_0_type", "passive"),
            ("trip_point_0_temp", "0"),
            ("trip_point_1_type", "critical"),
            ("trip_point_1_temp", "100000"),
        ] {
            std::fs::write(zone.join(file), format!("{text}\n")).unwrap();
        }
        let env = Env::new(dir.path(), Arc::new(Config::default()));
        let stats = Sensors::new(&env).collect();
        assert_eq!(
            String::from_utf8(crate::json::to_bytes(&stats)).unwrap(),
            r#"[{"label":"x86_pkg_temp 0","unit":"C","value":47,"warning":100,"critical":100,"type":"temperature_core","key":"label"}]"#
        );
    }

    #[test]
    fn no_sensors_is_an_empty_list() {
        let env = Env::new("/nonexistent-root", Arc::new(Config::default()));
        assert_eq!(Sensors::new(&env).collect(), Value::Array(vec![]));
    }

    #[test]
    fn views_follow_each_sensor_type() {
        let config = "[sensors]\npackage id 0_alias=cpu\ntemperature_cpu_critical=50\nfan_speed_critical=1000\n\
                      fan_speed_warning=900\nfan_speed_careful=800\nbattery_careful=10\nbattery_warning=90\n\
                      battery_critical=95\n";
        let mut sensors = Sensors::new(&env(config));
        let stats = sensors.collect();
        let limits = Limits::from_config("sensors", &Config::parse(config, Path::new("t.conf")).unwrap());
        let mut d = Decorator::default();
        sensors.decorate(&stats, &limits, &mut d);
        let views = sensors.views(&stats, &d);
        let decoration = |label: &str| {
            views[label]["value"]["decoration"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(
            decoration("cpu"),
            "CRITICAL",
            "configured temperature_<label> limits win"
        );
        assert_eq!(decoration("Core 1"), "OK", "own limits: 49 < high 80");
        assert_eq!(decoration("Core 8"), "WARNING", "own limits: 85 >= high 80");
        assert_eq!(decoration("nvme 1"), "DEFAULT", "no own critical");
        assert_eq!(decoration("nct6775 0"), "CRITICAL", "1250 rpm >= fan_speed_critical");
        assert_eq!(decoration("nct6775 1"), "DEFAULT", "a stopped fan is skipped");
        assert_eq!(decoration("Battery"), "CAREFUL", "100 - 82 = 18 >= battery_careful 10");
        assert_eq!(views["Battery"]["status"]["decoration"], "DEFAULT");
        assert!(d.evaluations.is_empty(), "sensors log only when configured");
    }

    #[test]
    fn own_limits_table() {
        assert_eq!(own_limits_level(90.0, Some(80.0), Some(90.0)), Level::Critical);
        assert_eq!(own_limits_level(85.0, None, Some(90.0)), Level::Default);
        assert_eq!(own_limits_level(95.0, None, Some(90.0)), Level::Critical);
        assert_eq!(own_limits_level(50.0, Some(80.0), None), Level::Default);
        assert_eq!(own_limits_level(50.0, Some(80.0), Some(90.0)), Level::Ok);
    }
}
