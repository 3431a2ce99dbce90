//! `folders`: the recursive size of configured folders (spec §8.9).
//!
//! Each folder has its own refresh (`folder_<n>_refresh`, default 30 s).
//! A due folder is measured on a background thread so a huge tree never
//! holds up the plugin; until the measure finishes the last known size is
//! reported (on the very first collection the plugin waits briefly, so
//! small folders have a size right away).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{Env, Plugin};
use crate::config::Config;

/// Glances reads at most this many `folder_<n>_` entries.
const MAX_FOLDERS: usize = 10;
const DEFAULT_REFRESH_S: u64 = 30;
/// How long the first collection waits for the first measures.
const FIRST_WAIT: Duration = Duration::from_millis(500);

/// Sum of `st_size` of every non-directory entry under `path`, directories
/// recursed. Symbolic links are counted as links (their own size) and never
/// followed, so a link cannot lead the walk out of the tree or into a loop
/// (Glances follows them). Any directory that cannot be listed fails the
/// whole measure, as in Glances.
pub fn folder_size(path: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            // DirEntry::metadata does not traverse symlinks (lstat).
            let Ok(meta) = entry.metadata() else {
                continue; // vanished meanwhile; Glances skips it too
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    Ok(total)
}

/// The `size` field: bytes, `"!"` on permission denied, `"?"` otherwise.
pub fn size_value(measure: io::Result<u64>) -> Value {
    match measure {
        Ok(bytes) => bytes.into(),
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => "!".into(),
        Err(_) => "?".into(),
    }
}

/// One configured folder and the state of its measures.
struct Folder {
    /// indice, path, refresh, thresholds and actions, in Glances' order.
    fields: Map<String, Value>,
    /// Where to measure: the configured path under the collector root.
    location: PathBuf,
    refresh: Duration,
    size: Option<Value>,
    measuring: Option<Receiver<Value>>,
    measured_at: Option<Instant>,
}

impl Folder {
    fn from_config(config: &Config, n: usize, env: &Env) -> Option<Folder> {
        let option = |name: &str| config.get("folders", &format!("folder_{n}_{name}"));
        let path = option("path")?;
        let refresh = option("refresh")
            .and_then(|r| r.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_REFRESH_S);
        let mut fields = Map::new();
        fields.insert("indice".into(), n.to_string().into());
        fields.insert("path".into(), path.into());
        fields.insert("refresh".into(), refresh.into());
        for level in ["careful", "warning", "critical"] {
            fields.insert(level.into(), option(level).map_or(Value::Null, Value::from));
            if let Some(action) = option(&format!("{level}_action")) {
                fields.insert(format!("{level}_action"), action.into());
            }
        }
        Some(Folder {
            fields,
            location: env.path(path),
            refresh: Duration::from_secs(refresh),
            size: None,
            measuring: None,
            measured_at: None,
        })
    }

    /// Take a finished measure, if any.
    fn poll(&mut self) {
        let Some(rx) = &self.measuring else { return };
        match rx.try_recv() {
            Ok(size) => self.finish(size),
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => self.finish("?".into()),
        }
    }

    /// Wait for a running measure until `deadline`.
    fn wait(&mut self, deadline: Instant) {
        let Some(rx) = &self.measuring else { return };
        if let Ok(size) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.finish(size);
        }
    }

    fn finish(&mut self, size: Value) {
        self.size = Some(size);
        self.measuring = None;
        // Like Glances' timer, the refresh counts from the end of a measure.
        self.measured_at = Some(Instant::now());
    }

    fn due(&self) -> bool {
        self.measuring.is_none() && self.measured_at.is_none_or(|t| t.elapsed() >= self.refresh)
    }

    fn start_measure(&mut self) {
        let (tx, rx) = mpsc::channel();
        let location = self.location.clone();
        let spawned = std::thread::Builder::new().name("folder-size".into()).spawn(move || {
            // The receiver may be gone when the plugin was dropped.
            let _ = tx.send(size_value(folder_size(&location)));
        });
        match spawned {
            Ok(_) => self.measuring = Some(rx),
            Err(e) => tracing::warn!("folders: cannot start measuring {}: {e}", self.location.display()),
        }
    }

    fn stats(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("key".into(), "path".into());
        if let Some(size) = &self.size {
            m.insert("size".into(), size.clone());
        }
        Value::Object(m)
    }
}

pub struct Folders {
    folders: Vec<Folder>,
    first: bool,
}

impl Folders {
    pub fn new(env: &Env) -> Folders {
        let folders = (1..=MAX_FOLDERS)
            .filter_map(|n| Folder::from_config(&env.config, n, env))
            .collect();
        Folders { folders, first: true }
    }
}

impl Plugin for Folders {
    fn name(&self) -> &'static str {
        "folders"
    }

    /// Sizes are measured on threads of their own; only the first
    /// collection waits for them.
    fn quick(&self) -> bool {
        self.folders.is_empty() || !self.first
    }

    fn collect(&mut self) -> Value {
        for folder in &mut self.folders {
            folder.poll();
            if folder.due() {
                folder.start_measure();
            }
        }
        if std::mem::take(&mut self.first) {
            let deadline = Instant::now() + FIRST_WAIT;
            self.folders.iter_mut().for_each(|f| f.wait(deadline));
        }
        Value::Array(self.folders.iter().map(Folder::stats).collect())
    }

    fn key(&self) -> Option<&'static str> {
        Some("path")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/folders");

    fn folders(config: &str) -> Folders {
        let config = Config::parse(config, Path::new("t.conf")).expect("test config");
        Folders::new(&Env::new(FIXTURE, Arc::new(config)))
    }

    #[test]
    fn sums_file_sizes_recursively() {
        // data/a.txt 10 B, data/sub/b.txt 1000 B, data/sub/deeper/c 7 B
        assert_eq!(folder_size(&Path::new(FIXTURE).join("data")).unwrap(), 1017);
    }

    #[test]
    fn symlinks_count_as_links_and_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), [0u8; 100]).unwrap();
        let link_len = |target: &str| target.len() as u64;
        std::os::unix::fs::symlink("/usr", dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("loop")).unwrap();
        let size = folder_size(dir.path()).unwrap();
        assert_eq!(size, 100 + link_len("/usr") + link_len("."));
    }

    #[test]
    fn errors_map_to_glances_markers() {
        assert_eq!(size_value(Err(io::Error::from_raw_os_error(libc::EACCES))), "!");
        assert_eq!(size_value(Err(io::Error::from_raw_os_error(libc::ENOENT))), "?");
        assert_eq!(size_value(Ok(5)), 5);
        assert_eq!(size_value(folder_size(Path::new("/nonexistent/folder"))), "?");
    }

    #[test]
    fn fields_in_glances_order() {
        let mut plugin = folders(
            "[folders]\nfolder_1_path=/data\nfolder_1_careful=1\nfolder_1_warning=2\nfolder_1_critical=3\n\
             folder_1_critical_action=echo big\nfolder_3_path=/nonexistent\nfolder_3_refresh=5\n",
        );
        assert_eq!(
            crate::json::to_bytes(&plugin.collect()),
            br#"[{"indice":"1","path":"\/data","refresh":30,"careful":"1","warning":"2","critical":"3","critical_action":"echo big","key":"path","size":1017},{"indice":"3","path":"\/nonexistent","refresh":5,"careful":null,"warning":null,"critical":null,"key":"path","size":"?"}]"#
        );
    }

    #[test]
    fn no_section_is_an_empty_list() {
        assert_eq!(folders("[global]\n").collect(), Value::Array(vec![]));
    }

    #[test]
    fn size_is_remeasured_only_when_its_timer_expires() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/f"), [0u8; 10]).unwrap();
        let config = "[folders]\nfolder_1_path=/d\nfolder_2_path=/d\nfolder_2_refresh=0\n";
        let config = Config::parse(config, Path::new("t.conf")).unwrap();
        let mut plugin = Folders::new(&Env::new(dir.path(), Arc::new(config)));
        let first = plugin.collect();
        assert_eq!(
            (first[0]["size"].clone(), first[1]["size"].clone()),
            (10.into(), 10.into())
        );

        std::fs::write(dir.path().join("d/g"), [0u8; 5]).unwrap();
        // folder 2 (refresh 0) starts a new measure at each collection and
        // reports the previous size until it lands; folder 1 keeps its 30 s.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut latest = plugin.collect();
        while latest[1]["size"] != 15 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            latest = plugin.collect();
        }
        assert_eq!(latest[1]["size"], 15);
        assert_eq!(latest[0]["size"], 10);
    }
}
