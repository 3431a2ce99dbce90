//! The `glint` binary: flags, config, listener, mesh, server.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use clap::Parser;
use tracing::{error, info, warn};

use glint::cli::Cli;
use glint::collect::{Env, help::help_body, logical_cpus};
use glint::config::Config;
use glint::daemon::{Plan, start_mesh};
use glint::http::ApiState;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Logs go to stderr at info (debug with `-d`); `RUST_LOG` takes a level
/// and `target=level` pairs, e.g. `RUST_LOG=glint=debug,actix=warn`.
fn init_logging(debug: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| default.parse().expect("a level name parses"));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .init();
}

/// Bind before any actor starts (see DEPENDENCIES.md), with a real backlog.
fn listen(bind: &str, port: u16) -> std::io::Result<std::net::TcpListener> {
    let ip: std::net::IpAddr = bind.parse().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("'{bind}' is not an IP address"),
        )
    })?;
    let addr = SocketAddr::new(ip, port);
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// The process scan keeps a /proc file open per process (up to a quarter
/// of the soft limit); services often start with a soft limit of 1024 under
/// a far higher hard one, meant for programs that still use select(2).
fn raise_descriptor_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const WANTED: u64 = 8192;
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let target = WANTED.min(hard);
        if soft < target && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
            tracing::debug!(from = soft, to = target, "raised the open-file soft limit");
        }
    }
}

fn main() -> ExitCode {
    glint::memory::tune();
    let cli = Cli::parse();
    init_logging(cli.debug);
    raise_descriptor_limit();
    if let Err(message) = cli.check() {
        eprintln!("glint: {message}");
        return ExitCode::from(2);
    }
    let config = match Config::load(cli.config.as_deref(), logical_cpus(&cli.root)) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("glint: {e}");
            return ExitCode::from(2);
        }
    };
    match &config.path {
        Some(p) => info!(file = %p.display(), "configuration loaded"),
        None => info!("no configuration file found; using Glances' defaults"),
    }
    let password_dir = config.get("passwords", "local_password_path").map(str::to_string);
    if cli.set_password {
        return set_password(&cli.username, password_dir.as_deref());
    }
    let auth = if cli.auth_required() {
        match glint::http::auth::load(&cli.username, password_dir.as_deref()) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("glint: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let mut env = Env::new(cli.root.clone(), Arc::clone(&config));
    env.strftime = cli.strftime_format.clone();
    env.switches = glint::collect::Switches {
        hide_kernel_threads: cli.hide_kernel_threads,
        programs: cli.programs,
        diskio_show_ramfs: cli.diskio_show_ramfs,
        sort_processes: cli.sort_processes.clone(),
    };
    let plan = Plan::new(&cli, &config);

    let listener = match listen(&cli.bind, cli.port) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("glint: cannot listen on {}:{}: {e}", cli.bind, cli.port);
            return ExitCode::from(1);
        }
    };
    match serve(cli, config, env, plan, listener, auth) {
        Ok(()) => {
            info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!(error = %e, "server failed");
            ExitCode::from(1)
        }
    }
}

/// `--set-password`: hash the first line of stdin into `<user>.pwd`.
fn set_password(user: &str, configured_dir: Option<&str>) -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() || line.trim_end_matches(['\r', '\n']).is_empty() {
        eprintln!("glint: --set-password reads the password from standard input; got nothing");
        return ExitCode::from(2);
    }
    let plain = line.trim_end_matches(['\r', '\n']);
    let Some(dir) = glint::http::auth::password_dirs(configured_dir).into_iter().next() else {
        eprintln!("glint: no directory for the password file: set HOME or [passwords] local_password_path");
        return ExitCode::from(2);
    };
    match glint::http::auth::store(user, &dir, plain) {
        Ok(file) => {
            println!("password for user '{user}' stored in {}", file.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("glint: cannot write the password file in {}: {e}", dir.display());
            ExitCode::from(1)
        }
    }
}

#[actix_web::main]
async fn serve(
    cli: Cli,
    config: Arc<Config>,
    env: Env,
    plan: Plan,
    listener: std::net::TcpListener,
    auth: Option<glint::http::auth::Auth>,
) -> std::io::Result<()> {
    let protected = auth.is_some();
    let args = cli.args_json(plan.refresh, config.path.as_deref(), &plan.disabled());
    let help = help_body(config.path.as_deref());
    let addr = listener.local_addr()?;
    info!(%addr, plugins = ?plan.enabled(), refresh = plan.refresh, "serving the Glances API v3");
    if !addr.ip().is_loopback() && !protected {
        warn!(
            "listening on a non-loopback address without a password: anyone who can reach {addr} can read these stats"
        );
    }
    // The mesh, the HTTP connections and their accepting share this one
    // thread: a request reaches the aggregator by message without a thread
    // hop (in a perf profile under wrk, the hop's context switches and
    // wakeups were about a third of the daemon's CPU), and an idle daemon
    // has one thread to wake. Blocking collectors run on its blocking pool.
    let aggregator = start_mesh(&plan, &env);
    let api = ApiState::new(aggregator, &config, args, &help, auth, addr);
    glint::http::server::run(
        listener,
        web::Data::new(api.waiting_for_first_samples(Duration::from_secs(3))),
    )
    .await
}
