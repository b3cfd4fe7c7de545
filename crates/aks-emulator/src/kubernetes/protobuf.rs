//! Just enough of the Kubernetes protobuf encoding to read what kubectl 1.32 posts (it sends
//! `application/vnd.kubernetes.protobuf` for `create rolebinding|clusterrolebinding|role|clusterrole` and for
//! `auth can-i`): the envelope is the magic `k8s\0` followed by a `runtime.Unknown`
//! (`kubernetes/apimachinery: pkg/runtime/generated.proto`: 1 typeMeta {1 apiVersion, 2 kind}, 2 raw,
//! 3 contentEncoding, 4 contentType), and `raw` is the object's message, read here with a small schema of field
//! numbers (the `protobuf:"bytes,N"` tags of `k8s.io/api`) into the JSON the API would have received.

use serde_json::{Map, Value, json};

/// How one field of a message becomes JSON.
pub(super) enum Field {
    /// A string.
    Text(&'static str),
    /// A repeated string.
    Texts(&'static str),
    /// A nested message.
    Message(&'static str, &'static Schema),
    /// A repeated nested message.
    Messages(&'static str, &'static Schema),
    /// A `map<string, string>` (repeated {1 key, 2 value}).
    StringMap(&'static str),
}

/// A message: its fields by number (fields not listed are skipped).
pub(super) type Schema = [(u64, Field)];

/// `metav1.ObjectMeta`: 1 name, 2 generateName, 3 namespace, 11 labels, 12 annotations.
pub(super) const OBJECT_META: &Schema = &[
    (1, Field::Text("name")),
    (2, Field::Text("generateName")),
    (3, Field::Text("namespace")),
    (11, Field::StringMap("labels")),
    (12, Field::StringMap("annotations")),
];

/// Whether the request body is Kubernetes protobuf.
pub(super) fn is_protobuf(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|value| value.starts_with("application/vnd.kubernetes.protobuf"))
}

/// Decode an enveloped object with `schema` into JSON carrying the envelope's `kind` and `apiVersion`.
pub(super) fn decode_object(body: &[u8], schema: &Schema) -> Result<Value, String> {
    let unknown = body
        .strip_prefix(b"k8s\0")
        .ok_or("the protobuf body does not start with the Kubernetes magic \"k8s\\0\"")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (number, value) in fields(unknown)? {
        match (number, value) {
            (1, Wire::Bytes(type_meta)) => {
                for (number, value) in fields(type_meta)? {
                    match (number, value) {
                        (1, Wire::Bytes(text)) => api_version = utf8(text)?,
                        (2, Wire::Bytes(text)) => kind = utf8(text)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(bytes)) => raw = bytes,
            _ => {}
        }
    }
    let mut object = message(raw, schema)?;
    object.insert("kind".into(), json!(kind));
    object.insert("apiVersion".into(), json!(api_version));
    Ok(Value::Object(object))
}

/// One field as it is on the wire.
enum Wire<'a> {
    Varint,
    Bytes(&'a [u8]),
    Fixed,
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a protobuf string is not UTF-8".to_string())
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or("truncated protobuf varint")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("overlong protobuf varint".into())
}

/// The fields of a message, in order.
fn fields(bytes: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let value = match key & 7 {
            0 => {
                varint(bytes, &mut at)?;
                Wire::Varint
            }
            1 | 5 => {
                at += if key & 7 == 1 { 8 } else { 4 };
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?).map_err(|_| "bad length")?;
                let end = at
                    .checked_add(len)
                    .filter(|end| *end <= bytes.len())
                    .ok_or("truncated protobuf field")?;
                let slice = &bytes[at..end];
                at = end;
                Wire::Bytes(slice)
            }
            other => return Err(format!("unsupported protobuf wire type {other}")),
        };
        out.push((key >> 3, value));
    }
    if at > bytes.len() {
        return Err("truncated protobuf field".into());
    }
    Ok(out)
}

/// Decode a message with `schema`; empty strings and lists are left out, as JSON's `omitempty` would.
fn message(bytes: &[u8], schema: &Schema) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (number, value) in fields(bytes)? {
        let Some((_, field)) = schema.iter().find(|(n, _)| *n == number) else {
            continue;
        };
        let Wire::Bytes(bytes) = value else {
            continue;
        };
        match field {
            Field::Text(name) => {
                let text = utf8(bytes)?;
                if !text.is_empty() {
                    out.insert(name.to_string(), json!(text));
                }
            }
            Field::Texts(name) => push(&mut out, name, json!(utf8(bytes)?)),
            Field::Message(name, inner) => {
                out.insert(name.to_string(), Value::Object(message(bytes, inner)?));
            }
            Field::Messages(name, inner) => {
                push(&mut out, name, Value::Object(message(bytes, inner)?))
            }
            Field::StringMap(name) => {
                let entry = message(bytes, &[(1, Field::Text("k")), (2, Field::Text("v"))])?;
                let key = entry.get("k").and_then(Value::as_str).unwrap_or_default();
                let value = entry.get("v").cloned().unwrap_or(json!(""));
                let map = out.entry(name.to_string()).or_insert_with(|| json!({}));
                map[key] = value;
            }
        }
    }
    Ok(out)
}

fn push(out: &mut Map<String, Value>, name: &str, value: Value) {
    if let Value::Array(items) = out.entry(name.to_string()).or_insert_with(|| json!([])) {
        items.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBJECT: &Schema = &[(1, Field::Text("kind")), (3, Field::Text("name"))];
    const BINDING: &Schema = &[
        (1, Field::Message("metadata", OBJECT_META)),
        (2, Field::Messages("subjects", SUBJECT)),
    ];

    #[test]
    fn an_enveloped_message_decodes_to_json() {
        // metadata {name "rb", namespace "ns", labels {a: b}}, subjects [{User u}, {Group g}]
        let metadata = b"\x0a\x02rb\x12\x00\x1a\x02ns\x5a\x06\x0a\x01a\x12\x01b";
        let mut raw = vec![0x0a, metadata.len() as u8];
        raw.extend_from_slice(metadata);
        raw.extend_from_slice(b"\x12\x09\x0a\x04User\x1a\x01u\x12\x0a\x0a\x05Group\x1a\x01g");
        let type_meta = b"\x0a\x02v1\x12\x0bRoleBinding";
        let mut body = b"k8s\0\x0a".to_vec();
        body.push(type_meta.len() as u8);
        body.extend_from_slice(type_meta);
        body.push(0x12);
        body.push(raw.len() as u8);
        body.extend_from_slice(&raw);
        assert_eq!(
            decode_object(&body, BINDING).unwrap(),
            json!({
                "kind": "RoleBinding", "apiVersion": "v1",
                "metadata": {"name": "rb", "namespace": "ns", "labels": {"a": "b"}},
                "subjects": [{"kind": "User", "name": "u"}, {"kind": "Group", "name": "g"}],
            })
        );
        assert!(decode_object(b"{}", BINDING).is_err());
        assert!(decode_object(b"k8s\0\x0a\x09\x0a", BINDING).is_err());
    }
}
