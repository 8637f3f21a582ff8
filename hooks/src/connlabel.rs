//! Connection label names, a convention plugins and tools share: a label is a bit
//! number (0-127) or a name from conntrack-tools' map file, `/etc/xtables/connlabel.conf`
//! (lines `BIT NAME`; `#` starts a comment), as libnetfilter_conntrack reads it. The
//! filter's `ct_label` and the CLI's `-U --label-add` take labels this way.

use std::path::Path;

/// Where conntrack-tools looks for label names.
pub const CONNLABEL_CONF: &str = "/etc/xtables/connlabel.conf";

/// The `(bit, name)` pairs of a connlabel.conf text; malformed lines are skipped.
pub fn parse_map(text: &str) -> Vec<(u8, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or("").trim();
            let (bit, name) = l.split_once(char::is_whitespace)?;
            let bit = bit.parse::<u8>().ok().filter(|b| *b < 128)?;
            Some((bit, name.trim().to_string()))
        })
        .collect()
}

/// The bit numbers of a comma-separated list of labels, numbers or names found in the
/// map at `conf` (read only when a name is given).
pub fn bits(list: &str, conf: &Path) -> Result<Vec<u8>, String> {
    let mut map: Option<Vec<(u8, String)>> = None;
    list.split(',')
        .map(str::trim)
        .map(|l| {
            if let Ok(n) = l.parse::<u8>() {
                return if n < 128 {
                    Ok(n)
                } else {
                    Err(format!("label {n}: out of range (0-127)"))
                };
            }
            let map = map.get_or_insert_with(|| {
                std::fs::read_to_string(conf)
                    .map(|t| parse_map(&t))
                    .unwrap_or_default()
            });
            map.iter()
                .find(|(_, name)| name == l)
                .map(|(b, _)| *b)
                .ok_or_else(|| {
                    format!(
                        "unknown label `{l}` (a bit number 0-127, or a name in {})",
                        conf.display()
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_from_the_map() {
        let dir = std::env::temp_dir().join(format!("bw-connlabel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("connlabel.conf");
        std::fs::write(
            &conf,
            "# labels\n0 eth0-in\n1\tvpn # tunnel\n200 toolarge\nbad\n",
        )
        .unwrap();
        assert_eq!(bits("3,vpn,eth0-in", &conf), Ok(vec![3, 1, 0]));
        assert!(bits("toolarge", &conf)
            .unwrap_err()
            .contains("unknown label"));
        assert!(bits("128", &conf).unwrap_err().contains("out of range"));
        assert!(bits("x", &dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
