//! The sandbox: a looping helper is stopped by its budget (fuel, and a wall-clock
//! deadline), an allocating one by its memory limit, a trapping one is re-instantiated
//! and disabled after N failures, an oversized state is refused, logs are rate-limited,
//! fail-closed drops, and a component importing WASI is refused at load. Every call
//! still answers, and the counters say what happened.

mod common;

use brickwall_helpers::{
    Budget, CallOutcome, HelperPolicy, HelperSet, HelperStats, OnFailure, SandboxPolicy,
};
use common::{conn, misbehave, wasi_import};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn policy(wasm: &Path, max_failures: u32, on_failure: OnFailure) -> HelperPolicy {
    HelperPolicy {
        on_failure,
        max_failures,
        max_memory_bytes: 2 << 20,
        ..common::policy("bad", &wasm.display().to_string(), &["udp/69"])
    }
}

fn set_with(budget: Budget, p: HelperPolicy, log_per_second: Option<u32>) -> HelperSet {
    let sandbox = SandboxPolicy {
        budget,
        cache_dir: Some(String::new()),
        log_per_second,
    };
    HelperSet::new(&sandbox, &[p], Path::new("/"), Arc::new(|_, _, _| {})).expect("loads")
}

/// Calls the helper with `payload` on a fresh connection state.
fn call(s: &mut HelperSet, payload: &[u8]) -> CallOutcome {
    let mut state = s.assigned(0, 1, &test_conn()).unwrap_or_default();
    call_with(s, payload, &mut state)
}

/// The connection the calls are made on.
fn test_conn() -> brickwall_helpers::HConnInfo {
    conn([10, 0, 0, 1], 1000, [10, 0, 0, 2], 69, 17)
}

/// Calls the helper with `payload` and the connection state `state`.
fn call_with(s: &mut HelperSet, payload: &[u8], state: &mut Vec<u8>) -> CallOutcome {
    s.packet(0, &common::call_on_1(false, payload), state)
}

fn stats(s: &mut HelperSet) -> HelperStats {
    s.reports().remove(0).stats
}

fn works(s: &mut HelperSet) {
    let out = call(s, b"expect");
    assert!(!out.failed, "{out:?}");
    assert_eq!(out.expects.len(), 1, "a fresh instance answers again");
}

#[test]
fn an_endless_loop_runs_out_of_fuel_and_the_next_call_works() {
    let mut s = set_with(
        Budget::Fuel(5_000_000),
        policy(&misbehave(), 10, OnFailure::FailOpen),
        None,
    );
    let out = call(&mut s, b"loop");
    assert!(out.failed && !out.drop && out.expects.is_empty());
    let st = stats(&mut s);
    assert_eq!((st.budget_exhausted, st.traps, st.disabled), (1, 0, false));
    works(&mut s);
    assert_eq!(stats(&mut s).reinstantiations, 1);
}

#[test]
fn an_endless_loop_is_stopped_by_the_deadline_within_bounded_time() {
    let mut s = set_with(
        Budget::DeadlineMs(20),
        policy(&misbehave(), 10, OnFailure::FailOpen),
        None,
    );
    let t = Instant::now();
    let out = call(&mut s, b"loop");
    let took = t.elapsed();
    assert!(out.failed);
    assert!(took < Duration::from_secs(2), "stopped after {took:?}");
    assert_eq!(stats(&mut s).budget_exhausted, 1);
    works(&mut s);
}

/// Pins the calling thread to the first processor it may run on.
fn pin_to_one_cpu() {
    // SAFETY: cpu_set_t is plain data; the calls get valid pointers and sizes.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        let first = (0..libc::CPU_SETSIZE as usize)
            .find(|&c| libc::CPU_ISSET(c, &set))
            .expect("a processor");
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(first, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

/// This thread's processor time.
fn thread_cpu() -> Duration {
    // SAFETY: a valid timespec for the call.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The deadline counts the processor time the call used, not time its thread waited
/// for the processor: a looping call sharing one processor with three busy threads
/// still gets its 100 ms of processor time (a wall-clock deadline gave it about a
/// quarter of that), and is still stopped within ten times its budget.
#[test]
fn the_deadline_counts_processor_time_not_preemption() {
    let mut s = set_with(
        Budget::DeadlineMs(100),
        policy(&misbehave(), 10, OnFailure::FailOpen),
        None,
    );
    works(&mut s);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (cpu, wall, out) = std::thread::scope(|scope| {
        for _ in 0..3 {
            let stop = stop.clone();
            scope.spawn(move || {
                pin_to_one_cpu();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            });
        }
        pin_to_one_cpu();
        std::thread::sleep(Duration::from_millis(50));
        let (c0, w0) = (thread_cpu(), Instant::now());
        let out = call(&mut s, b"loop");
        let r = (thread_cpu() - c0, w0.elapsed(), out);
        stop.store(true, Ordering::Relaxed);
        r
    });
    assert!(out.failed, "{out:?}");
    assert!(
        cpu >= Duration::from_millis(80),
        "the call got {cpu:?} of processor time in {wall:?}"
    );
    assert!(wall < Duration::from_millis(1500), "stopped after {wall:?}");
}

#[test]
fn an_allocating_helper_hits_the_memory_limit() {
    let mut s = set_with(
        Budget::Fuel(1_000_000_000),
        policy(&misbehave(), 10, OnFailure::FailOpen),
        None,
    );
    let out = call(&mut s, b"alloc");
    assert!(out.failed);
    let st = stats(&mut s);
    assert_eq!((st.memory_exceeded, st.budget_exhausted), (1, 0), "{st:?}");
    works(&mut s);
}

#[test]
fn a_trapping_helper_is_disabled_after_n_failures_and_traffic_passes() {
    let mut s = set_with(
        Budget::Fuel(5_000_000),
        policy(&misbehave(), 3, OnFailure::FailOpen),
        None,
    );
    for i in 0..3 {
        let out = call(&mut s, b"trap");
        assert!(out.failed && !out.drop, "call {i}: {out:?}");
    }
    let st = stats(&mut s);
    assert_eq!((st.traps, st.disabled), (3, true));
    // Disabled: every packet still gets an answer (accept, nothing expected).
    for _ in 0..5 {
        let out = call(&mut s, b"expect");
        assert_eq!(out, CallOutcome::default());
    }
    assert_eq!(stats(&mut s).calls, 3, "a disabled helper is not called");
}

/// Failures older than the policy's window are forgotten: a helper failing now and
/// then is never disabled, one failing `max_failures` times within the window is.
#[test]
fn failures_outside_the_window_do_not_add_up() {
    let mut p = policy(&misbehave(), 3, OnFailure::FailOpen);
    p.failure_window_s = 1;
    let mut s = set_with(Budget::Fuel(5_000_000), p, None);
    for round in 0..2 {
        for i in 0..2 {
            let out = call(&mut s, b"trap");
            assert!(out.failed, "round {round} call {i}: {out:?}");
        }
        works(&mut s);
        std::thread::sleep(Duration::from_millis(1100));
    }
    let st = stats(&mut s);
    assert_eq!(
        (st.traps, st.disabled),
        (4, false),
        "two failures a second apart"
    );
    for _ in 0..3 {
        call(&mut s, b"trap");
    }
    assert!(stats(&mut s).disabled, "three within the second");
}

#[test]
fn fail_closed_drops_the_packet_of_a_failed_call() {
    let mut s = set_with(
        Budget::Fuel(5_000_000),
        policy(&misbehave(), 0, OnFailure::FailClosed),
        None,
    );
    let out = call(&mut s, b"trap");
    assert!(out.failed && out.drop);
    assert_eq!(stats(&mut s).failure_drops, 1);
    // The helper's own drop verdict is counted apart.
    let out = call(&mut s, b"drop");
    assert!(out.drop && !out.failed);
    assert_eq!(stats(&mut s).drops, 1);
}

#[test]
fn an_oversized_state_is_refused_and_the_old_one_kept() {
    let mut s = set_with(
        Budget::Fuel(50_000_000),
        policy(&misbehave(), 0, OnFailure::FailOpen),
        None,
    );
    let mut state = s.assigned(0, 1, &test_conn()).expect("state");
    let before = state.clone();
    let out = call_with(&mut s, b"big-state", &mut state);
    assert!(out.failed);
    assert_eq!(state, before);
    let st = stats(&mut s);
    assert_eq!(st.state_oversize, 1);
    assert_eq!(st.state_bytes, before.len() as u64);
}

#[test]
fn helper_logs_are_rate_limited() {
    let lines = Arc::new(AtomicUsize::new(0));
    let seen = lines.clone();
    let sandbox = SandboxPolicy {
        budget: Budget::Fuel(50_000_000),
        cache_dir: Some(String::new()),
        log_per_second: Some(5),
    };
    let mut s = HelperSet::new(
        &sandbox,
        &[policy(&misbehave(), 0, OnFailure::FailOpen)],
        Path::new("/"),
        Arc::new(move |_, name, _| {
            assert_eq!(name, "bad");
            seen.fetch_add(1, Ordering::Relaxed);
        }),
    )
    .expect("loads");
    assert!(!call(&mut s, b"log").failed);
    let written = lines.load(Ordering::Relaxed);
    assert!((1..=5).contains(&written), "{written} lines passed");
    assert_eq!(stats(&mut s).log_dropped, 100 - written as u64);
}

#[test]
fn a_component_importing_wasi_is_refused_at_load_naming_the_import() {
    let sandbox = SandboxPolicy {
        budget: Budget::Fuel(1_000_000),
        cache_dir: Some(String::new()),
        log_per_second: None,
    };
    let err = match HelperSet::new(
        &sandbox,
        &[policy(&wasi_import(), 0, OnFailure::FailOpen)],
        Path::new("/"),
        Arc::new(|_, _, _| {}),
    ) {
        Ok(_) => panic!("a WASI-importing helper loaded"),
        Err(e) => e,
    };
    assert!(err.contains("wasi:cli/environment@0.2.0"), "{err}");
    assert!(err.contains("helpers[0]"), "{err}");
}

#[test]
fn a_core_module_or_junk_is_refused_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("bw-junk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0").unwrap();
    let sandbox = SandboxPolicy::default();
    let err = HelperSet::new(
        &sandbox,
        &[policy(&junk, 0, OnFailure::FailOpen)],
        Path::new("/"),
        Arc::new(|_, _, _| {}),
    )
    .err()
    .expect("refused");
    assert!(err.contains("not a WebAssembly component"), "{err}");
    let missing = HelperSet::new(
        &sandbox,
        &[policy(&dir.join("nope.wasm"), 0, OnFailure::FailOpen)],
        Path::new("/"),
        Arc::new(|_, _, _| {}),
    )
    .err()
    .expect("refused");
    assert!(
        missing.contains("helpers[0].wasm") && missing.contains("nope.wasm"),
        "{missing}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
