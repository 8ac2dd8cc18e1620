//! Reads the configuration, starts logging, and runs the application.
//! `session-bridge healthcheck` instead checks a running server (for Docker).

use std::process::ExitCode;

use session_bridge::{config::Config, healthcheck, startup::Application};

/// mimalloc instead of glibc's allocator: glibc kept the memory of closed
/// sockets (RSS 1.30x after five rounds of 19,000 sockets opened and closed,
/// 1.25x with one arena), mimalloc returns it to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return health();
    }
    serve()
}

/// Exits 0 when the server on `PORT` (or 3000) answers `/healthz` with 200.
fn health() -> ExitCode {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(3000);
    match healthcheck::check(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("unhealthy: {why}");
            ExitCode::FAILURE
        }
    }
}

#[actix_web::main]
async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            // Logging is not set up yet (RUST_LOG itself may be the bad value).
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    env_logger::Builder::new()
        .parse_filters(&config.log_filter)
        .init();
    if config.secret.generated {
        log::warn!(
            "SESSION_SECRET is not set: using a random key, so sessions end when this process does"
        );
    }

    let (host, kind) = (config.host, config.store.clone());
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            log::error!("cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    log::info!(
        "serving http://{host}:{} with the {} session store",
        app.port(),
        kind.name()
    );
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            log::error!("server failed: {err}");
            ExitCode::FAILURE
        }
    }
}
