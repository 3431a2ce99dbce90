//! `connections`: TCP socket states and netfilter conntrack usage from
//! /proc/sys/net/netfilter (spec §8.4). The states come from the kernel's
//! sock_diag interface on the host ([`super::sock_diag`]), else (a fixture
//! root, or sock_diag refused) from /proc/net/tcp{,6} as psutil reads them.

use serde_json::{Map, Value};

use super::sock_diag::SockDiag;
use super::{Env, Plugin, read_opt};
use crate::json::float;
use crate::limits::Limits;
use crate::views::Decorator;

/// Sockets per TCP state, over the IPv4 and IPv6 tables.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct TcpStates {
    pub listen: u64,
    pub established: u64,
    pub syn_sent: u64,
    pub syn_recv: u64,
}

impl TcpStates {
    /// Count the rows of one /proc/net/tcp* table (after its header) by
    /// their `st` column. `None` on a malformed row: psutil raises there,
    /// and Glances then reports the table as unreadable.
    fn add_table(&mut self, text: &str) -> Option<()> {
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            if cols.len() < 10 {
                return None;
            }
            match cols[3] {
                "0A" => self.listen += 1,
                "01" => self.established += 1,
                "02" => self.syn_sent += 1,
                "03" => self.syn_recv += 1,
                _ => {}
            }
        }
        Some(())
    }

    pub fn parse(tcp: &str, tcp6: Option<&str>) -> Option<TcpStates> {
        let mut states = TcpStates::default();
        states.add_table(tcp)?;
        if let Some(tcp6) = tcp6 {
            states.add_table(tcp6)?;
        }
        Some(states)
    }
}

/// psutil's `net_connections(kind="tcp")` reduced to state counts. A
/// missing tcp6 only means no IPv6; an unreadable one is an error.
fn read_tcp_tables(env: &Env) -> Option<TcpStates> {
    let tcp = read_opt(env, "proc/net/tcp")?;
    let tcp6_path = env.path("proc/net/tcp6");
    let tcp6 = if tcp6_path.exists() {
        Some(super::read_text(&tcp6_path).ok()?)
    } else {
        None
    };
    TcpStates::parse(&tcp, tcp6.as_deref())
}

/// `nf_conntrack_count` / `nf_conntrack_max` as floats, like Glances.
fn read_conntrack(env: &Env, name: &str) -> Option<f64> {
    read_opt(env, &format!("proc/sys/net/netfilter/{name}"))?
        .trim()
        .parse()
        .ok()
}

pub struct Connections {
    env: Env,
    /// Where the root is the host's own, until the kernel refuses a dump.
    sock_diag: Option<SockDiag>,
}

impl Connections {
    pub fn new(env: &Env) -> Connections {
        let sock_diag = (env.root == std::path::Path::new("/"))
            .then(SockDiag::open)
            .and_then(|opened| opened.map_err(sock_diag_failed).ok());
        Connections {
            env: env.clone(),
            sock_diag,
        }
    }

    fn tcp_states(&mut self) -> Option<TcpStates> {
        if let Some(diag) = &mut self.sock_diag {
            match diag.tcp_states() {
                Ok(states) => return Some(states),
                Err(error) => {
                    sock_diag_failed(error);
                    self.sock_diag = None;
                }
            }
        }
        read_tcp_tables(&self.env)
    }
}

fn sock_diag_failed(error: std::io::Error) {
    tracing::warn!(%error, "connections: the kernel's sock_diag interface failed; reading /proc/net/tcp and tcp6 from now on (dearer on hosts with much RAM)");
}

/// Fill `m` with the state counts. Glances quirk kept: `terminated` sums
/// the SYN states again, so it always equals `initiated`.
fn insert_states(m: &mut Map<String, Value>, s: TcpStates) {
    m.insert("LISTEN".into(), s.listen.into());
    m.insert("ESTABLISHED".into(), s.established.into());
    m.insert("SYN_SENT".into(), s.syn_sent.into());
    m.insert("SYN_RECV".into(), s.syn_recv.into());
    let initiated = s.syn_sent + s.syn_recv;
    m.insert("initiated".into(), initiated.into());
    m.insert("terminated".into(), initiated.into());
}

/// Fill `m` with conntrack usage; `false` when a file is missing. As in
/// Glances, a count read before a missing max stays in the stats.
fn insert_conntrack(m: &mut Map<String, Value>, env: &Env) -> bool {
    let Some(count) = read_conntrack(env, "nf_conntrack_count") else {
        return false;
    };
    m.insert("nf_conntrack_count".into(), float(count));
    let Some(max) = read_conntrack(env, "nf_conntrack_max") else {
        return false;
    };
    m.insert("nf_conntrack_max".into(), float(max));
    // Glances would divide by zero here; 0 % is the honest answer.
    let percent = if max > 0.0 { count * 100.0 / max } else { 0.0 };
    m.insert("nf_conntrack_percent".into(), float(percent));
    true
}

impl Plugin for Connections {
    fn name(&self) -> &'static str {
        "connections"
    }

    fn collect(&mut self) -> Value {
        let mut m = Map::new();
        m.insert("net_connections_enabled".into(), true.into());
        m.insert("nf_conntrack_enabled".into(), true.into());
        // Without the TCP table Glances reports nothing else, not even conntrack.
        let Some(states) = self.tcp_states() else {
            m.insert("net_connections_enabled".into(), false.into());
            return Value::Object(m);
        };
        insert_states(&mut m, states);
        if !insert_conntrack(&mut m, &self.env) {
            m.insert("nf_conntrack_enabled".into(), false.into());
        }
        Value::Object(m)
    }

    /// Glances quirk kept: the level is computed for the value 0, not for
    /// the real percent (so `OK` whenever thresholds exist).
    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        let enabled = stats.get("nf_conntrack_enabled") == Some(&Value::Bool(true));
        if enabled && stats.get("nf_conntrack_percent").is_some() {
            let field = "nf_conntrack_percent";
            d.evaluate(limits, "connections", field, "", field, 0.0, 100.0, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::json::to_bytes;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    /// Captured on the build VM: /proc/net/tcp (header, its LISTEN and
    /// ESTABLISHED rows and five TIME_WAIT rows of ~420), the empty tcp6
    /// table and the conntrack count and max.
    fn captured_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/connections")
    }

    fn env_with(root: &Path, config: &str) -> Env {
        let config = Config::parse(config, Path::new("t.conf")).expect("test config");
        Env::new(root, Arc::new(config))
    }

    fn text(v: &Value) -> String {
        String::from_utf8(to_bytes(v)).expect("utf8")
    }

    /// A root holding copies of the captured files, minus `drop`, plus
    /// `(relative path, content)` overrides.
    fn variant(drop: &[&str], files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let captured = [
            "proc/net/tcp",
            "proc/net/tcp6",
            "proc/sys/net/netfilter/nf_conntrack_count",
            "proc/sys/net/netfilter/nf_conntrack_max",
        ];
        let copied = captured.iter().filter(|p| !drop.contains(p)).map(|p| {
            let body = std::fs::read_to_string(captured_root().join(p)).expect("fixture");
            (p.to_string(), body)
        });
        let written = files.iter().map(|(p, b)| (p.to_string(), b.to_string()));
        for (path, body) in copied.chain(written) {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, body).expect("write");
        }
        dir
    }

    const TCP6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    /// Hand-written IPv6 rows: a LISTEN socket, an outgoing SYN_SENT and an
    /// incoming request socket in SYN_RECV (shorter row, inode 0).
    const TCP6_ROWS: &str = "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21043 1 0000000000000000 100 0 0 10 0\n   1: 0000000000000000FFFF00000100007F:C350 0000000000000000FFFF00000100007F:01BB 02 00000001:00000000 01:00000064 00000000  1000        0 51234 1 0000000000000000 20 0 0 10 -1\n   2: 00000000000000000000000001000000:0016 00000000000000000000000001000000:D2F0 03 00000000:00000000 02:00000089 00000000     0        0 0 0 0000000000000000\n";

    #[test]
    fn captured_tables_and_conntrack() {
        let stats = Connections::new(&env_with(&captured_root(), "")).collect();
        assert_eq!(
            text(&stats),
            r#"{"net_connections_enabled":true,"nf_conntrack_enabled":true,"LISTEN":5,"ESTABLISHED":2,"SYN_SENT":0,"SYN_RECV":0,"initiated":0,"terminated":0,"nf_conntrack_count":66.0,"nf_conntrack_max":262144.0,"nf_conntrack_percent":0.025177001953125}"#
        );
    }

    #[test]
    fn a_failed_dump_falls_back_to_proc_for_good() {
        let mut plugin = Connections {
            env: env_with(&captured_root(), ""),
            sock_diag: Some(SockDiag::failing()),
        };
        // The captured tables' counts (see captured_tables_and_conntrack).
        let from_proc = Some(TcpStates {
            listen: 5,
            established: 2,
            ..TcpStates::default()
        });
        assert_eq!(plugin.tcp_states(), from_proc, "the refresh that failed still counts");
        assert!(plugin.sock_diag.is_none(), "sock_diag is given up after one failure");
        assert_eq!(plugin.tcp_states(), from_proc);
    }

    #[test]
    fn ipv6_rows_count_and_terminated_equals_initiated() {
        let tcp6 = format!("{TCP6_HEADER}{TCP6_ROWS}");
        let root = variant(&[], &[("proc/net/tcp6", &tcp6)]);
        let stats = Connections::new(&env_with(root.path(), "")).collect();
        assert_eq!(
            (stats["LISTEN"].as_u64(), stats["ESTABLISHED"].as_u64()),
            (Some(6), Some(2))
        );
        assert_eq!(
            (stats["SYN_SENT"].as_u64(), stats["SYN_RECV"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(stats["initiated"], 2);
        assert_eq!(stats["terminated"], 2);
    }

    #[test]
    fn missing_tcp6_is_fine_missing_tcp_disables_everything() {
        let no_v6 = variant(&["proc/net/tcp6"], &[]);
        let stats = Connections::new(&env_with(no_v6.path(), "")).collect();
        assert_eq!(stats["LISTEN"], 5);

        let no_tcp = variant(&["proc/net/tcp"], &[]);
        let stats = Connections::new(&env_with(no_tcp.path(), "")).collect();
        assert_eq!(
            text(&stats),
            r#"{"net_connections_enabled":false,"nf_conntrack_enabled":true}"#
        );

        let malformed = variant(&[], &[("proc/net/tcp6", "header\n   0: 0100007F:0016 0A\n")]);
        let stats = Connections::new(&env_with(malformed.path(), "")).collect();
        assert_eq!(stats["net_connections_enabled"], false);
    }

    #[test]
    fn conntrack_absent_or_partial() {
        let none = variant(
            &[
                "proc/sys/net/netfilter/nf_conntrack_count",
                "proc/sys/net/netfilter/nf_conntrack_max",
            ],
            &[],
        );
        let stats = Connections::new(&env_with(none.path(), "")).collect();
        assert_eq!(
            text(&stats),
            r#"{"net_connections_enabled":true,"nf_conntrack_enabled":false,"LISTEN":5,"ESTABLISHED":2,"SYN_SENT":0,"SYN_RECV":0,"initiated":0,"terminated":0}"#
        );
        let count_only = variant(&["proc/sys/net/netfilter/nf_conntrack_max"], &[]);
        let stats = Connections::new(&env_with(count_only.path(), "")).collect();
        assert_eq!(stats["nf_conntrack_enabled"], false);
        assert_eq!(stats["nf_conntrack_count"], 66.0);
        assert!(stats.get("nf_conntrack_percent").is_none());
    }

    fn percent_view(config: &str, stats: &Value) -> Value {
        let env = env_with(Path::new("/nonexistent"), config);
        let limits = Limits::from_config("connections", &env.config);
        let plugin = Connections::new(&env);
        let mut d = Decorator::default();
        plugin.decorate(stats, &limits, &mut d);
        plugin.views(stats, &d)
    }

    #[test]
    fn conntrack_decoration_uses_zero_not_the_percent() {
        let stats = serde_json::json!({"net_connections_enabled": true, "nf_conntrack_enabled": true, "nf_conntrack_percent": 95.0});
        let shipped = "[connections]\nnf_conntrack_percent_careful=70\nnf_conntrack_percent_warning=80\nnf_conntrack_percent_critical=90\n";
        assert_eq!(
            percent_view(shipped, &stats)["nf_conntrack_percent"]["decoration"],
            "OK"
        );
        assert_eq!(
            percent_view("", &stats)["nf_conntrack_percent"]["decoration"],
            "DEFAULT"
        );
        assert_eq!(
            percent_view(shipped, &stats)["net_connections_enabled"]["decoration"],
            "DEFAULT"
        );
    }
}
