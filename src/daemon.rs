//! Turning flags and config into the running mesh: which plugins run, at
//! which interval, with which limits (spec §6.3, §7.3).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::actors::aggregator::Aggregator;
use crate::actors::alert::{Actions, AlertActor, Events, Smoothing};
use crate::actors::plugin::{Factory, PluginActor, Ticker};
use crate::cli::Cli;
use crate::collect::{ALL_PLUGINS, Env, build};
use crate::config::Config;
use crate::limits::{LimitValue, Limits};

/// Plugins that have no collector running on an interval.
const PASSIVE: [&str; 2] = ["alert", "help"];

#[derive(Debug, Clone)]
pub struct PluginPlan {
    pub name: &'static str,
    pub enabled: bool,
    pub refresh: Duration,
    pub limits: Limits,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Global refresh in seconds (`-t`, or `[global] refresh` when -t is 2).
    pub refresh: f64,
    pub history_size: usize,
    pub history_enabled: bool,
    pub smoothing: Smoothing,
    pub plugins: Vec<PluginPlan>,
}

impl Plan {
    pub fn new(cli: &Cli, config: &Config) -> Plan {
        let refresh = match config.get_f64("global", "refresh") {
            Some(r) if cli.time == 2.0 => r,
            _ => cli.time,
        };
        let history_size = config.get_f64("global", "history_size").unwrap_or(28800.0) as usize;
        let disable_all = cli.disable_plugin.iter().any(|p| p == "all");
        let plugins = ALL_PLUGINS
            .iter()
            .map(|&name| {
                let configured_off = config.get_bool(name, "disable").unwrap_or(false);
                let flagged_off = disable_all
                    || cli.disable_plugin.iter().any(|p| p == name)
                    || (cli.disable_quicklook && name == "quicklook");
                let flagged_on = cli.enable_plugin.iter().any(|p| p == name);
                // SMART commands need root; Glances drops the plugin otherwise.
                let needs_root = name == "smart" && !crate::collect::smart::available();
                let wanted = mode_verdict(cli, name).unwrap_or(flagged_on || !(configured_off || flagged_off));
                if wanted && needs_root {
                    tracing::info!("smart: not running as root; plugin disabled (ATA/NVMe commands need root)");
                }
                let enabled = wanted && !needs_root;
                let mut limits = Limits::from_config(name, config);
                let own = config.get_f64(name, "refresh");
                let seconds = match name {
                    // Glances forces system to 60 s whatever the config says.
                    "system" => {
                        limits.set("system_refresh", LimitValue::Int(60));
                        60.0
                    }
                    // sensors runs at twice the global interval unless set otherwise.
                    "sensors" => {
                        let s = own.filter(|&s| s != refresh).unwrap_or(2.0 * refresh);
                        limits.set("sensors_refresh", LimitValue::Float(s));
                        s
                    }
                    // processlist mirrors processcount's scan.
                    "processlist" => config.get_f64("processcount", "refresh").unwrap_or(refresh),
                    _ => own.unwrap_or(refresh),
                };
                PluginPlan {
                    name,
                    enabled,
                    refresh: Duration::from_secs_f64(seconds),
                    limits,
                }
            })
            .collect();
        Plan {
            refresh,
            history_size,
            history_enabled: !cli.disable_history,
            smoothing: Smoothing::from_config(config),
            plugins,
        }
    }

    /// The enabled plugins that collect on an interval (not alert or help).
    pub fn collected(&self) -> impl Iterator<Item = &PluginPlan> {
        self.plugins.iter().filter(|p| p.enabled && !PASSIVE.contains(&p.name))
    }

    pub fn enabled(&self) -> Vec<&'static str> {
        self.plugins.iter().filter(|p| p.enabled).map(|p| p.name).collect()
    }

    pub fn disabled(&self) -> Vec<&'static str> {
        ALL_PLUGINS
            .iter()
            .copied()
            .filter(|n| !self.plugins.iter().any(|p| p.enabled && p.name == *n))
            .collect()
    }
}

/// What `--light`, `--full-quicklook` and `--disable-top` say of a plugin.
/// Glances applies them after the config and --disable/--enable-plugin, in
/// this order, so the last one that names a plugin decides.
fn mode_verdict(cli: &Cli, name: &str) -> Option<bool> {
    let mut verdict = None;
    if cli.light && matches!(name, "alert" | "amps") {
        verdict = Some(false);
    }
    if cli.full_quicklook {
        match name {
            "quicklook" | "load" => verdict = Some(true),
            "cpu" | "mem" | "memswap" => verdict = Some(false),
            _ => {}
        }
    }
    if cli.disable_top && matches!(name, "quicklook" | "cpu" | "mem" | "memswap" | "load") {
        verdict = Some(false);
    }
    verdict
}

/// Start the aggregator, the alert actor and one actor per enabled plugin.
/// Must run inside an actix System.
pub fn start_mesh(plan: &Plan, env: &Env) -> Addr<Aggregator> {
    let aggregator = Aggregator::new(
        plan.plugins
            .iter()
            .map(|p| (p.name, p.enabled, p.limits.clone()))
            .collect(),
        plan.history_size,
        plan.history_enabled,
    )
    .start();
    let limits: HashMap<&'static str, Arc<Limits>> = plan
        .plugins
        .iter()
        .map(|p| (p.name, Arc::new(p.limits.clone())))
        .collect();
    // Glances keeps actions quiet for the first two refresh periods.
    let quiet_until = Instant::now() + Duration::from_secs_f64(2.0 * plan.refresh);
    let alert = AlertActor::new(
        aggregator.clone(),
        Events::new(
            plan.smoothing,
            env.fixed_process_sort().is_none().then(|| env.process_sort.clone()),
        ),
        Actions::new(limits.clone(), quiet_until),
        env.processes.clone(),
    )
    .start();
    aggregator.do_send(crate::actors::aggregator::SetAlert(alert));
    // Every actor of the mesh runs on the thread that calls this (the HTTP
    // worker's), and plugins with the same period tick at the same instant:
    // one wakeup per period runs all the quick collections back to back
    // while the caches are warm (idle CPU halved against spread ticks).
    let new_actor = |p: &PluginPlan| {
        let env = env.clone();
        let name = p.name;
        let factory: Factory = Arc::new(move || build(name, &env).expect("implemented plugin"));
        PluginActor::new(name, factory, p.refresh, Arc::clone(&limits[name]), aggregator.clone())
    };
    // processlist mirrors the table processcount's scan publishes: with
    // both enabled it collects right after each scan, not on its own timer.
    let scanning = plan.plugins.iter().any(|p| p.enabled && p.name == "processcount");
    let mut by_period: BTreeMap<Duration, Vec<Addr<PluginActor>>> = BTreeMap::new();
    let processlist = plan
        .plugins
        .iter()
        .find(|p| p.enabled && p.name == "processlist")
        .map(|p| match scanning {
            true => new_actor(p).following().start(),
            false => {
                let list = new_actor(p).start();
                by_period.entry(p.refresh).or_default().push(list.clone());
                list
            }
        });
    for p in plan.collected().filter(|p| p.name != "processlist") {
        let actor = match (&processlist, p.name) {
            (Some(list), "processcount") => new_actor(p).with_follower(list.clone()).start(),
            _ => new_actor(p).start(),
        };
        by_period.entry(p.refresh).or_default().push(actor);
    }
    for (period, plugins) in by_period {
        Ticker::new(period, plugins).start();
    }
    aggregator
}

/// Wait (at most `limit`) until every enabled plugin has its first sample,
/// so the first requests see data, as after Glances' start-up update.
pub async fn first_samples(aggregator: &Addr<Aggregator>, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let pending = aggregator
            .send(crate::actors::aggregator::Pending)
            .await
            .unwrap_or_default();
        if pending.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            tracing::warn!(?pending, "serving before these plugins have a first sample");
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    fn enabled(flags: &[&str], config: &str) -> Vec<&'static str> {
        let cli = Cli::parse_from(std::iter::once("glint").chain(flags.iter().copied()));
        let config = Config::parse(config, Path::new("t.conf")).unwrap();
        let wanted = ["alert", "amps", "cpu", "load", "mem", "memswap", "quicklook", "uptime"];
        let plan = Plan::new(&cli, &config);
        plan.enabled().into_iter().filter(|n| wanted.contains(n)).collect()
    }

    #[test]
    fn mode_flags_act_after_config_and_plugin_flags() {
        let all = ["alert", "amps", "cpu", "load", "mem", "memswap", "quicklook", "uptime"];
        assert_eq!(enabled(&[], ""), all);
        assert_eq!(
            enabled(&["--light"], ""),
            ["cpu", "load", "mem", "memswap", "quicklook", "uptime"]
        );
        // --full-quicklook turns quicklook and load on over the config and --disable-plugin.
        assert_eq!(
            enabled(&["-4", "--disable-plugin", "load"], "[quicklook]\ndisable=True\n"),
            ["alert", "amps", "load", "quicklook", "uptime"]
        );
        // --disable-top comes last.
        assert_eq!(
            enabled(&["--full-quicklook", "--disable-top", "--enable-plugin", "cpu"], ""),
            ["alert", "amps", "uptime"]
        );
        assert_eq!(
            enabled(&["-3"], ""),
            ["alert", "amps", "cpu", "load", "mem", "memswap", "uptime"]
        );
        assert_eq!(enabled(&["-3", "--enable-plugin", "quicklook"], ""), all);
    }
}
