//! The binary: sets up the allocator, then serves the app
//! (`session_bridge::serve`: configuration, logging, the application), or,
//! as `session-bridge healthcheck`, checks a running server (for Docker).

use std::process::ExitCode;

use session_bridge::{config::Config, healthcheck};

/// mimalloc instead of glibc's allocator: it serves more requests, and with
/// purging at once (below) it returns the memory of closed sockets to the
/// system (RSS after five rounds of 19,000 sockets opened and closed: 1.03x
/// the first round's, against 1.30x with glibc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`, which libmimalloc-sys does not name:
/// in mimalloc.h it comes right before `mi_option_use_numa_nodes`.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_use_numa_nodes - 1;

fn main() -> ExitCode {
    // No transparent huge pages for this process. On Linux mimalloc commits
    // its 1 GiB arena at once and asks for huge pages on it
    // (`MADV_HUGEPAGE`); with THP in `madvise` mode (the usual default) the
    // kernel then backs every touched 2 MiB of the arena with a huge page,
    // much of it holding nothing: 23.8 KiB of RSS per idle socket instead of
    // 16.7, 19 MB instead of 9.7 at start. mimalloc's own switch for this
    // (`MIMALLOC_ALLOW_THP=0`) is read before `main` runs, and the arena is
    // reserved before `main` too, so set the process's flag directly: it
    // holds for every page faulted in from now on.
    if let Err(err) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("could not disable transparent huge pages: {err}");
    }
    // Purge freed memory at once instead of after a delay that an idle
    // thread never reaches: a server whose sockets all closed shrinks back.
    // SAFETY: `mi_option_set` only stores an integer option.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return health();
    }
    serve()
}

/// Exits 0 when the server on `PORT` (as the server reads it) answers
/// `/healthz` with 200.
fn health() -> ExitCode {
    let port = match Config::port_from_env() {
        Ok(port) => port,
        Err(err) => {
            eprintln!("unhealthy: {err}");
            return ExitCode::FAILURE;
        }
    };
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
    session_bridge::serve::serve_with(|_: &mut actix_web::web::ServiceConfig| {}).await
}
