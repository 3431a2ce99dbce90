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
    #[arg(long, value_name = "PLUGINS", value_delimiter = ',')]
    pub disable_plugin: Vec<String>,

    /// Plugins to enable even if the config disables them, comma-separated
    #[arg(long, value_name = "PLUGINS", value_delimiter = ',')]
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
        for k in [
            "disable_process",
            "disable_webui",
            "enable_light",
            "disable_irix",
            "percpu",
            "disable_left_sidebar",
            "disable_quicklook",
            "full_quicklook",
            "disable_top",
            "meangpu",
        ] {
            put(k, (k == "disable_webui").into());
        }
        put("disable_history", self.disable_history.into());
        for k in [
            "disable_bold",
            "disable_bg",
            "enable_irq",
            "enable_process_extended",
            "enable_separator",
            "disable_cursor",
        ] {
            put(k, false.into());
        }
        put("sort_processes_key", Value::Null);
        put("programs", false.into());
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
        put("open_web_browser", false.into());
        put("quiet", false.into());
        put("process_filter", Value::Null);
        put("process_short_name", true.into());
        for k in ["stdout", "stdout_json", "stdout_csv", "stdout_issue"] {
            put(k, Value::Null);
        }
        put("trace_malloc", false.into());
        put("memory_leak", false.into());
        put("stdout_apidoc", Value::Null);
        for k in [
            "no_kernel_threads",
            "byte",
            "diskio_show_ramfs",
            "diskio_iops",
            "fahrenheit",
            "fs_free_space",
            "sparkline",
            "disable_unicode",
            "theme_white",
        ] {
            put(k, false.into());
        }
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
