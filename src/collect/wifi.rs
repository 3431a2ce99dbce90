//! `wifi`: the link of each wireless interface (spec §8.31).
//!
//! Glances 3.4 under Python 3 always returns `[]` here (its scanning library
//! is declared incompatible). glint reports the current link instead, from
//! /proc/net/wireless, and never triggers a scan: a scan disturbs the link
//! and needs privileges. The SSID comes from the `SIOCGIWESSID` ioctl (a
//! local query of the associated network); without it the interface name
//! stands in. Encryption is unknown without a scan, so it is `null`.

use serde_json::{Map, Value};

use super::filter::DisplayFilter;
use super::{Env, Plugin};
use crate::limits::{Level, Limits};
use crate::views::Decorator;

/// One interface line of /proc/net/wireless.
#[derive(Debug, Clone, PartialEq)]
pub struct WirelessLink {
    pub interface: String,
    /// Link quality, on the driver's scale.
    pub quality: f64,
    /// Signal level (dBm for every cfg80211 driver).
    pub level: f64,
}

/// The interface lines after the two header lines; a trailing `.` on a
/// value only means "updated since the last read".
pub fn parse_wireless(text: &str) -> Vec<WirelessLink> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (interface, rest) = line.split_once(':')?;
            let mut cols = rest
                .split_whitespace()
                .skip(1)
                .map(|c| c.trim_end_matches('.').parse::<f64>().ok());
            Some(WirelessLink {
                interface: interface.trim().to_string(),
                quality: cols.next()??,
                level: cols.next()??,
            })
        })
        .collect()
}

/// Quality as the `wifi` library printed it (`"54/70"`): cfg80211 maps dBm
/// drivers' signal to 0..70; drivers without dBm use a 0..100 scale.
fn quality_text(link: &WirelessLink) -> String {
    let scale = if link.level < 0.0 { 70 } else { 100 };
    format!("{}/{scale}", link.quality as i64)
}

/// The SSID an interface is associated with; `None` for a non-wireless or
/// unassociated interface.
pub type SsidFn = fn(&str) -> Option<String>;

/// `SIOCGIWESSID` (iwgetid's call): asks the driver for the current ESSID;
/// no frame is sent.
pub fn associated_ssid(interface: &str) -> Option<String> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const SIOCGIWESSID: libc::c_ulong = 0x8B1B;
    const IW_ESSID_MAX_SIZE: usize = 32;

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct IwPoint {
        pointer: *mut libc::c_void,
        length: u16,
        flags: u16,
    }
    // `union iwreq_data` is 16 bytes on every Linux ABI.
    #[repr(C)]
    union IwReqData {
        essid: IwPoint,
        _size: [u64; 2],
    }
    #[repr(C)]
    struct IwReq {
        name: [libc::c_char; libc::IFNAMSIZ],
        data: IwReqData,
    }

    if interface.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: plain socket(2); the descriptor is owned (and closed) below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` is a fresh, valid descriptor nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut essid = [0u8; IW_ESSID_MAX_SIZE + 1];
    let mut name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (dst, src) in name.iter_mut().zip(interface.bytes()) {
        *dst = src as libc::c_char;
    }
    let mut request = IwReq {
        name,
        data: IwReqData {
            essid: IwPoint {
                pointer: essid.as_mut_ptr().cast(),
                length: essid.len() as u16,
                flags: 0,
            },
        },
    };
    // SAFETY: `request` is a valid iwreq whose pointer targets `essid`,
    // which outlives the call and is as long as `length` says.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCGIWESSID as _, &mut request) };
    if rc < 0 {
        return None;
    }
    // SAFETY: the kernel filled the `essid` member of the union.
    let length = usize::from(unsafe { request.data.essid.length }).min(IW_ESSID_MAX_SIZE);
    let ssid = String::from_utf8_lossy(&essid[..length])
        .trim_end_matches('\0')
        .to_string();
    (!ssid.is_empty()).then_some(ssid)
}

fn no_ssid(_: &str) -> Option<String> {
    None
}

pub struct Wifi {
    env: Env,
    filter: DisplayFilter,
    ssid_of: SsidFn,
}

impl Wifi {
    pub fn new(env: &Env) -> Wifi {
        // The ioctl asks the running kernel, which only matches the real root.
        let ssid_of = if env.root == std::path::Path::new("/") {
            associated_ssid
        } else {
            no_ssid
        };
        Wifi {
            env: env.clone(),
            filter: DisplayFilter::from_config(&env.config, "wifi"),
            ssid_of,
        }
    }

    /// Replace the SSID lookup (tests).
    pub fn with_ssid_lookup(mut self, ssid_of: SsidFn) -> Wifi {
        self.ssid_of = ssid_of;
        self
    }

    fn entry(&self, link: &WirelessLink) -> Value {
        let ssid = (self.ssid_of)(&link.interface).unwrap_or_else(|| link.interface.clone());
        let mut m = Map::new();
        m.insert("key".into(), "ssid".into());
        m.insert("ssid".into(), ssid.into());
        m.insert("signal".into(), (link.level as i64).into());
        m.insert("quality".into(), quality_text(link).into());
        m.insert("encrypted".into(), Value::Null);
        m.insert("encryption_type".into(), Value::Null);
        Value::Object(m)
    }
}

/// Glances' wifi rule: lower signal is worse, compared with `<=` against
/// `wifi_critical`, then `wifi_warning`, then `wifi_careful`; a missing
/// threshold that is needed gives DEFAULT.
pub fn signal_level(limits: &Limits, signal: f64) -> Level {
    let steps = [
        ("critical", Level::Critical),
        ("warning", Level::Warning),
        ("careful", Level::Careful),
    ];
    for (name, level) in steps {
        match limits.get_f64(&format!("wifi_{name}")) {
            None => return Level::Default,
            Some(limit) if signal <= limit => return level,
            Some(_) => {}
        }
    }
    Level::Ok
}

impl Plugin for Wifi {
    fn name(&self) -> &'static str {
        "wifi"
    }

    fn collect(&mut self) -> Value {
        let text = self.env.read("proc/net/wireless").unwrap_or_default();
        let links = parse_wireless(&text);
        let shown = links.iter().filter(|l| self.filter.displays(&l.interface));
        Value::Array(shown.map(|l| self.entry(l)).collect())
    }

    fn key(&self) -> Option<&'static str> {
        Some("ssid")
    }

    /// `quality` takes the decoration of `signal`; no events.
    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        for item in stats.as_array().into_iter().flatten() {
            let (Some(ssid), Some(signal)) = (item["ssid"].as_str(), item["signal"].as_f64()) else {
                continue;
            };
            let level = signal_level(limits, signal);
            d.set(ssid, "signal", level, false);
            d.set(ssid, "quality", level, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;
    use std::sync::Arc;

    fn wifi(config: &str) -> Wifi {
        let config = Config::parse(config, Path::new("t.conf")).expect("test config");
        Wifi::new(&Env::new(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wifi"),
            Arc::new(config),
        ))
    }

    #[test]
    fn parses_levels_and_quality() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/wifi/proc/net/wireless"
        ))
        .unwrap();
        let links = parse_wireless(&text);
        assert_eq!(
            links,
            vec![
                WirelessLink {
                    interface: "wlp2s0".into(),
                    quality: 54.0,
                    level: -56.0
                },
                WirelessLink {
                    interface: "wlan1".into(),
                    quality: 30.0,
                    level: -80.0
                },
            ]
        );
        assert_eq!(quality_text(&links[0]), "54/70");
        assert_eq!(
            quality_text(&WirelessLink {
                interface: "x".into(),
                quality: 40.0,
                level: 180.0
            }),
            "40/100"
        );
    }

    #[test]
    fn elements_in_glances_order_with_interface_as_ssid() {
        let stats = wifi("[wifi]\n").collect();
        assert_eq!(
            crate::json::to_bytes(&stats),
            br#"[{"key":"ssid","ssid":"wlp2s0","signal":-56,"quality":"54\/70","encrypted":null,"encryption_type":null},{"key":"ssid","ssid":"wlan1","signal":-80,"quality":"30\/70","encrypted":null,"encryption_type":null}]"#
        );
    }

    #[test]
    fn ssid_lookup_and_hide() {
        fn home(interface: &str) -> Option<String> {
            (interface == "wlp2s0").then(|| "HomeNet".to_string())
        }
        let stats = wifi("[wifi]\nhide=WLAN.*\n").with_ssid_lookup(home).collect();
        assert_eq!(stats.as_array().map(Vec::len), Some(1));
        assert_eq!(stats[0]["ssid"], "HomeNet");
    }

    #[test]
    fn missing_file_is_an_empty_list() {
        let env = Env::new("/nonexistent-root", Arc::new(Config::default()));
        assert_eq!(Wifi::new(&env).collect(), Value::Array(vec![]));
    }

    #[test]
    fn essid_ioctl_on_a_non_wireless_interface_is_none() {
        assert_eq!(associated_ssid("lo"), None);
        assert_eq!(associated_ssid("a-name-longer-than-ifnamsiz"), None);
    }

    #[test]
    fn lower_signal_is_worse() {
        let config = Config::parse("[wifi]\ncareful=-65\nwarning=-75\ncritical=-85\n", Path::new("t.conf")).unwrap();
        let limits = Limits::from_config("wifi", &config);
        assert_eq!(signal_level(&limits, -56.0), Level::Ok);
        assert_eq!(signal_level(&limits, -65.0), Level::Careful);
        assert_eq!(signal_level(&limits, -80.0), Level::Warning);
        assert_eq!(signal_level(&limits, -85.0), Level::Critical);
        assert_eq!(signal_level(&Limits::default(), -90.0), Level::Default);

        let mut plugin = wifi("[wifi]\n");
        let stats = plugin.collect();
        let mut d = Decorator::default();
        plugin.decorate(&stats, &limits, &mut d);
        let views = plugin.views(&stats, &d);
        assert_eq!(views["wlp2s0"]["signal"]["decoration"], "OK");
        assert_eq!(views["wlan1"]["signal"]["decoration"], "WARNING");
        assert_eq!(views["wlan1"]["quality"]["decoration"], "WARNING");
        assert_eq!(views["wlan1"]["encrypted"]["decoration"], "DEFAULT");
        assert!(d.evaluations.is_empty());
    }
}
