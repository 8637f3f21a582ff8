//! The topology: client, firewall and server namespaces joined by two veth pairs, and
//! everything it made undone when it drops.

use crate::{link, namespace};
use std::path::PathBuf;
use std::process::Child;

/// The client's IPv4 address.
pub const CLIENT4: &str = "10.77.0.1";
/// The server's IPv4 address.
pub const SERVER4: &str = "10.77.0.2";
/// The client's IPv6 address.
pub const CLIENT6: &str = "fd77::1";
/// The server's IPv6 address.
pub const SERVER6: &str = "fd77::2";

/// How a [`Topology`] is made.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Begins the namespaces' names, `<prefix>-c-<tag>-<pid>` (`-f-`, `-s-`), and the
    /// scratch folder's; namespaces of this prefix whose process is gone are removed
    /// first.
    pub prefix: &'static str,
    /// The hosts get [`CLIENT6`] and [`SERVER6`]; without, IPv6 is off in all three
    /// namespaces (no router or neighbour chatter).
    pub ipv6: bool,
}

impl Default for Options {
    /// The live tests': prefix `bw`, IPv6 on.
    fn default() -> Options {
        Options {
            prefix: "bw",
            ipv6: true,
        }
    }
}

/// Three namespaces: client (`c0`), firewall (`fc`, `fs`), server (`s0`), joined by two
/// veth pairs. The firewall namespace has no addresses: whatever bridges `fc` and `fs`
/// is all that carries traffic between the two hosts.
pub struct Topology {
    /// The client's namespace.
    pub client: String,
    /// The firewall's namespace.
    pub fw: String,
    /// The server's namespace.
    pub server: String,
    /// A scratch folder for configs, files, sockets and the programs' logs.
    pub dir: PathBuf,
    /// The programs started inside, by name.
    pub(crate) children: Vec<(String, Child)>,
}

impl Topology {
    /// The topology with the default [`Options`]; `tag` keeps parallel tests apart.
    pub fn new(tag: &str) -> Topology {
        Topology::with(tag, Options::default())
    }

    /// The topology made as `options` say; `tag` keeps parallel runs apart.
    pub fn with(tag: &str, options: Options) -> Topology {
        let t = Topology::bare(tag, options);
        link::host(&t.client, "c0", CLIENT4, options.ipv6.then_some(CLIENT6));
        link::host(&t.server, "s0", SERVER4, options.ipv6.then_some(SERVER6));
        t
    }

    /// The namespaces, the veth pairs and the firewall's ports, up; the hosts' links
    /// without addresses yet.
    pub(crate) fn bare(tag: &str, options: Options) -> Topology {
        let Options { prefix, ipv6 } = options;
        namespace::remove_stale(prefix);
        let pid = std::process::id();
        let name = |role: &str| format!("{prefix}-{role}-{tag}-{pid}");
        let t = Topology {
            client: name("c"),
            fw: name("f"),
            server: name("s"),
            dir: std::env::temp_dir().join(format!("brickwall-{prefix}-{tag}-{pid}")),
            children: Vec::new(),
        };
        // From here on, a panic drops `t`, which undoes what was made.
        let _ = std::fs::remove_dir_all(&t.dir);
        std::fs::create_dir_all(&t.dir).expect("scratch folder");
        for ns in [&t.client, &t.fw, &t.server] {
            namespace::add(ns, ipv6);
        }
        link::veth(("c0", &t.client), ("fc", &t.fw));
        link::veth(("s0", &t.server), ("fs", &t.fw));
        for dev in ["fc", "fs"] {
            link::port(&t.fw, dev);
        }
        t
    }
}

impl Drop for Topology {
    /// Kills what is still running, removes the namespaces and, unless a test is
    /// failing (its logs are wanted then), the scratch folder.
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.client, &self.fw, &self.server] {
            namespace::delete(ns);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
