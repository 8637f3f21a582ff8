//! One sandboxed helper instance: a store with memory limits and a per-call budget,
//! calls that classify failures, and re-instantiation from the pre-instantiated
//! component after a failure (a trapped instance is never entered again). The same for
//! either world version (`world.rs`).

use crate::bindings::{LogGate, StoreData};
use crate::engine::{MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES, MAX_TABLE_ELEMENTS};
use crate::policy::Budget;
use crate::world::{World, WorldPre};
use std::time::{Duration, Instant};
use wasmtime::{Store, StoreLimitsBuilder, Trap, UpdateDeadline};

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The fuel or the deadline ran out.
    Budget,
    /// Linear memory would have grown past the limit.
    Memory,
    /// Any other trap, with its description.
    Trap(String),
}

/// A live instance.
pub struct Instance {
    store: Store<StoreData>,
    world: World,
}

/// What an instance is made from.
pub struct Recipe {
    /// The pre-instantiated component, for the world version it implements.
    pub pre: WorldPre,
    /// Per-call budget.
    pub budget: Budget,
    /// Memory limit, bytes.
    pub max_memory: usize,
}

/// The deadline of an instantiation (ms, in epoch ticks of 1 ms).
const INSTANTIATE_DEADLINE_MS: u64 = 1000;

/// How many times its budget a call may take in wall-clock time while it waits for the
/// processor: past that it is stopped even if it used less.
pub const WALL_FACTOR: u32 = 10;

/// The CPU time this thread has used, ns.
fn thread_cpu_ns() -> u64 {
    // SAFETY: timespec is plain data, and clock_gettime writes it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid timespec for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64
}

/// A call's budget in time: the deadline counts the processor time the call's thread
/// used, not time it spent preempted (a busy machine does not fail a healthy helper),
/// within [`WALL_FACTOR`] times the budget of wall-clock time.
#[derive(Clone, Copy, Debug)]
pub struct CallClock {
    /// The thread's CPU time when the call began, ns.
    cpu_start_ns: u64,
    /// When it began.
    wall_start: Instant,
    /// Its budget.
    budget: Duration,
}

impl Default for CallClock {
    fn default() -> Self {
        CallClock {
            cpu_start_ns: 0,
            wall_start: Instant::now(),
            budget: Duration::ZERO,
        }
    }
}

impl CallClock {
    /// A clock started now for a call of `budget_ms`.
    fn start(budget_ms: u64) -> CallClock {
        CallClock {
            cpu_start_ns: thread_cpu_ns(),
            wall_start: Instant::now(),
            budget: Duration::from_millis(budget_ms),
        }
    }

    /// Whether the call is over its budget: its processor time, or many times it in
    /// wall-clock time.
    fn spent(&self) -> bool {
        let cpu = Duration::from_nanos(thread_cpu_ns().saturating_sub(self.cpu_start_ns));
        cpu >= self.budget || self.wall_start.elapsed() >= self.budget * WALL_FACTOR
    }
}

impl Recipe {
    /// Makes a fresh instance.
    pub fn instantiate(&self, log: LogGate) -> Result<Instance, String> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.max_memory)
            .table_elements(MAX_TABLE_ELEMENTS as usize)
            .instances(MAX_CORE_INSTANCES as usize)
            .memories(MAX_MEMORIES as usize)
            .tables(MAX_TABLES as usize)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(
            self.pre.engine(),
            StoreData {
                limits,
                log,
                clock: CallClock::default(),
            },
        );
        store.limiter(|d| &mut d.limits);
        match self.budget {
            Budget::DeadlineMs(ms) => {
                // At each tick past the deadline: stop the call if it has used its
                // budget, else look again a tick later.
                store.epoch_deadline_callback(|ctx| {
                    Ok(if ctx.data().clock.spent() {
                        UpdateDeadline::Interrupt
                    } else {
                        UpdateDeadline::Continue(1)
                    })
                });
                // Instantiating (memory set-up, the start function) gets more time than a
                // packet: on a busy machine it can take longer than a call's budget, and
                // a start function that never returns is still stopped.
                let budget = ms.max(INSTANTIATE_DEADLINE_MS);
                store.data_mut().clock = CallClock::start(budget);
                store.set_epoch_deadline(budget);
            }
            Budget::Fuel(_) => self.arm(&mut store),
        }
        let world = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| format!("cannot instantiate: {e:#}"))?;
        Ok(Instance { store, world })
    }

    fn arm(&self, store: &mut Store<StoreData>) {
        match self.budget {
            Budget::Fuel(f) => {
                let _ = store.set_fuel(f);
            }
            Budget::DeadlineMs(ms) => {
                store.data_mut().clock = CallClock::start(ms.max(1));
                store.set_epoch_deadline(ms.max(1));
            }
        }
    }
}

impl Instance {
    /// Runs `f` under a fresh budget; a failure is classified.
    pub fn call<R>(
        &mut self,
        recipe: &Recipe,
        f: impl FnOnce(&mut Store<StoreData>, &World) -> wasmtime::Result<R>,
    ) -> Result<R, Failure> {
        recipe.arm(&mut self.store);
        f(&mut self.store, &self.world).map_err(|e| classify(&e))
    }

    /// Log lines dropped since the last look.
    pub fn take_log_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.store.data_mut().log.dropped)
    }

    /// The log gate, to carry over into a replacement instance.
    pub fn into_log(self) -> LogGate {
        self.store.into_data().log
    }
}

fn classify(e: &wasmtime::Error) -> Failure {
    if let Some(t) = e.downcast_ref::<Trap>() {
        return match t {
            Trap::OutOfFuel | Trap::Interrupt => Failure::Budget,
            other => Failure::Trap(other.to_string()),
        };
    }
    // Memory limits surface as a forced trap whose message names the growth; the
    // backtrace context in front of it is left out of the description.
    let text = format!("{e:#}");
    if text.contains("growing memory") || text.contains("memory growth failure") {
        return Failure::Memory;
    }
    Failure::Trap(e.root_cause().to_string())
}
