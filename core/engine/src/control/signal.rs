//! SIGINT and SIGTERM while the engine serves its control socket: the signal sets a flag
//! that the replay loop and the linger wait check, so the engine stops in order and
//! removes its socket file instead of dying with it in place. SIGHUP, in live mode,
//! sets another flag: reload the config.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the handler.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM and returns the flag it sets.
pub fn stop_on_signals() -> &'static AtomicBool {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a plain sigaction whose handler only stores to an atomic
        // (async-signal-safe).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    &STOP
}

/// Set by SIGHUP.
static RELOAD: AtomicBool = AtomicBool::new(false);

extern "C" fn on_hangup(_: libc::c_int) {
    RELOAD.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGHUP and returns the flag it sets (the reader clears it).
pub fn reload_on_sighup() -> &'static AtomicBool {
    // SAFETY: a plain sigaction whose handler only stores to an atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_hangup as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGHUP, &sa, std::ptr::null_mut());
    }
    &RELOAD
}
