//! The ten scenarios, and what they share: where the server is, and how a
//! run ends up pass (no errors, nothing lost) or fail.

mod churn;
mod connect;
mod fanout;
mod flood;
mod http;
mod lobby;
mod mixed;
mod presence;
mod slow;
mod storm;

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::{args::Args, stats, Result};

/// Where the server is, and how long any one wait may take.
pub struct Target {
    /// The server's port on 127.0.0.1.
    pub port: u16,
    /// The server's pid, for its RSS.
    pub pid: Option<u32>,
    /// The longest any one request, handshake or delivery is waited for.
    pub timeout: Duration,
}

/// What a scenario measured, and what went wrong.
#[derive(Default)]
pub struct Outcome {
    /// The figures, in report order.
    pub fields: Map<String, Value>,
    /// Why the run failed (empty: it did not).
    pub failures: Vec<String>,
}

impl Outcome {
    /// Adds a figure.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.fields.insert(key.to_owned(), value.into());
    }

    /// Records a failure when `bad` is non-zero.
    pub fn fail_if(&mut self, bad: u64, what: &str) {
        if bad > 0 {
            self.failures.push(format!("{bad} {what}"));
        }
    }
}

/// Runs the scenario the command line names; `Ok(false)` when it failed.
pub async fn run(args: &mut Args, open_files: u64) -> Result<bool> {
    let target = Target {
        port: args.get("port", 3000)?,
        pid: args.opt("pid")?,
        timeout: args.secs("timeout", 10.0)?,
    };
    let scenario = args.scenario.clone();
    let mut outcome = match scenario.as_str() {
        "connect" => connect::run(args, &target, open_files).await?,
        "fanout" => fanout::run(args, &target).await?,
        "http" => http::run(args, &target).await?,
        "mixed" => mixed::run(args, &target).await?,
        "lobby" => lobby::run(args, &target).await?,
        "presence" => presence::run(args, &target, open_files).await?,
        "churn" => churn::run(args, &target, open_files).await?,
        "flood" => flood::run(args, &target).await?,
        "slow" => slow::run(args, &target).await?,
        "storm" => storm::run(args, &target, open_files).await?,
        other => return Err(format!("unknown scenario `{other}` (see --help)").into()),
    };
    let passed = outcome.failures.is_empty();
    outcome.set("ok", passed);
    outcome.set("failures", json!(outcome.failures.clone()));
    stats::report(&scenario, outcome.fields);
    Ok(passed)
}
