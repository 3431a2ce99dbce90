//! `system`: OS identity (spec §8.29).

use serde_json::{Map, Value};

use super::{Env, Plugin};

pub struct System {
    env: Env,
}

impl System {
    pub fn new(env: &Env) -> System {
        System { env: env.clone() }
    }
}

/// `NAME VERSION_ID` from os-release, quotes removed; "" if unreadable.
pub fn linux_distro(os_release: &str) -> String {
    let field = |name: &str| {
        os_release.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"').trim_matches('\'').to_string())
        })
    };
    match (field("NAME"), field("VERSION_ID")) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n,
        _ => String::new(),
    }
}

impl Plugin for System {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "system"
    }

    fn collect(&mut self) -> Value {
        let read = |rel: &str| self.env.read(rel).map(|s| s.trim().to_string()).unwrap_or_default();
        let distro = linux_distro(
            &self
                .env
                .read("etc/os-release")
                .or_else(|_| self.env.read("usr/lib/os-release"))
                .unwrap_or_default(),
        );
        let platform = if cfg!(target_pointer_width = "64") {
            "64bit"
        } else {
            "32bit"
        };
        let mut m = Map::new();
        m.insert("os_name".into(), "Linux".into());
        m.insert("hostname".into(), read("proc/sys/kernel/hostname").into());
        m.insert("platform".into(), platform.into());
        m.insert("linux_distro".into(), distro.clone().into());
        m.insert("os_version".into(), read("proc/sys/kernel/osrelease").into());
        m.insert("hr_name".into(), format!("{distro} {platform}").into());
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn distro_from_os_release() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n";
        assert_eq!(super::linux_distro(text), "Debian GNU/Linux 12");
        assert_eq!(super::linux_distro(""), "");
    }
}
