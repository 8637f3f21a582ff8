//! `expect-create`: an expectation made by hand (`conntrack -I expect`), as a helper
//! would make it. The master is a confirmed connection given by either of its tuples;
//! the expected tuple takes the same fields; the mask says which of its source to
//! compare.

use super::tuple::{tuple, tuple_addr};
use crate::expect::{ExpectSpec, Mask};
use crate::tracker::Tracker;
use brickwall_control_protocol::conntrack::request::{ExpectCreate, ExpectMask};
use brickwall_control_protocol::conntrack::response::ExpectCreated;

/// The mask a request gives, for an expected tuple of family IPv6 or not.
fn mask_of(m: Option<&ExpectMask>, family_v6: bool) -> Result<Mask, String> {
    let mut mask = Mask::EXACT;
    let Some(m) = m else {
        return Ok(mask);
    };
    if let Some(src) = m.src {
        if src.is_ipv6() != family_v6 {
            return Err(format!(
                "mask.src: {src} is not of the expected tuple's family"
            ));
        }
        mask.src = tuple_addr(src);
    }
    if let Some(p) = m.sport {
        mask.src_id = p;
    }
    Ok(mask)
}

/// Creates the expectation `req` describes.
pub fn run(t: &mut Tracker, req: &ExpectCreate) -> Result<ExpectCreated, String> {
    let zone = t.config().zone;
    let master = tuple(&req.master, "master", zone)?;
    let mut expected = tuple(&req.expect, "expect", zone)?;
    let mask = mask_of(
        req.mask.as_ref(),
        expected.family == crate::tuple::FAMILY_V6,
    )?;
    // Fields outside the mask are zero, as Linux stores (and lists) them.
    for (b, m) in expected.src.iter_mut().zip(mask.src.iter()) {
        *b &= m;
    }
    expected.src_id &= mask.src_id;
    let timeout_s = match req.timeout {
        None => 300,
        Some(0) => return Err("timeout: expected seconds above 0, got 0".into()),
        Some(n) => n,
    };
    let helper = req.helper.clone().unwrap_or_default();
    if helper.len() > 16 {
        return Err(format!(
            "helper: expected a name of at most 16 bytes, got {helper:?}"
        ));
    }
    let handle = t.handle_of(&master).ok_or("master: no such connection")?;
    let spec = ExpectSpec {
        tuple: expected,
        mask,
        timeout_s,
        helper,
        class: 0,
        max_expected: 0,
        flags: 0,
        nat: None,
    };
    let id = t
        .expect_create(handle, spec, req.now_ns)
        .map_err(|e| format!("expect-create: {e}"))?;
    Ok(ExpectCreated { id })
}
