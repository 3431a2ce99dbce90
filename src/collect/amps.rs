//! `amps`: Application Monitoring Processes, one per `[amp_<name>]` section
//! (spec §8.2).
//!
//! Each AMP counts the processes its `regex` finds (a search over the name
//! or the joined command line) in the shared process table, and every
//! `refresh` seconds of its own runs a probe: the CPU/MEM sum of those
//! processes, its `command`s, `systemctl_cmd` (systemd), `service_cmd`
//! (systemv) or a GET of `status_url` (nginx).
//!
//! Commands never go through a shell: `;` separates commands and each is
//! split on whitespace into a program and literal arguments (so `$(...)`,
//! backticks, `|`, `>` or `&&` are plain text). They run on a background
//! thread with stdin closed, a time limit (the AMP's refresh, kept between 1
//! and 10 s; then the whole process group is killed) and output capped at
//! 64 KiB, so a hanging command never delays `collect`; the previous result
//! stays until a probe finishes, and a probe still running is not restarted.

use std::io::{PipeReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use regex_lite::Regex;
use serde_json::{Map, Value};
use tracing::{debug, warn};

use super::ports::http;
use super::{Env, Plugin, ProcessTable};
use crate::config::{Section, parse_bool};
use crate::json::float;

/// Most output kept from one command.
pub const MAX_OUTPUT: usize = 64 * 1024;
/// A probe never runs longer than this (nor longer than its refresh).
const MAX_PROBE_TIME: Duration = Duration::from_secs(10);
const MIN_PROBE_TIME: Duration = Duration::from_secs(1);
/// How often a running command is checked for exit, timeout or cancel.
const POLL: Duration = Duration::from_millis(10);
/// After exit, how long to wait for output still held by a grandchild.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// What happens to a command's stderr.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stderr {
    /// Interleaved with stdout, like `stderr=STDOUT`.
    Merge,
    Discard,
}

#[derive(Debug)]
pub struct CommandOutput {
    pub success: bool,
    /// stdout (and stderr when merged), at most [`MAX_OUTPUT`] bytes.
    pub output: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("empty command")]
    Empty,
    #[error("cannot run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{program} ran longer than {seconds} s and was killed")]
    TimedOut { program: String, seconds: f64 },
    #[error("{program} was stopped because glint no longer needs it")]
    Cancelled { program: String },
    #[error("I/O error around a command: {0}")]
    Io(#[from] std::io::Error),
}

/// Run `argv` (program then literal arguments, no shell) with stdin closed;
/// kill its process group once `timeout` passes or `cancel` is set.
pub fn run_command(
    argv: &[String],
    stderr: Stderr,
    timeout: Duration,
    cancel: &AtomicBool,
) -> Result<CommandOutput, RunError> {
    let (program, args) = argv.split_first().ok_or(RunError::Empty)?;
    let (reader, writer) = std::io::pipe()?;
    let stderr_to = match stderr {
        Stderr::Merge => Stdio::from(writer.try_clone()?),
        Stderr::Discard => Stdio::null(),
    };
    let mut command = Command::new(program);
    // Its own process group, so a timeout also ends what it started.
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(stderr_to)
        .process_group(0);
    let spawned = command.spawn();
    // Drop our copies of the pipe's write end, or EOF would never come.
    drop(command);
    let mut child = spawned.map_err(|source| RunError::Spawn {
        program: program.clone(),
        source,
    })?;
    let chunks = read_in_background(reader);
    let deadline = Instant::now() + timeout;
    let mut output = Vec::new();
    let status = loop {
        take_chunks(&chunks, &mut output, Duration::ZERO);
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if cancel.load(Ordering::Relaxed) || Instant::now() >= deadline {
            kill_group(&mut child);
            let program = program.clone();
            return Err(if cancel.load(Ordering::Relaxed) {
                RunError::Cancelled { program }
            } else {
                RunError::TimedOut {
                    program,
                    seconds: timeout.as_secs_f64(),
                }
            });
        }
        thread::sleep(POLL);
    };
    take_chunks(&chunks, &mut output, OUTPUT_GRACE);
    Ok(CommandOutput {
        success: status.success(),
        output,
    })
}

/// Forward the pipe's bytes over a channel, so the caller can stop
/// listening whenever it wants (a grandchild may hold the pipe open).
fn read_in_background(mut reader: PipeReader) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new().name("glint-cmd-output".into()).spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    });
    if let Err(e) = spawned {
        debug!(error = %e, "cannot start an output reader; output is lost");
    }
    rx
}

/// Append what has arrived (waiting up to `wait` for the end of output),
/// keeping at most [`MAX_OUTPUT`] bytes.
fn take_chunks(chunks: &Receiver<Vec<u8>>, output: &mut Vec<u8>, wait: Duration) {
    let until = Instant::now() + wait;
    loop {
        let chunk = match chunks.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(chunk) => chunk,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
        };
        let room = MAX_OUTPUT.saturating_sub(output.len());
        output.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

fn kill_group(child: &mut Child) {
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    if nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// Output as Glances shows it: ASCII only, trailing whitespace removed.
fn clean(output: &[u8]) -> String {
    ascii_text(output).trim_end().to_string()
}

/// Split `;`-separated commands into program + arguments each.
fn split_commands(commands: &str) -> Vec<Vec<String>> {
    commands
        .split(';')
        .map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|argv| !argv.is_empty())
        .collect()
}

/// The background part of an AMP.
#[derive(Debug, Clone, PartialEq)]
enum Probe {
    /// Generic AMP with `command`.
    Commands(Vec<Vec<String>>),
    /// nginx AMP: GET `status_url`.
    StatusPage(String),
    /// systemd AMP: `systemctl_cmd`, unit states counted.
    Systemd(Vec<String>),
    /// systemv AMP: `service_cmd`, `[ + ]` lines counted.
    SystemV(Vec<String>),
}

/// `systemctl list-units` output → `Services\n<state>: <n>\n...`: the LOAD
/// and ACTIVE columns of the unit table counted. Glances drops the first
/// line and the last 8; glint skips the `UNIT` header and stops at the blank
/// line before the legend, which also fits systemd versions whose legend is
/// 7 lines long and `--no-legend` output.
pub fn systemd_summary(text: &str) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for line in text.lines().take_while(|l| !l.trim().is_empty()) {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if columns.len() > 3 && columns[0] != "UNIT" {
            for state in &columns[1..3] {
                match counts.iter_mut().find(|(s, _)| s == state) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((state.to_string(), 1)),
                }
            }
        }
    }
    counts.iter().fold("Services\n".to_string(), |out, (state, n)| {
        out + &format!("{state}: {n}\n")
    })
}

/// `service --status-all` output → running (`+`), stopped (`-`), upstart (`?`).
pub fn systemv_summary(text: &str) -> String {
    let (mut running, mut stopped, mut upstart) = (0, 0, 0);
    for line in text.lines() {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if columns.len() < 4 {
            continue;
        }
        match columns[1] {
            "+" => running += 1,
            "-" => stopped += 1,
            "?" => upstart += 1,
            _ => {}
        }
    }
    format!("Services\nrunning: {running}\nstopped: {stopped}\nupstart: {upstart}\n")
}

impl Probe {
    /// Run once; `Ok(None)` keeps the previous result (a failed systemd /
    /// systemv command or an HTTP error status, as in Glances).
    fn run(&self, timeout: Duration, cancel: &AtomicBool) -> Result<Option<String>, String> {
        let err = |e: RunError| e.to_string();
        match self {
            Probe::Commands(commands) => {
                let mut all = Vec::new();
                for argv in commands {
                    let out = run_command(argv, Stderr::Merge, timeout, cancel).map_err(err)?;
                    // Glances shows the output of the command that failed.
                    if !out.success {
                        return Ok(Some(clean(&out.output)));
                    }
                    all.extend_from_slice(&out.output);
                }
                Ok(Some(clean(&all)))
            }
            Probe::StatusPage(url) => {
                let response = http::request("GET", url, timeout, None).map_err(|e| e.to_string())?;
                Ok(response.ok().then(|| response.body.trim_end().to_string()))
            }
            Probe::Systemd(argv) => {
                let out = run_command(argv, Stderr::Discard, timeout, cancel).map_err(err)?;
                Ok(out.success.then(|| systemd_summary(&ascii_text(&out.output))))
            }
            Probe::SystemV(argv) => {
                let out = run_command(argv, Stderr::Merge, timeout, cancel).map_err(err)?;
                Ok(out.success.then(|| systemv_summary(&ascii_text(&out.output))))
            }
        }
    }

    /// What `one_line=true` puts in place of newlines.
    fn line_separator(&self) -> &'static str {
        match self {
            Probe::Systemd(_) | Probe::SystemV(_) => " ",
            _ => "",
        }
    }
}

/// The ASCII characters of command output (Glances' `to_ascii`).
fn ascii_text(output: &[u8]) -> String {
    String::from_utf8_lossy(output).chars().filter(char::is_ascii).collect()
}

/// `one_line=true` output: newlines replaced by `separator`.
fn flatten(text: String, one_line: bool, separator: &str) -> String {
    if one_line { text.replace('\n', separator) } else { text }
}

/// The state a probe thread shares with the plugin.
#[derive(Debug, Default)]
struct ProbeState {
    result: Mutex<Option<String>>,
    running: AtomicBool,
    /// A failure was logged at warn level once already.
    warned: AtomicBool,
}

impl ProbeState {
    fn set(&self, result: String) {
        *self.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
    }

    fn get(&self) -> Option<String> {
        self.result.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

struct Amp {
    name: String,
    enabled: bool,
    /// `None` for the generic AMP without `command` (the CPU/MEM summary),
    /// and for a dedicated AMP missing its URL or command (nothing to run).
    probe: Option<Probe>,
    summary: bool,
    has_regex: bool,
    regex: Option<Regex>,
    refresh: Option<f64>,
    countmin: Value,
    countmax: Value,
    one_line: bool,
    count: usize,
    /// Glances' AMP timer: (re)started at construction and at each probe;
    /// a probe is due once `timer_duration` has passed (0 at first).
    timer_start: Instant,
    timer_duration: f64,
    state: Arc<ProbeState>,
}

/// Python's `str.capitalize`: first letter upper, the rest lower.
fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect()
    })
}

/// An option as Glances stores it: a float when it parses, else the text.
fn option_value(value: Option<&str>) -> Value {
    match value {
        None => Value::Null,
        Some(v) => v.trim().parse::<f64>().map_or_else(|_| Value::from(v), float),
    }
}

impl Amp {
    fn from_section(section: &Section, problems: &mut Vec<String>) -> Amp {
        let suffix = &section.name["amp_".len()..];
        let opt = |key: &str| section.get(key);
        let refresh = opt("refresh").and_then(|v| v.trim().parse::<f64>().ok());
        let mut enabled = opt("enable").and_then(parse_bool).unwrap_or(false);
        if enabled && refresh.is_none() {
            problems.push(format!("[{}] has no refresh; the AMP is disabled", section.name));
            enabled = false;
        }
        let regex = opt("regex").and_then(|r| match Regex::new(r) {
            Ok(re) => Some(re),
            Err(e) => {
                problems.push(format!(
                    "[{}] regex '{r}' is invalid ({e}); it matches nothing",
                    section.name
                ));
                None
            }
        });
        let argv = |key: &str| opt(key).map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>());
        let (name, probe) = match suffix {
            "nginx" => (
                "Nginx".to_string(),
                opt("status_url").map(|u| Probe::StatusPage(u.to_string())),
            ),
            "systemd" => ("Systemd".to_string(), argv("systemctl_cmd").map(Probe::Systemd)),
            "systemv" => ("SystemV".to_string(), argv("service_cmd").map(Probe::SystemV)),
            _ => (
                capitalize(suffix),
                opt("command").map(|c| Probe::Commands(split_commands(c))),
            ),
        };
        let summary = probe.is_none() && !matches!(suffix, "nginx" | "systemd" | "systemv");
        Amp {
            name,
            enabled,
            probe,
            summary,
            has_regex: opt("regex").is_some(),
            regex,
            refresh,
            countmin: option_value(opt("countmin")),
            countmax: option_value(opt("countmax")),
            one_line: opt("one_line").and_then(parse_bool).unwrap_or(false),
            count: 0,
            timer_start: Instant::now(),
            timer_duration: 0.0,
            state: Arc::default(),
        }
    }

    /// Glances' `should_update`: when the timer ran out, restart it for
    /// `refresh` seconds and say yes.
    fn probe_due(&mut self) -> bool {
        if self.timer_start.elapsed().as_secs_f64() <= self.timer_duration {
            return false;
        }
        self.timer_duration = self.refresh.unwrap_or(0.0);
        self.timer_start = Instant::now();
        true
    }

    fn matches(&self, process: &Value) -> bool {
        let Some(re) = &self.regex else {
            return false;
        };
        let name = process.get("name").and_then(Value::as_str).unwrap_or_default();
        let cmdline: Vec<&str> = process
            .get("cmdline")
            .and_then(Value::as_array)
            .map(|args| args.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        re.is_match(name) || (!cmdline.is_empty() && re.is_match(&cmdline.join(" ")))
    }

    /// One plugin refresh: count, then probe when due (Glances' AmpsList.update).
    fn update(&mut self, processes: &[Value], cancel: &Arc<AtomicBool>) {
        if !self.enabled {
            return;
        }
        let matched: Vec<&Value> = processes.iter().filter(|p| self.matches(p)).collect();
        self.count = matched.len();
        if self.has_regex && matched.is_empty() {
            if self.countmin.as_f64().is_some_and(|min| min > 0.0) {
                self.state.set("No running process".into());
            }
            return;
        }
        if !self.probe_due() {
            return;
        }
        if self.summary {
            let sum = |field: &str| matched.iter().filter_map(|p| p.get(field)?.as_f64()).sum::<f64>();
            let text = format!("CPU: {:.1}% | MEM: {:.1}%", sum("cpu_percent"), sum("memory_percent"));
            self.state.set(flatten(text, self.one_line, ""));
        } else if let Some(probe) = &self.probe {
            self.start_probe(probe.clone(), Arc::clone(cancel));
        }
    }

    /// Run `probe` on its own thread unless the previous one still runs.
    fn start_probe(&self, probe: Probe, cancel: Arc<AtomicBool>) {
        if self.state.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let timeout = Duration::try_from_secs_f64(self.refresh.unwrap_or(0.0))
            .map_or(MAX_PROBE_TIME, |t| t.clamp(MIN_PROBE_TIME, MAX_PROBE_TIME));
        let (state, name, one_line) = (Arc::clone(&self.state), self.name.clone(), self.one_line);
        let spawned = thread::Builder::new().name(format!("glint-amp-{name}")).spawn(move || {
            match probe.run(timeout, &cancel) {
                Ok(Some(text)) => state.set(flatten(text, one_line, probe.line_separator())),
                Ok(None) => debug!(amp = name, "probe gave no new result"),
                Err(e) if !state.warned.swap(true, Ordering::Relaxed) => {
                    warn!(amp = name, "probe failed: {e}")
                }
                Err(e) => debug!(amp = name, "probe failed: {e}"),
            }
            state.running.store(false, Ordering::Release);
        });
        if let Err(e) = spawned {
            warn!(amp = self.name, error = %e, "cannot start the probe thread");
            self.state.running.store(false, Ordering::Release);
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::with_capacity(9);
        m.insert("key".into(), "name".into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("result".into(), self.state.get().map_or(Value::Null, Value::from));
        m.insert("refresh".into(), self.refresh.map_or(Value::Null, float));
        m.insert("timer".into(), float(self.timer_start.elapsed().as_secs_f64()));
        m.insert("count".into(), self.count.into());
        m.insert("countmin".into(), self.countmin.clone());
        m.insert("countmax".into(), self.countmax.clone());
        m.insert("regex".into(), self.has_regex.into());
        Value::Object(m)
    }
}

pub struct Amps {
    amps: Vec<Amp>,
    processes: ProcessTable,
    /// Set when the plugin goes away: running commands are killed.
    cancel: Arc<AtomicBool>,
    /// Config problems, logged on the first collection (construction also
    /// happens just to probe which plugins exist).
    problems: Vec<String>,
}

impl Amps {
    pub fn new(env: &Env) -> Amps {
        let mut problems = Vec::new();
        let amps = env
            .config
            .sections
            .iter()
            .filter(|s| s.name.starts_with("amp_"))
            .map(|s| Amp::from_section(s, &mut problems))
            .collect();
        Amps {
            amps,
            processes: Arc::clone(&env.processes),
            cancel: Arc::default(),
            problems,
        }
    }
}

impl Drop for Amps {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Plugin for Amps {
    fn name(&self) -> &'static str {
        "amps"
    }

    /// Matching runs over the published process table, and probes run on
    /// threads of their own: a collection never waits.
    fn quick(&self) -> bool {
        true
    }

    fn collect(&mut self) -> Value {
        for problem in self.problems.drain(..) {
            warn!("amps: {problem}");
        }
        let processes = Arc::clone(&self.processes.read().unwrap_or_else(PoisonError::into_inner));
        for amp in &mut self.amps {
            amp.update(super::process_list(&processes), &self.cancel);
        }
        Value::Array(self.amps.iter().map(Amp::to_json).collect())
    }

    fn key(&self) -> Option<&'static str> {
        Some("name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::ports::test_http::Server;
    use crate::config::Config;
    use serde_json::json;
    use std::path::Path;

    fn fixture(name: &str) -> String {
        format!("{}/tests/fixtures/amps/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    fn amps(conf: &str, processes: Vec<Value>) -> Amps {
        let config = Config::parse(conf, Path::new("test.conf")).unwrap();
        let env = Env::new("/nonexistent", Arc::new(config));
        *env.processes.write().unwrap() = Arc::new(Value::Array(processes));
        Amps::new(&env)
    }

    fn process(name: &str, cmdline: &[&str], cpu: f64, mem: f64) -> Value {
        json!({"name": name, "cmdline": cmdline, "cpu_percent": cpu, "memory_percent": mem, "pid": 1})
    }

    /// Collect until the first AMP has a result (probes run in the background).
    fn result_of(a: &mut Amps, index: usize) -> Value {
        let started = Instant::now();
        loop {
            let stats = a.collect();
            if !stats[index]["result"].is_null() || started.elapsed() > Duration::from_secs(5) {
                return stats[index]["result"].clone();
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn regex_amp_sums_matching_processes() {
        let table = vec![
            process("python3", &["/usr/bin/python3", "app.py"], 10.3, 0.5),
            process("worker", &["/opt/venv/bin/python", "-m", "worker"], 5.0, 0.26),
            process("kworker/0:1", &[], 1.0, 0.0),
            process("bash", &["-bash"], 3.0, 0.1),
        ];
        let mut a = amps(
            "[amp_python]\nenable=true\nregex=.*python.*\nrefresh=3\ncountmax=2\n",
            table,
        );
        let stats = a.collect();
        let amp = &stats[0];
        let keys: Vec<&str> = amp.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "key", "name", "result", "refresh", "timer", "count", "countmin", "countmax", "regex"
            ]
        );
        assert_eq!(amp["name"], "Python");
        assert_eq!(amp["result"], "CPU: 15.3% | MEM: 0.8%");
        assert_eq!(amp["count"], 2);
        assert_eq!(
            (amp["refresh"].clone(), amp["countmin"].clone(), amp["countmax"].clone()),
            (json!(3.0), Value::Null, json!(2.0))
        );
        assert_eq!(amp["regex"], true);
        assert!(amp["timer"].as_f64().unwrap() < 1.0);
    }

    #[test]
    fn sections_in_order_including_disabled_and_no_match_message() {
        let conf = "[amp_dropbox]\nenable=true\nregex=.*dropbox.*\nrefresh=3\ncountmin=1\n\
                    [amp_off]\nenable=false\nregex=.*foo.*\nrefresh=3\n\
                    [amp_norefresh]\nenable=true\n\
                    [amp_systemd]\nenable=false\nregex=\\/lib\\/systemd\\/systemd\nrefresh=30\nsystemctl_cmd=/bin/systemctl list-units\n\
                    [amp_systemv]\nenable=false\nrefresh=30\n[amp_nginx]\nenable=false\n";
        let mut a = amps(conf, vec![process("foo", &["foo"], 1.0, 1.0)]);
        assert_eq!(a.problems.len(), 1, "amp_norefresh: {:?}", a.problems);
        let stats = a.collect();
        let names: Vec<&str> = stats
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Dropbox", "Off", "Norefresh", "Systemd", "SystemV", "Nginx"]);
        assert_eq!(stats[0]["result"], "No running process");
        assert_eq!(
            (stats[0]["count"].clone(), stats[0]["countmin"].clone()),
            (json!(0), json!(1.0))
        );
        // Disabled: never probed nor counted, even when its regex matches.
        assert_eq!(
            (stats[1]["result"].clone(), stats[1]["count"].clone()),
            (Value::Null, json!(0))
        );
        assert_eq!(
            (stats[2]["refresh"].clone(), stats[2]["regex"].clone()),
            (Value::Null, json!(false))
        );
        assert_eq!(capitalize("myAPP"), "Myapp");
    }

    #[test]
    fn command_amp_concatenates_outputs() {
        let mut a = amps(
            "[amp_echo]\nenable=true\nrefresh=3\none_line=false\ncommand=echo hello;echo world\n",
            vec![],
        );
        assert_eq!(result_of(&mut a, 0), "hello\nworld");
        assert_eq!(a.collect()[0]["count"], 0);
        let mut a = amps(
            "[amp_echo]\nenable=true\nrefresh=3\none_line=true\ncommand=echo hello;echo world\n",
            vec![],
        );
        assert_eq!(result_of(&mut a, 0), "helloworld");
    }

    #[test]
    fn command_text_is_never_interpreted_by_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("pwned");
        let t = target.display();
        let command = format!("echo $(touch {t}) `touch {t}` && touch {t} | touch {t} > {t}");
        let mut a = amps(
            &format!("[amp_inject]\nenable=true\nrefresh=3\ncommand={command}\n"),
            vec![],
        );
        let expected = format!("$(touch {t}) `touch {t}` && touch {t} | touch {t} > {t}");
        assert_eq!(result_of(&mut a, 0), expected.as_str());
        assert!(!target.exists(), "a shell ran the command");
    }

    #[test]
    fn failing_and_missing_programs() {
        let conf = format!(
            "[amp_cat]\nenable=true\nrefresh=3\ncommand=echo first;cat {}\n",
            fixture("absent")
        );
        let result = result_of(&mut amps(&conf, vec![]), 0);
        assert!(
            result.as_str().unwrap().starts_with("cat: ") && !result.as_str().unwrap().contains("first"),
            "{result}"
        );
        let mut a = amps(
            "[amp_ghost]\nenable=true\nrefresh=3\ncommand=/nonexistent/program\n",
            vec![],
        );
        a.collect();
        let started = Instant::now();
        while a.amps[0].state.running.load(Ordering::Acquire) && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(a.collect()[0]["result"], Value::Null);
    }

    #[test]
    fn hanging_command_does_not_block_collect() {
        let mut a = amps("[amp_slow]\nenable=true\nrefresh=1\ncommand=sleep 30\n", vec![]);
        for _ in 0..3 {
            let started = Instant::now();
            let stats = a.collect();
            assert!(
                started.elapsed() < Duration::from_millis(200),
                "collect waited on the command"
            );
            assert_eq!(stats[0]["result"], Value::Null);
        }
        // Killed at the time limit (the AMP's 1 s refresh), not after 30 s.
        let started = Instant::now();
        while a.amps[0].state.running.load(Ordering::Acquire) && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(a.amps[0].state.get(), None);
    }

    #[test]
    fn probes_wait_for_their_own_refresh() {
        let mut a = amps("[amp_date]\nenable=true\nrefresh=30\ncommand=echo once\n", vec![]);
        assert_eq!(result_of(&mut a, 0), "once");
        assert!(!a.amps[0].probe_due(), "next probe only after 30 s");
    }

    #[test]
    fn run_command_caps_output_and_honours_cancel() {
        let big = ["head", "-c", "200000", "/dev/zero"].map(String::from);
        let out = run_command(&big, Stderr::Merge, Duration::from_secs(5), &AtomicBool::new(false)).unwrap();
        assert!(out.success);
        assert_eq!(out.output.len(), MAX_OUTPUT);
        let sleep = ["sleep", "30"].map(String::from);
        let started = Instant::now();
        let err = run_command(&sleep, Stderr::Merge, Duration::from_secs(30), &AtomicBool::new(true)).unwrap_err();
        assert!(matches!(err, RunError::Cancelled { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn nginx_amp_reads_the_status_page() {
        let page =
            "Active connections: 1 \nserver accepts handled requests\n 5 5 9 \nReading: 0 Writing: 1 Waiting: 0 \n";
        let server = Server::start(move |_, path| match path {
            "/nginx_status" => (200, vec![], page.into()),
            _ => (404, vec![], String::new()),
        });
        let conf = format!(
            "[amp_nginx]\nenable=true\nrefresh=60\nstatus_url={}\n",
            server.url("/nginx_status")
        );
        let mut a = amps(&conf, vec![]);
        assert_eq!(result_of(&mut a, 0), page.trim_end());
        assert_eq!(a.collect()[0]["name"], "Nginx");
    }

    #[test]
    fn systemd_and_systemv_amps_run_their_commands() {
        let conf = format!(
            "[amp_systemd]\nenable=true\nrefresh=30\none_line=true\nsystemctl_cmd=cat {}\n\
             [amp_systemv]\nenable=true\nrefresh=30\nservice_cmd=cat {}\n",
            fixture("systemctl-list-units.txt"),
            fixture("service-status-all.txt"),
        );
        let mut a = amps(&conf, vec![]);
        assert_eq!(result_of(&mut a, 0), "Services loaded: 6 active: 5 failed: 1 ");
        assert_eq!(result_of(&mut a, 1), "Services\nrunning: 0\nstopped: 4\nupstart: 1\n");
    }

    #[test]
    fn systemd_summary_counts_load_and_active_columns() {
        let text = std::fs::read_to_string(fixture("systemctl-list-units.txt")).unwrap();
        assert_eq!(
            systemd_summary(&ascii_text(text.as_bytes())),
            "Services\nloaded: 6\nactive: 5\nfailed: 1\n"
        );
        assert_eq!(systemd_summary(""), "Services\n");
    }

    #[test]
    fn splits_commands_on_semicolons_and_whitespace() {
        assert_eq!(
            split_commands("echo  a b;; ls -l /\t"),
            vec![vec!["echo", "a", "b"], vec!["ls", "-l", "/"]]
        );
        assert_eq!(clean("caf\u{e9} ok \n\n".as_bytes()), "caf ok");
    }
}
