//! Glances' `hide=` / `show=` lists of a plugin section: which items
//! (interfaces, disks, mount points, sensors) a plugin displays.

use regex_lite::Regex;

use crate::config::Config;

/// Glances' `is_display`: a configured `show` list wins over `hide`; each
/// pattern must match the whole value, case-insensitively.
#[derive(Debug, Default)]
pub struct DisplayFilter {
    show: Option<Vec<Regex>>,
    hide: Vec<Regex>,
}

impl DisplayFilter {
    /// `[section] show=` / `hide=`, split on commas without trimming, like
    /// the limits values Glances reads them from.
    pub fn from_config(config: &Config, section: &str) -> DisplayFilter {
        let patterns = |key: &str| config.get(section, key).map(|raw| compile_patterns(section, key, raw));
        DisplayFilter {
            show: patterns("show"),
            hide: patterns("hide").unwrap_or_default(),
        }
    }

    pub fn displays(&self, value: &str) -> bool {
        let value = value.to_lowercase();
        match &self.show {
            Some(show) => show.iter().any(|re| re.is_match(&value)),
            None => !self.hide.iter().any(|re| re.is_match(&value)),
        }
    }
}

/// Full-match, lower-cased regexes; an invalid one is skipped with a warning
/// (Glances would fail the whole plugin update).
fn compile_patterns(section: &str, key: &str, raw: &str) -> Vec<Regex> {
    raw.split(',')
        .filter_map(|pattern| {
            let anchored = format!("^(?:{})$", pattern.to_lowercase());
            Regex::new(&anchored)
                .inspect_err(|e| tracing::warn!("[{section}] {key}: ignoring invalid regex {pattern:?}: {e}"))
                .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn filter(conf: &str, section: &str) -> DisplayFilter {
        DisplayFilter::from_config(&Config::parse(conf, Path::new("test.conf")).unwrap(), section)
    }

    #[test]
    fn hide_and_show_are_full_case_insensitive_matches() {
        let f = filter("[network]\nhide=docker.*,lo\n", "network");
        assert!(!f.displays("lo") && !f.displays("docker0") && !f.displays("DOCKER_gwbridge"));
        // full match: "lo" does not hide "lo2", "docker.*" does not hide "br-docker"
        assert!(f.displays("lo2") && f.displays("br-docker") && f.displays("eth0"));
        // a show list alone decides
        let f = filter("[network]\nhide=eth.*\nshow=ETH0,wl.*\n", "network");
        assert!(f.displays("eth0") && f.displays("wlan0"));
        assert!(!f.displays("eth1") && !f.displays("lo"));
        // an invalid pattern is skipped, the others still apply
        assert!(!filter("[network]\nhide=(,lo\n", "network").displays("lo"));
    }

    #[test]
    fn lists_are_split_like_glances() {
        // No trimming: " lo" is a pattern with a leading space.
        assert!(filter("[network]\nhide=eth0, lo\n", "network").displays("lo"));
        // An empty show= is a list of one empty pattern: nothing is shown.
        assert!(!filter("[network]\nshow=\n", "network").displays("eth0"));
    }
}
