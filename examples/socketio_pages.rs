//! The app with a Socket.IO page at `/` instead of its own demo: the Node
//! recipe's page, unmodified (`recipe`), or the lobby over `io()`
//! (`lobby`). Everything else is the app as `session-bridge` runs it: the
//! same configuration from the environment, routes, sessions and
//! `/socket.io/`, so the page is same-origin and `io()` finds the session
//! by its cookie.
//!
//! `cargo run --example socketio_pages -- recipe` (or `-- lobby`), then
//! open http://127.0.0.1:3000/ in two tabs. A second argument serves the
//! page at another path, beside the app's demo at `/`: `-- recipe /recipe`.

use std::process::ExitCode;

use actix_web::{web, HttpResponse};

/// The page of the Socket.IO + express-session recipe, byte for byte.
const RECIPE: &str = include_str!("socketio-recipe/index.html");
/// The lobby (chat, who is online, the counter) over Socket.IO.
const LOBBY: &str = include_str!("socketio-lobby/index.html");
/// The lobby page's script, served at `/lobby.js`.
const LOBBY_JS: &str = include_str!("socketio-lobby/lobby.js");

const USAGE: &str = "usage: cargo run --example socketio_pages -- recipe|lobby [/path]";

/// Which page `/` serves.
#[derive(Clone, Copy)]
enum Page {
    Recipe,
    Lobby,
}

impl Page {
    fn from_arg(arg: Option<&str>) -> Option<Self> {
        match arg {
            Some("recipe") => Some(Self::Recipe),
            Some("lobby") => Some(Self::Lobby),
            _ => None,
        }
    }

    /// The page's routes at `path`, registered ahead of the app's own.
    fn routes(self, path: &str, cfg: &mut web::ServiceConfig) {
        let html = match self {
            Self::Recipe => RECIPE,
            Self::Lobby => LOBBY,
        };
        cfg.route(
            path,
            web::get().to(move || async move {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(html)
            }),
        );
        if let Self::Lobby = self {
            cfg.route(
                "/lobby.js",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/javascript; charset=utf-8")
                        .body(LOBBY_JS)
                }),
            );
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let page = Page::from_arg(args.next().as_deref());
    let path = args.next().unwrap_or_else(|| "/".to_owned());
    match page {
        Some(page) if path.starts_with('/') && args.next().is_none() => serve(page, path),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[actix_web::main]
async fn serve(page: Page, path: String) -> ExitCode {
    session_bridge::serve::serve_with(move |cfg: &mut web::ServiceConfig| page.routes(&path, cfg))
        .await
}
