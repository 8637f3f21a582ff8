//! The listening socket: created with mode 0600 before it accepts anyone, a stale socket
//! of a dead engine replaced, a live one left alone; and the peer's credentials.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// Mode of the socket file: the owner only.
pub const SOCKET_MODE: u32 = 0o600;

/// Mode of a directory created for the socket.
pub const DIR_MODE: u32 = 0o755;

/// Connections waiting to be accepted.
const BACKLOG: i32 = 64;

fn last_error(what: &str, path: &Path) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{}: {what}: {e}", path.display()))
}

/// Makes room for the socket at `path`: creates its directory, removes a socket nobody
/// listens on (connecting is refused), and refuses a path where an engine answers, a
/// socket connecting to which fails otherwise (not ours to use), or that is not a
/// socket.
fn prepare(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        }
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        Ok(m) if !m.file_type().is_socket() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{}: exists and is not a socket", path.display()),
        )),
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{}: another engine is serving this socket", path.display()),
            )),
            // Nobody listens: a dead engine's socket, replaced.
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => std::fs::remove_file(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            // Anything else (EACCES: a socket we may not use, perhaps live) is left alone.
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!(
                    "{}: a socket is there and connecting to it fails ({e}); not replacing it",
                    path.display()
                ),
            )),
        },
    }
}

/// Creates the listening socket at `path` with mode 0600: created with that mode (a
/// umask for the bind), so it is never more open, and checked (not following links)
/// before `listen`.
pub fn listen(path: &Path) -> io::Result<UnixListener> {
    prepare(path)?;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; zeroed is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: path too long for a Unix socket ({} bytes, at most {})",
                path.display(),
                bytes.len(),
                addr.sun_path.len() - 1
            ),
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: plain socket call; the fd is owned by the listener below or closed on error.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last_error("socket", path));
    }
    // SAFETY: `fd` is a fresh socket we own.
    let listener = unsafe { UnixListener::from_raw_fd(fd) };
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // The file is created with the mode already: a umask that leaves only the owner's
    // read and write, for the bind alone (no chmod by path afterwards, which a link put
    // in the socket's place would redirect). Other threads creating files meanwhile get
    // at most a stricter mode.
    // SAFETY: umask cannot fail.
    let old_mask = unsafe { libc::umask(0o777 & !(SOCKET_MODE as libc::mode_t)) };
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes.
    let bound = unsafe { libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len) };
    // SAFETY: as above (umask leaves errno alone).
    unsafe { libc::umask(old_mask) };
    if bound != 0 {
        return Err(last_error("bind", path));
    }
    // What was created is checked without following a link.
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() && m.permissions().mode() & 0o777 == SOCKET_MODE => {}
        Ok(m) => {
            return Err(io::Error::other(format!(
                "{}: after bind, not a socket of mode {SOCKET_MODE:o} (mode {:o})",
                path.display(),
                m.permissions().mode() & 0o7777
            )))
        }
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
    // SAFETY: a bound socket we own.
    if unsafe { libc::listen(fd, BACKLOG) } != 0 {
        let e = last_error("listen", path);
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(listener)
}

/// The peer's user id, from `SO_PEERCRED` (what it was when it connected).
pub fn peer_uid(s: &UnixStream) -> io::Result<u32> {
    // SAFETY: ucred is plain data.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` has room for `len` bytes.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut _ as *mut libc::c_void,
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// The engine's effective user id.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}
