//! The test suite's chaos proxy (tests/it/support/chaos.rs) as a standalone process, for the
//! benchmarks: `chaos_proxy UPSTREAM_PORT [LATENCY_MS]` forwards to the emulator on loopback with a
//! fixed latency per request, prints its own port, then reads commands on stdin:
//! `counts` prints the requests seen since the last `counts` as JSON ({"total", "mutating",
//! "by_action"}) and resets them; `answer ACTION STATUS BODY` makes the proxy answer ACTION itself;
//! `answer-in-region REGION ACTION STATUS BODY` only for requests signed for REGION (a region an
//! organization's policy closes); end of input stops it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::BufRead;
use std::time::Duration;

use std::sync::OnceLock;

/// The runtime the proxy serves on (chaos.rs expects it beside it, as in the test support).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime"))
}

#[allow(dead_code)]
#[path = "../tests/it/support/chaos.rs"]
mod chaos;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(upstream) = args.next().and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: chaos_proxy UPSTREAM_PORT [LATENCY_MS]");
        std::process::exit(2);
    };
    let latency = args.next().and_then(|l| l.parse::<u64>().ok()).unwrap_or(0);
    let proxy = chaos::ChaosProxy::start(upstream);
    proxy.set_latency(Duration::from_millis(latency));
    println!("{}", proxy.port);
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "counts" {
            let requests = proxy.requests();
            let json = serde_json::json!({
                "total": requests.len(),
                "mutating": requests.iter().filter(|r| r.mutating).count(),
                "by_action": proxy.counts(),
            });
            println!("{json}");
            proxy.reset_log();
        } else if let Some(rest) = line.trim().strip_prefix("answer-in-region ") {
            let mut parts = rest.splitn(4, ' ');
            if let (Some(region), Some(action), Some(status), Some(body)) =
                (parts.next(), parts.next(), parts.next().and_then(|s| s.parse().ok()), parts.next())
            {
                proxy.answer_in_region(action, region, status, body);
            }
        } else if let Some(rest) = line.trim().strip_prefix("answer ") {
            // `answer ACTION STATUS BODY`: the proxy answers ACTION itself (an operation the
            // emulator cannot serve).
            let mut parts = rest.splitn(3, ' ');
            if let (Some(action), Some(status), Some(body)) = (parts.next(), parts.next().and_then(|s| s.parse().ok()), parts.next()) {
                proxy.answer(action, status, body);
            }
        }
    }
}
