//! `fs`: mounted filesystems and their usage (spec §8.10), as psutil's
//! `disk_partitions(all=False)` and `disk_usage()` see them on Linux.

use std::collections::HashSet;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{Map, Value};

use super::filter::DisplayFilter;
use super::{Env, Plugin};
use crate::json::{float, round_to};
use crate::limits::Limits;
use crate::views::Decorator;

/// One mount of the mount table.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub device: String,
    pub mnt_point: String,
    pub fs_type: String,
}

/// The statvfs numbers psutil's `disk_usage()` uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub frsize: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.blocks * self.frsize
    }

    /// Used by anyone, root's reserve included.
    pub fn used(&self) -> u64 {
        self.blocks.saturating_sub(self.bfree) * self.frsize
    }

    /// Available to unprivileged users.
    pub fn free(&self) -> u64 {
        self.bavail * self.frsize
    }

    /// psutil's user percent: used / (used + free), 1 decimal, 0.0 if empty.
    pub fn percent(&self) -> f64 {
        let user_total = self.used() + self.free();
        if user_total == 0 {
            return 0.0;
        }
        round_to(self.used() as f64 / user_total as f64 * 100.0, 1)
    }
}

/// statvfs of a mount point; `None` when the call fails.
pub type UsageFn = Box<dyn Fn(&Path) -> Option<Usage> + Send>;

fn statvfs_usage(path: &Path) -> Option<Usage> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    Some(Usage {
        blocks: st.blocks(),
        bfree: st.blocks_free(),
        bavail: st.blocks_available(),
        frsize: st.fragment_size(),
    })
}

/// The fs types of /proc/filesystems backed by a device (no `nodev` flag),
/// plus zfs, which psutil keeps although it is flagged `nodev`.
pub fn physical_fs_types(filesystems: &str) -> HashSet<String> {
    filesystems
        .lines()
        .filter_map(|line| match line.trim().strip_prefix("nodev") {
            None => Some(line.trim().to_string()),
            Some(rest) => (rest.trim() == "zfs").then(|| "zfs".to_string()),
        })
        .collect()
}

/// /proc/self/mounts lines with getmntent's octal escapes (`\040` for a
/// space) decoded; psutil reports a `none` device as empty.
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut cols = line.split_ascii_whitespace().map(unescape_octal);
            let device = cols.next()?;
            Some(Mount {
                device: if device == "none" { String::new() } else { device },
                mnt_point: cols.next()?,
                fs_type: cols.next()?,
            })
        })
        .collect()
}

fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match digits {
            Some(d) => {
                out.push(d.iter().fold(0u8, |acc, b| acc.wrapping_mul(8).wrapping_add(b - b'0')));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// psutil's `all=False` rule: a device name and a physical fs type.
pub fn physical(mounts: &[Mount], fs_types: &HashSet<String>) -> Vec<Mount> {
    mounts
        .iter()
        .filter(|m| !m.device.is_empty() && fs_types.contains(&m.fs_type))
        .cloned()
        .collect()
}

/// Glances' `[fs] allow=`: mounts whose fs type contains one of the allowed
/// strings are added, unless their mount point is already listed.
pub fn add_allowed(mut listed: Vec<Mount>, all: &[Mount], allow: &[String]) -> Vec<Mount> {
    let tracked: HashSet<String> = listed.iter().map(|m| m.mnt_point.clone()).collect();
    for mount in all {
        if allow.iter().any(|t| mount.fs_type.contains(t.as_str())) && !tracked.contains(&mount.mnt_point) {
            listed.push(mount.clone());
        }
    }
    listed
}

/// psutil's RootFsDeviceFinder: the real name of `/dev/root` or `rootfs`,
/// from the device number of `/` (via /proc/partitions, then
/// /sys/dev/block/<major>:<minor>/uevent).
fn root_device(env: &Env) -> Option<String> {
    let dev = std::fs::metadata(&env.root).ok()?.dev();
    let (major, minor) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    let from_partitions = || {
        env.read("proc/partitions").ok()?.lines().skip(2).find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let matches = f.len() >= 4 && f[0].parse() == Ok(major) && f[1].parse() == Ok(minor);
            matches.then(|| format!("/dev/{}", f[3]))
        })
    };
    let from_uevent = || {
        env.read(&format!("sys/dev/block/{major}:{minor}/uevent"))
            .ok()?
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("DEVNAME=")
                    .filter(|n| !n.is_empty())
                    .map(|n| format!("/dev/{n}"))
            })
    };
    from_partitions().or_else(from_uevent)
}

/// psutil replaces the `/dev/root` and `rootfs` placeholders by the real
/// device of `/` when it can find it.
fn resolve_root_device(env: &Env, mounts: &mut [Mount]) {
    let placeholder = |m: &Mount| m.device == "/dev/root" || m.device == "rootfs";
    if !mounts.iter().any(placeholder) {
        return;
    }
    if let Some(real) = root_device(env) {
        mounts
            .iter_mut()
            .filter(|m| placeholder(m))
            .for_each(|m| m.device = real.clone());
    }
}

/// A held `/proc/self/mounts`, which the kernel flags with POLLPRI once
/// the mount table changed (proc(5)). Reading the table makes the kernel
/// format every mount (half of the fs plugin's CPU here, more on a host
/// with many mounts), so it is read again only after a change.
struct MountWatch {
    file: File,
}

impl MountWatch {
    /// Only on procfs: a fixture tree's file never signals a change.
    fn open(path: &Path) -> Option<MountWatch> {
        let file = File::open(path).ok()?;
        super::held::regenerated_on_read(&file).then_some(MountWatch { file })
    }

    /// The table, read through the watched descriptor (no second handle).
    fn read(&self) -> Option<String> {
        let mut buf = Vec::new();
        super::held::read_from_start(&self.file, &mut buf).ok()?;
        String::from_utf8(buf).ok()
    }

    /// Whether a mount or unmount happened since the last call (or the open).
    fn changed(&self) -> bool {
        let mut fds = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one pollfd on a descriptor this struct owns; no waiting.
        let ready = unsafe { libc::poll(&mut fds, 1, 0) };
        ready != 0 && (ready < 0 || fds.revents & (libc::POLLPRI | libc::POLLERR) != 0)
    }
}

pub struct Fs {
    env: Env,
    filter: DisplayFilter,
    allow: Vec<String>,
    usage: UsageFn,
    watch: Option<MountWatch>,
    /// The mounts to report as of the last read of the table.
    mounts: Vec<Mount>,
}

impl Fs {
    pub fn new(env: &Env) -> Fs {
        let allow = env
            .config
            .get("fs", "allow")
            .map(|raw| raw.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        Fs {
            env: env.clone(),
            filter: DisplayFilter::from_config(&env.config, "fs"),
            allow,
            usage: Box::new(statvfs_usage),
            watch: None,
            mounts: Vec::new(),
        }
    }

    /// Replace the statvfs call (tests on a fixture root feed numbers).
    pub fn with_usage(mut self, usage: UsageFn) -> Fs {
        self.usage = usage;
        self
    }

    /// Read the mount table again unless it is known not to have changed.
    fn refresh_mounts(&mut self) {
        if self.watch.as_ref().is_some_and(|watch| !watch.changed()) {
            return;
        }
        // Watched from before the read, so that a change during it shows.
        if self.watch.is_none() {
            self.watch = MountWatch::open(&self.env.path("proc/self/mounts"));
        }
        self.mounts = self.read_mounts();
    }

    /// The mounts to report, before hide/show and statvfs.
    fn read_mounts(&self) -> Vec<Mount> {
        let read = |rel| self.env.read(rel).ok();
        let table = self.watch.as_ref().and_then(MountWatch::read);
        let Some(table) = table
            .or_else(|| read("proc/self/mounts"))
            .or_else(|| read("proc/mounts"))
        else {
            return Vec::new();
        };
        let Ok(filesystems) = self.env.read("proc/filesystems") else {
            return Vec::new();
        };
        let mut all = parse_mounts(&table);
        resolve_root_device(&self.env, &mut all);
        let listed = physical(&all, &physical_fs_types(&filesystems));
        add_allowed(listed, &all, &self.allow)
    }

    fn entry(&self, mount: &Mount) -> Option<Value> {
        if !self.filter.displays(&mount.mnt_point) || !self.filter.displays(&mount.device) {
            return None;
        }
        let usage = (self.usage)(&self.env.path(&mount.mnt_point))?;
        let mut m = Map::with_capacity(8);
        m.insert("device_name".into(), mount.device.clone().into());
        m.insert("fs_type".into(), mount.fs_type.clone().into());
        // Glances turns non-breaking spaces into spaces (its issue #1065).
        m.insert("mnt_point".into(), mount.mnt_point.replace('\u{a0}', " ").into());
        m.insert("size".into(), usage.total().into());
        m.insert("used".into(), usage.used().into());
        m.insert("free".into(), usage.free().into());
        m.insert("percent".into(), float(usage.percent()));
        m.insert("key".into(), "mnt_point".into());
        Some(Value::Object(m))
    }
}

impl Plugin for Fs {
    fn name(&self) -> &'static str {
        "fs"
    }

    fn collect(&mut self) -> Value {
        self.refresh_mounts();
        Value::Array(self.mounts.iter().filter_map(|m| self.entry(m)).collect())
    }

    fn key(&self) -> Option<&'static str> {
        Some("mnt_point")
    }

    fn history_fields(&self) -> &'static [&'static str] {
        &["percent"]
    }

    /// `used` is judged by (size - free) / size, not by `percent`, so root's
    /// reserved blocks count as used.
    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        for item in stats.as_array().into_iter().flatten() {
            let get = |f: &str| item.get(f).and_then(Value::as_f64);
            let (Some(mnt), Some(size), Some(free)) =
                (item.get("mnt_point").and_then(Value::as_str), get("size"), get("free"))
            else {
                continue;
            };
            d.evaluate(limits, "fs", mnt, mnt, "used", size - free, size, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::limits::Level;
    use std::sync::Arc;

    fn fixture_env(config: &str) -> Env {
        let config = Config::parse(config, Path::new("t.conf")).expect("test config");
        Env::new(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fs"),
            Arc::new(config),
        )
    }

    /// Numbers of the captured Glances fixture: 270553174016 bytes, used
    /// 16985141248, free 80587608064, 17.4 %.
    fn vda_usage() -> Usage {
        Usage {
            blocks: 66053021,
            bfree: 66053021 - 4146763,
            bavail: 19674709,
            frsize: 4096,
        }
    }

    fn fs_with(config: &str, usage: fn(&Path) -> Option<Usage>) -> Fs {
        Fs::new(&fixture_env(config)).with_usage(Box::new(usage))
    }

    #[test]
    fn usage_arithmetic_is_psutils() {
        let u = vda_usage();
        assert_eq!(
            (u.total(), u.used(), u.free(), u.percent()),
            (270553174016, 16985141248, 80587608064, 17.4)
        );
        let empty = Usage {
            blocks: 0,
            bfree: 0,
            bavail: 0,
            frsize: 4096,
        };
        assert_eq!(empty.percent(), 0.0);
    }

    #[test]
    fn physical_types_skip_nodev_but_keep_zfs() {
        let types = physical_fs_types("nodev\tsysfs\nnodev\ttmpfs\n\text4\n\tvfat\nnodev\tzfs\n");
        let mut sorted: Vec<_> = types.into_iter().collect();
        sorted.sort();
        assert_eq!(sorted, ["ext4", "vfat", "zfs"]);
    }

    #[test]
    fn mount_lines_decode_octal_escapes_and_none() {
        let mounts = parse_mounts("/dev/sdb1 /media/My\\040Disk vfat rw 0 0\nnone /run/x tmpfs rw 0 0\n");
        assert_eq!(mounts[0].mnt_point, "/media/My Disk");
        assert_eq!(mounts[1].device, "");
        assert_eq!(unescape_octal("a\\134b\\011c\\9"), "a\\b\tc\\9");
    }

    fn mount_points(stats: &Value) -> Vec<String> {
        let items = stats.as_array().expect("fs stats are a list");
        items
            .iter()
            .map(|i| i["mnt_point"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn captured_mount_table_lists_the_disk_and_its_bind_mounts() {
        let stats = fs_with("[fs]\n", |_| Some(vda_usage())).collect();
        assert_eq!(
            mount_points(&stats),
            ["/", "/var/lib/containers/storage/overlay", "/run/netns"]
        );
        assert_eq!(
            crate::json::to_bytes(&stats[0]),
            br#"{"device_name":"\/dev\/vda","fs_type":"ext4","mnt_point":"\/","size":270553174016,"used":16985141248,"free":80587608064,"percent":17.4,"key":"mnt_point"}"#
        );
    }

    #[test]
    fn allow_adds_by_fs_type_substring_except_listed_mount_points() {
        let all = parse_mounts(
            "/dev/vda / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\ntmpfs /run tmpfs rw 0 0\n/dev/vda / ext4 rw 0 0\n",
        );
        let listed = physical(&all, &physical_fs_types("\text4\nnodev\ttmpfs\n"));
        assert_eq!(listed.len(), 2, "psutil keeps duplicate mounts of physical devices");
        let with = add_allowed(listed, &all, &["tmp".to_string()]);
        let points: Vec<_> = with.iter().map(|m| m.mnt_point.as_str()).collect();
        assert_eq!(points, ["/", "/", "/dev/shm", "/run"]);
    }

    #[test]
    fn allow_from_config_reaches_the_collection() {
        let stats = fs_with("[fs]\nallow=cgroup2\n", |_| Some(vda_usage())).collect();
        assert_eq!(
            mount_points(&stats),
            [
                "/",
                "/var/lib/containers/storage/overlay",
                "/run/netns",
                "/sys/fs/cgroup/unified"
            ]
        );
    }

    #[test]
    fn hide_and_show_match_mount_point_and_device() {
        let hidden = fs_with("[fs]\nhide=/DEV/VDA,/run/.*\n", |_| Some(vda_usage())).collect();
        assert_eq!(hidden, Value::Array(vec![]));
        // `show` must match both the mount point and the device name.
        let shown = fs_with("[fs]\nshow=/\n", |_| Some(vda_usage())).collect();
        assert_eq!(shown, Value::Array(vec![]));
        let shown = fs_with("[fs]\nshow=/,/dev/vd.*\n", |_| Some(vda_usage())).collect();
        assert_eq!(mount_points(&shown), ["/"]);
    }

    #[test]
    fn failing_statvfs_skips_the_mount_and_missing_sources_give_empty() {
        assert_eq!(fs_with("[fs]\n", |_| None).collect(), Value::Array(vec![]));
        let env = Env::new("/nonexistent-root", Arc::new(Config::default()));
        assert_eq!(Fs::new(&env).collect(), Value::Array(vec![]));
    }

    #[test]
    fn nbsp_in_mount_point_becomes_space() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/self")).unwrap();
        std::fs::write(dir.path().join("proc/filesystems"), "\text4\n").unwrap();
        std::fs::write(
            dir.path().join("proc/self/mounts"),
            "/dev/sdb1 /media/a\u{a0}b ext4 rw 0 0\n",
        )
        .unwrap();
        let env = Env::new(dir.path(), Arc::new(Config::default()));
        let stats = Fs::new(&env).with_usage(Box::new(|_| Some(vda_usage()))).collect();
        assert_eq!(stats[0]["mnt_point"], "/media/a b");
    }

    #[test]
    fn dev_root_is_resolved_through_proc_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let dev = std::fs::metadata(dir.path()).unwrap().dev();
        let (major, minor) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
        std::fs::create_dir_all(dir.path().join("proc/self")).unwrap();
        std::fs::write(dir.path().join("proc/filesystems"), "\text4\n").unwrap();
        std::fs::write(dir.path().join("proc/self/mounts"), "/dev/root / ext4 rw 0 0\n").unwrap();
        let partitions = format!("major minor  #blocks  name\n\n {major} {minor} 1000 mmcblk0p2\n");
        std::fs::write(dir.path().join("proc/partitions"), partitions).unwrap();
        let env = Env::new(dir.path(), Arc::new(Config::default()));
        let stats = Fs::new(&env).with_usage(Box::new(|_| Some(vda_usage()))).collect();
        assert_eq!(stats[0]["device_name"], "/dev/mmcblk0p2");
    }

    #[test]
    fn a_fixture_table_is_read_at_every_collection() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("proc/self")).unwrap();
        std::fs::write(root.path().join("proc/filesystems"), "\text4\n").unwrap();
        let table = root.path().join("proc/self/mounts");
        std::fs::write(&table, "/dev/vda1 / ext4 rw 0 0\n").unwrap();
        let config = Arc::new(Config::parse("", Path::new("t.conf")).unwrap());
        let mut fs = Fs::new(&Env::new(root.path(), config)).with_usage(Box::new(|_| Some(vda_usage())));
        assert_eq!(mount_points(&fs.collect()), ["/"]);
        std::fs::write(&table, "/dev/vda1 / ext4 rw 0 0\n/dev/vdb1 /data ext4 rw 0 0\n").unwrap();
        assert_eq!(mount_points(&fs.collect()), ["/", "/data"]);
    }

    /// A real mount and unmount (needs root; skipped where mounting is not
    /// allowed) reach the next collection through the watch.
    #[test]
    fn live_mounts_and_unmounts_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let point = dir.path().to_str().unwrap().to_string();
        let config = Arc::new(Config::parse("[fs]\nallow=tmpfs\n", Path::new("t.conf")).unwrap());
        let mut fs = Fs::new(&Env::new("/", config));
        let has_point = |stats: &Value| mount_points(stats).contains(&point);
        assert!(!has_point(&fs.collect()));
        assert!(fs.watch.is_some(), "/proc/self/mounts is watched");
        let mount = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "glint-test", &point])
            .output();
        if !mount.is_ok_and(|out| out.status.success()) {
            eprintln!("cannot mount here: the live path is not testable");
            return;
        }
        let mounted = fs.collect();
        let unmounted = std::process::Command::new("umount").arg(&point).status().unwrap();
        assert!(has_point(&mounted), "the new mount is listed");
        assert!(unmounted.success());
        assert!(!has_point(&fs.collect()), "and gone after umount");
    }

    #[test]
    fn statvfs_works_on_the_real_root() {
        let u = statvfs_usage(Path::new("/")).expect("statvfs /");
        assert!(u.total() > 0 && u.used() <= u.total());
    }

    #[test]
    fn used_is_decorated_by_size_minus_free() {
        let mut fs = fs_with("[fs]\n", |_| Some(vda_usage()));
        let config = Config::parse("[fs]\ncareful=20\nwarning=60\ncritical=90\n", Path::new("t.conf")).unwrap();
        let limits = Limits::from_config("fs", &config);
        // percent is 17.4 but (size - free) / size is 70.2 %: WARNING.
        let stats = fs.collect();
        let mut d = Decorator::default();
        fs.decorate(&stats, &limits, &mut d);
        let views = fs.views(&stats, &d);
        assert_eq!(views["/"]["used"]["decoration"], "WARNING");
        assert_eq!(views["/"]["percent"]["decoration"], "DEFAULT");
        assert!(d.evaluations.is_empty(), "fs logs only when configured");

        let logged = Config::parse(
            "[fs]\ncareful=20\nwarning=60\ncritical=90\nlog=True\n",
            Path::new("t.conf"),
        )
        .unwrap();
        let mut d = Decorator::default();
        fs.decorate(&stats, &Limits::from_config("fs", &logged), &mut d);
        assert_eq!(d.evaluations[0].kind, "FS_/");
        assert_eq!(d.evaluations[0].level, Level::Warning);
    }

    #[test]
    fn history_key_is_mount_point_percent() {
        let stats = fs_with("[fs]\n", |_| Some(vda_usage())).collect();
        let points = super::super::history_points(&stats, Some("mnt_point"), &["percent"]);
        assert_eq!(points[0], ("/_percent".to_string(), float(17.4)));
        assert_eq!(points[2].0, "/run/netns_percent");
    }
}
