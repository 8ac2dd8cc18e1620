//! Figures: latency percentiles, the server's RSS, and the report (one JSON
//! line on stdout, a human table on stderr).

use std::time::Duration;

use serde_json::{json, Map, Value};

/// Latencies in microseconds, summarised on demand.
#[derive(Default)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    /// Records one latency.
    pub fn push(&mut self, latency: Duration) {
        self.0
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// Adds another set.
    pub fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// `{"p50":..,"p99":..,"max":..}` in milliseconds.
    pub fn summary(&mut self) -> Value {
        self.0.sort_unstable();
        let at = |q: f64| -> Value {
            if self.0.is_empty() {
                return Value::Null;
            }
            let index = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
            ms(self.0[index])
        };
        json!({ "p50": at(0.50), "p99": at(0.99), "max": at(1.0) })
    }
}

fn ms(micros: u32) -> Value {
    json!((f64::from(micros) / 1000.0 * 1000.0).round() / 1000.0)
}

/// The resident set size of process `pid`, in KiB, from `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Rounds to `digits` decimals, for the report.
pub fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Prints the report: one JSON line on stdout, `key  value` lines on stderr.
pub fn report(scenario: &str, fields: Map<String, Value>) {
    let mut line = Map::new();
    line.insert("scenario".to_owned(), json!(scenario));
    line.extend(fields);
    eprintln!("-- {scenario}");
    for (key, value) in &line {
        if key != "scenario" {
            eprintln!("  {key:<24} {}", flat(value));
        }
    }
    println!("{}", Value::Object(line));
}

fn flat(value: &Value) -> String {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", flat(v)))
            .collect::<Vec<_>>()
            .join("  "),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
