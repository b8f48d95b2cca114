//! A key's components (what `plait explain` reads) written as JSON text straight into one
//! buffer.
//!
//! Every executed task records them, and building them as a `serde` struct cost more CPU
//! than executing a small task: a `String` per input for its hash and one (a `format!`) for
//! its source, a `Vec` of inputs, then the struct printed. Here each part is written where
//! it goes: a hash from a stack buffer, a source name escaped as it is formatted. The
//! shape is the plain definition in this module's tests, which check the two agree.

use super::key::hex;

/// One input of a key: its port's name, its value's hash, where it came from (the pieces
/// of its name, written one after the other) and, for a `file`, its content's hash (hex).
pub(super) struct Input<'a> {
    pub(super) name: &'a str,
    pub(super) hash: &'a [u8; 16],
    pub(super) from: [&'a str; 4],
    pub(super) content: Option<&'a str>,
}

/// What went into a key: the JSON object `plait explain` reads.
pub(super) struct Components<'a> {
    pub(super) task: &'a str,
    pub(super) version: Option<&'a str>,
    pub(super) code: &'a str,
    pub(super) program: Option<&'a str>,
    pub(super) not_reused: Option<&'a str>,
}

impl Components<'_> {
    pub(super) fn write<'i>(&self, inputs: impl ExactSizeIterator<Item = Input<'i>>) -> String {
        let strings = [self.task, self.version.unwrap_or(""), self.code];
        let guess = 160 + strings.iter().map(|s| s.len()).sum::<usize>() + inputs.len() * 112;
        let mut out = Vec::with_capacity(guess);
        out.extend_from_slice(b"{\"task\":");
        string(&mut out, self.task);
        out.extend_from_slice(b",\"version\":");
        match self.version {
            Some(version) => string(&mut out, version),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"code\":");
        string(&mut out, self.code);
        if let Some(program) = self.program {
            out.extend_from_slice(b",\"program\":");
            string(&mut out, program);
        }
        out.extend_from_slice(b",\"inputs\":{");
        for (idx, input) in inputs.enumerate() {
            if idx > 0 {
                out.push(b',');
            }
            string(&mut out, input.name);
            out.extend_from_slice(b":{\"hash\":\"");
            out.extend_from_slice(hex(input.hash, &mut [0; 32]).as_bytes());
            out.extend_from_slice(b"\",\"from\":");
            out.push(b'"');
            for piece in input.from {
                contents(&mut out, piece);
            }
            out.push(b'"');
            if let Some(content) = input.content {
                out.extend_from_slice(b",\"content\":");
                string(&mut out, content);
            }
            out.push(b'}');
        }
        out.push(b'}');
        if let Some(why) = self.not_reused {
            out.extend_from_slice(b",\"not_reused\":");
            string(&mut out, why);
        }
        out.push(b'}');
        String::from_utf8(out).expect("JSON text from strings is UTF-8")
    }
}

/// `text` as a JSON string.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    contents(out, text);
    out.push(b'"');
}

/// `text` escaped as the inside of a JSON string. What needs escaping is rare in these
/// names, so it is looked for first (over every byte, without stopping early, which the
/// compiler turns into vector instructions), and most text is copied as it is.
fn contents(out: &mut Vec<u8>, text: &str) {
    let escaped = text.bytes().fold(false, |found, b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if escaped {
        let quoted = serde_json::to_string(text).expect("a string prints as JSON");
        out.extend_from_slice(&quoted.as_bytes()[1..quoted.len() - 1]);
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The components' plain definition.
    #[derive(serde::Serialize)]
    struct Plain<'a> {
        task: &'a str,
        version: Option<&'a str>,
        code: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        program: Option<&'a str>,
        #[serde(serialize_with = "as_map")]
        inputs: Vec<(&'a str, PlainInput)>,
        #[serde(skip_serializing_if = "Option::is_none")]
        not_reused: Option<&'a str>,
    }

    #[derive(serde::Serialize)]
    struct PlainInput {
        hash: String,
        from: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<&'static str>,
    }

    fn as_map<S: serde::Serializer>(
        entries: &[(&str, PlainInput)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(entries.iter().map(|(name, input)| (name, input)))
    }

    #[test]
    fn written_components_are_the_plain_definition() {
        let hashes = [[0xab; 16], [0x01; 16]];
        let inputs = [
            ("a", ["input ", "x", "", ""], None),
            ("b\"q\u{1}", ["up", ".", "stre\\am", ""], Some("c0ffee")),
        ];
        for n_inputs in 0..=2 {
            for version in [None, Some("2")] {
                for program in [None, Some("0123")] {
                    for not_reused in [None, Some("caching was off for the run")] {
                        let components = Components {
                            task: "w.t",
                            version,
                            code: "plait::Code<\"x\">\n",
                            program,
                            not_reused,
                        };
                        let written = components.write(inputs[..n_inputs].iter().zip(&hashes).map(
                            |(&(name, from, content), hash)| Input {
                                name,
                                hash,
                                from,
                                content,
                            },
                        ));
                        let plain = Plain {
                            task: components.task,
                            version,
                            code: components.code,
                            program,
                            inputs: inputs[..n_inputs]
                                .iter()
                                .zip(&hashes)
                                .map(|(&(name, from, content), hash)| {
                                    let hash = hex(hash, &mut [0; 32]).to_owned();
                                    let from = from.concat();
                                    (
                                        name,
                                        PlainInput {
                                            hash,
                                            from,
                                            content,
                                        },
                                    )
                                })
                                .collect(),
                            not_reused,
                        };
                        assert_eq!(written, serde_json::to_string(&plain).unwrap());
                    }
                }
            }
        }
    }
}
