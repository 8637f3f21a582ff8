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

/// Reads a plugin's config section (JSON text from the engine) into a `T`: `None` for an
/// empty section or `null`; `shape` says what the section must be, for text that is not
/// a map. An error names the field's path ([`at_path`]); the position in the engine's
/// JSON rendering of the section means nothing to the user and is left out.
pub fn section<T: DeserializeOwned>(text: &str, shape: &str) -> Result<Option<T>, String> {
    let t = text.trim();
    if t.is_empty() || t == "null" {
        return Ok(None);
    }
    if !t.starts_with('{') {
        return Err(format!(
            "{shape}, not {}",
            t.chars().take(20).collect::<String>()
        ));
    }
    let mut de = serde_json::Deserializer::from_str(t);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let mut msg = inner.to_string();
        let suffix = format!(" at line {} column {}", inner.line(), inner.column());
        if let Some(stripped) = msg.strip_suffix(&suffix) {
            msg = stripped.to_string();
        }
        at_path(&path, &msg)
    })?;
    de.end().map_err(|e| format!("config: {e}"))?;
    Ok(Some(value))
}

/// A config error's message at a field's path (none at the root), in the words of
/// someone writing a config: serde's "unknown variant" is an unknown value.
pub fn at_path(path: &str, message: &str) -> String {
    let message = message.replace("unknown variant", "unknown value");
    if path == "." || path.is_empty() {
        message
    } else {
        format!("{path}: {message}")
    }
}

/// Reads JSON bytes into a value, or says where they are malformed.
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("request: malformed JSON: {e}"))
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

/// The operation of a request that takes nothing but its name: `{"op": "NAME"}`, the
/// JSON string `"NAME"` or the bare word; checked against `ops`.
pub fn bare_op(bytes: &[u8], ops: &[&str]) -> Result<String, String> {
    let op = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(mut m)) => {
            let op = match m.remove("op") {
                Some(Value::String(s)) => s,
                Some(v) => {
                    return Err(format!(
                        "op: expected a string ({}), got {}",
                        ops.join(", "),
                        show(&v)
                    ))
                }
                None => return Err(format!("op: missing ({})", ops.join(", "))),
            };
            if let Some(k) = m.keys().next() {
                return Err(format!(
                    "{}: unknown field (these requests take only op)",
                    show(&Value::String(k.clone()))
                ));
            }
            op
        }
        Ok(Value::String(s)) => s,
        _ => String::from_utf8_lossy(bytes).trim().to_string(),
    };
    if ops.contains(&op.as_str()) {
        Ok(op)
    } else {
        Err(format!(
            "op: unknown operation {} ({})",
            show(&Value::String(op)),
            ops.join(", ")
        ))
    }
}
