//! Who may use the control socket: the file is mode 0600, and behind it the server
//! checks every peer with SO_PEERCRED, serving only root and the engine's own uid.
//! A client runs as a second user (`brickwall-test`, created if missing), so this test
//! needs root, as CI has; without root it fails and says so rather than skipping.

mod common;
mod control_common;

use common::pcaps_dir;
use control_common::{assert_code, stderr, Engine};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

const USER: &str = "brickwall-test";

/// The test user's uid and gid, creating the user if needed.
fn test_user() -> (u32, u32) {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test runs a control client as a second user ({USER}) and needs root \
         (CI runs as root); run `cargo test` as root"
    );
    let id = |flag: &str| Command::new("id").args([flag, USER]).output().unwrap();
    // Both tests of this file may create the user at once on a fresh machine: one at a
    // time, so neither reads an id the other's useradd has not settled.
    static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    if !id("-u").status.success() {
        let o = Command::new("useradd").args(["-M", USER]).output().unwrap();
        assert!(
            o.status.success(),
            "useradd -M {USER}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let num = |flag: &str| -> u32 {
        String::from_utf8_lossy(&id(flag).stdout)
            .trim()
            .parse()
            .unwrap()
    };
    (num("-u"), num("-g"))
}

/// What a client running as another user got: `connect`'s errno, or the answer frame.
#[derive(Debug)]
enum Attempt {
    ConnectFailed(i32),
    Answer(Vec<u8>),
}

/// Forks a child that becomes `uid`/`gid`, connects to `sock`, sends `frame` and reads
/// one answer frame. The child makes only async-signal-safe calls on memory prepared
/// before the fork.
fn connect_as(uid: u32, gid: u32, sock: &Path, frame: &[u8]) -> Attempt {
    // SAFETY: all of this is plain libc on memory owned by this function; after fork the
    // child touches only that memory and async-signal-safe calls, then _exits.
    unsafe {
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (d, s) in addr.sun_path.iter_mut().zip(sock.as_os_str().as_bytes()) {
            *d = *s as libc::c_char;
        }
        let mut buf = vec![0u8; 64 * 1024];
        let timeout = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        let mut fds = [0i32; 2];
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        let pid = libc::fork();
        assert!(pid >= 0, "fork");
        if pid == 0 {
            libc::close(fds[0]);
            let mut status: i32 = 0;
            let mut got: usize = 0;
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                status = -1;
            } else {
                let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    &timeout as *const _ as *const libc::c_void,
                    std::mem::size_of::<libc::timeval>() as libc::socklen_t,
                );
                let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
                if libc::connect(fd, &addr as *const _ as *const libc::sockaddr, len) != 0 {
                    status = *libc::__errno_location();
                } else {
                    libc::write(fd, frame.as_ptr() as *const libc::c_void, frame.len());
                    loop {
                        let n = libc::read(
                            fd,
                            buf.as_mut_ptr().add(got) as *mut libc::c_void,
                            buf.len() - got,
                        );
                        if n <= 0 {
                            break;
                        }
                        got += n as usize;
                    }
                }
            }
            libc::write(fds[1], &status as *const i32 as *const libc::c_void, 4);
            libc::write(fds[1], buf.as_ptr() as *const libc::c_void, got);
            libc::_exit(0);
        }
        libc::close(fds[1]);
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = libc::read(fds[0], chunk.as_mut_ptr() as *mut libc::c_void, chunk.len());
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n as usize]);
        }
        libc::close(fds[0]);
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        let status = i32::from_ne_bytes(out[..4].try_into().unwrap());
        assert_ne!(status, -1, "the child could not become uid {uid}");
        if status != 0 {
            Attempt::ConnectFailed(status)
        } else {
            Attempt::Answer(out[4..].to_vec())
        }
    }
}

fn chmod(p: &Path, mode: u32) {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::chmod(c.as_ptr(), mode) }, 0);
}

#[test]
fn socket_is_0600_and_other_users_are_refused() {
    let (uid, gid) = test_user();
    let e = Engine::replay("ctl-peer", &pcaps_dir().join("tcpdump/dns_tcp.pcap"));
    let meta = std::fs::symlink_metadata(&e.sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600, "socket mode");
    let frame = {
        let body = brickwall_tui::protocol::encode_request(
            "conntrack",
            &serde_json::json!({"op": "count"}),
        );
        let mut f = (body.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(&body);
        f
    };

    // The mode alone keeps the other user out at connect().
    match connect_as(uid, gid, &e.sock, &frame) {
        Attempt::ConnectFailed(errno) => assert_eq!(errno, libc::EACCES),
        other => panic!("connected through a 0600 socket: {other:?}"),
    }

    // With the file opened up, the server's own check refuses the peer.
    chmod(&e.sock, 0o666);
    let answer = match connect_as(uid, gid, &e.sock, &frame) {
        Attempt::Answer(a) => a,
        other => panic!("{other:?}"),
    };
    let mut r = &answer[..];
    let body = brickwall_tui::protocol::read_frame(&mut r).expect("one answer frame");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert_eq!(
        msg,
        format!("permission denied: uid {uid} may not use this control socket (only root and the engine's uid 0)")
    );
    assert!(r.is_empty(), "the connection is closed after the refusal");

    // The CLI as that user: exit code 1 and the server's message. The binary is copied
    // where the user can run it (the build directory may be under root's home).
    let exe = e.dir.join("brickwall");
    std::fs::copy(control_common::bin(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new("runuser")
        .args(["-u", USER, "--"])
        .arg(&exe)
        .args(["ct", "-L", "--socket"])
        .arg(&e.sock)
        .output()
        .expect("runuser");
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains(&format!("permission denied: uid {uid}")),
        "{}",
        stderr(&o)
    );

    // Root is still served, and the engine removes its socket when it stops.
    assert_code(&e.ct(&["-C"]), 0);
    let sock = e.sock.clone();
    assert_code(&e.stop(), 0);
    assert!(!sock.exists());
}

/// Another user's engine started on the same path, in a directory that user may
/// write, leaves the live socket it cannot connect to alone (it used to remove it and
/// serve in its place) and says why.
#[test]
fn a_socket_another_user_cannot_reach_is_not_replaced() {
    use std::os::unix::fs::MetadataExt;
    test_user();
    let e = Engine::replay("ctl-noreplace", &pcaps_dir().join("tcpdump/dns_tcp.pcap"));
    let inode = std::fs::metadata(&e.sock).unwrap().ino();
    chmod(&e.dir.0, 0o777);
    let exe = e.dir.join("brickwall");
    std::fs::copy(control_common::bin(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cap = e.dir.join("dns.pcap");
    std::fs::copy(pcaps_dir().join("tcpdump/dns_tcp.pcap"), &cap).unwrap();
    std::fs::set_permissions(&cap, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = Command::new("runuser")
        .args(["-u", USER, "--"])
        .arg(&exe)
        .arg("replay")
        .arg(&cap)
        .args(["-q", "--control"])
        .arg(&e.sock)
        .output()
        .expect("runuser");
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("not replacing it") && stderr(&o).contains("Permission denied"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::metadata(&e.sock).unwrap().ino(),
        inode,
        "the same socket"
    );
    assert_code(&e.ct(&["-C"]), 0);
    assert_code(&e.stop(), 0);
}
