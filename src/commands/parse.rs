//! `flowgate parse FILE... | -`: offline analysis of downloaded flow-log objects (plain or gzip).

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Serialize;

use crate::cli::{ParseArgs, RecordFormat};
use crate::core::flowlog_parse::{ObjectSummary, ParseError, ParseOptions, for_each_record, summarize};
use crate::core::talkers::{Talker, TalkerColumns, TopTalkers};
use crate::error::{Error, ExitStatus, Result};
use crate::output::Report;

#[derive(Debug, Serialize, JsonSchema)]
pub struct ObjectReport {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<ObjectSummary>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ParseReport {
    pub command: &'static str,
    pub objects: Vec<ObjectReport>,
    pub total: ObjectSummary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_talkers: Vec<Talker>,
}

impl fmt::Display for ParseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for object in &self.objects {
            match (&object.error, &object.summary) {
                (Some(error), _) => writeln!(f, "{}: FAILED: {error}", object.source)?,
                (None, Some(s)) => writeln!(f, "{}: {} records, {} parse error(s)", object.source, s.records, s.parse_errors)?,
                _ => {}
            }
        }
        let t = &self.total;
        writeln!(f, "total: {} object(s), {} records", t.objects, t.records)?;
        writeln!(f, "  log-status  OK {}  NODATA {}  SKIPDATA {}", t.log_status.ok, t.log_status.nodata, t.log_status.skipdata)?;
        writeln!(f, "  action      ACCEPT {}  REJECT {}", t.actions.accept, t.actions.reject)?;
        writeln!(
            f,
            "  traffic     {} packets, {} bytes, {} interface(s)",
            count(t.packets, t.saturated.packets),
            count(t.bytes, t.saturated.bytes),
            t.distinct_interfaces()
        )?;
        if let (Some(start), Some(end)) = (t.first_start, t.last_end) {
            writeln!(f, "  time        {start} .. {end} (Unix seconds)")?;
        }
        if !t.tcp_flags.is_empty() {
            let flags: Vec<String> = t.tcp_flags.iter().map(|(flags, n)| format!("{flags}:{n}")).collect();
            writeln!(f, "  tcp-flags   {}", flags.join("  "))?;
        }
        if t.parse_errors > 0 {
            writeln!(f, "  {} line(s) could not be parsed:", t.parse_errors)?;
            for e in &t.errors {
                writeln!(f, "    {}:{}: {}", e.source.as_deref().unwrap_or("-"), e.line, e.message)?;
            }
        }
        if !self.top_talkers.is_empty() {
            writeln!(f, "top talkers by bytes:")?;
            for t in &self.top_talkers {
                let (bytes, packets) = (count(t.bytes, t.saturated.bytes), count(t.packets, t.saturated.packets));
                writeln!(f, "  {bytes:>14} B  {packets:>10} pkts  {} -> {}", t.src, t.destination())?;
            }
        }
        Ok(())
    }
}

/// A total as text: the number, or, when it overflowed and stopped at `u64::MAX`, what is known
/// about it (never the limit shown as if it were the count).
fn count(value: u64, saturated: bool) -> String {
    if saturated { "at least 2^64 (saturated)".to_owned() } else { value.to_string() }
}

impl Report for ParseReport {
    fn exit_status(&self) -> ExitStatus {
        let failed = self.objects.iter().any(|o| o.error.is_some()) || self.total.parse_errors > 0;
        if failed { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(io::stdin()));
    }
    let file = File::open(path).map_err(|e| Error::input(format!("cannot read {}: {e}", path.display()), Some("check the path".to_owned())))?;
    Ok(Box::new(file))
}

fn describe(error: &ParseError) -> String {
    error.to_string()
}

/// Parses every object; with `--records` streams the records to stdout, the report then going to
/// stderr. Files are opened first, so that a missing file is an input error before any output.
pub fn parse(args: &ParseArgs, json: bool) -> Result<(ParseReport, bool)> {
    let options = ParseOptions { require_fields: !args.any_format, ..ParseOptions::default() };
    let readers: Vec<(String, Box<dyn Read + Send>)> =
        args.files.iter().map(|path| Ok((path.display().to_string(), open(path)?))).collect::<Result<_>>()?;

    let mut objects = Vec::new();
    let mut total = ObjectSummary::new(options.max_errors);
    let mut talkers = TopTalkers::default();
    let streaming = args.records.is_some() || args.top.is_some();
    if !streaming {
        // Summaries only: objects are independent, so they are parsed on every core.
        let results = summarize_in_parallel(readers, &options);
        for (source, result) in results {
            match result {
                Ok(summary) => {
                    total.merge(summary.clone());
                    objects.push(ObjectReport { source, error: None, summary: Some(summary) });
                }
                Err(e) => objects.push(ObjectReport { source, error: Some(describe(&e)), summary: None }),
            }
        }
        return Ok((ParseReport { command: "parse", objects, total, top_talkers: Vec::new() }, false));
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (source, reader) in readers {
        let result = if streaming {
            let mut wrote_header = false;
            let mut columns = None;
            for_each_record(reader, &options, |record| {
                if args.top.is_some() {
                    let columns = columns.get_or_insert_with(|| TalkerColumns::new(record.header()));
                    talkers.add(record, columns);
                }
                match args.records {
                    Some(RecordFormat::Json) => {
                        // serde_json hands a write error back as the io::Error it was (a closed pipe stays one).
                        serde_json::to_writer(&mut out, record).map_err(io::Error::from)?;
                        out.write_all(b"\n")?;
                    }
                    Some(RecordFormat::Csv) => {
                        if !wrote_header {
                            out.write_all(record.header().fields().join(",").as_bytes())?;
                            out.write_all(b"\n")?;
                            wrote_header = true;
                        }
                        let values: Vec<&str> = (0..record.header().len()).map(|i| record.text(i).filter(|v| *v != "-").unwrap_or("")).collect();
                        out.write_all(values.join(",").as_bytes())?;
                        out.write_all(b"\n")?;
                    }
                    None => {}
                }
                Ok::<(), StreamError>(())
            })
        } else {
            summarize(reader, &options).map_err(StreamError::Parse)
        };
        match result {
            Ok(summary) => {
                let summary = summary.with_source(&source);
                total.merge(summary.clone());
                objects.push(ObjectReport { source, error: None, summary: Some(summary) });
            }
            Err(StreamError::Parse(e)) => objects.push(ObjectReport { source, error: Some(describe(&e)), summary: None }),
            Err(StreamError::Io(e)) => return Err(Error::io("writing records to stdout", e)),
        }
    }
    out.flush().map_err(|e| Error::io("writing records to stdout", e))?;
    let _ = json;
    Ok((ParseReport { command: "parse", objects, total, top_talkers: args.top.map(|n| talkers.top(n)).unwrap_or_default() }, args.records.is_some()))
}

/// Summarizes each object on a pool of `available_parallelism` threads; results keep the input order.
fn summarize_in_parallel(
    readers: Vec<(String, Box<dyn Read + Send>)>,
    options: &ParseOptions,
) -> Vec<(String, std::result::Result<ObjectSummary, ParseError>)> {
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(readers.len().max(1));
    let queue = std::sync::Mutex::new(readers.into_iter().enumerate().collect::<Vec<_>>());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                    let Some((index, (source, reader))) = next else { break };
                    let result = summarize(reader, options).map(|s| s.with_source(&source));
                    results.lock().unwrap_or_else(|p| p.into_inner()).push((index, source, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(index, _, _)| *index);
    results.into_iter().map(|(_, source, result)| (source, result)).collect()
}

/// A record sink's failure: the object's own, or stdout's.
#[derive(Debug)]
enum StreamError {
    Parse(ParseError),
    Io(io::Error),
}

impl From<ParseError> for StreamError {
    fn from(e: ParseError) -> Self {
        StreamError::Parse(e)
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

pub fn files_arg(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() { vec![PathBuf::from("-")] } else { files.to_vec() }
}
