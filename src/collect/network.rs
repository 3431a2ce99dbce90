//! `network`: per-interface byte counters from /proc/net/dev, with the up
//! flag and link speed from /sys/class/net (spec §8.18).
//!
//! Also home of psutil's counter-wrap bookkeeping ([`WrapNumbers`]), which
//! diskio shares.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::filter::DisplayFilter;
use super::{Env, Interval, Plugin, read_opt, time_since_update};
use crate::config::Config;
use crate::limits::{Level, Limits};
use crate::views::Decorator;

/// Glances reports link speed as Mbit/s × 2^20 (not × 10^6).
const MBPS: u64 = 1_048_576;
/// `IFF_UP` of a net device's flags.
const IFF_UP: u32 = 0x1;

/// Byte counters of one interface: `[received, sent]`.
type Traffic = [u64; 2];

/// `/proc/net/dev` → `(interface, [bytes received, bytes sent])` in file
/// order, like psutil's `net_io_counters(pernic=True)`. Malformed lines are
/// skipped.
pub fn parse_net_dev(text: &str) -> Vec<(String, Traffic)> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            // psutil splits on the last colon: names never contain one there.
            let (name, columns) = line.rsplit_once(':')?;
            let columns: Vec<u64> = columns
                .split_whitespace()
                .map(|c| c.parse().ok())
                .collect::<Option<_>>()?;
            (columns.len() == 16).then(|| (name.trim().to_string(), [columns[0], columns[8]]))
        })
        .collect()
}

/// psutil's `net_if_stats` for one interface: `(is_up, speed in Mbit/s)`,
/// or `None` when sysfs does not know it (Glances then skips the interface).
pub fn link_status(env: &Env, name: &str) -> Option<(bool, u64)> {
    let dir = format!("sys/class/net/{name}");
    let flags = read_opt(env, &format!("{dir}/flags"))?;
    let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()?;
    let operstate = read_opt(env, &format!("{dir}/operstate")).unwrap_or_default();
    // The file reads -1 when the speed is unknown and fails (EINVAL) while
    // the link is down; psutil reports 0 for both.
    let speed = read_opt(env, &format!("{dir}/speed"))
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(0);
    Some((is_running(flags, operstate.trim()), speed))
}

/// psutil's `isup` is the `IFF_RUNNING` flag of SIOCGIFFLAGS, which the
/// kernel derives as: administratively up and operstate `up` or `unknown`
/// (sysfs `flags` holds only the administrative flags).
fn is_running(flags: u32, operstate: &str) -> bool {
    flags & IFF_UP != 0 && matches!(operstate, "up" | "unknown")
}

/// `[<section>] <name>_alias=` (name lower-cased), first comma-separated
/// element like Glances' limits lists.
pub fn configured_alias(config: &Config, section: &str, name: &str) -> Option<String> {
    let raw = config.get(section, &format!("{}_alias", name.to_lowercase()))?;
    raw.split(',').next().map(str::to_string)
}

/// psutil's `nowrap` bookkeeping: a counter that goes backwards (a 32-bit
/// wrap, a re-created device) keeps counting from its old value, so deltas
/// never go negative. Offsets of names that disappear are forgotten.
#[derive(Debug, Default)]
pub struct WrapNumbers<const N: usize> {
    last_raw: HashMap<String, [u64; N]>,
    offsets: HashMap<String, [u64; N]>,
}

impl<const N: usize> WrapNumbers<N> {
    pub fn adjust(&mut self, raw: Vec<(String, [u64; N])>) -> Vec<(String, [u64; N])> {
        let before = std::mem::replace(&mut self.last_raw, raw.iter().cloned().collect());
        self.offsets.retain(|name, _| self.last_raw.contains_key(name));
        raw.into_iter()
            .map(|(name, values)| {
                let Some(old) = before.get(&name) else {
                    return (name, values);
                };
                let offset = self.offsets.entry(name.clone()).or_insert([0; N]);
                for i in 0..N {
                    if values[i] < old[i] {
                        offset[i] = offset[i].saturating_add(old[i]);
                    }
                }
                let adjusted = std::array::from_fn(|i| values[i].saturating_add(offset[i]));
                (name, adjusted)
            })
            .collect()
    }
}

/// With `hide_zero=True`, Glances marks `_zero: false` on the zero-hidden
/// fields of every item where one of them is non-zero (the view's `hidden`
/// is copied into `_zero` before it is computed). Views are otherwise
/// `_zero: true`.
pub fn mark_non_zero(views: &mut Value, stats: &Value, key: &str, fields: &[&str]) {
    for item in stats.as_array().into_iter().flatten() {
        let any_non_zero = fields
            .iter()
            .any(|f| item.get(*f).and_then(Value::as_f64).is_some_and(|v| v != 0.0));
        let Some(id) = item.get(key).and_then(Value::as_str) else {
            continue;
        };
        if !any_non_zero {
            continue;
        }
        for field in fields {
            if let Some(view) = views.get_mut(id).and_then(|v| v.get_mut(*field)) {
                view["_zero"] = false.into();
            }
        }
    }
}

/// Whether every one of `fields` of `item` is zero (Glances' hide_zero test).
pub fn all_zero(item: &Value, fields: &[&str]) -> bool {
    fields
        .iter()
        .all(|f| item.get(*f).and_then(Value::as_f64).is_none_or(|v| v == 0.0))
}

pub struct Network {
    env: Env,
    filter: DisplayFilter,
    hide_zero: bool,
    wrap: WrapNumbers<2>,
    previous: Option<HashMap<String, Traffic>>,
    interval: Interval,
}

impl Network {
    /// Reads the counters once, silently, like Glances' constructor does:
    /// the first visible sample already holds deltas (over the short startup
    /// interval) yet reports `time_since_update` 1.
    pub fn new(env: &Env) -> Network {
        let mut network = Network {
            env: env.clone(),
            filter: DisplayFilter::from_config(&env.config, "network"),
            hide_zero: env.config.get_bool("network", "hide_zero").unwrap_or(false),
            wrap: WrapNumbers::default(),
            previous: None,
            interval: Interval::default(),
        };
        network.previous = network.read_counters().map(|c| c.into_iter().collect());
        network
    }

    fn read_counters(&mut self) -> Option<Vec<(String, Traffic)>> {
        let text = read_opt(&self.env, "proc/net/dev")?;
        Some(self.wrap.adjust(parse_net_dev(&text)))
    }

    fn element(&self, name: &str, since: &Value, now: Traffic, before: Traffic, link: (bool, u64)) -> Value {
        let [cumulative_rx, cumulative_tx] = now;
        let rx = cumulative_rx.saturating_sub(before[0]);
        let tx = cumulative_tx.saturating_sub(before[1]);
        let alias = configured_alias(&self.env.config, "network", name);
        let mut m = Map::with_capacity(12);
        m.insert("interface_name".into(), name.into());
        m.insert("alias".into(), alias.map_or(Value::Null, Value::from));
        m.insert("time_since_update".into(), since.clone());
        m.insert("cumulative_rx".into(), cumulative_rx.into());
        m.insert("rx".into(), rx.into());
        m.insert("cumulative_tx".into(), cumulative_tx.into());
        m.insert("tx".into(), tx.into());
        m.insert(
            "cumulative_cx".into(),
            cumulative_rx.saturating_add(cumulative_tx).into(),
        );
        m.insert("cx".into(), rx.saturating_add(tx).into());
        m.insert("is_up".into(), link.0.into());
        m.insert("speed".into(), link.1.saturating_mul(MBPS).into());
        m.insert("key".into(), "interface_name".into());
        Value::Object(m)
    }
}

const HIDE_ZERO_FIELDS: [&str; 2] = ["rx", "tx"];

impl Plugin for Network {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "network"
    }

    fn collect(&mut self) -> Value {
        let Some(current) = self.read_counters() else {
            return Value::Array(Vec::new());
        };
        let Some(previous) = self.previous.replace(current.iter().cloned().collect()) else {
            // Nothing to diff against yet: remember only, like Glances.
            return Value::Array(Vec::new());
        };
        let since = time_since_update(self.interval.tick());
        let items = current
            .iter()
            .filter(|(name, _)| self.filter.displays(name))
            .filter_map(|(name, now)| {
                let link = link_status(&self.env, name)?;
                // An interface that just appeared has no previous counters:
                // Glances skips it for this one update.
                let before = previous.get(name)?;
                Some(self.element(name, &since, *now, *before, link))
            })
            .collect();
        Value::Array(items)
    }

    fn key(&self) -> Option<&'static str> {
        Some("interface_name")
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["rx", "tx"]
    }

    /// Bit rate against `network_<if>_rx_*` (bit/s), else percent of the
    /// link speed against `network_rx_*`; log only if configured.
    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        for item in stats.as_array().into_iter().flatten() {
            let Some(name) = item.get("interface_name").and_then(Value::as_str) else {
                continue;
            };
            if self.hide_zero && all_zero(item, &HIDE_ZERO_FIELDS) {
                HIDE_ZERO_FIELDS.iter().for_each(|f| d.hide(name, f));
            }
            let since = item.get("time_since_update").and_then(Value::as_f64).unwrap_or(0.0);
            if since == 0.0 {
                continue;
            }
            let speed = item.get("speed").and_then(Value::as_f64).unwrap_or(0.0);
            // Alias interfaces (`eth0:1`) share their device's thresholds.
            let device = name.split(':').next().unwrap_or(name);
            for field in HIDE_ZERO_FIELDS {
                let bytes = item.get(field).and_then(Value::as_f64).unwrap_or(0.0);
                let bits_per_second = (bytes / since).floor() * 8.0;
                let header = format!("{device}_{field}");
                let level = d.evaluate(limits, "network", &header, name, field, bits_per_second, 100.0, false);
                if level == Level::Default && speed != 0.0 {
                    d.evaluate(limits, "network", field, name, field, bits_per_second, speed, false);
                }
            }
        }
    }

    /// hide_zero also rewrites `_zero`, which the standard views cannot.
    fn standard_views(&self) -> bool {
        !self.hide_zero
    }

    fn views(&self, stats: &Value, decorator: &Decorator) -> Value {
        let mut views = decorator.views(stats, self.key(), self.optional_fields());
        if self.hide_zero {
            mark_non_zero(&mut views, stats, "interface_name", &HIDE_ZERO_FIELDS);
        }
        views
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::history_points;
    use crate::json::to_bytes;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    /// Captured on the build VM: /proc/net/dev and the flags/operstate/speed
    /// files of its interfaces (podman's bridge and veths included; `speed`
    /// is absent where reading it gave EINVAL: lo and the down ifb devices).
    fn captured_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/network")
    }

    fn env_with(root: &Path, config: &str) -> Env {
        let config = Config::parse(config, Path::new("t.conf")).expect("test config");
        Env::new(root, Arc::new(config))
    }

    const DEV_HEADER: &str = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

    /// A /proc/net/dev line with the given byte counters (other columns 0).
    fn dev_line(name: &str, rx: u64, tx: u64) -> String {
        format!("{name:>6}: {rx} 0 0 0 0 0 0 0 {tx} 0 0 0 0 0 0 0\n")
    }

    /// A temporary root with /proc/net/dev from `lines` and sysfs entries
    /// for every interface listed in `links` (name, flags, operstate, speed).
    fn fake_root(lines: &[(&str, u64, u64)], links: &[(&str, &str, &str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        write_dev(dir.path(), lines);
        for (name, flags, operstate, speed) in links {
            let class = dir.path().join("sys/class/net").join(name);
            std::fs::create_dir_all(&class).expect("mkdir");
            std::fs::write(class.join("flags"), format!("{flags}\n")).expect("flags");
            std::fs::write(class.join("operstate"), format!("{operstate}\n")).expect("operstate");
            std::fs::write(class.join("speed"), format!("{speed}\n")).expect("speed");
        }
        dir
    }

    fn write_dev(root: &Path, lines: &[(&str, u64, u64)]) {
        std::fs::create_dir_all(root.join("proc/net")).expect("mkdir");
        let body: String = lines.iter().map(|(n, rx, tx)| dev_line(n, *rx, *tx)).collect();
        std::fs::write(root.join("proc/net/dev"), format!("{DEV_HEADER}{body}")).expect("dev");
    }

    #[test]
    fn parses_captured_proc_net_dev_in_file_order() {
        let text = std::fs::read_to_string(captured_root().join("proc/net/dev")).expect("fixture");
        assert_eq!(
            parse_net_dev(&text),
            vec![
                ("lo".to_string(), [2474551, 2474551]),
                ("ifb0".to_string(), [0, 0]),
                ("ifb1".to_string(), [0, 0]),
                ("eth0".to_string(), [151601627, 410022]),
                ("podman0".to_string(), [1312, 984]),
                ("veth0".to_string(), [796, 2576]),
                ("veth1".to_string(), [796, 2182]),
            ]
        );
        assert!(parse_net_dev("header\nheader\n  bad: 1 2 3\n").is_empty());
    }

    #[test]
    fn link_status_from_captured_sysfs() {
        let env = env_with(&captured_root(), "");
        // eth0: flags 0x1003, operstate up, speed -1 (virtio: unknown)
        assert_eq!(link_status(&env, "eth0"), Some((true, 0)));
        // lo: operstate "unknown" still counts as running
        assert_eq!(link_status(&env, "lo"), Some((true, 0)));
        assert_eq!(link_status(&env, "ifb0"), Some((false, 0)));
        assert_eq!(link_status(&env, "wlan9"), None);
        assert!(!is_running(0x1003, "down"));
        assert!(!is_running(0x1002, "up"));
    }

    #[test]
    fn wrap_numbers_keep_counting_like_psutil() {
        let mut wrap = WrapNumbers::<2>::default();
        let s = |v: &[(&str, u64, u64)]| v.iter().map(|(n, a, b)| (n.to_string(), [*a, *b])).collect::<Vec<_>>();
        assert_eq!(wrap.adjust(s(&[("a", 100, 50)])), s(&[("a", 100, 50)]));
        // rx wrapped to 10: the old 100 becomes an offset
        assert_eq!(wrap.adjust(s(&[("a", 10, 60)])), s(&[("a", 110, 60)]));
        assert_eq!(wrap.adjust(s(&[("a", 30, 70)])), s(&[("a", 130, 70)]));
        // gone then back: offsets are forgotten, raw values again
        assert_eq!(wrap.adjust(s(&[])), s(&[]));
        assert_eq!(wrap.adjust(s(&[("a", 5, 5)])), s(&[("a", 5, 5)]));
    }

    #[test]
    fn captured_tree_with_shipped_config() {
        let env = env_with(
            &captured_root(),
            "[network]\nhide=docker.*,lo\neth0_alias=Uplink, WAN\n",
        );
        let mut network = Network::new(&env);
        let stats = network.collect();
        let names: Vec<_> = stats
            .as_array()
            .expect("list")
            .iter()
            .map(|i| i["interface_name"].clone())
            .collect();
        assert_eq!(names, ["ifb0", "ifb1", "eth0", "podman0", "veth0", "veth1"]);
        // The file did not change since the silent read: zero deltas.
        assert_eq!(
            String::from_utf8(to_bytes(&stats[2])).expect("utf8"),
            r#"{"interface_name":"eth0","alias":"Uplink","time_since_update":1,"cumulative_rx":151601627,"rx":0,"cumulative_tx":410022,"tx":0,"cumulative_cx":152011649,"cx":0,"is_up":true,"speed":0,"key":"interface_name"}"#
        );
        assert_eq!(stats[0]["is_up"], false);
        // podman0's bridge reports 10000 Mbit/s
        assert_eq!(stats[3]["speed"], 10000 * MBPS);
    }

    #[test]
    fn first_visible_sample_has_deltas_then_interfaces_come_and_go() {
        let links = [("eth0", "0x1003", "up", "1000"), ("wg0", "0x1091", "unknown", "-1")];
        let root = fake_root(&[("eth0", 1000, 500)], &links);
        let env = env_with(root.path(), "");
        let mut network = Network::new(&env);

        // ghost0 has no sysfs entry (psutil's net_if_stats lacks it): skipped
        write_dev(root.path(), &[("eth0", 4000, 700), ("wg0", 10, 20), ("ghost0", 1, 1)]);
        let first = network.collect();
        // wg0 appeared after the silent read: skipped once, like Glances
        assert_eq!(first.as_array().map(Vec::len), Some(1));
        assert_eq!(
            String::from_utf8(to_bytes(&first[0])).expect("utf8"),
            r#"{"interface_name":"eth0","alias":null,"time_since_update":1,"cumulative_rx":4000,"rx":3000,"cumulative_tx":700,"tx":200,"cumulative_cx":4700,"cx":3200,"is_up":true,"speed":1048576000,"key":"interface_name"}"#
        );

        write_dev(root.path(), &[("wg0", 15, 50)]);
        let second = network.collect();
        let items = second.as_array().expect("list");
        assert_eq!(items.len(), 1, "eth0 vanished");
        assert_eq!(items[0]["interface_name"], "wg0");
        assert_eq!((items[0]["rx"].as_u64(), items[0]["tx"].as_u64()), (Some(5), Some(30)));
        assert!(items[0]["time_since_update"].is_f64());
        assert_eq!(items[0]["speed"], 0);
    }

    #[test]
    fn missing_proc_net_dev_gives_an_empty_list() {
        let root = tempfile::tempdir().expect("tempdir");
        let mut network = Network::new(&env_with(root.path(), ""));
        assert_eq!(network.collect(), Value::Array(Vec::new()));
        // Counters appearing later are first remembered, then diffed.
        write_dev(root.path(), &[("eth0", 1, 1)]);
        assert_eq!(network.collect(), Value::Array(Vec::new()));
    }

    #[test]
    fn history_keys_are_interface_then_field() {
        let stats: Value = serde_json::json!([
            {"interface_name": "lo", "rx": 5, "tx": 6},
            {"interface_name": "eth0", "rx": 7, "tx": 8}
        ]);
        let keys: Vec<String> = history_points(&stats, Some("interface_name"), &["rx", "tx"])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["lo_rx", "eth0_rx", "lo_tx", "eth0_tx"]);
    }

    fn element(name: &str, rx: u64, tx: u64, speed: u64, since: f64) -> Value {
        serde_json::json!({"interface_name": name, "time_since_update": since, "rx": rx, "tx": tx, "speed": speed})
    }

    fn decorated(config: &str, stats: &Value) -> (Value, Vec<crate::views::Evaluation>) {
        let env = env_with(Path::new("/nonexistent"), config);
        let network = Network::new(&env);
        let limits = Limits::from_config("network", &env.config);
        let mut d = Decorator::default();
        network.decorate(stats, &limits, &mut d);
        (network.views(stats, &d), d.evaluations)
    }

    #[test]
    fn views_judge_bit_rate_then_percent_of_speed() {
        let stats = Value::Array(vec![
            // 1000 B in 2 s = 4000 bit/s against eth0's own bit/s thresholds
            element("eth0", 1000, 0, 0, 2.0),
            // 100 Mbit/s link (as Glances counts it), 80 % busy on rx
            element("eth1", 10_485_760, 0, 100 * MBPS, 1.0),
            element("eth1:1", 0, 0, 0, 1.0),
        ]);
        let config = "[network]\nrx_careful=70\nrx_warning=80\nrx_critical=90\ntx_careful=70\ntx_warning=80\ntx_critical=90\neth0_rx_careful=3000\neth0_rx_warning=5000\neth0_rx_critical=9000\n";
        let (views, evaluations) = decorated(config, &stats);
        assert_eq!(views["eth0"]["rx"]["decoration"], "CAREFUL");
        // no eth0_tx_* nor network_* thresholds, and no speed to compare with
        assert_eq!(views["eth0"]["tx"]["decoration"], "DEFAULT");
        assert_eq!(views["eth1"]["rx"]["decoration"], "WARNING");
        assert_eq!(views["eth1"]["tx"]["decoration"], "OK");
        assert_eq!(views["eth1:1"]["rx"]["decoration"], "DEFAULT");
        assert!(evaluations.is_empty(), "log is off unless configured");
        assert_eq!(views["eth0"]["rx"]["hidden"], false);
        assert_eq!(views["eth0"]["rx"]["_zero"], true);
    }

    #[test]
    fn views_log_when_configured() {
        let stats = Value::Array(vec![element("eth0", 1000, 0, 0, 1.0)]);
        let (views, evaluations) = decorated(
            "[network]\neth0_rx_careful=10\neth0_rx_warning=20\neth0_rx_critical=30\nlog=True\n",
            &stats,
        );
        assert_eq!(views["eth0"]["rx"]["decoration"], "CRITICAL_LOG");
        assert_eq!(evaluations.len(), 1);
        assert_eq!(evaluations[0].kind, "NETWORK_ETH0_RX");
        assert_eq!(evaluations[0].value, 8000.0);
    }

    #[test]
    fn hide_zero_hides_idle_interfaces_and_clears_zero_marks_of_busy_ones() {
        let stats = Value::Array(vec![element("idle0", 0, 0, 0, 1.0), element("busy0", 0, 5, 0, 1.0)]);
        let (views, _) = decorated("[network]\nhide_zero=True\n", &stats);
        for field in ["rx", "tx"] {
            assert_eq!(views["idle0"][field]["hidden"], true);
            assert_eq!(views["idle0"][field]["_zero"], true);
            assert_eq!(views["busy0"][field]["hidden"], false);
            assert_eq!(views["busy0"][field]["_zero"], false);
        }
        assert_eq!(views["busy0"]["speed"]["_zero"], true);
        let (plain, _) = decorated("", &stats);
        assert_eq!(plain["idle0"]["rx"]["hidden"], false);
    }
}
