//! Running the server as a process: the configuration from the environment
//! (a bad value: one line, exit 2), logging, the open-file limit, the
//! [`Application`], and the exit code. The binary and the examples that
//! serve the app with pages of their own share it.

use std::process::ExitCode;

use actix_web::web;

use crate::{config::Config, net, startup::Application};

/// Reads the configuration, starts logging and serves the app (with `extra`
/// routes ahead of its own, see [`Application::build_with`]) until shutdown.
/// Must run inside an actix system (`#[actix_web::main]`).
pub async fn serve_with(
    extra: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
) -> ExitCode {
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
    match net::raise_descriptor_limit() {
        Some(limit) => log::debug!("open file limit: {limit}"),
        None => log::debug!("open file limit: unlimited"),
    }
    if config.secret.generated {
        log::warn!(
            "SESSION_SECRET is not set: using a random key, so sessions end when this process does"
        );
    }
    let (host, kind) = (config.host, config.store.clone());
    let app = match Application::build_with(config, extra).await {
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
