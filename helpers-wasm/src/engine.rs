//! The wasmtime engine helpers run on: cranelift, the component model, the pooling
//! allocator, and fuel or epoch interruption as the budget says; plus the thread that
//! advances the epoch for deadlines.

use crate::policy::Budget;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Component instances the pool holds at once (live ones plus replacements being made).
const POOL_INSTANCES: u32 = 64;

/// Most core instances one component may instantiate. A Rust or C helper has one or two;
/// a componentize-py component links CPython, libc, its runtime and small adapter shims
/// as separate modules and instantiates 38.
pub const MAX_CORE_INSTANCES: u32 = 64;

/// Most linear memories one component may define (each bounded by the helper's
/// `max_memory_bytes`); the helpers of every toolchain so far define one.
pub const MAX_MEMORIES: u32 = 4;

/// Most tables one component may define (componentize-py: 2).
pub const MAX_TABLES: u32 = 16;

/// Most elements of one table (componentize-py's CPython table starts at 5672).
pub const MAX_TABLE_ELEMENTS: u32 = 20_000;

/// An engine and, for deadlines, its epoch ticker (stopped on drop).
pub struct HelperEngine {
    /// The engine.
    pub engine: Engine,
    ticker: Option<Arc<AtomicBool>>,
}

/// The epoch advances once per millisecond.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

impl HelperEngine {
    /// An engine for `budget`, with linear memories bounded by `max_memory` bytes.
    pub fn new(budget: Budget, max_memory: u64) -> Result<HelperEngine, String> {
        let mut cfg = Config::new();
        match budget {
            Budget::Fuel(_) => {
                cfg.consume_fuel(true);
            }
            Budget::DeadlineMs(_) => {
                cfg.epoch_interruption(true);
            }
        }
        let mut pool = PoolingAllocationConfig::default();
        // The per-component limits refuse an oversized component when it is instantiated
        // (at load), naming what it has too much of. The totals bound the whole pool:
        // memories and tables are reserved up front, core instances are only counted
        // (each component slot may hold the largest component allowed).
        pool.total_component_instances(POOL_INSTANCES)
            .max_core_instances_per_component(MAX_CORE_INSTANCES)
            .max_memories_per_component(MAX_MEMORIES)
            .max_tables_per_component(MAX_TABLES)
            .table_elements(MAX_TABLE_ELEMENTS as usize)
            .total_core_instances(POOL_INSTANCES * MAX_CORE_INSTANCES)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_INSTANCES * 2)
            .max_memory_size(max_memory.max(64 << 10) as usize);
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&cfg).map_err(|e| format!("wasmtime engine: {e:#}"))?;
        let ticker = matches!(budget, Budget::DeadlineMs(_)).then(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let (e, s) = (engine.clone(), stop.clone());
            let _ = std::thread::Builder::new()
                .name("helper-epoch".into())
                .spawn(move || {
                    while !s.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        e.increment_epoch();
                    }
                });
            stop
        });
        Ok(HelperEngine { engine, ticker })
    }
}

impl Drop for HelperEngine {
    fn drop(&mut self) {
        if let Some(s) = &self.ticker {
            s.store(true, Ordering::Relaxed);
        }
    }
}
