//! Prometheus's `/api/v1/query` answer, read while it is parsed: a vector keeps its
//! first value, a running sum and max, and (with `machine-label`) one compact
//! (Machine ID, value) pair per labelled series; every other label is skipped as it
//! streams by. 100,000 series cost a few MB, not a tree of label maps.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The most per-Machine values one answer may carry: far above the Machines of one
/// app, so more means the query lacks its app filter.
pub const MAX_MACHINES: usize = 10_000;

/// What fas needs of an answer.
#[derive(Debug, Default)]
pub struct Answer {
    pub status: String,
    pub error_type: String,
    pub error: String,
    pub warnings: Vec<String>,
    pub result_type: String,
    /// The value of a scalar, or of a vector's first series.
    pub first: Option<f64>,
    /// Series in a vector (or matrix), and their sum and max.
    pub series: usize,
    pub sum: f64,
    pub max: f64,
    /// (Machine ID, value) of each series carrying `machine-label`.
    pub machines: Vec<(String, f64)>,
    /// More series carried the label than `MAX_MACHINES`.
    pub too_many_machines: bool,
}

/// Parses `text`, keeping per-Machine values for `label` (none when empty).
pub fn parse(text: &str, label: &str) -> Result<Answer, serde_json::Error> {
    let mut answer = Answer {
        max: f64::NEG_INFINITY,
        ..Answer::default()
    };
    let mut de = serde_json::Deserializer::from_str(text);
    Top {
        answer: &mut answer,
        label,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(answer)
}

fn value_of(text: &str) -> f64 {
    super::parse_value(text).unwrap_or(f64::NAN)
}

/// The top object, and `data` inside it (same walk: keys at either level).
struct Top<'a> {
    answer: &'a mut Answer,
    label: &'a str,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus answer object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let a = &mut *self.answer;
            match key.as_ref() {
                "status" => a.status = map.next_value()?,
                "errorType" => a.error_type = map.next_value()?,
                "error" => a.error = map.next_value()?,
                "resultType" => a.result_type = map.next_value()?,
                "warnings" => {
                    a.warnings = map.next_value::<Option<Vec<String>>>()?.unwrap_or_default()
                }
                "data" => map.next_value_seed(Top {
                    answer: a,
                    label: self.label,
                })?,
                "result" => map.next_value_seed(Results {
                    answer: a,
                    label: self.label,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `result`: a list of series (vector, matrix) or `[time, "value"]` (scalar, string).
struct Results<'a> {
    answer: &'a mut Answer,
    label: &'a str,
}

impl<'de> DeserializeSeed<'de> for Results<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Results<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a result list")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let a = self.answer;
        while let Some(item) = seq.next_element_seed(ItemSeed { label: self.label })? {
            match item {
                // A scalar's `[time, "value"]`: the time comes first, then the value.
                Item::Time => {}
                Item::Text(t) => a.first = Some(value_of(&t)),
                Item::Series { id, value } => {
                    if a.series == 0 {
                        a.first = Some(value);
                    }
                    a.series += 1;
                    a.sum += value;
                    a.max = a.max.max(value);
                    if let Some(id) = id {
                        if a.machines.len() < MAX_MACHINES {
                            a.machines.push((id, value));
                        } else {
                            a.too_many_machines = true;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// One element of `result`.
enum Item {
    Time,
    Text(String),
    Series { id: Option<String>, value: f64 },
}

struct ItemSeed<'a> {
    label: &'a str,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Item;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series or a sample")
    }
    fn visit_f64<E>(self, _: f64) -> Result<Item, E> {
        Ok(Item::Time)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Item, E> {
        Ok(Item::Time)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Item, E> {
        Ok(Item::Time)
    }
    fn visit_str<E>(self, v: &str) -> Result<Item, E> {
        Ok(Item::Text(v.to_string()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let (mut id, mut value) = (None, f64::NAN);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "metric" => id = map.next_value_seed(Label(self.label))?,
                "value" => value = value_of(&map.next_value::<(IgnoredAny, String)>()?.1),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Item::Series { id, value })
    }
}

/// A series' labels: only `machine-label`'s value is kept.
struct Label<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Label<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Label<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a label set")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let mut id = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !self.0.is_empty() && key == self.0 {
                id = Some(map.next_value::<String>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_scalars_and_labels() {
        let v = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"m1","job":"w"},"value":[1.5,"3"]},
            {"metric":{"job":"w"},"value":[1.5,"NaN"]},
            {"metric":{"instance":"m2"},"value":[1.5,"+Inf"]}]},"warnings":["w1"]}"#;
        let a = parse(v, "instance").unwrap();
        assert_eq!(
            (a.status.as_str(), a.result_type.as_str()),
            ("success", "vector")
        );
        assert_eq!((a.first, a.series, a.warnings.len()), (Some(3.0), 3, 1));
        assert_eq!(a.machines.len(), 2);
        assert_eq!(a.machines[1], ("m2".to_string(), f64::INFINITY));
        assert!(parse(v, "").unwrap().machines.is_empty());
        let s = parse(
            r#"{"status":"success","data":{"result":[1.5,"42"],"resultType":"scalar"}}"#,
            "",
        )
        .unwrap();
        assert_eq!(
            (s.first, s.series, s.result_type.as_str()),
            (Some(42.0), 0, "scalar")
        );
        let e = parse(
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
            "",
        )
        .unwrap();
        assert_eq!(
            (e.error_type.as_str(), e.error.as_str()),
            ("bad_data", "parse error")
        );
        let m = parse(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}"#,
            "",
        )
        .unwrap();
        assert_eq!(m.result_type, "matrix");
        assert!(parse("not json", "").is_err());
    }
}
