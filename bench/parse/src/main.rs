//! `gen RECORDS FILE` writes a synthetic gzip object; `parse THREADS FILE...` summarizes the files
//! on THREADS threads and prints records and seconds as JSON.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use flowgate_core::{flowlog_parse, flowlog_synth};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") if args.len() == 3 => {
            let records: u64 = args[1].parse().expect("RECORDS");
            let spec = flowlog_synth::SynthSpec { records, seed: 2026, ..flowlog_synth::SynthSpec::default() };
            let file = BufWriter::new(File::create(&args[2]).expect("create FILE"));
            let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
            let totals = flowlog_synth::write_records(&spec, &mut gz).expect("write");
            gz.finish().expect("finish").flush().expect("flush");
            println!("{}", serde_json::json!({"records": totals.records, "bytes": totals.bytes}));
        }
        Some("parse") if args.len() >= 3 => {
            let threads: usize = args[1].parse().expect("THREADS");
            let files: Vec<String> = args[2..].to_vec();
            let start = Instant::now();
            let queue = std::sync::Mutex::new(files);
            let records = std::sync::atomic::AtomicU64::new(0);
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        loop {
                            let Some(path) = queue.lock().unwrap().pop() else { break };
                            let file = File::open(&path).expect("open");
                            let summary = flowlog_parse::summarize(file, &flowlog_parse::ParseOptions::default()).expect("parse");
                            assert_eq!(summary.parse_errors, 0);
                            records.fetch_add(summary.records, std::sync::atomic::Ordering::Relaxed);
                        }
                    });
                }
            });
            let seconds = start.elapsed().as_secs_f64();
            println!("{}", serde_json::json!({"records": records.into_inner(), "seconds": seconds}));
        }
        _ => {
            eprintln!("usage: flowgate-parse-bench gen RECORDS FILE | parse THREADS FILE...");
            std::process::exit(2);
        }
    }
}
