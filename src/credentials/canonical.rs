//! Canonical JSON (RFC 8785, JSON Canonicalization Scheme) of the documents Laurel hashes.
//!
//! Members are sorted by the UTF-16 code units of their names, no whitespace is written, strings are
//! escaped minimally and numbers are written as ECMAScript does. Laurel's documents hold integers only;
//! other numbers are written in their shortest round-trip form, which matches ECMAScript for the
//! magnitudes JSON documents carry (1e-6 ≤ |x| < 1e21).

use serde_json::Value;

/// The canonical text of `value`.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(0.0)) => out.push('0'),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => {
                out.push_str(&format!("{f:.0}"))
            }
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (k, (name, item)) in sorted.into_iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                string(name, out);
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
    }
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::canonical;
    use serde_json::json;

    #[test]
    fn sorts_by_utf16_and_escapes_minimally() {
        // U+FF21 sorts after U+1F600 in UTF-16 (0xD83D < 0xFF21) though not in UTF-8.
        let v = json!({"b": [1, "x\"\\\n\u{1}é/"], "a": {"\u{ff21}": 1, "\u{1f600}": 2}, "c": null, "d": true});
        assert_eq!(
            canonical(&v),
            "{\"a\":{\"\u{1f600}\":2,\"\u{ff21}\":1},\"b\":[1,\"x\\\"\\\\\\n\\u0001é/\"],\"c\":null,\"d\":true}"
        );
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the RFC's own literal
    fn rfc8785_numbers() {
        // From RFC 8785 §3.2.2.3: integral values print without a fraction or exponent.
        assert_eq!(
            canonical(&json!([1.0, -0.0, 1e20, 333333333.33333329])),
            "[1,0,100000000000000000000,333333333.3333333]"
        );
    }
}
