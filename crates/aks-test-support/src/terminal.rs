//! A pseudo-terminal for end-to-end tests: run a real process with its standard streams on a terminal (so
//! `isatty` is true, as for a person at a shell), read what it shows, type answers, and collect the exit status.
//!
//! The screen is what the terminal shows: the process's output and the echo of what was typed (the line
//! discipline's `ECHO`), with the terminal's `\r\n` turned back into `\n`. Only what a test needs is emulated: no
//! controlling terminal or job control (a process that opens `/dev/tty` is not supported), no cursor movement.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

/// How long [`Terminal::expect`] and [`Terminal::finish`] wait by default.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Which of the process's standard streams are on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    /// stdin, stdout and stderr: an interactive shell.
    All,
    /// stdin and stderr on the terminal, stdout piped (`aksctl … | jq`); stdout is returned by
    /// [`Terminal::finish`].
    StdoutPiped,
    /// stdout and stderr on the terminal, stdin empty (`aksctl … < /dev/null`).
    StdinNull,
}

/// A process running on a pseudo-terminal.
pub struct Terminal {
    master: File,
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    /// How much of the screen [`Terminal::expect`] has already matched.
    seen: usize,
}

/// A finished process: its status, the whole screen and (with [`Streams::StdoutPiped`]) its stdout.
#[derive(Debug)]
pub struct Finished {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything the terminal showed, `\r\n` as `\n`.
    pub screen: String,
    /// stdout when it was piped, else empty.
    pub stdout: Vec<u8>,
}

/// A terminal pair: the master end (the test's side) and the slave end (the process's side), 120 × 40.
fn open_pair() -> std::io::Result<(File, File)> {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(std::ffi::OsStr::from_bytes(name.as_bytes()))?;
    tcsetwinsize(
        &slave,
        Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )?;
    Ok((File::from(master), slave))
}

impl Terminal {
    /// Start `command` with `streams` on a new terminal (`TERM=xterm`). Panics when no terminal can be opened.
    pub fn start(mut command: Command, streams: Streams) -> Terminal {
        let (master, slave) = open_pair().expect("a pseudo-terminal opens");
        let on_terminal =
            || Stdio::from(slave.try_clone().expect("the terminal's fd is duplicated"));
        command.env("TERM", "xterm");
        command.stderr(on_terminal());
        match streams {
            Streams::All => command.stdin(on_terminal()).stdout(on_terminal()),
            Streams::StdoutPiped => command.stdin(on_terminal()).stdout(Stdio::piped()),
            Streams::StdinNull => command.stdin(Stdio::null()).stdout(on_terminal()),
        };
        let mut child = command.spawn().expect("the process starts on the terminal");
        // The test's copies of the slave end must go, or the master never reads end-of-file.
        drop(command);
        drop(slave);
        let stdout = child.stdout.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        });
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut source = master.try_clone().expect("the master fd is duplicated");
        let sink = Arc::clone(&screen);
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Linux answers EIO once every slave fd is closed: that is the end of the screen.
            while let Ok(read) = source.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock()
                    .expect("screen lock")
                    .extend_from_slice(&buffer[..read]);
            }
        });
        Terminal {
            master,
            child,
            screen,
            reader: Some(reader),
            stdout,
            seen: 0,
        }
    }

    /// The screen so far.
    pub fn screen(&self) -> String {
        normalise(&self.screen.lock().expect("screen lock"))
    }

    /// Wait until `text` appears on the screen after what earlier calls matched; returns the screen up to and
    /// including it. Panics with the screen after [`TIMEOUT`].
    pub fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let screen = self.screen();
            if let Some(at) = screen[self.seen.min(screen.len())..].find(text) {
                let end = self.seen + at + text.len();
                let shown = screen[..end].to_string();
                self.seen = end;
                return shown;
            }
            if Instant::now() > deadline {
                panic!("{text:?} never appeared on the terminal; the screen:\n{screen}");
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                let screen = self.screen();
                if !screen[self.seen.min(screen.len())..].contains(text) {
                    panic!("the process ended ({status}) before {text:?}; the screen:\n{screen}");
                }
                continue;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Type `text` and Enter (a terminal sends `\r`; the line discipline makes it `\n`).
    pub fn send_line(&mut self, text: &str) {
        self.master
            .write_all(format!("{text}\r").as_bytes())
            .and_then(|()| self.master.flush())
            .expect("typing on the terminal");
    }

    /// Type Ctrl-D at the start of a line: the process reads end-of-file.
    pub fn send_eof(&mut self) {
        self.master
            .write_all(b"\x04")
            .and_then(|()| self.master.flush())
            .expect("typing Ctrl-D on the terminal");
    }

    /// Wait for the process to end (killing it after [`TIMEOUT`]) and read the rest of the screen.
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the process") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the process did not end within {TIMEOUT:?}; the screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let stdout = self
            .stdout
            .take()
            .map(|handle| handle.join().expect("stdout reader"))
            .unwrap_or_default();
        Finished {
            status,
            screen: self.screen(),
            stdout,
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // A test that panicked leaves no process behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The screen as text: `\r\n` (the terminal's `ONLCR`) back to `\n`.
fn normalise(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_sees_a_terminal_and_reads_what_is_typed() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo tty; printf 'name? '; read name; echo \"hello $name\"; read rest || echo eof",
        ]);
        let mut terminal = Terminal::start(command, Streams::All);
        terminal.expect("tty\nname? ");
        terminal.send_line("ada");
        terminal.expect("hello ada\n");
        terminal.send_eof();
        let finished = terminal.finish();
        assert!(finished.status.success());
        assert_eq!(finished.screen, "tty\nname? ada\nhello ada\neof\n");
    }

    #[test]
    fn piped_stdout_is_not_on_the_screen() {
        let mut command = Command::new("sh");
        command.args(["-c", "[ -t 1 ] || echo data; [ -t 2 ] && echo progress >&2"]);
        let finished = Terminal::start(command, Streams::StdoutPiped).finish();
        assert_eq!(finished.stdout, b"data\n");
        assert_eq!(finished.screen, "progress\n");
    }
}
