//! The table of registered callbacks, ordered by priority, per family and hook.
//!
//! Readers (packet workers) take a snapshot of the whole table, lock-free; writers build
//! a new table and swap it in. A snapshot keeps every owner it references alive, so a
//! plugin is shut down only after the last worker has stopped using it: registering and
//! unregistering while traffic flows is safe.

use crate::abi::{BurstFn, HookFn, MAX_BURST};
use crate::hook::{Family, FamilySel, Hook};
use crate::packet::PacketView;
use crate::verdict::{FailurePolicy, RawVerdict, Verdict};
use arc_swap::ArcSwap;
use std::any::Any;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// A callback in its C-ABI form. Made only through the `unsafe` [`Callback::new`],
/// whose contract makes [`Callback::call`] sound:
///
/// ```compile_fail,E0451
/// extern "C" fn f(_: *mut std::ffi::c_void, _: u32, _: *mut brickwall_hooks::PacketView) -> u32 {
///     0
/// }
/// let c = brickwall_hooks::Callback { func: f, state: 1 as *mut _, op: 0, burst: None };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Callback {
    func: HookFn,
    state: *mut c_void,
    op: u32,
    burst: Option<BurstFn>,
}

// Callback states are required to be thread-safe (plugins are `Send + Sync`).
unsafe impl Send for Callback {}
unsafe impl Sync for Callback {}

impl Callback {
    /// The callback calling `func` with `state` and the registration id `op`.
    ///
    /// # Safety
    /// `func` must be sound to call with `state`, `op` and any packet view, from any
    /// thread and concurrently, for as long as the callback is registered (its owner
    /// keeps `state` alive): [`call`](Self::call) is safe on that promise.
    pub unsafe fn new(func: HookFn, state: *mut c_void, op: u32) -> Callback {
        Callback {
            func,
            state,
            op,
            burst: None,
        }
    }

    /// The same callback, deciding bursts with `burst` (see [`BurstFn`]).
    ///
    /// # Safety
    /// As [`Callback::new`], for `burst` with any `n` distinct views and room for their
    /// verdicts.
    pub unsafe fn with_burst(self, burst: BurstFn) -> Callback {
        Callback {
            burst: Some(burst),
            ..self
        }
    }

    /// Whether the callback decides bursts.
    #[inline]
    pub fn bursts(&self) -> bool {
        self.burst.is_some()
    }

    /// The registration id passed back to the function.
    pub fn op(&self) -> u32 {
        self.op
    }

    /// Calls the callback on a packet.
    #[inline(always)]
    pub fn call(&self, pkt: &mut PacketView) -> RawVerdict {
        (self.func)(self.state, self.op, pkt)
    }

    /// Calls the callback on a burst (at most [`MAX_BURST`] packets; `verdicts` as long
    /// as `pkts`): the verdicts of the first `k` packets are written, and `k` (1 to the
    /// burst's length) returned. Without a burst function, each packet in turn.
    #[inline]
    pub fn call_burst(&self, pkts: &mut [&mut PacketView], verdicts: &mut [RawVerdict]) -> usize {
        let n = pkts.len().min(verdicts.len()).min(MAX_BURST);
        if n == 0 {
            return 0;
        }
        match self.burst {
            Some(f) => {
                // `&mut PacketView` has the layout of `*mut PacketView`; the views are
                // distinct (they are `&mut`), and both slices hold at least `n`.
                let k = f(
                    self.state,
                    self.op,
                    pkts.as_mut_ptr() as *const *mut PacketView,
                    verdicts.as_mut_ptr(),
                    n,
                );
                k.clamp(1, n)
            }
            None => {
                for (pkt, v) in pkts[..n].iter_mut().zip(verdicts.iter_mut()) {
                    *v = self.call(pkt);
                }
                n
            }
        }
    }
}

/// A plugin's batch callback in its C-ABI form.
#[derive(Clone, Copy, Debug)]
pub struct BatchCallback {
    func: crate::abi::BatchFn,
    state: *mut c_void,
}

// As for `Callback`: plugin states are thread-safe.
unsafe impl Send for BatchCallback {}
unsafe impl Sync for BatchCallback {}

impl BatchCallback {
    /// The batch callback calling `func` with `state`.
    ///
    /// # Safety
    /// As [`Callback::new`]: `func` must be sound to call with `state` and any batch of
    /// views, from any thread, while its owner is registered.
    pub unsafe fn new(func: crate::abi::BatchFn, state: *mut c_void) -> BatchCallback {
        BatchCallback { func, state }
    }

    /// Calls the callback on a batch of views.
    #[inline]
    pub fn call(&self, pkts: &[*const PacketView]) {
        (self.func)(self.state, pkts.as_ptr(), pkts.len())
    }
}

/// Who registered a callback: a plugin, or engine-internal code. Holds what must stay
/// alive while its callbacks may run (the loaded library, the plugin state).
pub struct Owner {
    /// Name shown by `brickwall hooks` and in counters.
    pub name: Arc<str>,
    /// Applied when a callback of this owner panics.
    pub failure_policy: FailurePolicy,
    /// Global id of the owner's first drop reason.
    pub reason_base: u32,
    /// Number of drop reasons the owner declared.
    pub reason_count: u32,
    /// Kept alive as long as any table references the owner; dropped last.
    pub keep_alive: Box<dyn Any + Send + Sync>,
    /// The owner's batch callback, called once per batch while it has registrations.
    pub prepare: Option<BatchCallback>,
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner").field("name", &self.name).finish()
    }
}

/// One registered callback in a chain.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Priority; lower runs first.
    pub priority: i32,
    /// The callback.
    pub callback: Callback,
    /// Registration id (unique in this registry).
    pub id: u64,
    /// Name of the registration (e.g. `conntrack-in`).
    pub name: Arc<str>,
    /// The owner.
    pub owner: Arc<Owner>,
}

impl Entry {
    /// The global drop-reason id for the owner's local reason `local`, or `None` when
    /// the owner declared no such reason.
    #[inline]
    pub fn reason_id(&self, local: u32) -> Option<u32> {
        (local < self.owner.reason_count).then(|| self.owner.reason_base + local)
    }
}

/// The callbacks of every (family, hook), each chain sorted by priority.
#[derive(Default, Debug)]
pub struct HookTable {
    chains: [[Vec<Entry>; Hook::COUNT]; 2],
    /// The same chains as bare callbacks, packed for the per-packet loop.
    calls: [[Box<[Callback]>; Hook::COUNT]; 2],
    /// The batch callbacks of the owners with registrations, each once.
    preparers: Box<[BatchCallback]>,
    /// Whether every callback decides bursts (and there is at least one).
    bursts: bool,
}

impl HookTable {
    fn new(chains: [[Vec<Entry>; Hook::COUNT]; 2]) -> HookTable {
        let calls = std::array::from_fn(|f| {
            std::array::from_fn(|h| chains[f][h].iter().map(|e| e.callback).collect())
        });
        let mut owners: Vec<&Arc<Owner>> = Vec::new();
        for e in chains.iter().flatten().flatten() {
            if e.owner.prepare.is_some() && !owners.iter().any(|o| Arc::ptr_eq(o, &e.owner)) {
                owners.push(&e.owner);
            }
        }
        let preparers = owners.iter().filter_map(|o| o.prepare).collect();
        let mut entries = chains.iter().flatten().flatten().peekable();
        let bursts = entries.peek().is_some() && entries.all(|e| e.callback.bursts());
        HookTable {
            chains,
            calls,
            preparers,
            bursts,
        }
    }

    /// Whether packets may walk the hooks in bursts: every callback decides bursts
    /// (a plugin of ABI 1, or a callback without a burst function, keeps the whole
    /// table to one packet at a time).
    #[inline]
    pub fn walks_bursts(&self) -> bool {
        self.bursts
    }

    /// The batch callbacks to call before a batch of packets walks the hooks.
    #[inline]
    pub fn preparers(&self) -> &[BatchCallback] {
        &self.preparers
    }

    /// The chain of callbacks for a family and hook, in the order they run.
    #[inline(always)]
    pub fn chain(&self, family: Family, hook: Hook) -> &[Entry] {
        &self.chains[family.index()][hook as usize]
    }

    /// The chain's callbacks alone, index for index the same as [`chain`](Self::chain):
    /// what the per-packet loop walks.
    #[inline(always)]
    pub fn calls(&self, family: Family, hook: Hook) -> &[Callback] {
        &self.calls[family.index()][hook as usize]
    }

    /// Every entry, with its family and hook.
    pub fn iter(&self) -> impl Iterator<Item = (Family, Hook, &Entry)> {
        [Family::Ipv4, Family::Ipv6].into_iter().flat_map(move |f| {
            Hook::ALL
                .into_iter()
                .flat_map(move |h| self.chain(f, h).iter().map(move |e| (f, h, e)))
        })
    }
}

/// A request to register one callback.
pub struct Registration {
    /// Hook.
    pub hook: Hook,
    /// Families.
    pub family: FamilySel,
    /// Priority.
    pub priority: i32,
    /// Name of the registration.
    pub name: String,
    /// The callback.
    pub callback: Callback,
}

/// The registry: a swappable [`HookTable`] plus the interned drop-reason names.
pub struct HookRegistry {
    table: ArcSwap<HookTable>,
    write: Mutex<()>,
    next_id: AtomicU64,
    reasons: RwLock<Vec<Arc<str>>>,
}

impl Default for HookRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl HookRegistry {
    /// An empty registry.
    pub fn new() -> HookRegistry {
        HookRegistry {
            table: ArcSwap::from_pointee(HookTable::default()),
            write: Mutex::new(()),
            next_id: AtomicU64::new(1),
            reasons: RwLock::new(Vec::new()),
        }
    }

    /// The current table. Cheap; hold it for a batch of packets, not forever.
    #[inline]
    pub fn snapshot(&self) -> Arc<HookTable> {
        self.table.load_full()
    }

    /// Declares drop reasons; returns the global id of the first.
    pub fn add_reasons(&self, names: &[String]) -> u32 {
        let mut r = self.reasons.write().unwrap_or_else(|e| e.into_inner());
        let base = r.len() as u32;
        r.extend(names.iter().map(|n| Arc::<str>::from(n.as_str())));
        base
    }

    /// The name of a global drop-reason id.
    pub fn reason_name(&self, id: u32) -> Option<Arc<str>> {
        let r = self.reasons.read().unwrap_or_else(|e| e.into_inner());
        r.get(id as usize).cloned()
    }

    /// Number of declared drop reasons.
    pub fn reason_count(&self) -> usize {
        self.reasons.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Registers callbacks for `owner`, atomically (all or none are visible). Returns
    /// their ids in order.
    pub fn register(&self, owner: &Arc<Owner>, regs: Vec<Registration>) -> Vec<u64> {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.table.load_full();
        let mut chains = old.chains.clone();
        let mut ids = Vec::with_capacity(regs.len());
        for reg in regs {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            ids.push(id);
            let entry = Entry {
                priority: reg.priority,
                callback: reg.callback,
                id,
                name: Arc::from(reg.name.as_str()),
                owner: owner.clone(),
            };
            for family in [Family::Ipv4, Family::Ipv6] {
                if reg.family.covers(family) {
                    let chain = &mut chains[family.index()][reg.hook as usize];
                    // After every entry of equal priority, as Linux inserts.
                    let at = chain.partition_point(|e| e.priority <= reg.priority);
                    chain.insert(at, entry.clone());
                }
            }
        }
        self.table.store(Arc::new(HookTable::new(chains)));
        ids
    }

    /// Removes the registrations with these ids. Returns how many entries went.
    pub fn unregister(&self, ids: &[u64]) -> usize {
        self.retain(|e| !ids.contains(&e.id))
    }

    /// Removes every registration of `owner`. Returns how many entries went.
    pub fn unregister_owner(&self, owner: &Arc<Owner>) -> usize {
        self.retain(|e| !Arc::ptr_eq(&e.owner, owner))
    }

    fn retain(&self, keep: impl Fn(&Entry) -> bool) -> usize {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.table.load_full();
        let mut chains = old.chains.clone();
        let mut removed = 0;
        for per_family in chains.iter_mut() {
            for chain in per_family.iter_mut() {
                let before = chain.len();
                chain.retain(&keep);
                removed += before - chain.len();
            }
        }
        self.table.store(Arc::new(HookTable::new(chains)));
        removed
    }

    /// Registers a Rust closure as a callback owned by a new owner named `name`
    /// (engine-internal callbacks, tests and benchmarks). Returns the owner.
    pub fn register_fn<F>(
        &self,
        name: &str,
        hook: Hook,
        family: FamilySel,
        priority: i32,
        f: F,
    ) -> Arc<Owner>
    where
        F: Fn(&mut PacketView) -> Verdict + Send + Sync + 'static,
    {
        self.register_fn_with(
            name,
            FailurePolicy::FailOpen,
            &[],
            hook,
            family,
            priority,
            f,
        )
    }

    /// As [`register_fn`](Self::register_fn), with a failure policy and drop reasons.
    #[allow(clippy::too_many_arguments)]
    pub fn register_fn_with<F>(
        &self,
        name: &str,
        failure_policy: FailurePolicy,
        reasons: &[&str],
        hook: Hook,
        family: FamilySel,
        priority: i32,
        f: F,
    ) -> Arc<Owner>
    where
        F: Fn(&mut PacketView) -> Verdict + Send + Sync + 'static,
    {
        extern "C" fn tramp<F: Fn(&mut PacketView) -> Verdict>(
            state: *mut c_void,
            _op: u32,
            pkt: *mut PacketView,
        ) -> RawVerdict {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // SAFETY: `state` points at the boxed closure kept alive by the owner.
                let f = unsafe { &*(state as *const F) };
                f(unsafe { &mut *pkt })
            }));
            match r {
                Ok(v) => v.into(),
                Err(_) => RawVerdict::PANICKED,
            }
        }
        let boxed: Box<F> = Box::new(f);
        let state = &*boxed as *const F as *mut c_void;
        let reason_names: Vec<String> = reasons.iter().map(|s| s.to_string()).collect();
        let owner = Arc::new(Owner {
            name: Arc::from(name),
            failure_policy,
            reason_base: self.add_reasons(&reason_names),
            reason_count: reasons.len() as u32,
            keep_alive: Box::new(SendBox(boxed)),
            prepare: None,
        });
        self.register(
            &owner,
            vec![Registration {
                hook,
                family,
                priority,
                name: name.to_string(),
                // SAFETY: the trampoline reads `state` as the boxed closure the owner
                // keeps alive, and closures registered here are `Send + Sync`.
                callback: unsafe { Callback::new(tramp::<F>, state, 0) },
            }],
        );
        owner
    }
}

struct SendBox<T>(#[allow(dead_code)] Box<T>);
// The closure is `Send + Sync` by the bound on `register_fn_with`.
unsafe impl<T> Send for SendBox<T> {}
unsafe impl<T> Sync for SendBox<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::priority;

    fn run(table: &HookTable, family: Family, hook: Hook) -> Vec<Verdict> {
        let mut p = PacketView::default();
        table
            .chain(family, hook)
            .iter()
            .map(|e| e.callback.call(&mut p).decode().unwrap())
            .collect()
    }

    #[test]
    fn chains_sorted_by_priority_then_registration_order() {
        let r = HookRegistry::new();
        r.register_fn(
            "b",
            Hook::Forward,
            FamilySel::Inet,
            priority::FILTER,
            |_| Verdict::Drop(2),
        );
        r.register_fn(
            "a",
            Hook::Forward,
            FamilySel::Inet,
            priority::CONNTRACK,
            |_| Verdict::Drop(1),
        );
        r.register_fn(
            "c",
            Hook::Forward,
            FamilySel::Ipv4,
            priority::FILTER,
            |_| Verdict::Drop(3),
        );
        r.register_fn(
            "z",
            Hook::Forward,
            FamilySel::Inet,
            priority::CONFIRM,
            |_| Verdict::Drop(4),
        );
        let t = r.snapshot();
        let names: Vec<_> = t
            .chain(Family::Ipv4, Hook::Forward)
            .iter()
            .map(|e| e.name.to_string())
            .collect();
        assert_eq!(names, ["a", "b", "c", "z"]);
        assert_eq!(
            run(&t, Family::Ipv6, Hook::Forward),
            [Verdict::Drop(1), Verdict::Drop(2), Verdict::Drop(4)]
        );
        assert!(t.chain(Family::Ipv4, Hook::LocalIn).is_empty());
    }

    #[test]
    fn old_snapshot_keeps_owner_alive_after_unregister() {
        let r = HookRegistry::new();
        let owner = r.register_fn("x", Hook::PreRouting, FamilySel::Inet, 0, |_| {
            Verdict::Stolen
        });
        let snap = r.snapshot();
        assert_eq!(r.unregister_owner(&owner), 2);
        drop(owner);
        assert!(r
            .snapshot()
            .chain(Family::Ipv4, Hook::PreRouting)
            .is_empty());
        // The old snapshot still works: its entries hold the owner and its closure.
        assert_eq!(
            run(&snap, Family::Ipv4, Hook::PreRouting),
            [Verdict::Stolen]
        );
    }

    #[test]
    fn reasons_are_global_and_bounded_per_owner() {
        let r = HookRegistry::new();
        r.add_reasons(&["engine".to_string()]);
        let o = r.register_fn_with(
            "p",
            FailurePolicy::FailClosed,
            &["bad", "worse"],
            Hook::LocalIn,
            FamilySel::Inet,
            0,
            |_| Verdict::Drop(1),
        );
        let t = r.snapshot();
        let e = &t.chain(Family::Ipv4, Hook::LocalIn)[0];
        assert_eq!(e.reason_id(1), Some(2));
        assert_eq!(e.reason_id(2), None);
        assert_eq!(r.reason_name(2).as_deref(), Some("worse"));
        assert_eq!(o.failure_policy, FailurePolicy::FailClosed);
    }
}
