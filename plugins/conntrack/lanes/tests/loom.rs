//! The lane protocol under the loom model checker, which runs each test's threads in
//! every interleaving (up to a preemption bound) and reports any two accesses to a cell
//! that overlap without ordering. Run:
//! `RUSTFLAGS="--cfg brickwall_loom" cargo test -p brickwall-lanes --test loom --release`.
#![cfg(brickwall_loom)]

use brickwall_lanes::LaneLock;
use loom::cell::UnsafeCell;
use loom::sync::{Arc, Mutex};
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn lanes_share_the_value_and_the_exclusive_holder_has_it_alone() {
    model(|| {
        let lock = Arc::new(LaneLock::<u64, u64>::with_lanes(0, 2));
        let lanes: Vec<_> = (0..2)
            .map(|i| {
                let lock = lock.clone();
                thread::spawn(move || {
                    let mut g = lock.lane(i).expect("a lane");
                    let (v, s) = g.parts();
                    // The value is read beside the other lane; the state is the lane's.
                    *s += *v + 1;
                })
            })
            .collect();
        {
            let mut w = lock.write();
            *w += 10;
        }
        for t in lanes {
            t.join().expect("lane");
        }
        let mut w = lock.write();
        assert_eq!(*w, 10);
        let mut n = 0;
        w.fold(|_, _, s| n += (*s > 0) as u32);
        assert_eq!(n, 2, "both lanes' states are folded");
    });
}

/// A record outside the lock that a lane changes without a lock of its own when it is
/// alone, and under `guard` otherwise: loom reports an overlap if `alone` ever lies.
struct Record {
    value: UnsafeCell<u64>,
    guard: Mutex<()>,
}

// SAFETY: the test's protocol (alone, or under `guard`) is what loom checks.
unsafe impl Sync for Record {}

#[test]
fn a_lane_alone_stays_alone_while_another_registers() {
    model(|| {
        let lock = Arc::new(LaneLock::<(), ()>::with_lanes((), 2));
        let rec = Arc::new(Record {
            value: UnsafeCell::new(0),
            guard: Mutex::new(()),
        });
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let (lock, rec) = (lock.clone(), rec.clone());
                thread::spawn(move || {
                    let g = lock.lane(i).expect("a lane");
                    let _held = (!g.alone()).then(|| rec.guard.lock().expect("guard"));
                    // SAFETY: alone, or under the record's guard: loom checks it.
                    unsafe { *rec.value.get_mut().deref() += 1 };
                })
            })
            .collect();
        for t in workers {
            t.join().expect("worker");
        }
        let _ = lock.write();
        // SAFETY: every thread is done.
        assert_eq!(unsafe { *rec.value.get().deref() }, 2);
    });
}
