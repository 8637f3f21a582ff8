//! A helper built against the older world, `brickwall:helper@0.3.0`, which the host
//! must keep loading and calling. `assigned` keeps the reply tuple (IPv4 only) as the
//! state; a payload `OPEN <port>` expects a TCP connection from the server (the reply's
//! source), any source port, to the client at that port, translated to the client's
//! port 6000 (`expect-nat`), logs a line, and rewrites the first four bytes to `SHUT`;
//! `trap` traps.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "wit", world: "three-helper", generate_all });

    use brickwall::helper::log::{write, LogLevel};
    use brickwall::helper::types::{
        ConnTuple, ExpectFlags, ExpectNat, Expectation, IpAddr, Rewrite,
    };
    use exports::brickwall::helper::helper::{ConnInfo, CtState, Direction, Guest, PacketResult};

    struct Three;

    fn v4(a: &IpAddr) -> u32 {
        match a {
            IpAddr::V4(v) => *v,
            IpAddr::V6(_) => 0,
        }
    }

    impl Guest for Three {
        fn assigned(_conn: u32, info: ConnInfo) -> Vec<u8> {
            let r = &info.reply;
            let mut s = Vec::with_capacity(12);
            s.extend_from_slice(&v4(&r.src).to_be_bytes());
            s.extend_from_slice(&v4(&r.dst).to_be_bytes());
            s.extend_from_slice(&r.src_port.to_be_bytes());
            s.extend_from_slice(&r.dst_port.to_be_bytes());
            s
        }

        fn on_packet(
            _conn: u32,
            dir: Direction,
            _ct: CtState,
            _seq: u32,
            _tcp_flags: u8,
            state: Vec<u8>,
            payload: Vec<u8>,
        ) -> PacketResult {
            let mut res = PacketResult {
                verdict: None,
                expectations: Vec::new(),
                state: None,
                rewrites: Vec::new(),
                end_expected: false,
            };
            if payload == b"trap" {
                panic!("asked to trap");
            }
            let port = std::str::from_utf8(&payload)
                .ok()
                .and_then(|p| p.trim_end().strip_prefix("OPEN "))
                .and_then(|p| p.parse::<u16>().ok());
            let (Some(port), Direction::Original, Ok(s)) =
                (port, dir, <[u8; 12]>::try_from(state.as_slice()))
            else {
                return res;
            };
            let addr = |i: usize| u32::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
            res.expectations.push(Expectation {
                tuple: ConnTuple {
                    src: IpAddr::V4(addr(0)),
                    dst: IpAddr::V4(addr(4)),
                    protocol: 6,
                    src_port: 0,
                    dst_port: port,
                },
                timeout_s: 0,
                class: 0,
                flags: ExpectFlags::ANY_SRC_PORT,
                nat: Some(ExpectNat {
                    dir: Direction::Reply,
                    to: IpAddr::V4(addr(4)),
                    to_port: 6000,
                }),
            });
            res.rewrites.push(Rewrite {
                offset: 0,
                length: 4,
                data: b"SHUT".to_vec(),
            });
            write(LogLevel::Info, &format!("expecting port {port}"));
            res
        }

        fn destroyed(_conn: u32, _state: Vec<u8>) {}
    }

    export!(Three);
}
