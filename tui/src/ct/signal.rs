//! SIGINT for `-E`: instead of killing the process, the signal sets a flag the event loop
//! checks, so it can print its summary and exit 0 as conntrack does.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT handler (once is enough; again is harmless) and returns the flag
/// it sets.
pub fn stop_on_sigint() -> &'static AtomicBool {
    // SAFETY: a plain sigaction with a handler that only stores to an atomic, which is
    // async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
    &INTERRUPTED
}
