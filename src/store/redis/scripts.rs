//! The Lua scripts of the Redis store, each in its own file under `lua/`
//! (each file's header says its keys, arguments and reply), loaded here once.
//!
//! Each script is atomic inside Redis and each is bounded: none loops over
//! all of a user's sessions or all users, so no request's work grows with
//! the data (Redis runs one script at a time: a long one stalls every
//! instance). The session scripts share `lua/helpers.lua`, prepended to each.

use std::sync::LazyLock;

use redis::Script;

/// A session script: the shared helpers, then `body`.
fn with_helpers(body: &str) -> Script {
    Script::new(&format!("{}{body}", include_str!("lua/helpers.lua")))
}

/// Stores a new session if its key is free.
pub(super) static CREATE: LazyLock<Script> =
    LazyLock::new(|| with_helpers(include_str!("lua/create.lua")));

/// Replaces the state of an existing session.
pub(super) static REPLACE: LazyLock<Script> =
    LazyLock::new(|| with_helpers(include_str!("lua/replace.lua")));

/// Restarts the lifetime of an existing session.
pub(super) static TOUCH: LazyLock<Script> =
    LazyLock::new(|| with_helpers(include_str!("lua/touch.lua")));

/// Adds 1 to a field of an existing session, restarting its lifetime.
pub(super) static INCREMENT: LazyLock<Script> =
    LazyLock::new(|| with_helpers(include_str!("lua/increment.lua")));

/// Moves a session to a new key and remembers the old one as renewed.
pub(super) static RENEW: LazyLock<Script> =
    LazyLock::new(|| with_helpers(include_str!("lua/renew.lua")));

/// Deletes a session and its entry in the user index.
pub(super) static DELETE: LazyLock<Script> =
    LazyLock::new(|| with_helpers(include_str!("lua/delete.lua")));

/// One bounded step of ending a user's sessions.
pub(super) static END_USER_STEP: LazyLock<Script> =
    LazyLock::new(|| with_helpers(include_str!("lua/end_user_step.lua")));

/// Appends to the lobby, trims its history and publishes, in one step.
pub(super) static LOBBY_APPEND: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/lobby_append.lua")));

/// The lobby's last position and kept messages, read together.
pub(super) static LOBBY_HISTORY: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/lobby_history.lua")));

/// Applies a reconcile of one user's sockets on one instance.
pub(super) static PRESENCE_SYNC: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/presence_sync.lua")));

/// Takes offline a batch of the users whose grace has passed.
pub(super) static PRESENCE_SWEEP: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/presence_sweep.lua")));

/// Refreshes an instance's liveness key.
pub(super) static PRESENCE_BEAT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/presence_beat.lua")));

/// The roster and its version, read together.
pub(super) static PRESENCE_ROSTER: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/presence_roster.lua")));
