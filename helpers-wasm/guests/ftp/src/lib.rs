//! The FTP helper, after Linux's `nf_conntrack_ftp`: on an established control
//! connection it reads the client's `PORT`/`EPRT` commands and the server's `227`/`229`
//! replies and expects the data connection they announce, from the other side to the
//! announced address and port.
//!
//! Only a packet that starts a line is read: one whose sequence number directly follows
//! an earlier payload of the same direction that ended in `'\n'` (see [`seq`]). The very
//! first payload of each direction is therefore never read, as in Linux. A command cut
//! short or unreadable after its keyword drops the packet, again as in Linux.
//!
//! Behind NAT (the reply tuple is not the original reversed), it does what Linux's
//! `nf_nat_ftp` does: the address and port text of a `PORT`, `EPRT` or `227` naming
//! the sender is rewritten to name the address the far side sees for the sender (same
//! port, same form), and the expectation, addressed to that address, carries the
//! translation that sends the data connection on to the sender's real address. A
//! `229` carries only a port, which stays, so only its expectation is translated.
//!
//! Per-connection state (46 bytes for IPv4, 94 for IPv6):
//!
//! | offset | bytes | what |
//! |---|---|---|
//! | 0 | 9 | line starts of the Original direction ([`seq::LineStarts::encode`]) |
//! | 9 | 9 | line starts of the Reply direction |
//! | 18 | 14 or 38 | the original tuple ([`Tuple::encode`]) |
//! | then | 14 or 38 | the reply tuple |

pub mod parse;
pub mod seq;

use brickwall_helper_sdk::{
    export_helper, log, proto, Addr, ConnInfo, CtState, Direction, Edit, Expect, ExpectNat, Helper,
    LogLevel, Outcome, Packet, State, Tuple,
};
use core::fmt::Write;
use parse::{CmdAddr, Command, Kind, Scan};
use seq::LineStarts;

/// Linux's `loose` module option: when on, a command naming an address other than its
/// sender's is still expected (to the named address). Off, such a command (an FTP
/// bounce, or a DMZ host opening a hole elsewhere) is let through with no expectation.
/// There is no configuration for it yet.
const LOOSE: bool = false;

/// Where the line starts of `dir` sit in the state.
fn starts_offset(dir: Direction) -> usize {
    match dir {
        Direction::Original => 0,
        Direction::Reply => LineStarts::ENCODED_LEN,
    }
}

/// Where the tuples start in the state.
const TUPLES_OFFSET: usize = 2 * LineStarts::ENCODED_LEN;

/// A connection's state, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Conn {
    original: Tuple,
    reply: Tuple,
    starts: [LineStarts; 2],
}

impl Conn {
    fn decode(b: &[u8]) -> Option<Conn> {
        let orig_starts = LineStarts::decode(b.get(starts_offset(Direction::Original)..)?)?;
        let reply_starts = LineStarts::decode(b.get(starts_offset(Direction::Reply)..)?)?;
        let (original, used) = Tuple::decode(b.get(TUPLES_OFFSET..)?)?;
        let (reply, _) = Tuple::decode(b.get(TUPLES_OFFSET + used..)?)?;
        Some(Conn {
            original,
            reply,
            starts: [orig_starts, reply_starts],
        })
    }

    /// The tuples of `dir` and of the other direction.
    fn tuples(&self, dir: Direction) -> (&Tuple, &Tuple) {
        match dir {
            Direction::Original => (&self.original, &self.reply),
            Direction::Reply => (&self.reply, &self.original),
        }
    }

    /// The connection as the SDK describes it (zone and mark are not kept).
    fn info(&self) -> ConnInfo {
        ConnInfo {
            original: self.original,
            reply: self.reply,
            zone: 0,
            mark: 0,
        }
    }

    fn starts_mut(&mut self, dir: Direction) -> &mut LineStarts {
        let [o, r] = &mut self.starts;
        match dir {
            Direction::Original => o,
            Direction::Reply => r,
        }
    }
}

/// The address a command announces, in the connection's family; `None` if it cannot be
/// one (an IPv6 address on an IPv4 connection, which the parser already refuses).
fn announced(addr: CmdAddr, sender: Addr) -> Option<Addr> {
    match (addr, sender) {
        (CmdAddr::Sender, s) => Some(s),
        (CmdAddr::V4(a), Addr::V4(_)) => Some(Addr::V4(a)),
        // Linux writes the four bytes of a PORT or 227 address over the start of the
        // sender's IPv6 address; the result is nearly always "someone else", so the
        // command is refused unless `LOOSE`.
        (CmdAddr::V4(a), Addr::V6(mut s)) => {
            for (d, b) in s.iter_mut().zip(a) {
                *d = b;
            }
            Some(Addr::V6(s))
        }
        (CmdAddr::V6(a), Addr::V6(_)) => Some(Addr::V6(a)),
        (CmdAddr::V6(_), Addr::V4(_)) => None,
    }
}

/// The other direction.
fn opposite(dir: Direction) -> Direction {
    match dir {
        Direction::Original => Direction::Reply,
        Direction::Reply => Direction::Original,
    }
}

/// The data connection `cmd`, sent in direction `dir`, announces: from the other side
/// to the announced address and port, any source port; behind NAT, with its
/// translation and the edit of `payload` that names the translated address. `None`
/// for a third party's address (unless [`LOOSE`]).
fn expectation(
    conn: &Conn,
    dir: Direction,
    cmd: &Command,
    payload: &[u8],
) -> Option<(Expect, Option<Edit>)> {
    let (this, other) = conn.tuples(dir);
    let info = conn.info();
    let addr = announced(cmd.addr, this.src)?;
    let own = addr == this.src;
    let dst = if own {
        // The sender's own address as the other side sees it (they differ only under
        // NAT), as Linux does.
        info.seen_as(dir).0
    } else if LOOSE {
        addr
    } else {
        log(
            LogLevel::Debug,
            "ftp: command names another host's address; not expected",
        );
        return None;
    };
    let mut e = Expect::any_src_port(Tuple {
        src: other.src,
        dst,
        protocol: proto::TCP,
        src_port: 0,
        dst_port: cmd.port,
    });
    let mut edit = None;
    if info.is_translated() {
        // The connection travels the other way; it really goes where the payload
        // said, on the same port (no port is searched for).
        e.nat = Some(ExpectNat {
            dir: opposite(dir),
            to: addr,
            to_port: cmd.port,
        });
        if own {
            edit = rewrite(cmd, dst, payload);
        }
    }
    Some((e, edit))
}

/// The edit that makes `cmd`'s text in `payload` name `addr` (and the same port), in
/// the command's own form; `None` when the text would not change (a `229`, which
/// names no address; a sender the far side sees under its own address).
fn rewrite(cmd: &Command, addr: Addr, payload: &[u8]) -> Option<Edit> {
    let old = payload.get(cmd.text())?;
    let mut new = String::new();
    match cmd.kind {
        Kind::Port | Kind::Pasv => {
            // Linux writes the first four bytes even of an IPv6 address here.
            let [a, b, c, d, ..] = *addr.octets() else {
                return None;
            };
            let [hi, lo] = cmd.port.to_be_bytes();
            write!(new, "{a},{b},{c},{d},{hi},{lo}").ok()?;
        }
        Kind::Eprt => {
            let (family, text) = match addr {
                Addr::V4(a) => ('1', core::net::Ipv4Addr::from(a).to_string()),
                Addr::V6(a) => ('2', core::net::Ipv6Addr::from(a).to_string()),
            };
            // The sender's delimiter, unless the new address holds it (Linux always
            // writes '|').
            let d = char::from(*old.first()?);
            let d = if text.contains(d) { '|' } else { d };
            write!(new, "{d}{family}{d}{text}{d}{}{d}", cmd.port).ok()?;
        }
        Kind::Epsv => return None,
    }
    (new.as_bytes() != old).then(|| Edit::replace(cmd.text(), new.into_bytes()))
}

/// The helper.
pub struct Ftp;

impl Helper for Ftp {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        let mut s = Vec::with_capacity(TUPLES_OFFSET + 2 * 38);
        s.extend_from_slice(&LineStarts::default().encode());
        s.extend_from_slice(&LineStarts::default().encode());
        conn.original.encode(&mut s);
        conn.reply.encode(&mut s);
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        // Until both sides have spoken, nothing is read (nor remembered).
        if pkt.ct != CtState::Established {
            return Outcome::accept();
        }
        let Some(&last) = pkt.payload.last() else {
            return Outcome::accept();
        };
        let Some(mut conn) = Conn::decode(state.get()) else {
            return Outcome::accept();
        };

        let mut out = Outcome::accept();
        if conn.starts_mut(pkt.dir).contains(pkt.seq) {
            match parse::scan(pkt.dir, pkt.payload, conn.original.src.is_v6()) {
                Scan::NoMatch => {}
                Scan::Partial(_) => {
                    log(
                        LogLevel::Info,
                        "ftp: partial or malformed command; packet dropped",
                    );
                    // Nothing is remembered of a dropped packet: its retransmission
                    // starts at the same line start and is read again.
                    return Outcome::drop();
                }
                Scan::Found(cmd) => {
                    if let Some((e, edit)) = expectation(&conn, pkt.dir, &cmd, pkt.payload) {
                        out = Outcome::expect(e);
                        out.rewrites.extend(edit);
                    }
                }
            }
        }

        if last == b'\n' {
            // TCP sequence numbers wrap modulo 2^32, so truncating the length is exact.
            let next = pkt.seq.wrapping_add(pkt.payload.len() as u32);
            let starts = conn.starts_mut(pkt.dir);
            if starts.record(next) {
                let encoded = starts.encode();
                let at = starts_offset(pkt.dir);
                if let Some(slot) = state.get_mut().get_mut(at..at + encoded.len()) {
                    slot.copy_from_slice(&encoded);
                }
            }
        }
        out
    }
}

export_helper!(Ftp);

#[cfg(test)]
mod tests;
