//! Threshold actions (spec §9.5): `<stat>_<level>_action[_repeat]` commands
//! run when a stat reaches a level. Unlike Glances, the command line is split
//! into arguments *before* `{{field}}` substitution and runs without a shell,
//! so a substituted value is always one plain argument.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::limits::{Level, LimitValue, Limits};

/// How long one action may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Output kept from an action (for the log), per stream.
const OUTPUT_CAP: usize = 4096;

/// The configured command for `stat` at `level`, and whether it repeats on
/// every evaluation. Stat-specific keys win over plugin-wide ones.
pub fn lookup(limits: &Limits, plugin: &str, stat: &str, level: Level) -> Option<(String, bool)> {
    let level = level.as_str().to_lowercase();
    for prefix in [stat, plugin] {
        for (suffix, repeat) in [("_action_repeat", true), ("_action", false)] {
            if let Some(v) = limits.get(&format!("{prefix}_{level}{suffix}")) {
                return Some((raw_text(v), repeat));
            }
        }
    }
    None
}

/// Limits split non-numeric values on commas; an action is one command line.
fn raw_text(v: &LimitValue) -> String {
    match v {
        LimitValue::List(parts) => parts.join(","),
        LimitValue::Float(f) => crate::json::py_float(*f),
        LimitValue::Int(i) => i.to_string(),
    }
}

/// One program to run: arguments, and an optional file its stdout goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub argv: Vec<String>,
    pub stdout_to: Option<(String, bool)>,
}

/// Split a command line into steps (`&&` separates them, `>`/`>>` redirect
/// stdout), then substitute `{{field}}` inside each argument from `stats`.
pub fn plan(command: &str, stats: Option<&Value>) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut current = Step {
        argv: Vec::new(),
        stdout_to: None,
    };
    let mut tokens = command.split_whitespace().peekable();
    while let Some(token) = tokens.next() {
        match token {
            "&&" => {
                if !current.argv.is_empty() {
                    steps.push(std::mem::replace(
                        &mut current,
                        Step {
                            argv: Vec::new(),
                            stdout_to: None,
                        },
                    ));
                }
            }
            ">" | ">>" => {
                if let Some(file) = tokens.next() {
                    current.stdout_to = Some((render(file, stats), token == ">>"));
                }
            }
            arg => current.argv.push(render(arg, stats)),
        }
    }
    if !current.argv.is_empty() {
        steps.push(current);
    }
    steps
}

/// Replace each `{{name}}` by the stats field `name` (strings raw, other
/// values as JSON text, missing fields as nothing).
pub fn render(template: &str, stats: Option<&Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = rest[start + 2..start + 2 + len].trim();
        match stats.and_then(|s| s.get(name)) {
            Some(Value::String(s)) => out.push_str(s),
            Some(v) => out.push_str(&v.to_string()),
            None => {}
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Run the steps one after another on a background thread; a step that
/// fails or times out stops the chain. Never blocks the caller.
pub fn spawn(stat: String, steps: Vec<Step>) {
    let spawned = std::thread::Builder::new().name("glint-action".into()).spawn(move || {
        for step in steps {
            match run_step(&step) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(%stat, command = ?step.argv, "action failed");
                    return;
                }
                Err(e) => {
                    tracing::warn!(%stat, command = ?step.argv, error = %e, "action could not run");
                    return;
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start an action thread");
    }
}

fn run_step(step: &Step) -> std::io::Result<bool> {
    let Some((program, args)) = step.argv.split_first() else {
        return Ok(true);
    };
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stderr(Stdio::null());
    match &step.stdout_to {
        Some((file, append)) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(*append)
                .truncate(!*append)
                .open(file)?;
            cmd.stdout(f);
        }
        None => {
            cmd.stdout(Stdio::piped());
        }
    }
    let mut child = cmd.spawn()?;
    let reader = child.stdout.take().map(|out| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.take(OUTPUT_CAP as u64).read_to_end(&mut buf);
            buf
        })
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            tracing::warn!(command = ?step.argv, "action killed after {}s", TIMEOUT.as_secs());
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(r) = reader {
        let _ = r.join();
    }
    Ok(status.success())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitution_never_adds_arguments() {
        let stats = json!({"mnt_point": "/; rm -rf / $(reboot) `id`", "percent": 91.5});
        let steps = plan(
            "echo {{mnt_point}} at {{percent}}% > /tmp/x && logger done",
            Some(&stats),
        );
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].argv, ["echo", "/; rm -rf / $(reboot) `id`", "at", "91.5%"]);
        assert_eq!(steps[0].stdout_to, Some(("/tmp/x".into(), false)));
        assert_eq!(steps[1].argv, ["logger", "done"]);
    }

    #[test]
    fn lookup_prefers_the_stat_and_repeat() {
        let config = crate::config::Config::parse(
            "[fs]\ncritical_action=echo plugin\n/_critical_action_repeat=echo root, twice\n",
            std::path::Path::new("t.conf"),
        )
        .unwrap();
        let limits = Limits::from_config("fs", &config);
        assert_eq!(
            lookup(&limits, "fs", "fs_/", Level::Critical),
            Some(("echo root, twice".into(), true))
        );
        assert_eq!(
            lookup(&limits, "fs", "fs_/home", Level::Critical),
            Some(("echo plugin".into(), false))
        );
        assert_eq!(lookup(&limits, "fs", "fs_/", Level::Warning), None);
    }
}
