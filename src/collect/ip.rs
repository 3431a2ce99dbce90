//! `ip`: the IPv4 address of the interface carrying the default route, and
//! optionally the public address (spec §8.13).
//!
//! Glances needs the netifaces library and serves `{}` without it; glint
//! reads the default route from `/proc/net/route` and the address with
//! `getifaddrs`, so it always has real data.
//!
//! The public address lookup is off unless configured: it needs both
//! `[ip] public_ip_disabled=False` and the glint key `[ip] public_api=<url>`
//! (a plain `http://` service answering with the address as text or JSON
//! `{"ip": ...}` / `{"origin": ...}`, e.g. `http://api.ipify.org/`). Glances'
//! built-in HTTPS services and Censys lookups are not used, so
//! `public_info_human` is always `""`. The lookup runs on a background
//! thread (2 s timeout) when the private address changes or every
//! `public_refresh_interval` seconds (default 300).
//!
//! Without a default route glint serves `{}` (Glances keeps stale stats).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tracing::{debug, warn};

use super::ports::http;
use super::{Env, Plugin};
use crate::config::parse_bool;

const PUBLIC_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_PUBLIC_REFRESH: f64 = 300.0;
/// `RTF_UP` in a route's flags.
const ROUTE_UP: u32 = 0x1;

/// The default IPv4 route.
#[derive(Debug, Clone, PartialEq)]
pub struct DefaultRoute {
    pub interface: String,
    pub gateway: Ipv4Addr,
}

/// The up default route with the lowest metric in `/proc/net/route` text.
pub fn parse_default_route(text: &str) -> Option<DefaultRoute> {
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (iface, dest, gateway, flags, metric, mask) = (
                cols.first()?,
                cols.get(1)?,
                cols.get(2)?,
                cols.get(3)?,
                cols.get(6)?,
                cols.get(7)?,
            );
            let default = hex(dest)? == 0 && hex(mask)? == 0 && hex(flags)? & ROUTE_UP != 0;
            // The kernel prints the address in host (little-endian) order.
            let gateway = Ipv4Addr::from(hex(gateway)?.to_le_bytes());
            default.then(|| {
                (
                    metric.parse::<u32>().unwrap_or(u32::MAX),
                    DefaultRoute {
                        interface: iface.to_string(),
                        gateway,
                    },
                )
            })
        })
        .min_by_key(|(metric, _)| *metric)
        .map(|(_, route)| route)
}

/// The default route of the host under `env`'s root.
pub fn default_gateway(env: &Env) -> Option<DefaultRoute> {
    parse_default_route(&env.read("proc/net/route").ok()?)
}

/// Finds an interface's first IPv4 address and netmask.
pub type AddressLookup = Box<dyn Fn(&str) -> Option<(Ipv4Addr, Ipv4Addr)> + Send>;

/// The real lookup, through `getifaddrs`.
fn interface_address(interface: &str) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    addrs.filter(|a| a.interface_name == interface).find_map(|a| {
        let address = a.address?.as_sockaddr_in()?.ip();
        let mask = a.netmask?.as_sockaddr_in()?.ip();
        Some((address, mask))
    })
}

/// An IP address from a lookup service's reply: plain text, or a JSON
/// object with `ip` or `origin` (httpbin's comma-separated form included).
pub fn parse_public_address(body: &str) -> Option<String> {
    let body = body.trim();
    let text = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(obj)) => ["ip", "origin"]
            .iter()
            .find_map(|k| obj.get(*k)?.as_str().map(String::from))?,
        _ => body.to_string(),
    };
    let mut addresses: Vec<String> = Vec::new();
    for part in text.split(',').map(str::trim) {
        let ip: IpAddr = part.parse().ok()?;
        if !addresses.contains(&ip.to_string()) {
            addresses.push(ip.to_string());
        }
    }
    (!addresses.is_empty()).then(|| addresses.join(", "))
}

/// The optional public address lookup.
struct PublicLookup {
    url: String,
    interval: Duration,
    /// `""` before the first answer, `null` after a failed lookup.
    address: Arc<Mutex<Value>>,
    running: Arc<AtomicBool>,
    last_start: Option<Instant>,
    last_private: Option<Ipv4Addr>,
}

impl PublicLookup {
    /// Configured only with `public_ip_disabled=False` and `public_api`.
    fn from_env(env: &Env) -> Option<PublicLookup> {
        let enabled = env.config.get("ip", "public_ip_disabled").and_then(parse_bool) == Some(false);
        let url = env.config.get("ip", "public_api").filter(|u| !u.trim().is_empty())?;
        let interval = env
            .config
            .get_f64("ip", "public_refresh_interval")
            .unwrap_or(DEFAULT_PUBLIC_REFRESH);
        enabled.then(|| PublicLookup {
            url: url.trim().to_string(),
            interval: Duration::try_from_secs_f64(interval).unwrap_or(Duration::from_secs_f64(DEFAULT_PUBLIC_REFRESH)),
            address: Arc::new(Mutex::new(Value::from(""))),
            running: Arc::default(),
            last_start: None,
            last_private: None,
        })
    }

    /// Start a lookup if due and none runs; return the latest answer.
    fn refresh(&mut self, private: Ipv4Addr) -> Value {
        let due = self.last_private != Some(private) || self.last_start.is_none_or(|t| t.elapsed() >= self.interval);
        if due && !self.running.swap(true, Ordering::AcqRel) {
            self.last_start = Some(Instant::now());
            self.last_private = Some(private);
            self.spawn();
        }
        self.address.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn spawn(&self) {
        let (url, address, running) = (self.url.clone(), Arc::clone(&self.address), Arc::clone(&self.running));
        let spawned = std::thread::Builder::new()
            .name("glint-public-ip".into())
            .spawn(move || {
                let found = match http::request("GET", &url, PUBLIC_TIMEOUT, None) {
                    Ok(r) if r.ok() => parse_public_address(&r.body),
                    Ok(r) => {
                        debug!(url, status = r.status, "ip: public address service refused");
                        None
                    }
                    Err(e) => {
                        debug!(url, error = %e, "ip: public address lookup failed");
                        None
                    }
                };
                *address.lock().unwrap_or_else(PoisonError::into_inner) = found.map_or(Value::Null, Value::from);
                running.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            warn!(error = %e, "ip: cannot start the public address lookup");
            self.running.store(false, Ordering::Release);
        }
    }
}

pub struct Ip {
    env: Env,
    lookup: AddressLookup,
    public: Option<PublicLookup>,
}

impl Ip {
    pub fn new(env: &Env) -> Ip {
        Ip::with_lookup(env, Box::new(interface_address))
    }

    /// With another interface address source (tests).
    pub fn with_lookup(env: &Env, lookup: AddressLookup) -> Ip {
        Ip {
            env: env.clone(),
            lookup,
            public: PublicLookup::from_env(env),
        }
    }
}

/// Prefix length of a netmask (`255.255.255.0` → 24).
fn mask_cidr(mask: Ipv4Addr) -> u32 {
    u32::from(mask).count_ones()
}

impl Plugin for Ip {
    fn name(&self) -> &'static str {
        "ip"
    }

    /// Glances' key order: gateway, address, mask, mask_cidr, then the
    /// public fields when the lookup is enabled.
    fn collect(&mut self) -> Value {
        let mut m = Map::new();
        let Some(route) = default_gateway(&self.env) else {
            return Value::Object(m);
        };
        let Some((address, mask)) = (self.lookup)(&route.interface) else {
            return Value::Object(m);
        };
        m.insert("gateway".into(), route.gateway.to_string().into());
        m.insert("address".into(), address.to_string().into());
        m.insert("mask".into(), mask.to_string().into());
        m.insert("mask_cidr".into(), mask_cidr(mask).into());
        if let Some(public) = &mut self.public {
            m.insert("public_address".into(), public.refresh(address));
            m.insert("public_info_human".into(), "".into());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::ports::test_http::Server;
    use crate::config::Config;
    use serde_json::json;
    use std::path::Path;

    /// tests/fixtures/ip/proc/net/route: captured from this machine's VM.
    const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ip");

    fn ip(conf: &str, root: &str) -> Ip {
        let config = Config::parse(conf, Path::new("test.conf")).unwrap();
        let fake: AddressLookup = Box::new(|iface| {
            (iface == "eth0").then(|| (Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(255, 255, 255, 0)))
        });
        Ip::with_lookup(&Env::new(root, Arc::new(config)), fake)
    }

    #[test]
    fn default_route_lowest_metric_up_only() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
                    eth1\t00000000\t0201A8C0\t0002\t0\t0\t10\t00000000\t0\t0\t0\n\
                    eth0\t00000000\t FE01A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
                    eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n";
        let route = parse_default_route(text).unwrap();
        assert_eq!(
            route,
            DefaultRoute {
                interface: "eth0".into(),
                gateway: Ipv4Addr::new(192, 168, 1, 254)
            }
        );
        assert_eq!(parse_default_route("Iface\tDestination\n"), None);
        assert_eq!(parse_default_route(""), None);
    }

    #[test]
    fn local_address_mask_and_gateway_in_glances_order() {
        let stats = ip("[ip]\npublic_ip_disabled=False\n", ROOT).collect();
        assert_eq!(
            crate::json::to_bytes(&stats),
            br#"{"gateway":"192.0.2.1","address":"192.0.2.10","mask":"255.255.255.0","mask_cidr":24}"#
        );
    }

    #[test]
    fn empty_without_route_or_address() {
        assert_eq!(ip("", "/nonexistent").collect(), json!({}));
        let text = std::fs::read_to_string(format!("{ROOT}/proc/net/route"))
            .unwrap()
            .replace("eth0", "eth9");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        std::fs::write(dir.path().join("proc/net/route"), text).unwrap();
        assert_eq!(ip("", dir.path().to_str().unwrap()).collect(), json!({}));
    }

    #[test]
    fn public_lookup_needs_both_keys() {
        assert!(ip("[ip]\npublic_api=http://127.0.0.1:1/\n", ROOT).public.is_none());
        assert!(
            ip("[ip]\npublic_ip_disabled=True\npublic_api=http://127.0.0.1:1/\n", ROOT)
                .public
                .is_none()
        );
        assert!(ip("[ip]\npublic_ip_disabled=False\n", ROOT).public.is_none());
    }

    #[test]
    fn public_address_from_a_configured_service() {
        let server = Server::start(|_, _| (200, vec![], r#"{"ip": "203.0.113.7"}"#.into()));
        let conf = format!(
            "[ip]\npublic_ip_disabled=False\npublic_api={}\npublic_refresh_interval=300\n",
            server.url("/ip")
        );
        let mut plugin = ip(&conf, ROOT);
        let first = plugin.collect();
        let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "gateway",
                "address",
                "mask",
                "mask_cidr",
                "public_address",
                "public_info_human"
            ]
        );
        let started = Instant::now();
        let mut stats = first;
        while stats["public_address"] == "" && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
            stats = plugin.collect();
        }
        assert_eq!(stats["public_address"], "203.0.113.7");
        assert_eq!(stats["public_info_human"], "");
        plugin.collect();
        assert_eq!(server.requests().len(), 1, "refreshed only after the interval");
    }

    #[test]
    fn parses_public_address_replies() {
        assert_eq!(parse_public_address("198.51.100.4\n").as_deref(), Some("198.51.100.4"));
        assert_eq!(
            parse_public_address(r#"{"origin": "198.51.100.4, 198.51.100.4"}"#).as_deref(),
            Some("198.51.100.4")
        );
        assert_eq!(parse_public_address("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(parse_public_address("<html>blocked</html>"), None);
        assert_eq!(parse_public_address(r#"{"address": "1.2.3.4"}"#), None);
    }

    #[test]
    fn real_interface_lookup_finds_loopback() {
        assert_eq!(
            interface_address("lo"),
            Some((Ipv4Addr::LOCALHOST, Ipv4Addr::new(255, 0, 0, 0)))
        );
        assert_eq!(interface_address("no-such-if0"), None);
    }
}
