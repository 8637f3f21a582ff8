//! Reading typed messages out of JSON with errors that name where the problem is: the
//! field's path (`filter.src`, `tuple.sport`, `label_add[2]`) and what was expected.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Reads a `T` from `v`; the error names the path of the field that did not fit.
pub fn from_value<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let at_root = path == "." || path.is_empty();
        let inner = shorten(e.into_inner().to_string(), 240);
        // serde names a missing field in its message, at the path of the object that
        // lacks it: name the field's own path instead.
        if let Some(field) = inner
            .strip_prefix("missing field `")
            .and_then(|r| r.strip_suffix('`'))
        {
            return if at_root {
                format!("{field}: missing")
            } else {
                format!("{path}.{field}: missing")
            };
        }
        if at_root {
            format!("request: {inner}")
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// Reads a `T` from JSON bytes (see [`from_value`]).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("request: malformed JSON: {e}"))?;
    from_value(v)
}

/// `s` cut to `max` characters (a message quoting a long value stays readable).
fn shorten(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// A value as it appears in a message, shortened to 60 characters.
pub fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 60 {
        return s;
    }
    let mut short: String = s.chars().take(57).collect();
    short.push('…');
    short
}
