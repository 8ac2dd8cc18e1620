//! Reads the configuration, starts logging, and runs the application.

use std::process::ExitCode;

use session_bridge::{config::Config, startup::Application};

#[actix_web::main]
async fn main() -> ExitCode {
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
