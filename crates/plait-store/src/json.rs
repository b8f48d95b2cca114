//! A JSON document kept as its text.
//!
//! Outputs travel from a task to the store (its completion, its cache entry) and from the
//! store back to a run (a reuse), and on most of those trips nothing looks inside them. As
//! text they are serialized once when a task finishes, and a reuse hands the stored text on
//! as it is, instead of parsing it into a tree and printing the tree again.

use serde::Serialize;
use serde_json::value::RawValue;

/// JSON text, checked to be one well-formed document (by `serde_json`'s `RawValue`, which
/// does not build it: see [`Json::to_value`] for what that lets through). Equality compares
/// the text: two documents equal as values but written differently (key order, spacing)
/// are not equal here.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Json(Box<RawValue>);

impl Json {
    /// Checks that `text` is JSON (cheaper than building its tree).
    pub fn parse(text: String) -> Result<Json, serde_json::Error> {
        RawValue::from_string(text).map(Json)
    }

    pub fn from_value(value: &serde_json::Value) -> Json {
        Json::serialize(value).expect("a JSON value prints as JSON")
    }

    /// Serializes `value` straight to text (no tree in between). Fails as serde_json does,
    /// for a map whose keys are not strings.
    pub fn serialize<T: Serialize + ?Sized>(value: &T) -> Result<Json, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Json)
    }

    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The document as a tree. Fails for the few documents [`Json::parse`] lets in that a
    /// tree cannot hold: numbers out of `f64`'s range, lone surrogate escapes, nesting
    /// deeper than 128.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Json {
        Json::from_value(&value)
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_round_trips_and_is_embedded_as_is() {
        let value = json!({"a": [1, 2.5, "x\"y"], "b": null});
        let kept = Json::from_value(&value);
        assert_eq!(kept.to_value().unwrap(), value);
        let embedded = serde_json::to_string(&json!({"outputs": value})).unwrap();
        #[derive(Serialize)]
        struct Line<'a> {
            outputs: &'a Json,
        }
        assert_eq!(
            serde_json::to_string(&Line { outputs: &kept }).unwrap(),
            embedded
        );
    }

    #[test]
    fn text_that_is_not_json_is_refused() {
        assert!(Json::parse("{\"a\":".to_owned()).is_err());
        assert!(Json::parse("{} trailing".to_owned()).is_err());
        assert_eq!(
            Json::parse(" [1] ".to_owned()).unwrap().to_value().unwrap(),
            json!([1])
        );
        // Well-formed, so kept, but no tree holds it: reading it fails rather than guess.
        assert!(
            Json::parse("{\"x\":1e400}".to_owned())
                .unwrap()
                .to_value()
                .is_err()
        );
    }
}
