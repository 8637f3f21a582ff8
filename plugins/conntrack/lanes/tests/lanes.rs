//! The lane lock on the standard library's primitives: lanes, registration, `alone`,
//! the exclusive holder's fold.

use brickwall_lanes::LaneLock;
use std::sync::Arc;

#[test]
fn a_lane_is_alone_until_a_second_registers_and_states_are_folded() {
    let lock = LaneLock::<Vec<usize>, u32>::with_lanes(Vec::new(), 2);
    assert!(lock.lane(2).is_none(), "past the lock's lanes");
    {
        let mut a = lock.lane(0).expect("lane 0");
        assert!(a.alone());
        *a.parts().1 += 1;
    }
    {
        let mut b = lock.lane(1).expect("lane 1");
        assert!(!b.alone(), "two lanes are registered");
        *b.parts().1 += 2;
    }
    assert!(!lock.lane(0).expect("lane 0").alone());
    let mut w = lock.write();
    let mut seen = Vec::new();
    w.fold(|v, i, s| {
        v.push(i);
        seen.push(*s);
    });
    assert_eq!(*w, vec![0, 1]);
    assert_eq!(seen, vec![1, 2]);
}

#[test]
fn lanes_run_beside_each_other_and_wait_for_the_exclusive_holder() {
    let lock = Arc::new(LaneLock::<u64, u64>::new(0));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    let mut g = lock.lane(i).expect("a lane");
                    let (v, s) = g.parts();
                    *s += 1 + *v % 2;
                }
                for _ in 0..100 {
                    *lock.write() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let mut w = lock.write();
    assert_eq!(*w, 400);
    let mut total = 0;
    w.fold(|_, _, s| total += *s);
    assert!((40_000..=80_000).contains(&total), "{total}");
}
