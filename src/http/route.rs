//! Glances' routing table (spec §3), as a pure function of the decoded path.

use crate::actors::aggregator::Query;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Status,
    Config,
    ConfigItem(String),
    Args,
    ArgsItem(String),
    Help,
    /// A route answered by the aggregator.
    Stats(Query),
}

/// Bottle's `<nb:int>`: an optional minus and digits. Values beyond i64
/// saturate (they mean "everything" or "nothing" either way).
fn parse_nb(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        s.parse()
            .unwrap_or(if s.starts_with('-') { i64::MIN } else { i64::MAX }),
    )
}

/// A `<name>` segment: non-empty, no slash.
fn segment(s: &str) -> Option<&str> {
    (!s.is_empty() && !s.contains('/')).then_some(s)
}

/// Match a percent-decoded path; `None` means no route (404).
pub fn parse(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/api/3/")?;
    let fixed = match rest {
        "status" => Some(Route::Status),
        "config" => Some(Route::Config),
        "args" => Some(Route::Args),
        "help" => Some(Route::Help),
        "pluginslist" => Some(Route::Stats(Query::PluginsList)),
        "all" => Some(Route::Stats(Query::All)),
        "all/limits" => Some(Route::Stats(Query::AllLimits)),
        "all/views" => Some(Route::Stats(Query::AllViews)),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    if let Some(item) = rest.strip_prefix("config/").and_then(segment) {
        return Some(Route::ConfigItem(item.into()));
    }
    if let Some(item) = rest.strip_prefix("args/").and_then(segment) {
        return Some(Route::ArgsItem(item.into()));
    }
    let mut parts = rest.splitn(3, '/');
    let plugin = segment(parts.next()?)?.to_string();
    let Some(second) = parts.next() else {
        return Some(Route::Stats(Query::Plugin(plugin)));
    };
    let second = segment(second)?.to_string();
    let Some(tail) = parts.next() else {
        return Some(Route::Stats(match second.as_str() {
            "history" => Query::History(plugin, 0),
            "limits" => Query::Limits(plugin),
            "views" => Query::Views(plugin),
            _ => Query::Item(plugin, second),
        }));
    };
    if second == "history"
        && let Some(nb) = parse_nb(tail)
    {
        return Some(Route::Stats(Query::History(plugin, nb)));
    }
    if tail == "history" {
        return Some(Route::Stats(Query::ItemHistory(plugin, second, 0)));
    }
    if let Some(nb) = tail.strip_prefix("history/").and_then(parse_nb) {
        return Some(Route::Stats(Query::ItemHistory(plugin, second, nb)));
    }
    if tail.is_empty() {
        return None;
    }
    Some(Route::Stats(Query::Value(plugin, second, tail.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(path: &str) -> Option<Query> {
        match parse(path)? {
            Route::Stats(q) => Some(q),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn static_routes_shadow_plugins() {
        assert_eq!(parse("/api/3/status"), Some(Route::Status));
        assert_eq!(parse("/api/3/help"), Some(Route::Help));
        assert_eq!(
            parse("/api/3/config/history"),
            Some(Route::ConfigItem("history".into()))
        );
        assert_eq!(parse("/api/3/args/time"), Some(Route::ArgsItem("time".into())));
        assert_eq!(q("/api/3/all/limits"), Some(Query::AllLimits));
        assert_eq!(q("/api/3/all/foo"), Some(Query::Item("all".into(), "foo".into())));
    }

    #[test]
    fn plugin_routes() {
        assert_eq!(q("/api/3/cpu"), Some(Query::Plugin("cpu".into())));
        assert_eq!(q("/api/3/cpu/history"), Some(Query::History("cpu".into(), 0)));
        assert_eq!(q("/api/3/cpu/history/-1"), Some(Query::History("cpu".into(), -1)));
        assert_eq!(
            q("/api/3/cpu/history/99999999999999999999999"),
            Some(Query::History("cpu".into(), i64::MAX))
        );
        assert_eq!(
            q("/api/3/cpu/history/abc"),
            Some(Query::Value("cpu".into(), "history".into(), "abc".into()))
        );
        assert_eq!(
            q("/api/3/cpu/user/history/2"),
            Some(Query::ItemHistory("cpu".into(), "user".into(), 2))
        );
        assert_eq!(
            q("/api/3/fs/mnt_point/history/2"),
            Some(Query::ItemHistory("fs".into(), "mnt_point".into(), 2))
        );
        assert_eq!(
            q("/api/3/fs/mnt_point//"),
            Some(Query::Value("fs".into(), "mnt_point".into(), "/".into()))
        );
        assert_eq!(
            q("/api/3/processlist/top/5"),
            Some(Query::Value("processlist".into(), "top".into(), "5".into()))
        );
    }

    #[test]
    fn trailing_and_empty_segments_do_not_match() {
        for p in [
            "/api/3/cpu/",
            "/api/3/",
            "/api/3",
            "/api/3//cpu",
            "/api/3/cpu/user/",
            "/api/2/cpu",
            "/api/4/cpu",
            "/",
            "/api/3/cpu/history/",
        ] {
            assert_eq!(parse(p), None, "{p}");
        }
    }
}
