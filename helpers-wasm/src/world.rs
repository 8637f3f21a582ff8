//! Which world a loaded helper implements, and its calls dispatched to that world's
//! bindings: the pre-instantiated component and the live instance of any version
//! (0.4.0, 0.3.0 or 0.2.0), taking and giving the host's values (`conn.rs`, converted in
//! `convert.rs`).

use crate::bindings::{v02, v03, v04, StoreData};
use crate::check::WorldVersion;
use crate::conn::{Edit, ExpectRequest, HConnInfo, PacketCall};
use wasmtime::component::{HasSelf, InstancePre, Linker};
use wasmtime::{Engine, Store};

/// A component pre-instantiated for the world version it implements.
pub enum WorldPre {
    /// World 0.4.0.
    V04(v04::HelperWorldPre<StoreData>),
    /// World 0.3.0.
    V03(v03::HelperWorldPre<StoreData>),
    /// World 0.2.0.
    V02(v02::HelperWorldPre<StoreData>),
}

/// A live instance's exports, of either world version.
pub enum World {
    /// World 0.4.0.
    V04(v04::HelperWorld),
    /// World 0.3.0.
    V03(v03::HelperWorld),
    /// World 0.2.0.
    V02(v02::HelperWorld),
}

/// What a helper answered for a packet, in the host's values, whichever world it
/// implements (before the helper's policy fills in defaults and bounds the state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketAnswer {
    /// Its verdict was drop.
    pub drop: bool,
    /// Expectations, as asked (a `timeout_s` of 0 takes the policy's).
    pub expects: Vec<ExpectRequest>,
    /// The connection's new state; `None` keeps it.
    pub state: Option<Vec<u8>>,
    /// Payload edits (none from a 0.2.0 helper, whose rewrites were never applied).
    pub rewrites: Vec<Edit>,
    /// End what the connection set up.
    pub end_expected: bool,
    /// Classes of the connection's pending expectations to remove (none before 0.4.0).
    pub flush_classes: Vec<u8>,
    /// The connection's timeout from now, seconds (none before 0.4.0).
    pub timeout_s: Option<u32>,
}

/// Runs `$body` on the variant inside `$value` (an enum `$enum` of [`World`]'s shape),
/// bound to `$x`, with `$m` naming that variant's bindings module (`v04`, `v03` or
/// `v02`).
macro_rules! dispatch {
    ($value:expr, $enum:ident, |$x:ident, $m:ident| $body:expr) => {
        match $value {
            $enum::V04($x) => {
                #[allow(unused_imports)]
                use crate::bindings::v04 as $m;
                $body
            }
            $enum::V03($x) => {
                #[allow(unused_imports)]
                use crate::bindings::v03 as $m;
                $body
            }
            $enum::V02($x) => {
                #[allow(unused_imports)]
                use crate::bindings::v02 as $m;
                $body
            }
        }
    };
}

/// Adds the imports of every world version (each version's `log`) to `linker`.
pub fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    v04::HelperWorld::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |d| d)?;
    v03::HelperWorld::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |d| d)?;
    v02::HelperWorld::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |d| d)?;
    Ok(())
}

impl WorldPre {
    /// Checks that `pre`'s component exports world `version`'s functions with the
    /// right types.
    pub fn new(version: WorldVersion, pre: InstancePre<StoreData>) -> wasmtime::Result<Self> {
        Ok(match version {
            WorldVersion::V0_4 => WorldPre::V04(v04::HelperWorldPre::new(pre)?),
            WorldVersion::V0_3 => WorldPre::V03(v03::HelperWorldPre::new(pre)?),
            WorldVersion::V0_2 => WorldPre::V02(v02::HelperWorldPre::new(pre)?),
        })
    }

    /// The world version.
    pub fn version(&self) -> WorldVersion {
        match self {
            WorldPre::V04(_) => WorldVersion::V0_4,
            WorldPre::V03(_) => WorldVersion::V0_3,
            WorldPre::V02(_) => WorldVersion::V0_2,
        }
    }

    /// The engine the component was compiled for.
    pub fn engine(&self) -> &Engine {
        dispatch!(self, WorldPre, |p, _m| p.engine())
    }

    /// A new instance in `store`.
    pub fn instantiate(&self, store: &mut Store<StoreData>) -> wasmtime::Result<World> {
        Ok(match self {
            WorldPre::V04(p) => World::V04(p.instantiate(store)?),
            WorldPre::V03(p) => World::V03(p.instantiate(store)?),
            WorldPre::V02(p) => World::V02(p.instantiate(store)?),
        })
    }
}

impl World {
    /// `assigned`: connection `conn` was given to the helper; its initial state.
    pub fn assigned(
        &self,
        store: &mut Store<StoreData>,
        conn: u32,
        info: &HConnInfo,
    ) -> wasmtime::Result<Vec<u8>> {
        dispatch!(self, World, |w, m| w
            .brickwall_helper_helper()
            .call_assigned(store, conn, m::ConnInfo::from(info)))
    }

    /// `on-packet`: a packet with payload on a connection whose state is `state`.
    pub fn on_packet(
        &self,
        store: &mut Store<StoreData>,
        call: &PacketCall<'_>,
        state: &[u8],
    ) -> wasmtime::Result<PacketAnswer> {
        dispatch!(self, World, |w, m| w
            .brickwall_helper_helper()
            .call_on_packet(
                store,
                call.conn,
                m::Direction::of(call.reply),
                m::CtState::from(call.ct),
                call.seq,
                call.tcp_flags,
                state,
                call.payload,
            )
            .map(PacketAnswer::from))
    }

    /// `destroyed`: the connection is gone.
    pub fn destroyed(
        &self,
        store: &mut Store<StoreData>,
        conn: u32,
        state: &[u8],
    ) -> wasmtime::Result<()> {
        dispatch!(self, World, |w, _m| w
            .brickwall_helper_helper()
            .call_destroyed(store, conn, state))
    }
}
