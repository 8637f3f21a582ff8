//! `brickwall filter`: a running engine's filter chains, over the control socket.
//! `list` prints them as `nft list ruleset` prints a ruleset, each rule with its
//! counter (`counter packets N bytes M`, where the rule has its `counter` or before its
//! verdict); `reset` zeroes the counters.

use crate::client::{decode, Client};
use brickwall_control_protocol::envelope::DEFAULT_SOCKET;
use brickwall_control_protocol::filter::{
    ChainInfo, ChainsResponse, FilterRequest, RuleInfo, TARGET,
};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// `brickwall filter`'s options.
#[derive(Args, Debug, Clone)]
pub struct FilterArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: FilterCommand,
    /// The engine's control socket.
    #[arg(long, global = true, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// The subcommands.
#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterCommand {
    /// The chains and rules with their counters, in nftables' ruleset syntax.
    List,
    /// Zero every rule's and policy's counter.
    Reset,
}

/// Runs the command; the exit code (0, or 1 with a message on standard error).
pub fn run(a: &FilterArgs) -> i32 {
    let mut out = std::io::stdout().lock();
    match answer(a) {
        Ok(chains) => {
            if let Some(chains) = chains {
                let _ = out.write_all(ruleset(&chains).as_bytes());
            }
            0
        }
        Err(e) => {
            eprintln!("brickwall filter: {e}");
            1
        }
    }
}

/// Asks the engine; the chains for `list`.
fn answer(a: &FilterArgs) -> Result<Option<ChainsResponse>, String> {
    let mut c = Client::connect(&a.socket).map_err(|e| e.to_string())?;
    match a.command {
        FilterCommand::List => {
            let v = c
                .call(TARGET, &FilterRequest::List.to_value())
                .map_err(|e| e.to_string())?;
            decode("list", v).map(Some)
        }
        FilterCommand::Reset => {
            c.call(TARGET, &FilterRequest::Reset.to_value())
                .map_err(|e| e.to_string())?;
            Ok(None)
        }
    }
}

/// The chains as one `table inet brickwall { ... }`, tab-indented as nft prints.
pub fn ruleset(r: &ChainsResponse) -> String {
    let mut s = String::from("table inet brickwall {\n");
    for (i, c) in r.chains.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        chain(&mut s, c);
    }
    s.push_str("}\n");
    s
}

fn chain(s: &mut String, c: &ChainInfo) {
    s.push_str(&format!("\tchain {} {{\n", c.name));
    // A regular chain (a jump target) has no header.
    if !c.text.is_empty() {
        s.push_str(&format!("\t\t{}\n", c.text));
    }
    for r in &c.rules {
        s.push_str(&format!("\t\t{}\n", with_counter(r)));
    }
    s.push_str("\t}\n");
}

/// A rule's text with its counts: in place of its `counter`, else before its verdict
/// (`accept`, `drop`, `queue ...`), else at the end, and before its comment.
pub fn with_counter(r: &RuleInfo) -> String {
    let counts = format!("counter packets {} bytes {}", r.packets, r.bytes);
    let comment = r.comment.as_ref().map(|c| format!(" comment {c:?}"));
    let body = comment
        .as_deref()
        .and_then(|c| r.text.strip_suffix(c))
        .unwrap_or(&r.text);
    let mut words: Vec<String> = body.split(' ').map(str::to_string).collect();
    if body == "continue" {
        words = vec![counts];
    } else if let Some(i) = words.iter().position(|w| w == "counter") {
        words[i] = counts;
    } else if let Some(i) = words.iter().position(|w| w == "queue") {
        words.insert(i, counts);
    } else if matches!(words.last().map(String::as_str), Some("accept" | "drop")) {
        words.insert(words.len() - 1, counts);
    } else {
        words.push(counts);
    }
    let mut line = words.join(" ");
    if let Some(c) = comment.filter(|_| body.len() < r.text.len()) {
        line.push_str(&c);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str, comment: Option<&str>) -> RuleInfo {
        RuleInfo {
            index: 0,
            text: text.into(),
            comment: comment.map(str::to_string),
            packets: 3,
            bytes: 180,
            log_suppressed: None,
        }
    }

    #[test]
    fn counts_go_where_nft_prints_them() {
        for (text, comment, want) in [
            (
                "ct state established,related accept",
                None,
                "ct state established,related counter packets 3 bytes 180 accept",
            ),
            (
                "tcp dport 22 counter accept",
                None,
                "tcp dport 22 counter packets 3 bytes 180 accept",
            ),
            (
                "udp dport 69 queue num 3 bypass",
                None,
                "udp dport 69 counter packets 3 bytes 180 queue num 3 bypass",
            ),
            (
                "meta l4proto tcp log prefix \"x\" rate 5/second",
                None,
                "meta l4proto tcp log prefix \"x\" rate 5/second counter packets 3 bytes 180",
            ),
            ("continue", None, "counter packets 3 bytes 180"),
            (
                "iif 1 accept comment \"lo\"",
                Some("lo"),
                "iif 1 counter packets 3 bytes 180 accept comment \"lo\"",
            ),
        ] {
            assert_eq!(with_counter(&rule(text, comment)), want);
        }
    }
}
