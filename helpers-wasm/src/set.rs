//! The loaded helpers: loading and checking components (of either world version),
//! assignment by port or name, the calls conntrack makes (assigned, packet, destroyed)
//! with their failure policy, disabling after repeated failures, reloading, and
//! counters.

use crate::bindings::{LogGate, LogSink, StoreData};
use crate::builtin;
use crate::cache::{Cache, Origin};
use crate::check::{Interface, WorldVersion};
use crate::conn::{CallOutcome, HConnInfo, PacketCall};
use crate::engine::HelperEngine;
use crate::instance::{Failure, Instance, Recipe};
use crate::policy::{HelperPolicy, OnFailure, PortSpec, SandboxPolicy};
use crate::stats::HelperStats;
use crate::world::{self, WorldPre};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};

/// Log lines per second a helper may write when the config says nothing.
const DEFAULT_LOG_RATE: u32 = 20;

/// Index of a helper in its set.
pub type HelperId = u16;

/// One loaded helper.
struct Loaded {
    policy: HelperPolicy,
    /// Where its bytes came from (a path, or none for bundled ones).
    path: Option<PathBuf>,
    recipe: Recipe,
    instance: Option<Instance>,
    stats: HelperStats,
    origin: Origin,
    /// Log lines per second its instances may write.
    log_rate: u32,
    /// When its failures within the policy's window happened, oldest first.
    recent_failures: VecDeque<Instant>,
}

/// All helpers of an engine.
pub struct HelperSet {
    engine: HelperEngine,
    linker: Linker<StoreData>,
    cache: Cache,
    sandbox: SandboxPolicy,
    helpers: Vec<Loaded>,
    by_port: HashMap<PortSpec, HelperId>,
    log: LogSink,
}

/// A loaded helper as listings show it (the control protocol's type).
pub use brickwall_control_protocol::helpers::HelperReport;

impl HelperSet {
    /// Loads `helpers` (paths relative to `base_dir`); errors name the helper and field.
    pub fn new(
        sandbox: &SandboxPolicy,
        helpers: &[HelperPolicy],
        base_dir: &Path,
        log: LogSink,
    ) -> Result<HelperSet, String> {
        let max_memory = helpers
            .iter()
            .map(|h| h.max_memory_bytes)
            .max()
            .unwrap_or(1 << 20);
        let engine = HelperEngine::new(sandbox.budget, max_memory)?;
        let mut linker = Linker::new(&engine.engine);
        world::add_to_linker(&mut linker).map_err(|e| format!("helper linker: {e:#}"))?;
        let mut set = HelperSet {
            engine,
            linker,
            cache: Cache::new(sandbox.cache_dir.as_deref()),
            sandbox: sandbox.clone(),
            helpers: Vec::new(),
            by_port: HashMap::new(),
            log,
        };
        for (i, p) in helpers.iter().enumerate() {
            if set.id_by_name(&p.name).is_some() {
                return Err(format!("helpers[{i}].name: `{}` is defined twice", p.name));
            }
            let id = set.helpers.len() as HelperId;
            for (j, port) in p.ports.iter().enumerate() {
                let spec =
                    PortSpec::parse(port).map_err(|e| format!("helpers[{i}].ports[{j}]: {e}"))?;
                if let Some(other) = set.by_port.insert(spec, id) {
                    return Err(format!(
                        "helpers[{i}].ports[{j}]: {port} is already assigned to `{}`",
                        set.helpers[other as usize].policy.name
                    ));
                }
            }
            let (bytes, path) =
                read_wasm(&p.wasm, base_dir).map_err(|e| format!("helpers[{i}].wasm: {e}"))?;
            let loaded = set
                .load(p.clone(), &bytes, path)
                .map_err(|e| format!("helpers[{i}] (`{}`, {}): {e}", p.name, p.wasm))?;
            set.helpers.push(loaded);
        }
        Ok(set)
    }

    fn load(
        &self,
        policy: HelperPolicy,
        bytes: &[u8],
        path: Option<PathBuf>,
    ) -> Result<Loaded, String> {
        let (component, version, origin) = self.compile(bytes)?;
        if let Origin::Untrusted(why) = &origin {
            (self.log)(
                1,
                &policy.name,
                &format!("compiled without the cache, which is not trusted: {why}"),
            );
        }
        let recipe = self.recipe(&policy, &component, version)?;
        let instance = recipe.instantiate(self.gate(&policy.name))?;
        Ok(Loaded {
            policy,
            path,
            recipe,
            instance: Some(instance),
            stats: HelperStats::default(),
            origin,
            log_rate: self.sandbox.log_per_second.unwrap_or(DEFAULT_LOG_RATE),
            recent_failures: VecDeque::new(),
        })
    }

    /// Compiles (or loads from the cache) a component, and checks which world version
    /// it implements.
    fn compile(&self, bytes: &[u8]) -> Result<(Component, WorldVersion, Origin), String> {
        if !crate::check::is_component(bytes) {
            return Err("not a WebAssembly component (a core module? build it with brickwall's helper build)".into());
        }
        let (component, origin) = self
            .cache
            .component(&self.engine.engine, bytes)
            .map_err(|e| format!("does not compile: {e:#}"))?;
        let version = Interface::of(&self.engine.engine, &component).validate()?;
        Ok((component, version, origin))
    }

    fn recipe(
        &self,
        policy: &HelperPolicy,
        component: &Component,
        version: WorldVersion,
    ) -> Result<Recipe, String> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| format!("does not link: {e:#}"))?;
        let pre = WorldPre::new(version, pre)
            .map_err(|e| format!("not a helper of world {}: {e:#}", version.world()))?;
        Ok(Recipe {
            pre,
            budget: self.sandbox.budget,
            max_memory: policy.max_memory_bytes as usize,
        })
    }

    fn gate(&self, name: &str) -> LogGate {
        log_gate(
            name,
            &self.log,
            self.sandbox.log_per_second.unwrap_or(DEFAULT_LOG_RATE),
        )
    }

    /// Whether no helper is loaded.
    pub fn is_empty(&self) -> bool {
        self.helpers.is_empty()
    }

    /// The helper assigned automatically to connections whose first packet goes to
    /// `proto`/`port`.
    pub fn id_for_port(&self, proto: u8, port: u16) -> Option<HelperId> {
        if self.by_port.is_empty() {
            return None;
        }
        self.by_port.get(&PortSpec { proto, port }).copied()
    }

    /// Every automatic assignment: protocol and port, helper, helper name.
    pub fn port_assignments(&self) -> impl Iterator<Item = (PortSpec, HelperId, &str)> + '_ {
        self.by_port
            .iter()
            .map(|(spec, &id)| (*spec, id, self.helpers[id as usize].policy.name.as_str()))
    }

    /// The helper called `name`.
    pub fn id_by_name(&self, name: &str) -> Option<HelperId> {
        self.helpers
            .iter()
            .position(|h| h.policy.name == name)
            .map(|i| i as HelperId)
    }

    /// A helper's policy.
    pub fn policy(&self, id: HelperId) -> Option<&HelperPolicy> {
        self.helpers.get(id as usize).map(|h| &h.policy)
    }

    /// A connection was assigned to helper `id`: its initial state (`None` if the call
    /// failed or the helper is disabled; the connection then has no helper state).
    pub fn assigned(&mut self, id: HelperId, conn: u32, info: &HConnInfo) -> Option<Vec<u8>> {
        let h = self.helpers.get_mut(id as usize)?;
        h.stats.assigned += 1;
        let max_state = h.policy.max_state_bytes as usize;
        let r = with_instance(h, &self.log, |inst, recipe| {
            inst.call(recipe, |s, w| w.assigned(s, conn, info))
        })?;
        if r.len() > max_state {
            h.stats.state_oversize += 1;
            after_failure(h, &self.log);
            return None;
        }
        h.stats.state_bytes += r.len() as u64;
        Some(r)
    }

    /// A packet with payload on a connection of helper `id`; `state` is the
    /// connection's state, updated in place.
    pub fn packet(
        &mut self,
        id: HelperId,
        call: &PacketCall<'_>,
        state: &mut Vec<u8>,
    ) -> CallOutcome {
        let Some(h) = self.helpers.get_mut(id as usize) else {
            return CallOutcome::default();
        };
        if h.stats.disabled {
            return CallOutcome::default();
        }
        h.stats.calls += 1;
        let res = with_instance(h, &self.log, |inst, recipe| {
            inst.call(recipe, |s, w| w.on_packet(s, call, state))
        });
        let Some(res) = res else {
            return failed_call(h);
        };
        if let Some(new) = res.state {
            if new.len() > h.policy.max_state_bytes as usize {
                h.stats.state_oversize += 1;
                after_failure(h, &self.log);
                return failed_call(h);
            }
            h.stats.state_bytes =
                (h.stats.state_bytes + new.len() as u64).saturating_sub(state.len() as u64);
            *state = new;
        }
        if res.drop {
            h.stats.drops += 1;
        }
        h.stats.expectations += res.expects.len() as u64;
        let mut expects = res.expects;
        for e in expects.iter_mut().filter(|e| e.timeout_s == 0) {
            e.timeout_s = h.policy.timeout_s;
        }
        CallOutcome {
            drop: res.drop,
            expects,
            failed: false,
            end_expected: res.end_expected,
            rewrites: res.rewrites,
            flush_classes: res.flush_classes,
            timeout_s: res.timeout_s,
        }
    }

    /// A connection of helper `id` is gone.
    pub fn destroyed(&mut self, id: HelperId, conn: u32, state: &[u8]) {
        let Some(h) = self.helpers.get_mut(id as usize) else {
            return;
        };
        h.stats.state_bytes = h.stats.state_bytes.saturating_sub(state.len() as u64);
        if h.stats.disabled {
            return;
        }
        let _ = with_instance(h, &self.log, |inst, recipe| {
            inst.call(recipe, |s, w| w.destroyed(s, conn, state))
        });
    }

    /// Reads helper `name`'s component again from its path and swaps it in for new
    /// calls; a disabled helper is enabled again.
    pub fn reload(&mut self, name: &str) -> Result<(), String> {
        let id = self
            .id_by_name(name)
            .ok_or_else(|| format!("no helper `{name}`"))? as usize;
        let path = self.helpers[id].path.clone();
        let bytes = match &path {
            Some(p) => std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?,
            None => read_wasm(&self.helpers[id].policy.wasm, Path::new("."))?.0,
        };
        let policy = self.helpers[id].policy.clone();
        let fresh = self.load(policy, &bytes, path)?;
        let h = &mut self.helpers[id];
        let stats = HelperStats {
            reloads: h.stats.reloads + 1,
            disabled: false,
            ..std::mem::take(&mut h.stats)
        };
        *h = Loaded { stats, ..fresh };
        Ok(())
    }

    /// Every helper with its counters.
    pub fn reports(&mut self) -> Vec<HelperReport> {
        self.helpers
            .iter_mut()
            .map(|h| {
                if let Some(i) = &mut h.instance {
                    h.stats.log_dropped += i.take_log_dropped();
                }
                HelperReport {
                    name: h.policy.name.clone(),
                    wasm: h.policy.wasm.clone(),
                    ports: h.policy.ports.clone(),
                    cached: h.origin == Origin::Cached,
                    stats: h.stats.clone(),
                }
            })
            .collect()
    }
}

/// Runs `f` on the helper's instance (making one if a failure threw the last away);
/// on failure counts it, discards the instance and applies the disable rule.
fn with_instance<R>(
    h: &mut Loaded,
    log: &LogSink,
    f: impl FnOnce(&mut Instance, &Recipe) -> Result<R, Failure>,
) -> Option<R> {
    if h.stats.disabled {
        return None;
    }
    if h.instance.is_none() {
        match h
            .recipe
            .instantiate(log_gate(&h.policy.name, log, h.log_rate))
        {
            Ok(i) => {
                h.stats.reinstantiations += 1;
                h.instance = Some(i);
            }
            Err(e) => {
                log(0, &h.policy.name, &e);
                h.stats.traps += 1;
                after_failure(h, log);
                return None;
            }
        }
    }
    let inst = h.instance.as_mut()?;
    match f(inst, &h.recipe) {
        Ok(r) => Some(r),
        Err(failure) => {
            match &failure {
                Failure::Budget => h.stats.budget_exhausted += 1,
                Failure::Memory => h.stats.memory_exceeded += 1,
                Failure::Trap(what) => {
                    h.stats.traps += 1;
                    log(1, &h.policy.name, &format!("trapped: {what}"));
                }
            }
            // A failed instance is never entered again.
            if let Some(old) = h.instance.take() {
                h.stats.log_dropped += old.into_log().dropped;
            }
            after_failure(h, log);
            None
        }
    }
}

/// A fresh log gate for helper `name`.
fn log_gate(name: &str, sink: &LogSink, per_second: u32) -> LogGate {
    LogGate {
        helper: Arc::from(name),
        sink: sink.clone(),
        per_second,
        window: Instant::now(),
        used: 0,
        dropped: 0,
    }
}

/// The outcome of a failed call: no expectation; dropped under fail-closed (counted).
fn failed_call(h: &mut Loaded) -> CallOutcome {
    let drop = h.policy.on_failure == OnFailure::FailClosed;
    if drop {
        h.stats.failure_drops += 1;
    }
    CallOutcome {
        drop,
        failed: true,
        ..CallOutcome::default()
    }
}

/// Counts a failure in the helper's window and disables it once `max_failures` fall
/// within `failure_window_s` seconds (older ones are forgotten).
fn after_failure(h: &mut Loaded, log: &LogSink) {
    let max = h.policy.max_failures;
    if max == 0 || h.stats.disabled {
        return;
    }
    let now = Instant::now();
    h.recent_failures.push_back(now);
    if h.policy.failure_window_s > 0 {
        let window = Duration::from_secs(h.policy.failure_window_s.into());
        while h
            .recent_failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            h.recent_failures.pop_front();
        }
    }
    if h.recent_failures.len() >= max as usize {
        h.stats.disabled = true;
        h.instance = None;
        let within = match h.policy.failure_window_s {
            0 => String::new(),
            w => format!(" within {w} s"),
        };
        log(
            0,
            &h.policy.name,
            &format!(
                "disabled after {} failed calls{within}; its connections pass unhelped",
                h.recent_failures.len()
            ),
        );
    }
}

/// The bytes of `wasm` (`builtin:NAME` or a path relative to `base`), and the path.
pub fn read_wasm(wasm: &str, base: &Path) -> Result<(Vec<u8>, Option<PathBuf>), String> {
    if let Some(name) = wasm.strip_prefix("builtin:") {
        return builtin::bundled(name)
            .map(|b| (b.to_vec(), None))
            .ok_or_else(|| {
                format!(
                    "no bundled helper `{name}` (bundled: {})",
                    builtin::BUNDLED.map(|(n, _)| n).join(", ")
                )
            });
    }
    let path = base.join(wasm);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((bytes, Some(path)))
}
