//! Giving up root's other powers once the sockets are open: a live engine keeps only
//! CAP_NET_RAW (its packet sockets) and CAP_NET_ADMIN (interface settings, socket buffer
//! sizes past the system's cap), in every capability set, with no way to regain others,
//! and optionally becomes an unprivileged user.
//!
//! Capabilities belong to threads, not processes: a thread that exists when the main
//! thread drops them keeps its own. So they are dropped while the process has one
//! thread, before any plugin, control or worker thread starts ([`drop_privileges`]
//! refuses otherwise), and every later thread inherits the reduced sets.

use std::io;

/// `CAP_NET_ADMIN` and `CAP_NET_RAW`.
pub const KEPT: [u32; 2] = [12, 13];

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const PR_CAP_AMBIENT: libc::c_int = 47;
const PR_CAP_AMBIENT_CLEAR_ALL: libc::c_ulong = 4;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The highest capability number this kernel knows.
fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// The user a live engine becomes: its uid and primary gid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// The name it was given by (a user name, or the uid as digits).
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

impl RunAs {
    /// Looks `user` up in the user database; digits are a uid, whose group is the
    /// database's if it knows the uid and the same number otherwise.
    pub fn lookup(user: &str) -> io::Result<RunAs> {
        if let Some(pw) = passwd_entry(user)? {
            return Ok(RunAs {
                name: user.to_string(),
                uid: pw.0,
                gid: pw.1,
            });
        }
        match user.parse::<u32>() {
            Ok(uid) => Ok(RunAs {
                name: user.to_string(),
                uid,
                gid: passwd_by_uid(uid)?.unwrap_or(uid),
            }),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no user `{user}` on this system"),
            )),
        }
    }
}

/// `(uid, gid)` of the user named `name`, if there is one.
fn passwd_entry(name: &str) -> io::Result<Option<(u32, u32)>> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a user name has no NUL"))?;
    lookup_with(|pw, buf, len, out| {
        // SAFETY: `pw`, `buf` (of `len` bytes) and `out` are valid for the call; the
        // name is NUL-terminated.
        unsafe { libc::getpwnam_r(c.as_ptr(), pw, buf, len, out) }
    })
}

/// The primary gid of the user whose uid is `uid`, if the database knows it.
fn passwd_by_uid(uid: u32) -> io::Result<Option<u32>> {
    Ok(lookup_with(|pw, buf, len, out| {
        // SAFETY: as in `passwd_entry`.
        unsafe { libc::getpwuid_r(uid, pw, buf, len, out) }
    })?
    .map(|(_, gid)| gid))
}

/// Runs a `getpw*_r` call with a buffer that grows while it is too small.
fn lookup_with(
    call: impl Fn(
        *mut libc::passwd,
        *mut libc::c_char,
        libc::size_t,
        *mut *mut libc::passwd,
    ) -> libc::c_int,
) -> io::Result<Option<(u32, u32)>> {
    let mut len = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: passwd is plain data; zeroed is a valid value.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let r = call(&mut pw, buf.as_mut_ptr(), len, &mut out);
        if r == libc::ERANGE && len < 1 << 20 {
            len *= 4;
            continue;
        }
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        return Ok((!out.is_null()).then_some((pw.pw_uid, pw.pw_gid)));
    }
}

/// Threads this process has now (from /proc).
pub fn thread_count() -> Option<usize> {
    status_field("Threads:")?.parse().ok()
}

/// The value of field `name` (with its colon) of this process's /proc status.
fn status_field(name: &str) -> Option<String> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(name))?;
    Some(line[name.len()..].trim().to_string())
}

/// Drops every capability but [`KEPT`] from the bounding, ambient, effective, permitted
/// and inheritable sets, becomes `run_as` if given (its uid and gid, no supplementary
/// groups, the two capabilities kept across the change), and sets no-new-privileges.
///
/// Refuses while more than one thread runs: the others would keep their capabilities.
/// A process that never had the capabilities (not root) is left as it is and told so
/// in the error.
pub fn drop_privileges(run_as: Option<&RunAs>) -> io::Result<()> {
    match thread_count() {
        Some(1) => {}
        n => {
            return Err(io::Error::other(format!(
                "{} threads are running; capabilities belong to each thread, so they \
                 are dropped before any other thread starts",
                n.map_or("several".to_string(), |n| n.to_string())
            )))
        }
    }
    let mut kept_mask = 0u64;
    for c in KEPT {
        kept_mask |= 1 << c;
    }
    for cap in 0..=last_cap() {
        if kept_mask & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            // EINVAL: a capability this kernel does not have. EPERM: no CAP_SETPCAP, so
            // the bounding set is already out of reach (a non-root engine given only
            // the network capabilities).
            if e.raw_os_error() == Some(libc::EPERM) {
                break;
            }
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(io::Error::new(
                    e.kind(),
                    format!("dropping capability {cap} from the bounding set: {e}"),
                ));
            }
        }
    }
    if let Some(user) = run_as {
        become_user(user)?;
    }
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) };
    // Started with exactly the kept capabilities (systemd's AmbientCapabilities= for a
    // user of its own, which are inheritable too): nothing to set, and no capset(2),
    // which a service's system call filter may forbid. (The engine executes nothing, so
    // inheritable capabilities give nothing.)
    let mask = |field: &str| status_field(field).and_then(|v| u64::from_str_radix(&v, 16).ok());
    let already = mask("CapEff:") == Some(kept_mask)
        && mask("CapPrm:") == Some(kept_mask)
        && mask("CapInh:").is_some_and(|i| i & !kept_mask == 0);
    if !already {
        set_kept()?;
    }
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the effective and permitted capabilities to [`KEPT`], the inheritable ones to
/// none.
fn set_kept() -> io::Result<()> {
    let hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    for c in KEPT {
        let (word, bit) = ((c / 32) as usize, c % 32);
        data[word].effective |= 1 << bit;
        data[word].permitted |= 1 << bit;
    }
    // SAFETY: capset with a version-3 header and its two data words.
    let r = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const CapHeader, data.as_ptr()) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("setting capabilities: {e}"),
        ));
    }
    Ok(())
}

/// Switches to `user`'s uid and gid with no supplementary groups, keeping the
/// permitted capabilities across the change (the caller sets the effective ones).
fn become_user(user: &RunAs) -> io::Result<()> {
    // SAFETY: getters that cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if (uid, gid) == (user.uid, user.gid) {
        // Started as that user already (with the two capabilities given to it).
        return Ok(());
    }
    let fail = |what: &str| {
        let e = io::Error::last_os_error();
        io::Error::new(
            e.kind(),
            format!("becoming user {}: {what}: {e}", user.name),
        )
    };
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } < 0 {
        return Err(fail("PR_SET_KEEPCAPS"));
    }
    // SAFETY: an empty group list.
    if unsafe { libc::setgroups(0, std::ptr::null()) } < 0 {
        return Err(fail("setgroups"));
    }
    // SAFETY: plain id-setting calls (one thread: see `drop_privileges`).
    if unsafe { libc::setresgid(user.gid, user.gid, user.gid) } < 0 {
        return Err(fail("setresgid"));
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(user.uid, user.uid, user.uid) } < 0 {
        return Err(fail("setresuid"));
    }
    Ok(())
}

/// The effective capability mask of this process, from /proc.
pub fn effective() -> Option<u64> {
    u64::from_str_radix(&status_field("CapEff:")?, 16).ok()
}
