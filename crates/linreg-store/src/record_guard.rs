//! Checks on a Burn record file before Burn decodes it.
//!
//! Burn's recorder turns each tensor item (`{bytes, shape, dtype}`) into a tensor without
//! checking that the bytes fit the shape, and an `LrModel` loaded from a record of another
//! shape fails only later, inside a matrix product. A record file may come from anywhere, so
//! linreg first reads its structure (MessagePack, through `rmp-serde`, keeping only the lengths
//! of byte strings) and checks every tensor against the model's shape: the model's two
//! parameters, and the optimizer's state, which must belong to those parameters and have
//! their shapes.

use std::fmt;

use linreg_model::LrModelConfig;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Deepest nesting read (a model record is 5 levels deep, an optimizer record about 8).
const MAX_DEPTH: usize = 32;

/// The structure of a MessagePack document; byte strings keep only their length.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Nil.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A byte string, by its length.
    Bytes(usize),
    /// An array.
    Seq(Vec<Node>),
    /// A map, in file order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value under string key `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Node::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct Seed(usize);

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        if self.0 > MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "nested more than {MAX_DEPTH} levels deep"
            )));
        }
        d.deserialize_any(NodeVisitor(self.0))
    }
}

struct NodeVisitor(usize);

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MessagePack value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Nil)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Seed(self.0 + 1).deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Bytes(v.len()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        // Grown as read, never from the declared length.
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Seed(self.0 + 1))? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key_seed(Seed(self.0 + 1))? {
            let v = map.next_value_seed(Seed(self.0 + 1))?;
            entries.push((k, v));
        }
        Ok(Node::Map(entries))
    }
}

/// Reads the structure of a MessagePack document.
pub fn parse(bytes: &[u8]) -> Result<Node, String> {
    let mut d = rmp_serde::Deserializer::from_read_ref(bytes);
    Seed(0)
        .deserialize(&mut d)
        .map_err(|e| format!("is not a Burn record ({e})"))
}

/// Whether Burn can read `id` as a parameter id. Burn's `ParamId::deserialize` panics on one
/// it cannot read, and slices out of bounds on a base-32 text longer than 8 bytes, so only the
/// two forms Burn writes are let through: 13 characters of base-32 (8 bytes), or a UUID.
fn readable_id(id: &str) -> bool {
    let base32 = id.len() == 13 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'v'));
    let uuid = id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    (base32 || uuid) && burn::module::ParamId::try_deserialize(id).is_some()
}

/// A tensor item's shape, after checking that its bytes fit it.
fn tensor(node: &Node, what: &str) -> Result<Vec<usize>, String> {
    let bad = |why: &str| format!("holds a {what} that is not a valid tensor ({why})");
    let shape: Vec<usize> = match node.get("shape") {
        Some(Node::Seq(dims)) => dims
            .iter()
            .map(|d| match d {
                Node::Int(v) => usize::try_from(*v).ok(),
                _ => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(|| bad("its shape is not a list of sizes"))?,
        _ => return Err(bad("no shape")),
    };
    let size = match node.get("dtype").and_then(Node::as_str) {
        Some("F32") => 4,
        Some("F64") => 8,
        _ => return Err(bad("not a float32 or float64 tensor")),
    };
    let len = match node.get("bytes") {
        Some(Node::Bytes(n)) => *n,
        Some(Node::Seq(v)) => v.len(),
        _ => return Err(bad("no bytes")),
    };
    let needed = shape
        .iter()
        .try_fold(size, |n: usize, &d| n.checked_mul(d))
        .ok_or_else(|| bad("its shape overflows"))?;
    if needed != len {
        return Err(bad(&format!(
            "its shape {shape:?} needs {needed} bytes, it has {len}"
        )));
    }
    Ok(shape)
}

/// Checks a model record (`model.mpk`) against the model's shape; returns each parameter's id
/// and Burn shape (`[in, out]` for the weight, `[out]` for the bias).
pub fn check_model(
    bytes: &[u8],
    shape: &LrModelConfig,
) -> Result<Vec<(String, Vec<usize>)>, String> {
    let root = parse(bytes)?;
    let linear = root
        .get("item")
        .and_then(|i| i.get("linear"))
        .ok_or("is not an LrModel record (no item.linear)")?;
    let mut params = Vec::new();
    let expected = [
        ("weight", Some(vec![shape.d_input, shape.d_output])),
        ("bias", shape.bias.then(|| vec![shape.d_output])),
    ];
    for (name, want) in expected {
        let node = linear.get(name);
        match (node, want) {
            (None | Some(Node::Nil), None) => {}
            (Some(p), Some(want)) if !matches!(p, Node::Nil) => {
                let id = p
                    .get("id")
                    .and_then(Node::as_str)
                    .filter(|s| readable_id(s))
                    .ok_or_else(|| format!("holds a {name} without a valid parameter id"))?;
                let got = tensor(
                    p.get("param").ok_or(format!("holds no {name} tensor"))?,
                    name,
                )?;
                if got != want {
                    return Err(format!(
                        "holds a {name} of shape {got:?}, but the model's is {want:?}"
                    ));
                }
                params.push((id.to_string(), want));
            }
            (_, want) => {
                return Err(format!(
                    "{} a {name}, but the model {} one",
                    if want.is_some() { "lacks" } else { "holds" },
                    if want.is_some() { "has" } else { "has no" }
                ))
            }
        }
    }
    Ok(params)
}

/// Checks an optimizer record (`optimizer.mpk`): each entry belongs to one of `params` (id,
/// Burn shape), records a state of that parameter's rank, and every tensor in it has the
/// parameter's shape.
pub fn check_optimizer(bytes: &[u8], params: &[(String, Vec<usize>)]) -> Result<(), String> {
    let root = parse(bytes)?;
    let entries = match root.get("item") {
        Some(Node::Map(entries)) => entries,
        _ => return Err("is not an optimizer record (no item map)".into()),
    };
    for (key, value) in entries {
        let id = key.as_str().ok_or("has an entry without a parameter id")?;
        let (_, shape) = params
            .iter()
            .find(|(p, _)| p == id)
            .ok_or_else(|| format!("holds state for a parameter {id:?} the model does not have"))?;
        let rank_key = format!("Rank{}", shape.len());
        let state = value
            .get("V1")
            .and_then(|v| v.get(&rank_key))
            .ok_or_else(|| {
                format!(
                    "holds state for {id:?} that is not of the parameter's rank {}",
                    shape.len()
                )
            })?;
        let mut tensors = Vec::new();
        collect_tensors(state, &mut tensors);
        for t in tensors {
            let got = tensor(t, "state tensor")?;
            if &got != shape {
                return Err(format!(
                    "holds state of shape {got:?} for a parameter of shape {shape:?}"
                ));
            }
        }
    }
    Ok(())
}

/// Every map that looks like a tensor item (it has `bytes` and `shape`).
fn collect_tensors<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    match node {
        Node::Map(entries) => {
            if node.get("bytes").is_some() || node.get("shape").is_some() {
                out.push(node);
            } else {
                for (_, v) in entries {
                    collect_tensors(v, out);
                }
            }
        }
        Node::Seq(items) => items.iter().for_each(|i| collect_tensors(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_burn_cannot_read_are_refused_before_burn_panics_on_them() {
        // Fuzzing found both: a text that is not base-32 ("Invalid id." panic) and one that
        // decodes to more than 8 bytes (a slice out of bounds in `try_deserialize`).
        for id in ["zzzzzzzzzzzzz", "0123456789abcdefghij", "", "0123456789ab"] {
            assert!(!readable_id(id), "{id}");
        }
        let written = burn::module::ParamId::from(123_456_789).serialize();
        assert!(readable_id(&written), "{written}");
        assert!(readable_id("67e55044-10b1-426f-9247-bb680e5fe0c8"));
    }
}
