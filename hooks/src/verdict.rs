//! Verdicts a callback returns, in their Rust form and their C-ABI form.

/// What a callback decides for a packet (Linux's `NF_*` verdicts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Continue with the next callback, then the next hook.
    Accept,
    /// Stop and free the packet; the index names one of the plugin's declared drop reasons.
    Drop(u32),
    /// Hand the packet to the userspace consumer of queue `num`. With `bypass`, a queue
    /// without room or without a consumer lets the packet continue instead of dropping it.
    Queue {
        /// Queue number.
        num: u16,
        /// Fail open when the queue cannot take the packet.
        bypass: bool,
    },
    /// The callback keeps the packet (e.g. a fragment held for reassembly); the path forgets it.
    Stolen,
    /// Re-enter the current hook from its first callback (bounded by the engine).
    Repeat,
}

/// The C-ABI form of a verdict: `code` is one of the `CODE_*` constants, `arg` the drop
/// reason index or the queue number (bit 16: bypass), as in Linux's verdict encoding.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawVerdict {
    /// Verdict code.
    pub code: u32,
    /// Argument of the code.
    pub arg: u32,
}

impl RawVerdict {
    /// `NF_DROP`.
    pub const CODE_DROP: u32 = 0;
    /// `NF_ACCEPT`.
    pub const CODE_ACCEPT: u32 = 1;
    /// `NF_STOLEN`.
    pub const CODE_STOLEN: u32 = 2;
    /// `NF_QUEUE`.
    pub const CODE_QUEUE: u32 = 3;
    /// `NF_REPEAT`.
    pub const CODE_REPEAT: u32 = 4;
    /// Not a verdict: the callback panicked and the wrapper caught it.
    pub const CODE_PANICKED: u32 = 0xffff;
    /// Bypass flag in `arg` of a queue verdict.
    pub const QUEUE_BYPASS: u32 = 1 << 16;

    /// ACCEPT.
    pub const ACCEPT: RawVerdict = RawVerdict {
        code: Self::CODE_ACCEPT,
        arg: 0,
    };
    /// The wrapper's report of a caught panic.
    pub const PANICKED: RawVerdict = RawVerdict {
        code: Self::CODE_PANICKED,
        arg: 0,
    };

    /// Decodes a raw verdict; `None` for a panic report or an unknown code.
    pub fn decode(self) -> Option<Verdict> {
        Some(match self.code {
            Self::CODE_ACCEPT => Verdict::Accept,
            Self::CODE_DROP => Verdict::Drop(self.arg),
            Self::CODE_STOLEN => Verdict::Stolen,
            Self::CODE_QUEUE => Verdict::Queue {
                num: (self.arg & 0xffff) as u16,
                bypass: self.arg & Self::QUEUE_BYPASS != 0,
            },
            Self::CODE_REPEAT => Verdict::Repeat,
            _ => return None,
        })
    }
}

impl From<Verdict> for RawVerdict {
    fn from(v: Verdict) -> RawVerdict {
        match v {
            Verdict::Accept => RawVerdict::ACCEPT,
            Verdict::Drop(reason) => RawVerdict {
                code: RawVerdict::CODE_DROP,
                arg: reason,
            },
            Verdict::Stolen => RawVerdict {
                code: RawVerdict::CODE_STOLEN,
                arg: 0,
            },
            Verdict::Queue { num, bypass } => RawVerdict {
                code: RawVerdict::CODE_QUEUE,
                arg: num as u32 | if bypass { RawVerdict::QUEUE_BYPASS } else { 0 },
            },
            Verdict::Repeat => RawVerdict {
                code: RawVerdict::CODE_REPEAT,
                arg: 0,
            },
        }
    }
}

/// What happens to a packet whose callback panicked.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Let the packet continue (ACCEPT).
    FailOpen = 0,
    /// Drop the packet.
    FailClosed = 1,
}

impl FailurePolicy {
    /// Decodes the descriptor's byte; anything but 1 is fail-open.
    pub fn from_u8(v: u8) -> FailurePolicy {
        if v == 1 {
            FailurePolicy::FailClosed
        } else {
            FailurePolicy::FailOpen
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip() {
        for v in [
            Verdict::Accept,
            Verdict::Drop(7),
            Verdict::Stolen,
            Verdict::Repeat,
            Verdict::Queue {
                num: 65535,
                bypass: true,
            },
            Verdict::Queue {
                num: 3,
                bypass: false,
            },
        ] {
            assert_eq!(RawVerdict::from(v).decode(), Some(v));
        }
        assert_eq!(RawVerdict::PANICKED.decode(), None);
        assert_eq!(RawVerdict { code: 99, arg: 0 }.decode(), None);
    }
}
