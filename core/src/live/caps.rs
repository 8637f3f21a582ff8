//! Giving up root's other powers once the sockets are open: a live engine keeps only
//! CAP_NET_RAW (its packet sockets) and CAP_NET_ADMIN (interface settings, socket buffer
//! sizes past the system's cap), in every capability set, with no way to regain others.

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

/// Drops every capability but [`KEPT`] from the bounding, ambient, effective, permitted
/// and inheritable sets, and sets no-new-privileges. A process that never had them (not
/// root) is left as it is and told so in the error.
pub fn keep_only_net() -> io::Result<()> {
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
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) };
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
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The effective capability mask of this process, from /proc.
pub fn effective() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line.trim_start_matches("CapEff:").trim(), 16).ok()
}
