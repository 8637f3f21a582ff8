//! Every shared capture (../shared/pcaps, see its README.md) replays through the capture
//! reader and the frame parser: exact packet count, format, link type, the non-IP frames
//! and the families and transport protocols each file is known to hold.
//!
//! The captures live outside the repository. If they cannot be found the tests fail:
//! they must not pass silently on a machine without them.

use brickwall_core::pcap::{CaptureFormat, CaptureReader, FrameMeta};
use brickwall_core::wire::{parse_datagram, parse_frame, LinkType, ParseError, Parsed, L4};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Classic pcap with microsecond timestamps.
const PCAP_US: CaptureFormat = CaptureFormat::Pcap { nanos: false };
/// Classic pcap with nanosecond timestamps.
const PCAP_NS: CaptureFormat = CaptureFormat::Pcap { nanos: true };
/// pcapng.
const PCAPNG: CaptureFormat = CaptureFormat::Pcapng;

/// The shared capture folder: `../shared/pcaps` beside the repository, or
/// `$BRICKWALL_SHARED/pcaps` (or `$BRICKWALL_SHARED` itself) when that is set.
fn pcaps_dir() -> PathBuf {
    let mut tried = Vec::new();
    let sibling = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pcaps");
    tried.push(sibling.clone());
    if let Some(env) = std::env::var_os("BRICKWALL_SHARED") {
        let env = PathBuf::from(env);
        tried.push(env.join("pcaps"));
        tried.push(env);
    }
    tried
        .iter()
        .find(|p| p.join("README.md").is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "shared captures not found (tried {tried:?}); put the shared folder beside \
                 the repository or set BRICKWALL_SHARED"
            )
        })
}

/// What one capture holds, as read and parsed.
#[derive(Debug, Default)]
struct Summary {
    format: Option<CaptureFormat>,
    link: Option<LinkType>,
    packets: usize,
    /// Frames per family and transport category (`ipv4/tcp`, `ipv6/icmpv6`, ...).
    kinds: BTreeMap<String, usize>,
    /// Non-IP frames by ethertype.
    not_ip: BTreeMap<u16, usize>,
    /// GRE (version, key) pairs seen.
    gre: BTreeSet<(u8, Option<u32>)>,
    /// Categories of the datagrams quoted in ICMP errors.
    quoted: BTreeMap<String, usize>,
    /// Every frame's metadata, in order.
    metas: Vec<FrameMeta>,
}

/// `family/protocol` of a parse result.
fn kind(p: &Parsed) -> String {
    let l4 = match p.l4 {
        L4::Tcp { .. } => "tcp".to_string(),
        L4::Udp { .. } => "udp".to_string(),
        L4::Icmp { .. } => "icmp".to_string(),
        L4::Icmpv6 { .. } => "icmpv6".to_string(),
        L4::Gre { .. } => "gre".to_string(),
        L4::Sctp { .. } => "sctp".to_string(),
        L4::Other(n) => format!("proto-{n}"),
        L4::None => "none".to_string(),
    };
    format!("{}/{l4}", p.family.name())
}

/// The datagram an ICMP or ICMPv6 error quotes, if `p` is one.
fn quote<'a>(frame: &'a [u8], p: &Parsed) -> Option<&'a [u8]> {
    let error = match p.l4 {
        L4::Icmp { icmp_type, .. } => matches!(icmp_type, 3 | 4 | 5 | 11 | 12),
        L4::Icmpv6 { icmp_type, .. } => (1..=4).contains(&icmp_type),
        _ => false,
    };
    let end = usize::from(p.l3_off) + p.l3_len as usize;
    error.then(|| &frame[usize::from(p.payload_off)..end])
}

/// Reads and parses every frame of `rel` (relative to the shared capture folder).
/// Panics on any read error or any parse error other than a non-IP frame.
fn summarize(rel: &str) -> Summary {
    let path = pcaps_dir().join(rel);
    let mut r = CaptureReader::open(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut s = Summary {
        format: Some(r.format()),
        link: Some(r.link_type()),
        ..Summary::default()
    };
    let mut buf = Vec::new();
    while let Some(meta) = r
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
    {
        s.packets += 1;
        assert_eq!(meta.caplen as usize, buf.len(), "{rel} frame {}", s.packets);
        s.metas.push(meta);
        let p = match parse_frame(meta.link, &buf) {
            Ok(p) => p,
            Err(ParseError::NotIp { ethertype }) => {
                *s.not_ip.entry(ethertype).or_default() += 1;
                continue;
            }
            Err(e) => panic!("{rel} frame {}: {e}", s.packets),
        };
        assert_eq!(p.flags, 0, "{rel} frame {}: {p:?}", s.packets);
        *s.kinds.entry(kind(&p)).or_default() += 1;
        if let L4::Gre { version, key, .. } = p.l4 {
            s.gre.insert((version, key));
        }
        if let Some(inner) = quote(&buf, &p) {
            let q = parse_datagram(inner).unwrap_or_else(|e| panic!("{rel} quote: {e}"));
            *s.quoted.entry(kind(&q)).or_default() += 1;
        }
    }
    s
}

/// Checks the count, format, link type, non-IP frame count and transport categories
/// of a capture, and returns its summary for further checks.
fn check(
    rel: &str,
    packets: usize,
    format: CaptureFormat,
    link: LinkType,
    not_ip: usize,
    kinds: &[&str],
) -> Summary {
    let s = summarize(rel);
    assert_eq!(s.packets, packets, "{rel}: packet count");
    assert_eq!(s.format, Some(format), "{rel}: format");
    assert_eq!(s.link, Some(link), "{rel}: link type");
    assert!(
        s.metas.iter().all(|m| m.link == link),
        "{rel}: per-frame link type"
    );
    assert_eq!(
        s.not_ip.values().sum::<usize>(),
        not_ip,
        "{rel}: non-IP {:?}",
        s.not_ip
    );
    let got: BTreeSet<&str> = s.kinds.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = kinds.iter().copied().collect();
    assert_eq!(got, want, "{rel}: categories {:?}", s.kinds);
    // No capture's clock goes backwards (a check of timestamp decoding; note that the
    // scapy-made IRC capture starts at 1970-01-01T00:00:01).
    for w in s.metas.windows(2) {
        assert!(w[0].ts_ns <= w[1].ts_ns, "{rel}: time goes back: {w:?}");
    }
    s
}

/// Declares one test per capture, and the list of all of them.
macro_rules! captures {
    ($($name:ident: $path:literal, $n:literal, $fmt:expr, $link:expr, not_ip $nip:literal,
       [$($kind:literal),*] $(, |$s:ident| $extra:block)?;)*) => {
        $(
            #[test]
            fn $name() {
                #[allow(unused_variables)]
                let s = check($path, $n, $fmt, $link, $nip, &[$($kind),*]);
                $(let $s = s; $extra)?
            }
        )*
        /// Every capture with a test.
        const ALL: &[&str] = &[$($path),*];
    };
}

use LinkType::{Ethernet, LinuxSll, Raw};

captures! {
    ndpi_doq: "nDPI/doq.pcapng", 20, PCAPNG, Ethernet, not_ip 0, ["ipv6/udp", "ipv6/icmpv6"], |s| {
        assert_eq!(s.kinds["ipv6/icmpv6"], 6);
        assert_eq!(s.quoted["ipv6/udp"], 6);
        // if_tsresol 9: nanoseconds.
        assert_eq!(s.metas[0].ts_ns, 1_606_056_093_199_591_961);
    };
    ndpi_ftp: "nDPI/ftp.pcap", 209, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    ndpi_ftp_failed: "nDPI/ftp_failed.pcap", 18, PCAP_US, Ethernet, not_ip 0, ["ipv6/tcp"];
    ndpi_iphone: "nDPI/iphone.pcap", 500, PCAP_US, Ethernet, not_ip 14,
        ["ipv4/tcp", "ipv4/udp", "ipv4/icmp", "ipv4/proto-2", "ipv6/udp", "ipv6/icmpv6"], |s| {
        assert_eq!(s.not_ip, BTreeMap::from([(0x0806, 10), (0x888e, 4)]));
        assert_eq!(s.kinds["ipv4/icmp"], 5);
        assert_eq!(s.quoted, BTreeMap::from([("ipv4/udp".to_string(), 5)]));
    };
    ndpi_irc: "nDPI/irc.pcap", 29, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    ndpi_pptp: "nDPI/pptp.pcap", 24, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    ndpi_tcp_scan: "nDPI/tcp_scan.pcapng", 30, PCAP_US, Ethernet, not_ip 12, ["ipv4/tcp"], |s| {
        assert_eq!(s.not_ip, BTreeMap::from([(0x0806, 12)]));
    };
    suricata_ftp_active_mode: "suricata-verify/filestore-ftp-active-mode/ftp-active-mode.pcap",
        47, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp", "ipv4/udp"];
    suricata_ftp_bounce: "suricata-verify/ftp/ftp-bounce/test.pcap", 34, PCAP_US, Ethernet,
        not_ip 0, ["ipv4/tcp"];
    suricata_ftp_download_active: "suricata-verify/ftp/ftp-download-active/input.pcap", 63,
        PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    suricata_ftp_download_passive: "suricata-verify/ftp/ftp-download-passive/input.pcap", 63,
        PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    suricata_tftp: "suricata-verify/output-eve-tftp-01/input.pcap", 99, PCAP_US, Ethernet,
        not_ip 0, ["ipv4/udp"];
    tcpdump_linktype_ipv4: "tcpdump/LINKTYPE_IPV4.pcap", 1, PCAP_US, LinkType::Ipv4, not_ip 0,
        ["ipv4/udp"];
    tcpdump_linktype_raw_ipv4: "tcpdump/LINKTYPE_RAW_ipv4.pcap", 1, PCAP_US, Raw, not_ip 0,
        ["ipv4/udp"];
    tcpdump_linktype_raw_ipv6: "tcpdump/LINKTYPE_RAW_ipv6.pcap", 1, PCAP_US, Raw, not_ip 0,
        ["ipv6/udp"];
    tcpdump_dns_tcp: "tcpdump/dns_tcp.pcap", 11, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    tcpdump_pptp: "tcpdump/pptp.pcap", 23, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp", "ipv4/gre"], |s| {
        assert_eq!(s.kinds["ipv4/gre"], 1);
        assert_eq!(s.gre, BTreeSet::from([(1, Some(0))]));
    };
    tcpdump_tcp_handshake_nano: "tcpdump/tcp-handshake-nano.pcap", 3, PCAP_NS, LinuxSll, not_ip 0,
        ["ipv4/tcp"], |s| {
        let ts: Vec<u64> = s.metas.iter().map(|m| m.ts_ns).collect();
        assert_eq!(ts, [1_418_145_369_924_505_488, 1_418_145_370_052_027_262, 1_418_145_370_052_115_157]);
    };
    tcpdump_tcp_rst_data: "tcpdump/tcp_rst_data.pcap", 1, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    tcpdump_tftp: "tcpdump/tftp.pcap", 7, PCAP_US, Ethernet, not_ip 0, ["ipv4/udp"];
    zeek_ftp_auth_tls: "zeek/ftp/ftp-auth-tls.pcap", 84, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    zeek_ftp_ipv6: "zeek/ftp/ipv6.pcap", 136, PCAP_US, Ethernet, not_ip 0, ["ipv6/tcp"];
    zeek_ftp_retr: "zeek/ftp/retr.pcap", 67, PCAP_US, Ethernet, not_ip 0, ["ipv4/tcp"];
    zeek_icmp_destunreach_udp: "zeek/icmp/icmp-destunreach-udp.pcap", 1, PCAP_US, Ethernet,
        not_ip 0, ["ipv4/icmp"], |s| {
        assert_eq!(s.quoted, BTreeMap::from([("ipv4/udp".to_string(), 1)]));
    };
    zeek_icmp6_destunreach_ip6ext_udp: "zeek/icmp/icmp6-destunreach-ip6ext-udp.pcap", 1, PCAP_US,
        Ethernet, not_ip 0, ["ipv6/icmpv6"], |s| {
        // The quoted IPv6 datagram has an extension header before its UDP header.
        assert_eq!(s.quoted, BTreeMap::from([("ipv6/udp".to_string(), 1)]));
    };
    zeek_irc_dcc_first_command: "zeek/irc-dcc-first-command.pcap", 10, PCAP_US, Ethernet,
        not_ip 0, ["ipv4/tcp"];
    zeek_irc_dcc_send_malformed_host: "zeek/irc-dcc-send-malformed-host.pcap", 1, PCAP_US,
        Ethernet, not_ip 0, ["ipv4/tcp"];
    zeek_irc_dcc_send_malformed_port: "zeek/irc-dcc-send-malformed-port.pcap", 1, PCAP_US,
        Ethernet, not_ip 0, ["ipv4/tcp"];
    zeek_tcp_fin_retransmission: "zeek/tcp/fin_retransmission.pcap", 5, PCAP_US, Ethernet,
        not_ip 0, ["ipv4/tcp"];
    zeek_tcp_retransmit_fast009: "zeek/tcp/retransmit-fast009.pcap", 39, PCAP_US, Ethernet,
        not_ip 0, ["ipv4/tcp"], |s| {
        // Captured with a snap length: the IP total length is clipped to the frame.
        assert_eq!(s.metas.iter().filter(|m| m.caplen < m.orig_len).count(), 21);
    };
    zeek_tcp_rst_inject_rae: "zeek/tcp/rst-inject-rae.pcap", 9, PCAP_US, Ethernet, not_ip 0,
        ["ipv4/tcp"];
    zeek_tcp_syn_then_stuff_then_rst: "zeek/tcp/syn-then-stuff-then-rst.pcap", 4, PCAP_US,
        Ethernet, not_ip 0, ["ipv4/tcp"];
    zeek_var_services_std_ports: "zeek/var-services-std-ports.pcap", 263, PCAP_US, Ethernet,
        not_ip 4, ["ipv4/tcp", "ipv4/udp", "ipv6/udp"];
}

/// Lists the capture files under `dir`, relative to `root`.
fn list(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            list(root, &path, out);
        } else if path
            .extension()
            .is_some_and(|x| x == "pcap" || x == "pcapng")
        {
            let rel = path.strip_prefix(root).expect("under root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_capture_has_a_test() {
    let root = pcaps_dir();
    let mut found = Vec::new();
    list(&root, &root, &mut found);
    found.sort();
    let mut tested: Vec<String> = ALL.iter().map(|s| s.to_string()).collect();
    tested.sort();
    assert_eq!(found, tested);
}

#[test]
fn packet_counts_match_kernel_truth() {
    let root = pcaps_dir();
    let tsv = std::fs::read_to_string(root.join("kernel_truth.tsv")).expect("kernel_truth.tsv");
    let mut rows = 0;
    for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let mut cols = line.split('\t');
        let (file, packets) = (cols.next().unwrap(), cols.next().unwrap());
        let packets: usize = packets.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(summarize(file).packets, packets, "{file}");
        rows += 1;
    }
    assert_eq!(rows, ALL.len());
}
