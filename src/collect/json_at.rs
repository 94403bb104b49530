//! The value at an RFC 6901 JSON Pointer, found while the answer is parsed: everything
//! off the path is skipped as it streams by, so an answer costs its bytes and the depth
//! of the path, not a tree (8 MiB of `[0,0,…]` as a `serde_json::Value` is ~150 MB).
//! Answers as `Value::pointer` does, duplicate keys included (the last one wins).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What the pointer found; containers are only named, never kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Missing,
    Null,
    Bool,
    Number(f64),
    Text(String),
    Array,
    Object,
}

/// The pointer's reference tokens (`~1` is `/`, `~0` is `~`); `""` is the whole answer.
pub fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The value at `path` (from `tokens`) in the JSON text `text`.
pub fn find(text: &str, path: &[String]) -> Result<Found, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let found = At { path }.deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

struct At<'p> {
    path: &'p [String],
}

impl At<'_> {
    fn leaf(&self, found: Found) -> Found {
        if self.path.is_empty() {
            found
        } else {
            Found::Missing
        }
    }
}

impl<'de> DeserializeSeed<'de> for At<'_> {
    type Value = Found;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for At<'_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<Found, E> {
        Ok(self.leaf(Found::Null))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Found, E> {
        Ok(self.leaf(Found::Bool))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Found, E> {
        Ok(self.leaf(Found::Number(v as f64)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Found, E> {
        Ok(self.leaf(Found::Number(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Found, E> {
        Ok(self.leaf(Found::Number(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Found, E> {
        Ok(if self.path.is_empty() {
            Found::Text(v.to_string())
        } else {
            Found::Missing
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        // RFC 6901: an index is digits without a leading zero (`-` names no element).
        let index = self.path.first().and_then(|t| {
            let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            (digits && (t == "0" || !t.starts_with('0')))
                .then(|| t.parse::<usize>().ok())
                .flatten()
        });
        let mut found = self.leaf(Found::Array);
        let mut i = 0usize;
        loop {
            if Some(i) == index {
                match seq.next_element_seed(At {
                    path: &self.path[1..],
                })? {
                    Some(f) => found = f,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let mut found = self.leaf(Found::Object);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.path.first().is_some_and(|t| *t == key) {
                found = map.next_value_seed(At {
                    path: &self.path[1..],
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same answers as serde_json's tree and its `pointer`.
    #[test]
    fn agrees_with_value_pointer() {
        let doc = r#"{"a":{"b":[10,{"c":"7"},null,true]},"x~y/z":3,"":4,"d":1,"d":2,"big":18446744073709551615}"#;
        let tree: serde_json::Value = serde_json::from_str(doc).unwrap();
        for p in [
            "", "/a", "/a/b", "/a/b/0", "/a/b/1/c", "/a/b/2", "/a/b/3", "/a/b/4", "/a/b/01",
            "/a/b/-", "/x~0y~1z", "/", "/d", "/big", "/nope", "/a/b/0/x",
        ] {
            let want = match tree.pointer(p) {
                None => Found::Missing,
                Some(serde_json::Value::Null) => Found::Null,
                Some(serde_json::Value::Bool(_)) => Found::Bool,
                Some(serde_json::Value::Number(n)) => Found::Number(n.as_f64().unwrap()),
                Some(serde_json::Value::String(s)) => Found::Text(s.clone()),
                Some(serde_json::Value::Array(_)) => Found::Array,
                Some(serde_json::Value::Object(_)) => Found::Object,
            };
            assert_eq!(find(doc, &tokens(p)).unwrap(), want, "{p}");
        }
        assert!(find("[1,", &[]).is_err());
        assert!(find("1 2", &[]).is_err());
    }
}
