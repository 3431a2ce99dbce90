//! `cloud`: the instance this host runs as, from an EC2-style metadata
//! service (spec §8.3).
//!
//! Off unless configured: Glances probes 169.254.169.254 whenever it can;
//! glint only asks the service named by the glint key
//! `[cloud] metadata_url=<base>` (e.g.
//! `http://169.254.169.254/latest/meta-data`), plain HTTP, and serves `{}`
//! otherwise. The EC2 paths are fetched once, on a background thread started
//! by the first collection; the result appears whole once every path was
//! asked (a path the service refuses is left out, as in Glances).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value};
use tracing::{debug, warn};

use super::ports::http;
use super::{Env, Plugin};

/// Glances' timeout per metadata request.
const TIMEOUT: Duration = Duration::from_secs(3);
const PLATFORM: &str = "Amazon EC2";
/// Field → EC2 metadata path, in Glances' order.
const FIELDS: [(&str, &str); 4] = [
    ("id", "ami-id"),
    ("name", "instance-id"),
    ("type", "instance-type"),
    ("region", "placement/availability-zone"),
];

pub struct Cloud {
    base_url: Option<String>,
    stats: Arc<Mutex<Map<String, Value>>>,
    started: bool,
}

impl Cloud {
    pub fn new(env: &Env) -> Cloud {
        let base_url = env
            .config
            .get("cloud", "metadata_url")
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty());
        Cloud {
            base_url,
            stats: Arc::default(),
            started: false,
        }
    }

    fn start(&mut self, base: String) {
        self.started = true;
        let stats = Arc::clone(&self.stats);
        let spawned = std::thread::Builder::new()
            .name("glint-cloud".into())
            .spawn(move || *stats.lock().unwrap_or_else(PoisonError::into_inner) = fetch(&base));
        if let Err(e) = spawned {
            warn!(error = %e, "cloud: cannot start the metadata thread");
        }
    }
}

/// Ask every path; stop at the first unreachable one (then no `platform`,
/// like Glances).
fn fetch(base: &str) -> Map<String, Value> {
    let mut stats = Map::new();
    for (field, path) in FIELDS {
        let url = format!("{base}/{path}");
        match http::request("GET", &url, TIMEOUT, None) {
            Ok(r) if r.ok() => {
                stats.insert(field.into(), r.body.into());
            }
            Ok(r) => debug!(url, status = r.status, "cloud: metadata path refused"),
            Err(e) => {
                warn!(url, error = %e, "cloud: metadata service unreachable");
                return stats;
            }
        }
    }
    stats.insert("platform".into(), PLATFORM.into());
    stats
}

impl Plugin for Cloud {
    fn name(&self) -> &'static str {
        "cloud"
    }

    fn collect(&mut self) -> Value {
        if let Some(base) = self.base_url.clone().filter(|_| !self.started) {
            self.start(base);
        }
        Value::Object(self.stats.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::ports::test_http::Server;
    use crate::config::Config;
    use serde_json::json;
    use std::path::Path;
    use std::time::Instant;

    fn cloud(conf: &str) -> Cloud {
        let config = Config::parse(conf, Path::new("test.conf")).unwrap();
        Cloud::new(&Env::new("/nonexistent", Arc::new(config)))
    }

    fn settle(c: &mut Cloud) -> Value {
        let started = Instant::now();
        loop {
            let stats = c.collect();
            if stats.as_object().is_some_and(|m| !m.is_empty()) || started.elapsed() > Duration::from_secs(5) {
                return stats;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn off_without_metadata_url() {
        let mut c = cloud("[cloud]\ndisable=False\n");
        assert_eq!(c.collect(), json!({}));
        assert!(!c.started);
    }

    #[test]
    fn reads_ec2_paths_once_in_glances_order() {
        let server = Server::start(|_, path| match path {
            "/latest/meta-data/ami-id" => (200, vec![], "ami-0abc".into()),
            "/latest/meta-data/instance-id" => (200, vec![], "i-0123456789".into()),
            "/latest/meta-data/instance-type" => (200, vec![], "t3.micro".into()),
            "/latest/meta-data/placement/availability-zone" => (200, vec![], "eu-west-3a".into()),
            _ => (404, vec![], String::new()),
        });
        let mut c = cloud(&format!("[cloud]\nmetadata_url={}/\n", server.url("/latest/meta-data")));
        let stats = settle(&mut c);
        assert_eq!(
            crate::json::to_bytes(&stats),
            br#"{"id":"ami-0abc","name":"i-0123456789","type":"t3.micro","region":"eu-west-3a","platform":"Amazon EC2"}"#
        );
        c.collect();
        assert_eq!(server.requests().len(), 4, "fetched once");
    }

    #[test]
    fn refused_path_is_left_out() {
        let server = Server::start(|_, path| match path {
            "/md/instance-type" => (404, vec![], "nope".into()),
            _ => (200, vec![], "x".into()),
        });
        let mut c = cloud(&format!("[cloud]\nmetadata_url={}\n", server.url("/md")));
        let stats = settle(&mut c);
        let keys: Vec<&str> = stats.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "name", "region", "platform"]);
    }

    #[test]
    fn unreachable_service_gives_no_platform() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stats = fetch(&format!("http://127.0.0.1:{port}/latest/meta-data"));
        assert!(stats.is_empty());
    }
}
