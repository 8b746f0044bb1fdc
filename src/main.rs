//! The `nenufar` command: serve, migrate, seed, demo, org create, and the embedded database helpers.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use nenufar::app::AppState;
use nenufar::clock::{Clock, SystemClock};
use nenufar::config::{Config, LogFormat};
use nenufar::db::cluster::{ClusterHome, ClusterOptions, Create, EmbeddedCluster};
use nenufar::{db, http, service, telemetry};

#[derive(Parser)]
#[command(
    name = "nenufar",
    version,
    about = "Geolocated social-game engine for urban treasure hunts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API (NENUFAR_BIND, default 127.0.0.1:8080); migrates first.
    Serve,
    /// Applies pending database migrations.
    Migrate,
    /// Loads a fixture directory (hunt.json + targets.geojson) as a published hunt of the demo organisation.
    Seed { fixture: PathBuf },
    /// Starts the embedded database if needed, loads the Paris demo hunt, prints credentials, serves.
    Demo {
        /// Fixture directory of the demo hunt.
        #[arg(long, default_value = "fixtures/paris")]
        fixture: PathBuf,
    },
    /// Organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// The embedded PostgreSQL cluster.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Creates an organisation and its owner; prints the organisation id.
    Create {
        name: String,
        #[arg(long)]
        owner_email: String,
        #[arg(long)]
        owner_password: String,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Starts (or reuses) a cluster, making it even when this user has another one (other
    /// commands refuse to); prints the URL of its `postgres` database.
    Start {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// fsync off: for test clusters only.
        #[arg(long)]
        throwaway: bool,
    },
    /// Stops the cluster in a data directory.
    Stop {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn say(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format == LogFormat::Json, config.log_backtraces);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Db {
            command:
                DbCommand::Start {
                    data_dir,
                    throwaway,
                },
        } => {
            let (data_dir, home) = locate(data_dir.or(config.data_dir.clone()), &config)?;
            let cluster = start_cluster(data_dir, throwaway, Create::Always, home).await?;
            say(cluster.database_url("postgres"));
            Ok(())
        }
        Command::Db {
            command: DbCommand::Stop { data_dir },
        } => {
            let (data_dir, _) = locate(data_dir.or(config.data_dir.clone()), &config)?;
            tokio::task::spawn_blocking(move || EmbeddedCluster::stop(&data_dir)).await??;
            Ok(())
        }
        Command::Migrate => {
            let url = database_url(&config).await?;
            let n = db::migrate::run_pending(&url).await?;
            say(format!("{n} migration(s) applied"));
            Ok(())
        }
        Command::Serve => {
            let state = prepare(&config).await?;
            serve(state, &config).await
        }
        Command::Seed { fixture } => {
            let state = prepare(&config).await?;
            let owner = service::seed::demo_owner(&state.ctx).await?;
            let hunt = service::seed::seed_hunt(&state.ctx, owner, &fixture).await?;
            say(hunt);
            Ok(())
        }
        Command::Demo { fixture } => {
            // The demo pushes without configuration (README line 1); production sets its own.
            let mut config = config;
            if config.push.subject.is_none() {
                config.push.subject = Some(DEMO_VAPID_SUBJECT.to_owned());
            }
            let state = prepare(&config).await?;
            let owner = service::seed::demo_owner(&state.ctx).await?;
            let hunt = service::seed::demo_hunt(&state.ctx, owner, &fixture).await?;
            let base = format!("http://{}", config.bind);
            say(format!(
                "\nnenufar demo is up\n  API:      {base}/v1\n  docs:     {base}/docs\n  OpenAPI:  {base}/openapi.json\n  health:   {base}/healthz\n\
                 \n  staff login:  {} / {}\n  demo hunt:    {hunt} (Paris, live now)\n\
                 \n  try: curl -s -XPOST {base}/v1/staff/login -H 'content-type: application/json' -d '{{\"email\":\"{}\",\"password\":\"{}\"}}'\n\
                 \x20      curl -s -XPOST {base}/v1/players -H 'content-type: application/json' -d '{{\"handle\":\"ana\"}}'\n",
                service::seed::DEMO_EMAIL,
                service::seed::DEMO_PASSWORD,
                service::seed::DEMO_EMAIL,
                service::seed::DEMO_PASSWORD,
            ));
            serve(state, &config).await
        }
        Command::Org {
            command:
                OrgCommand::Create {
                    name,
                    owner_email,
                    owner_password,
                },
        } => {
            let state = prepare(&config).await?;
            let org = service::orgs::create_org(&state.ctx, &name, &owner_email, owner_password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            say(org);
            Ok(())
        }
    }
}

async fn start_cluster(
    data_dir: PathBuf,
    throwaway: bool,
    create: Create,
    home: Option<ClusterHome>,
) -> anyhow::Result<EmbeddedCluster> {
    let opts = ClusterOptions {
        data_dir,
        throwaway,
        create,
        home,
    };
    Ok(tokio::task::spawn_blocking(move || EmbeddedCluster::ensure_started(&opts)).await??)
}

/// The configured external database, or the embedded default (started if needed).
async fn database_url(config: &Config) -> anyhow::Result<String> {
    if let Some(url) = &config.database_url {
        return Ok(url.expose().to_owned());
    }
    let (data_dir, home) = locate(config.data_dir.clone(), config)?;
    tracing::info!(data_dir = %data_dir.display(), "using the embedded PostgreSQL cluster");
    // A command that only needs the database never makes a second cluster of this user.
    let cluster = start_cluster(data_dir, false, Create::IfAlone, home).await?;
    Ok(cluster.database_url("postgres"))
}

/// The data directory to use (`explicit`, else the default one) and this user's clusters (none
/// known when there is no home at all and a directory was given).
fn locate(
    explicit: Option<PathBuf>,
    config: &Config,
) -> anyhow::Result<(PathBuf, Option<ClusterHome>)> {
    match (ClusterHome::from_env(config.state_dir.as_deref()), explicit) {
        (Ok(home), explicit) => Ok((
            explicit.unwrap_or_else(|| home.default_data_dir.clone()),
            Some(home),
        )),
        (Err(_), Some(dir)) => Ok((dir, None)),
        (Err(e), None) => Err(e.into()),
    }
}

/// The VAPID contact of `nenufar demo` when `NENUFAR_VAPID_SUBJECT` is not set.
const DEMO_VAPID_SUBJECT: &str = "mailto:demo@nenufar.example";

/// Connects, checks versions, migrates, builds the state.
async fn prepare(config: &Config) -> anyhow::Result<AppState> {
    let url = database_url(config).await?;
    let pool = db::connect_with_wait(&url, config.db_pool_size, config.limits.db_pool_wait)?;
    let versions = db::pool::check_versions(&pool).await?;
    tracing::info!(%versions, "database");
    let applied = db::migrate::run_pending(&url).await?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    Ok(AppState::with_clock(pool, clock(config)?)
        .with_push(config.push.clone())
        .with_caches(config.caches)
        .with_limits(config.limits.clone()))
}

/// The node's clock: the system's, or in a build with the `test-clock` feature the instant in the
/// file `NENUFAR_TEST_CLOCK_FILE` names (tests that move time in a spawned process).
fn clock(config: &Config) -> anyhow::Result<Arc<dyn Clock>> {
    #[cfg(feature = "test-clock")]
    if let Some(path) = &config.test_clock_file {
        tracing::warn!(path = %path.display(), "test clock: now is read from NENUFAR_TEST_CLOCK_FILE");
        return Ok(Arc::new(nenufar::clock::file::FileClock::open(path)?));
    }
    let _ = config;
    Ok(Arc::new(SystemClock))
}

async fn serve(state: AppState, config: &Config) -> anyhow::Result<()> {
    state.start_background(database_url(config).await?);
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {} (NENUFAR_BIND)", config.bind))?;
    // The bound address, not the configured one: port 0 (tests) picks a free port.
    let addr = listener.local_addr().unwrap_or(config.bind);
    tracing::info!(%addr, limits = config.limits.profile.as_str(), "serving");
    let limits = state.ctx.limits.clone();
    http::serve::serve(listener, http::router(state), limits, shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
