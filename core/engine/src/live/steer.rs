//! Which ring of which worker the kernel fills with a frame, for the `tpacket-v3`
//! datapath: each worker has two rings on one interface, a TPACKET_V2 ring that hands
//! over every frame at once and a TPACKET_V3 ring that batches, all of them members of
//! one `PACKET_FANOUT_CBPF` group (the worker's V2 socket at index `2 w`, its V3 socket
//! at `2 w + 1`). The group's classic BPF program picks the worker by a hash of the
//! flow (addresses, and the ports of TCP, UDP, SCTP and UDP-Lite; the kernel has
//! reassembled fragments by then) and then that worker's current ring. Replacing the
//! program is how a worker moves between its rings: the kernel swaps it atomically, so
//! every frame goes to exactly one ring, and waits for an RCU grace period before the
//! `setsockopt` returns, so every frame the old program sent to a ring is in it by then.

use std::io;
use std::sync::Mutex;

const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
const K: u16 = 0x00;
const X: u16 = 0x08;
const ADD: u16 = 0x00;
const RSH: u16 = 0x70;
const MOD: u16 = 0x90;
const XOR: u16 = 0xa0;
const JEQ: u16 = 0x10;
const JGE: u16 = 0x30;
const JSET: u16 = 0x40;
const TAX: u16 = 0x00;
const TXA: u16 = 0x80;
/// `SKF_AD_OFF + SKF_AD_PROTOCOL`: the frame's EtherType, in host order.
const AD_PROTOCOL: u32 = 0xffff_f000;

/// `SOL_PACKET` option that sets a CBPF fanout group's program.
const PACKET_FANOUT_DATA: libc::c_int = 22;

/// A classic BPF program under construction, with forward jumps to labels.
#[derive(Default)]
struct Asm {
    code: Vec<libc::sock_filter>,
    /// (instruction, true target, false target); `None` is the next instruction.
    jumps: Vec<(usize, Option<usize>, Option<usize>)>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    fn here(&mut self, l: usize) {
        self.labels[l] = Some(self.code.len());
    }

    fn op(&mut self, code: u16, k: u32) {
        self.code.push(libc::sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        });
    }

    /// A conditional jump to labels (`None`: the next instruction).
    fn jump(&mut self, code: u16, k: u32, t: Option<usize>, f: Option<usize>) {
        self.jumps.push((self.code.len(), t, f));
        self.op(JMP | code, k);
    }

    /// A conditional jump by a fixed number of instructions.
    fn skip(&mut self, code: u16, k: u32, jt: u8, jf: u8) {
        self.code.push(libc::sock_filter {
            code: JMP | code,
            jt,
            jf,
            k,
        });
    }

    /// An unconditional jump to a label.
    fn ja(&mut self, l: usize) {
        self.jumps.push((self.code.len(), Some(l), None));
        self.op(JMP, 0);
    }

    fn finish(mut self) -> Vec<libc::sock_filter> {
        for &(at, t, f) in &self.jumps {
            let off = |l: Option<usize>| {
                l.map_or(0, |l| {
                    let to = self.labels[l].expect("every label placed");
                    assert!(to > at, "forward jumps only");
                    to - at - 1
                })
            };
            let (t, f) = (off(t), off(f));
            let insn = &mut self.code[at];
            if insn.code == JMP {
                insn.k = t as u32;
            } else {
                insn.jt = u8::try_from(t).expect("a short jump");
                insn.jf = u8::try_from(f).expect("a short jump");
            }
        }
        self.code
    }
}

/// Jumps to `ports` when A holds an IP protocol number with ports at the start of its
/// header (TCP, UDP, SCTP, UDP-Lite), else to `other`.
fn with_ports(a: &mut Asm, ports: usize, other: usize) {
    a.jump(JEQ | K, 6, Some(ports), None);
    a.jump(JEQ | K, 17, Some(ports), None);
    a.jump(JEQ | K, 132, Some(ports), None);
    a.jump(JEQ | K, 136, Some(ports), Some(other));
}

/// The group's program for the workers' current rings (`true`: the V3 ring). It reads
/// only what the frame's length covers, so it never aborts (an aborted program would
/// send the frame to index 0).
pub fn program(fast: &[bool]) -> Vec<libc::sock_filter> {
    let mut a = Asm::default();
    if fast.len() <= 1 {
        a.op(RET | K, u32::from(fast.first().copied().unwrap_or(false)));
        return a.finish();
    }
    let [v4, v6, ports4, ports6, zero, mix] = [(); 6].map(|_| a.label());
    a.op(LD | W | ABS, AD_PROTOCOL);
    a.jump(JEQ | K, 0x0800, Some(v4), None);
    a.jump(JEQ | K, 0x86dd, Some(v6), Some(zero));

    // IPv4: M[0] = source ^ destination (^ the ports word).
    a.here(v4);
    a.op(LD | W | LEN, 0);
    a.jump(JGE | K, 20, None, Some(zero));
    a.op(LD | W | ABS, 12);
    a.op(MISC | TAX, 0);
    a.op(LD | W | ABS, 16);
    a.op(ALU | XOR | X, 0);
    a.op(ST, 0);
    a.op(LD | B | ABS, 9);
    with_ports(&mut a, ports4, mix);
    a.here(ports4);
    // Not for a later fragment (no ports), nor past the frame's end.
    a.op(LD | H | ABS, 6);
    a.jump(JSET | K, 0x1fff, Some(mix), None);
    a.op(LDX | B | MSH, 0);
    a.op(MISC | TXA, 0);
    a.op(ALU | ADD | K, 4);
    a.op(ST, 1);
    a.op(LD | W | LEN, 0);
    a.op(LDX | W | MEM, 1);
    a.jump(JGE | X, 0, None, Some(mix));
    a.op(LDX | B | MSH, 0);
    a.op(LD | W | IND, 0);
    a.op(LDX | W | MEM, 0);
    a.op(ALU | XOR | X, 0);
    a.op(ST, 0);
    a.ja(mix);

    // IPv6: the eight address words (^ the ports word, without extension headers).
    a.here(v6);
    a.op(LD | W | LEN, 0);
    a.jump(JGE | K, 40, None, Some(zero));
    a.op(LD | W | ABS, 8);
    for off in (12..40).step_by(4) {
        a.op(MISC | TAX, 0);
        a.op(LD | W | ABS, off);
        a.op(ALU | XOR | X, 0);
    }
    a.op(ST, 0);
    a.op(LD | B | ABS, 6);
    with_ports(&mut a, ports6, mix);
    a.here(ports6);
    a.op(LD | W | LEN, 0);
    a.jump(JGE | K, 44, None, Some(mix));
    a.op(LD | W | ABS, 40);
    a.op(LDX | W | MEM, 0);
    a.op(ALU | XOR | X, 0);
    a.op(ST, 0);
    a.ja(mix);

    // Anything else: one worker.
    a.here(zero);
    a.op(LD | W | IMM, 0);
    a.op(ST, 0);

    // Fold, pick the worker, then its ring.
    a.here(mix);
    a.op(LD | W | MEM, 0);
    a.op(MISC | TAX, 0);
    a.op(ALU | RSH | K, 16);
    a.op(ALU | XOR | X, 0);
    a.op(MISC | TAX, 0);
    a.op(ALU | RSH | K, 8);
    a.op(ALU | XOR | X, 0);
    a.op(ALU | MOD | K, fast.len() as u32);
    for (w, &f) in fast.iter().enumerate() {
        a.skip(JEQ | K, w as u32, 0, 1);
        a.op(RET | K, 2 * w as u32 + u32::from(f));
    }
    a.op(RET | K, 0);
    a.finish()
}

/// The fanout group's program, shared by an interface's workers: which ring each of
/// them has the kernel fill now.
pub struct Steering {
    fast: Mutex<Vec<bool>>,
}

impl Steering {
    /// Every one of `workers` on its V2 ring.
    pub fn new(workers: usize) -> Steering {
        Steering {
            fast: Mutex::new(vec![false; workers]),
        }
    }

    /// Installs the program through `fd`, a member of the group.
    pub fn install(&self, fd: libc::c_int) -> io::Result<()> {
        let fast = self.fast.lock().unwrap_or_else(|e| e.into_inner());
        set_program(fd, &program(&fast))
    }

    /// Moves `worker` to its V3 ring (`fast`) or its V2 ring. When it returns, the
    /// kernel has finished writing every frame that the previous program sent to the
    /// ring the worker leaves.
    pub fn set(&self, fd: libc::c_int, worker: usize, fast: bool) -> io::Result<()> {
        let mut all = self.fast.lock().unwrap_or_else(|e| e.into_inner());
        let was = all[worker];
        all[worker] = fast;
        let r = set_program(fd, &program(&all));
        if r.is_err() {
            all[worker] = was;
        }
        r
    }
}

fn set_program(fd: libc::c_int, code: &[libc::sock_filter]) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: code.len() as u16,
        filter: code.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points to `code`, which outlives the call; the kernel copies it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            PACKET_FANOUT_DATA,
            &prog as *const libc::sock_fprog as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_worker_returns_its_ring() {
        let p = program(&[true]);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].code, p[0].k), (RET | K, 1));
        assert_eq!(program(&[false])[0].k, 0);
    }

    #[test]
    fn many_workers_end_in_a_table_of_their_rings() {
        let p = program(&[false, true, true]);
        let rets: Vec<u32> = p
            .iter()
            .filter(|i| i.code == RET | K)
            .map(|i| i.k)
            .collect();
        assert_eq!(rets, [0, 3, 5, 0]);
        // Every jump lands inside the program.
        for (i, insn) in p.iter().enumerate() {
            if insn.code & 0x07 == JMP {
                let far = if insn.code == JMP {
                    insn.k as usize
                } else {
                    insn.jt.max(insn.jf) as usize
                };
                assert!(i + 1 + far < p.len(), "jump at {i}");
            }
        }
    }
}
