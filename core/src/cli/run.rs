//! `brickwall run`: live mode, a bridge (or, with `live.router`, a router) between the
//! config's interfaces, until SIGINT or SIGTERM (or `--duration`), serving the control
//! socket while it runs.

use super::replay::ControlArgs;
use brickwall_core::control::ControlSession;
use brickwall_core::live::{self, bridge};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `brickwall run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Config file; its `live:` section names the interfaces to bridge.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Stop after SECS seconds (default: run until SIGINT or SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Print no summary at the end, and log errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// The filter's and the NAT plugin's chains from a ruleset in nftables' syntax (as
    /// `replay --ruleset`); SIGHUP reads it again.
    #[arg(long, value_name = "FILE")]
    pub ruleset: Option<PathBuf>,
    #[command(flatten)]
    pub control: ControlArgs,
}

/// SIGHUP: reads the config again and applies its plugin sections to the running
/// engine (see [`Engine::reload`](brickwall_core::engine::Engine::reload)); an error
/// leaves the old plugins running. Says what happened on standard error.
fn reload_config(
    engine: &mut brickwall_core::engine::Engine,
    path: &std::path::Path,
    ruleset: Option<&std::path::Path>,
    session: Option<&ControlSession>,
) {
    let result = super::load_config(Some(path)).and_then(|(mut cfg, dir, name)| {
        if let Some(r) = ruleset {
            super::with_ruleset(&mut cfg, r, false)?;
        }
        engine.reload(&cfg, &dir, &name).map_err(|e| e.to_string())
    });
    match result {
        Ok(report) => {
            tracing::info!("SIGHUP: reloaded {}", path.display());
            for n in report.notes {
                tracing::info!("  {n}");
            }
            if let Some(s) = session {
                s.retarget(engine);
            }
        }
        Err(e) => tracing::error!("SIGHUP: reload failed, the running plugins stay: {e}"),
    }
}

/// Runs `brickwall run`.
pub fn run(a: RunArgs) -> Result<(), String> {
    let (mut cfg, dir, name) = super::load_config(Some(&a.config))?;
    if let Some(r) = &a.ruleset {
        super::with_ruleset(&mut cfg, r, false)?;
    }
    let Some(live_cfg) = cfg.live.clone() else {
        return Err(format!(
            "{name}: no `live:` section (it names the interfaces to bridge, e.g. \
             `live: {{interfaces: [eth1, eth2]}}`)"
        ));
    };
    let run_as = match &live_cfg.user {
        Some(u) => {
            Some(live::caps::RunAs::lookup(u).map_err(|e| format!("{name}: live.user: {e}"))?)
        }
        None => None,
    };
    // What needs root: the packet sockets (and TAP), and the control socket and metrics
    // port, bound but not yet served.
    // The ingress drop and the offloads turned off last until this returns.
    let live::Opened {
        ports,
        ingress: _ingress,
        offloads: _offloads,
    } = live::open_ports(&live_cfg, &mut |n| tracing::info!("{n}"))?;
    let bound = a.control.bind()?;
    if let (Some(b), Some(u)) = (&bound, &run_as) {
        b.give_to(u.uid, u.gid)
            .map_err(|e| format!("--control: handing the socket to {}: {e}", u.name))?;
    }
    // Then nothing else of root's is needed: dropped while this is the only thread, so
    // the plugins', the control server's and the workers' threads start without them.
    let root = brickwall_core::control::socket::own_uid() == 0;
    match live::caps::drop_privileges(run_as.as_ref()) {
        Ok(()) => tracing::info!(
            "kept only CAP_NET_RAW and CAP_NET_ADMIN{}",
            match &run_as {
                Some(u) => format!(", running as {} (uid {}, gid {})", u.name, u.uid, u.gid),
                None if root => " (still uid 0: `live.user` names a user to run as)".into(),
                None => String::new(),
            }
        ),
        Err(e) if root || run_as.is_some() => return Err(format!("dropping privileges: {e}")),
        Err(e) => tracing::warn!("could not drop capabilities: {e}"),
    }
    let engine = brickwall_core::engine::Engine::from_config(&cfg, &dir, &name)
        .map_err(|e| e.to_string())?;
    let session = bound.map(|b| b.serve(&engine)).transpose()?;
    let stop = brickwall_core::control::signal::stop_on_signals();
    let verb = if live_cfg.router.is_some() {
        "routing"
    } else {
        "bridging"
    };
    tracing::info!(
        "{verb} {} ({} datapath); SIGHUP reloads, SIGINT or SIGTERM stops",
        live_cfg.interfaces.join(" <-> "),
        live_cfg.datapath.name()
    );
    let reload = brickwall_core::control::signal::reload_on_sighup();
    let shared = engine.shared.clone();
    let mut engine = engine;
    let mut manager = super::systemd::Notifier::from_env();
    let mut on_tick = || {
        // The workers run: ready (the first time), else a watchdog ping when due.
        manager.tick();
        if reload.swap(false, std::sync::atomic::Ordering::SeqCst) {
            manager.reloading();
            reload_config(
                &mut engine,
                &a.config,
                a.ruleset.as_deref(),
                session.as_ref(),
            );
            manager.reloaded();
        }
    };
    let opts = bridge::BridgeOptions {
        duration: a
            .duration
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(Duration::from_secs_f64),
        stop,
        live: session
            .as_ref()
            .map(|s: &ControlSession| s.status().clone()),
        tick: Some(&mut on_tick),
    };
    let summary = bridge::run(&shared, ports, opts);
    manager.stopping();
    if !a.quiet {
        let place = format!("on {}", live_cfg.interfaces.join(" <-> "));
        let done = if live_cfg.router.is_some() {
            "routed"
        } else {
            "bridged"
        };
        let mut text = super::summary::render_as(done, &place, &summary.run, &engine);
        for p in &summary.ports {
            let _ = writeln!(
                text,
                "  port {} (#{}, {} worker{}): rx {} frames {} bytes, tx {} frames {} bytes, \
                 tx errors {}, kernel drops {}",
                p.name,
                p.index,
                p.workers,
                if p.workers == 1 { "" } else { "s" },
                p.rx_frames,
                p.rx_bytes,
                p.tx_frames,
                p.tx_bytes,
                p.tx_errors,
                p.kernel.drops
            );
        }
        print!("{text}");
    }
    a.control.finish(session);
    Ok(())
}
