//! A would-be helper that reads the environment through WASI: brickwall's load-time
//! check must refuse it, naming the import.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "wit", world: "wasi-helper", generate_all });

    use exports::brickwall::helper::helper::{ConnInfo, CtState, Direction, Guest, PacketResult};

    struct Snoop;

    impl Guest for Snoop {
        fn assigned(_conn: u32, _info: ConnInfo) -> Vec<u8> {
            let n = wasi::cli::environment::get_environment().len();
            vec![n as u8]
        }

        fn on_packet(
            _conn: u32,
            _dir: Direction,
            _ct: CtState,
            _seq: u32,
            _tcp_flags: u8,
            _state: Vec<u8>,
            _payload: Vec<u8>,
        ) -> PacketResult {
            PacketResult {
                verdict: None,
                expectations: Vec::new(),
                state: None,
                rewrites: Vec::new(),
                end_expected: false,
                flush_expected: Vec::new(),
                timeout_s: None,
            }
        }

        fn destroyed(_conn: u32, _state: Vec<u8>) {}
    }

    export!(Snoop);
}
