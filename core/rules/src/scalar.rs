//! Flexible serde leaves for the config: a [`Scalar`] (a number or a string, as YAML
//! users write `dport: 80` and `dport: "8000-8100"` side by side) and [`OneOrMany`]
//! (one value or a list of them). Both report type errors through the deserializer, so
//! the field path and, for YAML files, the line and column stay attached.

use serde::de::value::{
    BoolDeserializer, F64Deserializer, I64Deserializer, MapAccessDeserializer, StrDeserializer,
    U64Deserializer,
};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A number or a string, as written in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// A non-negative integer.
    Num(u64),
    /// Text, parsed later by the field that holds it.
    Str(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Num(n) => write!(f, "{n}"),
            Scalar::Str(s) => write!(f, "{s:?}"),
        }
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a string")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        u64::try_from(v)
            .map(Scalar::Num)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// One value, or a list of values (`ct_state: new` or `ct_state: [new, related]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> OneOrMany<T> {
    /// The values, in order.
    pub fn items(&self) -> &[T] {
        &self.0
    }
}

struct OneOrManyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or a list of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(OneOrMany(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|v| OneOrMany(vec![v]))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        T::deserialize(StrDeserializer::<E>::new(v)).map(|v| OneOrMany(vec![v]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::deserialize(U64Deserializer::<E>::new(v)).map(|v| OneOrMany(vec![v]))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::deserialize(I64Deserializer::<E>::new(v)).map(|v| OneOrMany(vec![v]))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::deserialize(F64Deserializer::<E>::new(v)).map(|v| OneOrMany(vec![v]))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        T::deserialize(BoolDeserializer::<E>::new(v)).map(|v| OneOrMany(vec![v]))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrManyVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_and_lists_from_json() {
        let v: OneOrMany<Scalar> = serde_json::from_str(r#"[21, "8000-8100"]"#).unwrap();
        assert_eq!(
            v.items(),
            [Scalar::Num(21), Scalar::Str("8000-8100".into())]
        );
        let v: OneOrMany<Scalar> = serde_json::from_str("80").unwrap();
        assert_eq!(v.items(), [Scalar::Num(80)]);
        let v: OneOrMany<u32> = serde_json::from_str("3").unwrap();
        assert_eq!(v.items(), [3]);
        assert!(serde_json::from_str::<Scalar>("-1").is_err());
        assert!(serde_json::from_str::<Scalar>("1.5").is_err());
        assert!(serde_json::from_str::<Scalar>("true").is_err());
        assert!(serde_json::from_str::<OneOrMany<u32>>(r#""x""#).is_err());
    }

    #[test]
    fn yaml_hex_is_a_number() {
        let v: Scalar = serde_yaml_ng::from_str("0x20").unwrap();
        assert_eq!(v, Scalar::Num(32));
    }
}
