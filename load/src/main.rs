//! `load`: the load program for session-bridge. See `load --help` and
//! docs/performance.md.
//!
//! It talks to 127.0.0.1 only, and every loop is bounded in count and time.

mod args;
mod client;
mod lobby;
mod scenario;
mod socket;
mod stats;

use std::{process::ExitCode, time::Duration};

/// Any error of the load program.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The load program's result.
pub type Result<T> = std::result::Result<T, Error>;

fn main() -> ExitCode {
    let mut args = match args::Args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("load: {err}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let files = raise_open_files_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("load: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(scenario::run(&mut args, files)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("load: {err}");
            ExitCode::FAILURE
        }
    };
    // Tasks still running (sockets the server did not close) end here.
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// Raises the soft open-files limit to the hard one (each socket is a file);
/// returns the limit now in force.
fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                limit = wanted;
            }
        }
    }
    limit.rlim_cur
}
