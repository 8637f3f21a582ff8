//! One sandboxed helper instance: a store with memory limits and a per-call budget,
//! calls that classify failures, and re-instantiation from the pre-instantiated
//! component after a failure (a trapped instance is never entered again).

use crate::bindings::{HelperWorld, HelperWorldPre, LogGate, StoreData};
use crate::engine::{MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES, MAX_TABLE_ELEMENTS};
use crate::policy::Budget;
use wasmtime::{Store, StoreLimitsBuilder, Trap};

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
    world: HelperWorld,
}

/// What an instance is made from.
pub struct Recipe {
    /// The pre-instantiated component.
    pub pre: HelperWorldPre<StoreData>,
    /// Per-call budget.
    pub budget: Budget,
    /// Memory limit, bytes.
    pub max_memory: usize,
}

/// The deadline of an instantiation (ms, in epoch ticks of 1 ms).
const INSTANTIATE_DEADLINE_MS: u64 = 1000;

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
        let mut store = Store::new(self.pre.engine(), StoreData { limits, log });
        store.limiter(|d| &mut d.limits);
        match self.budget {
            Budget::DeadlineMs(ms) => {
                store.epoch_deadline_trap();
                // Instantiating (memory set-up, the start function) gets more time than a
                // packet: on a busy machine it can take longer than a call's budget, and
                // a start function that never returns is still stopped.
                store.set_epoch_deadline(ms.max(INSTANTIATE_DEADLINE_MS));
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
            Budget::DeadlineMs(ms) => store.set_epoch_deadline(ms.max(1)),
        }
    }
}

impl Instance {
    /// Runs `f` under a fresh budget; a failure is classified.
    pub fn call<R>(
        &mut self,
        recipe: &Recipe,
        f: impl FnOnce(&mut Store<StoreData>, &HelperWorld) -> wasmtime::Result<R>,
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
