//! Metrics: each control target (the engine, and every plugin that has any) answers
//! `{"op":"metrics"}` with a [`MetricsResponse`], its own metric families; the
//! metrics endpoint merges every target's ([`merge`]) and renders them in the
//! Prometheus text format ([`render`]).

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The request a target answers with its metrics.
pub const REQUEST: &str = r#"{"op":"metrics"}"#;

/// What a metric measures over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Only goes up (until a restart).
    Counter,
    /// Goes up and down.
    Gauge,
}

impl MetricKind {
    fn word(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        }
    }
}

/// One sample: its labels (name, value) and its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Labels, in the order they print.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// A metric family: a name, its kind and help text, and its samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricFamily {
    /// The metric's name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    pub name: String,
    /// Counter or gauge.
    #[serde(rename = "type")]
    pub kind: MetricKind,
    /// One line of help.
    pub help: String,
    /// The samples.
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    /// A family with no samples yet.
    pub fn new(name: impl Into<String>, kind: MetricKind, help: impl Into<String>) -> Self {
        MetricFamily {
            name: name.into(),
            kind,
            help: help.into(),
            samples: Vec::new(),
        }
    }

    /// Adds a sample with `labels`.
    pub fn with(mut self, labels: &[(&str, &str)], value: impl Into<f64>) -> Self {
        self.push(labels, value);
        self
    }

    /// Adds a sample with `labels`.
    pub fn push(&mut self, labels: &[(&str, &str)], value: impl Into<f64>) {
        self.samples.push(Sample {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value: value.into(),
        });
    }

    /// A family of one unlabelled sample.
    pub fn single(
        name: impl Into<String>,
        kind: MetricKind,
        help: impl Into<String>,
        value: impl Into<f64>,
    ) -> Self {
        MetricFamily::new(name, kind, help).with(&[], value)
    }
}

/// A target's answer to [`REQUEST`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsResponse {
    /// The target's families.
    pub families: Vec<MetricFamily>,
}

/// Whether `name` is a valid metric or label name.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Merges the families several targets answered with, in order: families of the same
/// name are joined (the first one's kind and help kept; samples of another kind are
/// left out and named in the returned notes); families with an invalid name are left
/// out and named too.
pub fn merge(parts: Vec<(String, Vec<MetricFamily>)>) -> (Vec<MetricFamily>, Vec<String>) {
    let mut out: Vec<MetricFamily> = Vec::new();
    let mut notes = Vec::new();
    for (target, families) in parts {
        for f in families {
            let labels_ok = f
                .samples
                .iter()
                .all(|s| s.labels.iter().all(|(k, _)| valid_name(k)));
            if !valid_name(&f.name) || !labels_ok {
                notes.push(format!("{target}: `{}` is not a valid metric", f.name));
                continue;
            }
            match out.iter_mut().find(|o| o.name == f.name) {
                Some(o) if o.kind == f.kind => o.samples.extend(f.samples),
                Some(o) => notes.push(format!(
                    "{target}: `{}` is a {} here but a {} already",
                    f.name,
                    f.kind.word(),
                    o.kind.word()
                )),
                None => out.push(f),
            }
        }
    }
    (out, notes)
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A value as the text format writes it: whole numbers without a fraction.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The families in the Prometheus text format (version 0.0.4).
pub fn render(families: &[MetricFamily]) -> String {
    let mut o = String::new();
    for f in families {
        let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(o, "# HELP {} {help}", f.name);
        let _ = writeln!(o, "# TYPE {} {}", f.name, f.kind.word());
        for s in &f.samples {
            o.push_str(&f.name);
            if !s.labels.is_empty() {
                o.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    let _ = write!(o, "{k}=\"{}\"", escape(v));
                }
                o.push('}');
            }
            let _ = writeln!(o, " {}", number(s.value));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_in_the_text_format() {
        let f = vec![
            MetricFamily::single("up", MetricKind::Gauge, "Whether it is up.", 1u32),
            MetricFamily::new("calls_total", MetricKind::Counter, "Calls.")
                .with(&[("helper", "ftp")], 14u32)
                .with(&[("helper", "a\"b\\c\nd"), ("kind", "x")], 0.5),
        ];
        assert_eq!(
            render(&f),
            "# HELP up Whether it is up.\n# TYPE up gauge\nup 1\n\
             # HELP calls_total Calls.\n# TYPE calls_total counter\n\
             calls_total{helper=\"ftp\"} 14\n\
             calls_total{helper=\"a\\\"b\\\\c\\nd\",kind=\"x\"} 0.5\n"
        );
    }

    #[test]
    fn merging_joins_families_and_names_conflicts() {
        let a = MetricFamily::new("x_total", MetricKind::Counter, "X.").with(&[("p", "a")], 1u32);
        let b =
            MetricFamily::new("x_total", MetricKind::Counter, "X again.").with(&[("p", "b")], 2u32);
        let c = MetricFamily::single("x_total", MetricKind::Gauge, "X as a gauge.", 3u32);
        let bad = MetricFamily::single("9lives", MetricKind::Gauge, "Bad.", 1u32);
        let (out, notes) = merge(vec![
            ("one".into(), vec![a]),
            ("two".into(), vec![b, c, bad]),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].help, "X.");
        assert_eq!(out[0].samples.len(), 2);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("two: `x_total` is a gauge here but a counter"));
        assert!(notes[1].contains("`9lives` is not a valid metric"));
    }

    #[test]
    fn responses_refuse_unknown_fields_naming_them() {
        let ok: MetricsResponse = serde_json::from_str(
            r#"{"families":[{"name":"a","type":"gauge","help":"A.","samples":[{"value":1}]}]}"#,
        )
        .unwrap();
        assert_eq!(ok.families[0].samples[0].value, 1.0);
        let err = serde_json::from_str::<MetricsResponse>(
            r#"{"families":[{"name":"a","type":"gauge","help":"A.","samples":[],"colour":1}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }
}
