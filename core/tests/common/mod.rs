//! Shared helpers of the engine's integration tests: frames and engines to run them on.
#![allow(dead_code)]

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::packet::Packet;
use brickwall_core::wire::LinkType;
use brickwall_wire::checksum::{checksum, finish, pseudo_v4, pseudo_v6, sum};
use brickwall_wire::ip_proto;
use std::path::Path;

/// An Ethernet frame with a UDP datagram from `src` to `dst`.
pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).expect("build frame");
    out
}

/// An Ethernet frame with an IPv4 TCP SYN.
pub fn tcp4_syn(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, 1000, 64240)
        .syn();
    let mut out = Vec::with_capacity(b.size(0));
    b.write(&mut out, &[]).expect("build frame");
    out
}

/// An Ethernet frame with an IPv6 TCP SYN.
pub fn tcp6_syn(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv6(src, dst, 64)
        .tcp(sport, dport, 1000, 64240)
        .syn();
    let mut out = Vec::with_capacity(b.size(0));
    b.write(&mut out, &[]).expect("build frame");
    out
}

/// An IPv4 datagram (20-byte header, TTL 64, no Ethernet header) carrying `l4`,
/// checksums filled in.
pub fn ipv4_raw(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut d = vec![0x45, 0];
    d.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    d.extend_from_slice(&src);
    d.extend_from_slice(&dst);
    let c = checksum(&d);
    d[10..12].copy_from_slice(&c.to_be_bytes());
    d.extend_from_slice(l4);
    brickwall_wire::checksum::fill_transport(&mut d);
    d
}

/// An IPv6 datagram (no extension headers, no Ethernet header) carrying `l4` as next
/// header `next`, with hop limit `hops`, its checksum filled in.
pub fn ipv6_raw(src: [u8; 16], dst: [u8; 16], next: u8, hops: u8, l4: &[u8]) -> Vec<u8> {
    let mut d = vec![0x60, 0, 0, 0];
    d.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    d.extend_from_slice(&[next, hops]);
    d.extend_from_slice(&src);
    d.extend_from_slice(&dst);
    d.extend_from_slice(l4);
    brickwall_wire::checksum::fill_transport(&mut d);
    d
}

/// A parsed packet of an Ethernet frame.
pub fn packet(frame: &[u8]) -> Packet {
    let (p, r) = Packet::from_frame(LinkType::Ethernet, frame, 1_000);
    r.expect("frame parses");
    p
}

/// An engine from YAML text.
pub fn engine(yaml: &str) -> Engine {
    let cfg = Config::parse(yaml, "test.yaml").expect("config parses");
    Engine::from_config(&cfg, Path::new("."), "test.yaml").expect("engine builds")
}

/// The shared captures folder (../shared/pcaps beside the repository), or a panic saying where it was looked for.
pub fn shared_dir() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("BRICKWALL_SHARED") {
        return p.into();
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    assert!(
        p.is_dir(),
        "shared test data not found at {} (set BRICKWALL_SHARED)",
        p.display()
    );
    p
}

/// The CLI's embedded default config (a copy of `src/cli/default.yaml`'s content).
pub const DEFAULT_CONFIG: &str = "local_addresses: []\nplugins: []\n";

/// The shared capture folder, `<shared>/pcaps`.
pub fn pcaps_dir() -> std::path::PathBuf {
    shared_dir().join("pcaps")
}

/// Every capture (`.pcap`, `.pcapng`) under the shared capture folder, as paths relative
/// to it with `/` separators, sorted.
pub fn shared_captures() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("read shared dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            ) {
                let rel = p.strip_prefix(base).expect("under base");
                let parts: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
                out.push(parts.join("/"));
            }
        }
    }
    let base = pcaps_dir();
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.sort();
    out
}

/// The demo's filter policy (`core/src/cli/demo.yaml`) as an nftables ruleset: its
/// forward and input chains, with no `flush ruleset` before them.
pub const DEMO_POLICY_NFT: &str = r#"table inet demo {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        udp dport ntp drop comment "not here"
        tcp dport { 22, 80, 443, 8080, 8443 } accept comment "services"
        tcp dport { 21, 6667, 1723, 6566 } accept comment "their helpers open the data connections"
        udp dport { domain, ntp, 69, 10080, 5060 } accept
        icmp type echo-request accept
        icmpv6 type echo-request accept
    }
    chain input {
        type filter hook input priority filter; policy drop;
        ct state { established, related } accept
        tcp dport ssh accept comment "ssh to the firewall"
        icmp type echo-request accept
        icmpv6 type echo-request accept
    }
}
"#;

/// Conntrack as the kernel's reference ran: checksum checking off (the captures' hosts
/// left checksums to their network cards; see ../shared/pcaps/README.md).
pub const AS_REFERENCE: &str = "checksum: false";

/// Timeouts no shared capture outlives (keys of conntrack's section): the kernel's
/// reference saw each capture within a second.
pub const NO_EXPIRY: &str =
    "timeouts: {udp: 100000, udp_stream: 100000, icmp: 100000, generic: 100000}";

/// The four bundled helpers on their standard ports, with Linux's limits, as the
/// kernel's reference ran them (a YAML list for conntrack's `helpers`).
pub const REFERENCE_HELPERS: &str = "[{name: ftp, wasm: 'builtin:ftp', ports: [tcp/21]}, \
    {name: irc, wasm: 'builtin:irc', ports: [tcp/6667], max_expected: 8}, \
    {name: tftp, wasm: 'builtin:tftp', ports: [udp/69]}, \
    {name: pptp, wasm: 'builtin:pptp', ports: [tcp/1723], max_expected: 2}]";

/// Packet counts of `kernel_truth.tsv`, by capture path relative to the pcaps folder.
pub fn kernel_packets() -> std::collections::BTreeMap<String, u64> {
    kernel_truth(&pcaps_dir())
        .into_iter()
        .map(|(file, k)| (file, k.packets))
        .collect()
}

/// What the kernel counted for one capture: a row of a `kernel_truth.tsv` (the shared
/// captures' README says how it was made).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KernelCounts {
    /// Frames in the capture.
    pub packets: u64,
    /// Packets per conntrack state.
    pub new: u64,
    /// ESTABLISHED packets.
    pub established: u64,
    /// RELATED packets.
    pub related: u64,
    /// INVALID packets.
    pub invalid: u64,
    /// UNTRACKED packets.
    pub untracked: u64,
    /// Connections.
    pub conns: u64,
    /// Expectations created.
    pub expect_create: u64,
}

/// The rows of `dir/kernel_truth.tsv`, by capture file.
pub fn kernel_truth(dir: &Path) -> std::collections::BTreeMap<String, KernelCounts> {
    let path = dir.join("kernel_truth.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    assert_eq!(
        header.get(..10),
        Some(
            &[
                "file",
                "packets",
                "new",
                "established",
                "related",
                "invalid",
                "untracked",
                "unseen",
                "conns",
                "expect_create"
            ][..]
        ),
        "{} header",
        path.display()
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = |i: usize| f[i].parse::<u64>().expect("number");
            (
                f[0].to_string(),
                KernelCounts {
                    packets: n(1),
                    new: n(2),
                    established: n(3),
                    related: n(4),
                    invalid: n(5),
                    untracked: n(6),
                    conns: n(8),
                    expect_create: n(9),
                },
            )
        })
        .collect()
}

/// Every frame of a capture file with its metadata.
pub fn read_capture(path: &Path) -> Vec<(brickwall_core::pcap::FrameMeta, Vec<u8>)> {
    let mut r = brickwall_core::pcap::CaptureReader::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(meta) = r
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        out.push((meta, buf.clone()));
    }
    out
}

/// A `Write` into a buffer the test keeps a handle on.
#[derive(Clone, Default)]
pub struct SharedBuf(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuf {
    /// A copy of what was written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A fresh path under the system temp dir (nothing is created there).
pub fn temp_path(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "brickwall-test-{}-{nanos}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Removes a file when dropped.
pub struct TempFile(pub std::path::PathBuf);

impl TempFile {
    /// A fresh temp path, removed at drop.
    pub fn new(name: &str) -> TempFile {
        TempFile(temp_path(name))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Parses report text into its lines.
pub fn report_lines(text: &[u8]) -> Vec<brickwall_core::report::ReportLine> {
    std::str::from_utf8(text)
        .expect("report is UTF-8")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("report line {i} `{l}`: {e}"))
        })
        .collect()
}

/// A fresh directory under the system temp dir, removed (with its contents) when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates the directory.
    pub fn new(name: &str) -> TempDir {
        let p = temp_path(name);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A replay source of these frames, in order, a microsecond apart from
/// 1 700 000 000 s.
pub fn vec_source(frames: Vec<(LinkType, Vec<u8>)>) -> brickwall_core::io::MemorySource {
    let frames = frames
        .into_iter()
        .enumerate()
        .map(|(i, (link, data))| {
            let meta = brickwall_core::pcap::FrameMeta {
                ts_ns: 1_700_000_000_000_000_000 + i as u64 * 1_000,
                caplen: data.len() as u32,
                orig_len: data.len() as u32,
                link,
                iface: 0,
            };
            (meta, data)
        })
        .collect();
    brickwall_core::io::MemorySource::new(frames)
}

/// Runs the `brickwall` binary with `args`.
pub fn brickwall(args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_brickwall"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("run brickwall")
}

/// A command's standard output, as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's standard error, as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a command's exit code, showing its output on failure.
pub fn assert_code(o: &std::process::Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Where the tests' own builds go (apart from the outer cargo's locked target dir):
/// `target/plugin-tests`.
pub fn plugin_scratch() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    // target/<profile>/deps/<test>-xxxx -> target/plugin-tests
    let target = exe.ancestors().nth(3).expect("a target dir").to_path_buf();
    let d = target.join("plugin-tests");
    std::fs::create_dir_all(&d).expect("the scratch dir");
    d
}

/// Builds the example plugin crate `package` (`brickwall-example-NAME`) with cargo and
/// returns its shared object (each package built once per test process).
pub fn example_plugin_so(package: &str) -> std::path::PathBuf {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static BUILT: Mutex<Option<HashMap<String, std::path::PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(so) = built.get(package) {
        return so.clone();
    }
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let target_dir = plugin_scratch().join("cargo");
    let status = std::process::Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--target-dir"])
        .arg(&target_dir)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .expect("run cargo");
    assert!(status.success(), "building {package} failed");
    let so = target_dir.join(format!("debug/lib{}.so", package.replace('-', "_")));
    assert!(so.is_file(), "{} missing", so.display());
    built.insert(package.to_string(), so.clone());
    so
}

/// The conntrack plugin's table as `conntrack -L` lines at `now_ns`, each ending in a
/// newline.
#[allow(dead_code)]
pub fn ct_table(engine: &Engine, now_ns: u64) -> String {
    use brickwall_control_protocol::conntrack::{response::ListResponse, Request};
    let ct = engine.plugin("conntrack").expect("conntrack loaded");
    let answer = ct
        .control(&Request::list_at(now_ns).to_vec())
        .expect("list");
    let page: ListResponse = serde_json::from_slice(&answer).expect("a list answer");
    page.lines().map(|l| format!("{l}\n")).collect()
}

/// The conntrack plugin's table as records (`list` in JSON) at `now_ns`.
#[allow(dead_code)]
pub fn ct_records(
    engine: &Engine,
    now_ns: u64,
) -> Vec<brickwall_control_protocol::conntrack::ConnRecord> {
    use brickwall_control_protocol::conntrack::request::{Format, List};
    use brickwall_control_protocol::conntrack::response::{Entry, ListResponse};
    use brickwall_control_protocol::conntrack::Request;
    let req = Request::List(List {
        now_ns,
        format: Format::Json,
        ..List::default()
    });
    let ct = engine.plugin("conntrack").expect("conntrack loaded");
    let answer = ct.control(&req.to_vec()).expect("list");
    let page: ListResponse = serde_json::from_slice(&answer).expect("a list answer");
    page.entries
        .into_iter()
        .filter_map(|e| match e {
            Entry::Record(r) => Some(*r),
            Entry::Line(_) => None,
        })
        .collect()
}

/// The conntrack plugin's expectations as `conntrack -L expect` lines at `now_ns`,
/// each ending in a newline.
#[allow(dead_code)]
pub fn ct_expectations(engine: &Engine, now_ns: u64) -> String {
    use brickwall_control_protocol::conntrack::request::At;
    use brickwall_control_protocol::conntrack::{response::ExpectListResponse, Request};
    let ct = engine.plugin("conntrack").expect("conntrack loaded");
    let answer = ct
        .control(&Request::ExpectList(At { now_ns }).to_vec())
        .expect("expect-list");
    let list: ExpectListResponse = serde_json::from_slice(&answer).expect("an expect-list answer");
    list.lines().map(|l| format!("{l}\n")).collect()
}

/// Checks every checksum of an IP datagram by full recomputation, the datagram quoted
/// by an ICMP error too (its transport checksum when it is quoted whole).
pub fn verify_datagram(d: &[u8], whole: bool) {
    let v4 = d[0] >> 4 == 4;
    let (l4, proto, src, dst) = if v4 {
        let ihl = usize::from(d[0] & 0xf) * 4;
        assert_eq!(checksum(&d[..ihl]), 0, "IPv4 header checksum");
        (ihl, d[9], &d[12..16], &d[16..20])
    } else {
        (40, d[6], &d[8..24], &d[24..40])
    };
    let seg = &d[l4..];
    let pseudo = |p: u8| {
        if v4 {
            pseudo_v4(
                src.try_into().unwrap(),
                dst.try_into().unwrap(),
                p,
                seg.len() as u16,
            )
        } else {
            pseudo_v6(
                src.try_into().unwrap(),
                dst.try_into().unwrap(),
                p,
                seg.len() as u32,
            )
        }
    };
    match proto {
        ip_proto::UDP if v4 && seg[6..8] == [0, 0] => {}
        ip_proto::TCP | ip_proto::UDP if whole => {
            assert_eq!(finish(sum(pseudo(proto), seg)), 0, "transport checksum")
        }
        // UDP-Lite covers what its coverage field says (0: all), DCCP its header and
        // CsCov - 1 words of payload (CsCov 0: all); both always the pseudo-header.
        ip_proto::UDPLITE if whole => {
            let covered = match usize::from(u16::from_be_bytes([seg[4], seg[5]])) {
                0 => seg.len(),
                n => n,
            };
            assert_ne!(seg[6..8], [0, 0], "UDP-Lite checksum present");
            assert_eq!(
                finish(sum(pseudo(proto), &seg[..covered])),
                0,
                "UDP-Lite checksum"
            )
        }
        ip_proto::DCCP if whole => {
            let covered = match seg[5] & 0x0f {
                0 => seg.len(),
                n => (usize::from(seg[4]) * 4 + usize::from(n - 1) * 4).min(seg.len()),
            };
            assert_eq!(
                finish(sum(pseudo(proto), &seg[..covered])),
                0,
                "DCCP checksum"
            )
        }
        ip_proto::ICMP => assert_eq!(checksum(seg), 0, "ICMP checksum"),
        ip_proto::ICMPV6 => assert_eq!(finish(sum(pseudo(proto), seg)), 0, "ICMPv6 checksum"),
        _ => {}
    }
    let is_error = match proto {
        ip_proto::ICMP => matches!(seg[0], 3 | 4 | 5 | 11 | 12),
        ip_proto::ICMPV6 => seg[0] < 128,
        _ => false,
    };
    if is_error {
        // The quote's transport checksum can be checked only when it is whole.
        let q = &seg[8..];
        let len = if q[0] >> 4 == 4 {
            usize::from(u16::from_be_bytes([q[2], q[3]]))
        } else {
            40 + usize::from(u16::from_be_bytes([q[4], q[5]]))
        };
        verify_datagram(q, len == q.len());
    }
}

/// An Ethernet frame with a TCP segment over IPv4; `flags`: "S" SYN, "SA" SYN/ACK,
/// anything else ACK (with PSH when there is data).
#[allow(clippy::too_many_arguments)]
pub fn tcp4_segment(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: &str,
    data: &[u8],
) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 64240);
    let b = match flags {
        "S" => b.syn(),
        "SA" => b.syn().ack(ack),
        _ if data.is_empty() => b.ack(ack),
        _ => b.ack(ack).psh(),
    };
    let mut out = Vec::new();
    b.write(&mut out, data).expect("a frame");
    out
}

/// Runs frames through `engine`'s pipeline, one after another; each packet as it left
/// and its outcome.
pub fn run_frames(
    engine: &Engine,
    frames: &[Vec<u8>],
) -> Vec<(Packet, brickwall_core::pipeline::Outcome)> {
    let mut pl = engine.pipeline();
    let t = engine.registry().snapshot();
    frames
        .iter()
        .map(|f| {
            let mut p = packet(f);
            let o = pl.process(&t, &mut p);
            (p, o)
        })
        .collect()
}

/// Checks `file` with the real `nft -c` (parsed and checked, nothing applied) in a
/// network namespace of its own; the test fails with nft's words if it refuses.
pub fn nft_check(file: &Path) {
    let ns = format!(
        "bw-nft-{}-{}",
        std::process::id(),
        file.file_stem().and_then(|s| s.to_str()).unwrap_or("check")
    );
    let ip = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .status()
            .expect("ip")
    };
    assert!(
        ip(&["netns", "add", &ns]).success(),
        "ip netns add (root needed)"
    );
    let nft = std::process::Command::new("ip")
        .args(["netns", "exec", &ns, "nft", "-c", "-f"])
        .arg(file)
        .output()
        .expect("nft");
    ip(&["netns", "del", &ns]);
    assert!(
        nft.status.success(),
        "nft -c {}: {}",
        file.display(),
        String::from_utf8_lossy(&nft.stderr)
    );
}

/// A DCCP segment from `sport` to `dport`, its checksum field 0: type `ty` with the X
/// bit (48-bit sequence numbers), sequence number `seq`, acknowledgement number `ack`
/// (types that carry one; a Response's and a Reset's 4 more bytes 0, a Request's
/// service code 42), then four bytes of payload.
pub fn dccp_segment(sport: u16, dport: u16, ty: u8, seq: u64, ack: u64) -> Vec<u8> {
    use brickwall_wire::dccp;
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&[0, 0, 0, 0, ty << 1 | 1, 0]);
    l4.extend_from_slice(&((seq >> 32) as u16).to_be_bytes());
    l4.extend_from_slice(&(seq as u32).to_be_bytes());
    match ty {
        dccp::DATA => {}
        dccp::REQUEST => l4.extend_from_slice(&[0, 0, 0, 42]),
        _ => {
            l4.extend_from_slice(&[0, 0]);
            l4.extend_from_slice(&((ack >> 32) as u16).to_be_bytes());
            l4.extend_from_slice(&(ack as u32).to_be_bytes());
            if matches!(ty, dccp::RESPONSE | dccp::RESET) {
                l4.extend_from_slice(&[0; 4]);
            }
        }
    }
    l4[4] = (l4.len() / 4) as u8;
    l4.extend_from_slice(b"dccp");
    l4
}
