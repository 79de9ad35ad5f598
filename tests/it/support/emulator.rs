//! Starts moto in server mode (scripts/moto-server.py in the project's .venv) on a free loopback
//! port. The server stops when its stdin closes, i.e. when the test process ends or the
//! `Emulator` is dropped: it never outlives the tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
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
        let python = python();
        assert!(python.exists(), "the moto emulator is not installed ({} is missing): run scripts/setup-emulator", python.display());
        let mut child = Command::new(&python)
            .arg(project_dir().join("scripts/moto-server.py"))
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
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

impl Drop for Emulator {
    fn drop(&mut self) {
        // Closing stdin stops the server; kill is the fallback.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
