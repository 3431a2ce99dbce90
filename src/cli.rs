//! Command-line flags mirroring `glances -w` (spec §14), and the
//! `/api/3/args` object built from them.

use std::path::PathBuf;

use clap::Parser;
use serde_json::{Map, Value};

use crate::json::float;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "glint",
    version,
    about = "A Linux monitoring daemon that serves the Glances REST API v3",
    long_about = "glint collects system statistics continuously and serves them on \
http://HOST:PORT/api/3/... exactly like `glances -w`, so Glances clients (Home Assistant, \
Homepage, Dashy, the Glances web UI, scripts) work against it unchanged.",
    after_help = "Examples:\n  glint -w                         serve on 0.0.0.0:61208\n  glint -w -B 127.0.0.1 -p 8080    serve on loopback port 8080\n  glint -w -C /etc/glint/glint.conf --disable-plugin sensors,fs"
)]
pub struct Cli {
    /// Run the web server (glint always does; accepted for Glances compatibility)
    #[arg(short = 'w', long = "webserver")]
    pub webserver: bool,

    /// Serve the API only (glint has no web UI; accepted for compatibility)
    #[arg(long)]
    pub disable_webui: bool,

    /// Address to listen on (IPv4 or IPv6)
    #[arg(short = 'B', long = "bind", value_name = "ADDRESS", default_value = "0.0.0.0")]
    pub bind: String,

    /// TCP port to listen on
    #[arg(short = 'p', long, value_name = "PORT", default_value_t = 61208)]
    pub port: u16,

    /// Default refresh interval of every plugin, in seconds (`[global] refresh` wins when left at 2)
    #[arg(short = 't', long = "time", value_name = "SECONDS", default_value_t = 2.0,
          value_parser = positive_seconds)]
    pub time: f64,

    /// Configuration file (default: ~/.config/glint/glint.conf, /etc/glint/glint.conf, then Glances' locations)
    #[arg(short = 'C', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Plugins to disable, comma-separated (`all` together with --enable-plugin)
    #[arg(
        long,
        visible_alias = "disable-plugins",
        value_name = "PLUGINS",
        value_delimiter = ','
    )]
    pub disable_plugin: Vec<String>,

    /// Plugins to enable even if the config disables them, comma-separated
    #[arg(
        long,
        visible_alias = "enable-plugins",
        value_name = "PLUGINS",
        value_delimiter = ','
    )]
    pub enable_plugin: Vec<String>,

    /// Accepted for compatibility: glint collects in the background, so there is no request cache to tune
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    pub cached_time: u64,

    /// Keep no history
    #[arg(long)]
    pub disable_history: bool,

    /// strftime format of the `now` plugin
    #[arg(long = "strftime", value_name = "FORMAT", default_value = "")]
    pub strftime_format: String,

    /// Read /proc, /sys and /etc under this directory instead of / (for tests and containers)
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Require HTTP Basic auth; the password is read from <USER>.pwd (see --set-password)
    #[arg(long)]
    pub password: bool,

    /// User name for HTTP Basic auth (implies --password)
    #[arg(short = 'u', long = "username", value_name = "USER", default_value = "glances")]
    pub username: String,

    /// Read a password from standard input, store its hash in <USER>.pwd, and exit
    #[arg(long)]
    pub set_password: bool,

    /// Debug logging (same as RUST_LOG=debug)
    #[arg(short = 'd', long)]
    pub debug: bool,

    /// Leave out of processcount and processlist every process whose real group is root (gid 0), as Glances does to hide kernel threads
    #[arg(long = "hide-kernel-threads", help_heading = "Processes")]
    pub hide_kernel_threads: bool,

    /// Sort processlist by this key, instead of switching automatically during alerts
    #[arg(long = "sort-processes", value_name = "KEY", help_heading = "Processes",
          value_parser = clap::builder::PossibleValuesParser::new(crate::collect::processes::SortKey::NAMES))]
    pub sort_processes: Option<String>,

    /// processlist lists programs (processes grouped by name) instead of processes
    #[arg(long = "programs", visible_alias = "program", help_heading = "Processes")]
    pub programs: bool,

    /// Keep ram* disks in diskio
    #[arg(long, help_heading = "Plugins")]
    pub diskio_show_ramfs: bool,

    /// Disable the alert and amps plugins
    #[arg(long = "light", visible_alias = "enable-light", help_heading = "Plugins")]
    pub light: bool,

    /// Disable the quicklook plugin
    #[arg(short = '3', long, help_heading = "Plugins")]
    pub disable_quicklook: bool,

    /// Enable quicklook and load, disable cpu, mem and memswap
    #[arg(short = '4', long, help_heading = "Plugins")]
    pub full_quicklook: bool,

    /// Disable quicklook, cpu, mem, memswap and load
    #[arg(short = '5', long, help_heading = "Plugins")]
    pub disable_top: bool,

    #[command(flatten)]
    pub display: DisplayFlags,
}

/// Glances' options for its own screens, and for things glint never does
/// (update checks, autodiscovery). They change no API data; glint accepts
/// them so that a Glances command line starts unchanged, and shows them in
/// `/api/3/args` as Glances does.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Glances options accepted for compatibility (no effect on the API)")]
pub struct DisplayFlags {
    #[arg(long)]
    pub disable_check_update: bool,
    #[arg(long)]
    pub disable_autodiscover: bool,
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[arg(long)]
    pub open_web_browser: bool,
    /// (web server mode never filters the API's process list)
    #[arg(short = 'f', long, value_name = "REGEX")]
    pub process_filter: Option<String>,
    /// (web server mode always uses short names)
    #[arg(long)]
    pub process_short_name: bool,
    #[arg(long)]
    pub process_long_name: bool,
    #[arg(long)]
    pub disable_process: bool,
    #[arg(short = '0', long)]
    pub disable_irix: bool,
    #[arg(short = '1', long)]
    pub percpu: bool,
    #[arg(short = '2', long)]
    pub disable_left_sidebar: bool,
    #[arg(short = '6', long)]
    pub meangpu: bool,
    #[arg(long)]
    pub disable_bold: bool,
    #[arg(long)]
    pub disable_bg: bool,
    #[arg(long)]
    pub enable_irq: bool,
    #[arg(long)]
    pub enable_process_extended: bool,
    #[arg(long = "separator", visible_alias = "enable-separator")]
    pub enable_separator: bool,
    #[arg(long)]
    pub disable_cursor: bool,
    #[arg(short = 'b', long)]
    pub byte: bool,
    #[arg(long)]
    pub diskio_iops: bool,
    #[arg(long)]
    pub fahrenheit: bool,
    #[arg(long)]
    pub fs_free_space: bool,
    #[arg(long)]
    pub sparkline: bool,
    #[arg(long)]
    pub disable_unicode: bool,
    #[arg(long)]
    pub theme_white: bool,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

impl Cli {
    /// `--disable-plugin all` needs `--enable-plugin` (Glances exits 2 too).
    pub fn check(&self) -> Result<(), String> {
        if self.disable_plugin.iter().any(|p| p == "all") && self.enable_plugin.is_empty() {
            return Err("--disable-plugin all needs --enable-plugin naming the plugins to keep".into());
        }
        for name in self.disable_plugin.iter().chain(&self.enable_plugin) {
            if name != "all" && !crate::collect::ALL_PLUGINS.contains(&name.as_str()) {
                return Err(format!(
                    "unknown plugin '{name}' (known: {})",
                    crate::collect::ALL_PLUGINS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Auth is on with --password, or when a user other than the default is named.
    pub fn auth_required(&self) -> bool {
        self.password || self.username != "glances"
    }

    fn joined(list: &[String]) -> Value {
        if list.is_empty() {
            Value::Null
        } else {
            list.join(",").into()
        }
    }

    /// The `/api/3/args` object: Glances' attribute names and order (§14.3),
    /// with glint's values. Never contains a password or its hash.
    pub fn args_json(&self, refresh: f64, config_file: Option<&std::path::Path>, disabled: &[&str]) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("debug", self.debug.into());
        put("conf_file", config_file.map(|p| p.display().to_string()).into());
        put("modules_list", false.into());
        put("disable_plugin", Self::joined(&self.disable_plugin));
        put("enable_plugin", Self::joined(&self.enable_plugin));
        let d = &self.display;
        // --light also sets these two, as in Glances.
        put("disable_process", (d.disable_process || self.light).into());
        put("disable_webui", true.into());
        put("enable_light", self.light.into());
        put("disable_irix", d.disable_irix.into());
        put("percpu", d.percpu.into());
        put("disable_left_sidebar", (d.disable_left_sidebar || self.light).into());
        // Rewritten below with the plugin's state, like every disable_<plugin>.
        put("disable_quicklook", self.disable_quicklook.into());
        put("full_quicklook", self.full_quicklook.into());
        put("disable_top", self.disable_top.into());
        put("meangpu", d.meangpu.into());
        put("disable_history", self.disable_history.into());
        put("disable_bold", d.disable_bold.into());
        put("disable_bg", d.disable_bg.into());
        put("enable_irq", d.enable_irq.into());
        put("enable_process_extended", d.enable_process_extended.into());
        put("enable_separator", d.enable_separator.into());
        put("disable_cursor", d.disable_cursor.into());
        put("sort_processes_key", self.sort_processes.clone().into());
        put("programs", self.programs.into());
        put("export", Value::Null);
        put("export_csv_file", "./glances.csv".into());
        put("export_csv_overwrite", false.into());
        put("export_json_file", "./glances.json".into());
        put("export_graph_path", "/tmp".into());
        put("client", Value::Null);
        put("server", false.into());
        put("browser", false.into());
        put("disable_autodiscover", true.into());
        put("port", self.port.into());
        put("bind_address", self.bind.clone().into());
        put("username_prompt", false.into());
        put("password_prompt", self.auth_required().into());
        put("username_used", Value::Null);
        put("snmp_community", "public".into());
        put("snmp_port", 161.into());
        put("snmp_version", "2c".into());
        put("snmp_user", "private".into());
        put("snmp_auth", "password".into());
        put("snmp_force", false.into());
        put("time", float(refresh));
        put("webserver", true.into());
        put("cached_time", self.cached_time.into());
        put("stop_after", Value::Null);
        put("open_web_browser", d.open_web_browser.into());
        put("quiet", d.quiet.into());
        put("process_filter", d.process_filter.clone().into());
        put("process_short_name", true.into());
        for k in ["stdout", "stdout_json", "stdout_csv", "stdout_issue"] {
            put(k, Value::Null);
        }
        put("trace_malloc", false.into());
        put("memory_leak", false.into());
        put("stdout_apidoc", Value::Null);
        put("no_kernel_threads", self.hide_kernel_threads.into());
        put("byte", d.byte.into());
        put("diskio_show_ramfs", self.diskio_show_ramfs.into());
        put("diskio_iops", d.diskio_iops.into());
        put("fahrenheit", d.fahrenheit.into());
        put("fs_free_space", d.fs_free_space.into());
        put("sparkline", d.sparkline.into());
        put("disable_unicode", d.disable_unicode.into());
        put("theme_white", d.theme_white.into());
        put("disable_check_update", true.into());
        put("strftime_format", self.strftime_format.clone().into());
        put("username", self.username.clone().into());
        put("password", "".into());
        for k in [
            "help_tag",
            "network_sum",
            "network_cumul",
            "generate_graph",
            "is_standalone",
            "is_client",
            "is_client_browser",
            "is_server",
        ] {
            put(k, false.into());
        }
        put("is_webserver", true.into());
        for name in crate::collect::ALL_PLUGINS {
            put(&format!("disable_{name}"), disabled.contains(&name).into());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(flags: &[&str], disabled: &[&str]) -> Value {
        let cli = Cli::parse_from(std::iter::once("glint").chain(flags.iter().copied()));
        cli.args_json(2.0, None, disabled)
    }

    #[test]
    fn glances_flags_show_in_args() {
        let plain = args(&[], &[]);
        let set = args(
            &[
                "--light",
                "-1",
                "-b",
                "--fahrenheit",
                "--separator",
                "--hide-kernel-threads",
            ],
            &["alert", "amps"],
        );
        for key in [
            "enable_light",
            "disable_process",
            "disable_left_sidebar",
            "percpu",
            "byte",
            "fahrenheit",
        ] {
            assert_eq!(
                (&plain[key], &set[key]),
                (&Value::Bool(false), &Value::Bool(true)),
                "{key}"
            );
        }
        assert_eq!(set["enable_separator"], true);
        assert_eq!(set["no_kernel_threads"], true);
        assert_eq!(set["disable_amps"], true);
        assert_eq!(plain["sort_processes_key"], Value::Null);
        assert_eq!(args(&["--sort-processes", "name"], &[])["sort_processes_key"], "name");
        let accepted = args(
            &["-q", "-f", "^ssh", "--disable-check-update", "--process-long-name"],
            &[],
        );
        assert_eq!(
            (&accepted["quiet"], &accepted["process_filter"]),
            (&Value::Bool(true), &"^ssh".into())
        );
        assert_eq!(
            accepted["process_short_name"], true,
            "web server mode forces short names"
        );
        // The key keeps Glances' place, with the plugin's state as value.
        let keys: Vec<&String> = set.as_object().unwrap().keys().collect();
        let at = keys.iter().position(|k| *k == "disable_quicklook").unwrap();
        assert_eq!(keys[at + 1], "full_quicklook");
        assert_eq!(args(&["-4"], &["quicklook"])["disable_quicklook"], true);
        assert_eq!(args(&["-3"], &[])["disable_quicklook"], false);
    }

    #[test]
    fn unknown_sort_key_is_refused() {
        let error = Cli::try_parse_from(["glint", "--sort-processes", "pid"]).unwrap_err();
        assert!(error.to_string().contains("cpu_percent"), "{error}");
    }
}
