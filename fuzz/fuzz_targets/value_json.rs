//! The decoders of untrusted text into a plait `Value`, in plait-core: `value_from_json`
//! (a command's stdout, once parsed as JSON) and `parse_text` (`plait run --set NAME=VALUE`).
//!
//! The first byte picks the port's type, the rest is the text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use plait_core::{Value, ValueType};

/// Every scalar type, and lists (built on first use: a list's element type is behind an `Arc`).
static TYPES: std::sync::LazyLock<[ValueType; 9]> = std::sync::LazyLock::new(|| {
    [
        "string",
        "int",
        "float",
        "bool",
        "json",
        "file",
        "list<string>",
        "list<int>",
        "list<list<bool>>",
    ]
    .map(|name| ValueType::from_name(name).expect("a type name"))
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let ty = &TYPES[usize::from(selector) % TYPES.len()];
    let from_json = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .map(|json| check_from_json(ty, &json));
    check_parse_text(ty, text, from_json);
});

/// A decoded value has the port's type, keeps the JSON it came from, and decodes again from
/// its own JSON form to the same value. A mismatch names the port's type; a `json` port takes
/// any document.
fn check_from_json(ty: &ValueType, json: &serde_json::Value) -> Option<Value> {
    let value = match ty.value_from_json(json) {
        Ok(value) => value,
        Err(mismatch) => {
            // A list's bad element names its own type, at its index.
            if mismatch.at.is_empty() {
                assert_eq!(mismatch.expected, *ty);
            }
            assert_ne!(
                *ty,
                ValueType::Json,
                "a json port takes any document: {json}"
            );
            return None;
        }
    };
    assert_eq!(value.value_type(), *ty, "{json}");
    let form = value.to_json();
    match ty {
        // An integer is accepted where a float is expected, and comes back as a float.
        ValueType::Float => assert_eq!(form.as_f64(), json.as_f64(), "{json}"),
        _ => assert_eq!(form, *json),
    }
    assert_eq!(ty.value_from_json(&form).as_ref(), Ok(&value), "{json}");
    Some(value)
}

/// A value given as text has the port's type and survives its own text form (what `{name}`
/// placeholders get), except a float that is not finite: JSON has no such number, and its
/// form is `null`. A `json` value given as text is the one the JSON decoder gives.
fn check_parse_text(ty: &ValueType, text: &str, from_json: Option<Option<Value>>) {
    let parsed = ty.parse_text(text);
    if *ty == ValueType::Json {
        assert_eq!(parsed.ok(), from_json.flatten(), "{text:?}");
        return;
    }
    let Ok(value) = parsed else {
        return;
    };
    assert_eq!(value.value_type(), *ty, "{text:?}");
    if value.as_float().is_some_and(|x| !x.is_finite()) {
        return;
    }
    assert_eq!(
        ty.parse_text(&value.to_text()).as_ref(),
        Ok(&value),
        "{text:?} as {}",
        value.to_text()
    );
}
