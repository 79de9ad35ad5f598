//! Starts moto in server mode (scripts/moto-server.py in the project's .venv) on a free loopback
//! port. The server stops when its stdin closes, i.e. when the test process ends or the
//! `Emulator` is dropped: it never outlives the tests.
//!
//! A test that needs an emulator of its own leases one: a server a finished test gave back,
//! emptied by moto's own reset (`POST /moto-api/reset`, which resets every backend), or a new one.
//! Starting Python and moto's EC2, IAM and CloudFormation backends costs each test about two
//! seconds of CPU; a reset costs a fraction of that.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub struct Emulator {
    child: Child,
    pub port: u16,
}

fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    std::env::var_os("FLOWGATE_EMULATOR_PYTHON").map(PathBuf::from).unwrap_or_else(|| project_dir().join(".venv/bin/python"))
}

impl Emulator {
    /// A new, empty emulator for one test. Panics (fails the test, never skips it) when moto
    /// cannot start.
    pub fn start() -> Emulator {
        Emulator::launch(false)
    }

    /// A new emulator that holds AWS's managed policies (moto's MOTO_IAM_LOAD_MANAGED_POLICIES),
    /// for the tests that attach one: loading them costs about a second of CPU per account.
    pub fn with_aws_managed_policies() -> Emulator {
        Emulator::launch(true)
    }

    /// An empty emulator for one test: one a finished test gave back, reset, or a new one. It goes
    /// back to the pool when the lease is dropped.
    pub fn lease() -> Lease {
        let reused = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop();
        Lease { emulator: Some(reused.unwrap_or_else(Emulator::start)) }
    }

    /// Empties every backend; false when the server did not answer 200.
    fn reset(&self) -> bool {
        let request = "POST /moto-api/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let answer = || -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            stream.write_all(request.as_bytes())?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        };
        answer().is_ok_and(|r| r.starts_with("HTTP/1.1 200") || r.starts_with("HTTP/1.0 200"))
    }

    fn launch(aws_managed_policies: bool) -> Emulator {
        let python = python();
        assert!(python.exists(), "the moto emulator is not installed ({} is missing): run scripts/setup-emulator", python.display());
        let mut child = Command::new(&python)
            .arg(project_dir().join("scripts/moto-server.py"))
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", if aws_managed_policies { "true" } else { "false" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start the moto emulator with {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("the moto emulator did not report its port within 60 s"));
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the moto emulator did not start (printed {line:?}): run scripts/setup-emulator"));
        Emulator { child, port }
    }

    /// One emulator shared by the tests of this binary that only need isolation by name.
    pub fn shared() -> &'static Emulator {
        static SHARED: OnceLock<Emulator> = OnceLock::new();
        SHARED.get_or_init(Emulator::start)
    }
}

/// The emulators finished tests gave back, reset.
static POOL: Mutex<Vec<Emulator>> = Mutex::new(Vec::new());

/// An emulator leased for one test.
pub struct Lease {
    emulator: Option<Emulator>,
}

impl Deref for Lease {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        self.emulator.as_ref().expect("leased until dropped")
    }
}

impl Drop for Lease {
    /// Back to the pool once reset; a server that does not reset is stopped instead.
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take().filter(|e| e.reset()) {
            POOL.lock().unwrap_or_else(|p| p.into_inner()).push(emulator);
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Closing stdin stops the server; kill is the fallback.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
