//! Every example runs with its defaults alone, and writes only where its inputs say.

use crate::support::{Scratch, copy_dir, list, plait, repo_root};

const EXAMPLES: [(&str, &str); 5] = [
    ("image-pipeline", "out"),
    // After image-pipeline: its commands use image-pipeline's awk, from the copy beside it.
    ("thumbnails", "out"),
    ("provisioning", "state"),
    ("fan-out-analysis", "out"),
    ("nested-retry", "state"),
];

#[test]
fn every_example_succeeds_with_its_defaults() {
    // A copy, so the defaults' `out/` and `state/` land in a temporary directory, not in the
    // repository; and from another working directory, as commands run in the file's.
    let scratch = Scratch::new();
    for (name, written) in EXAMPLES {
        let copy = scratch.join(name);
        copy_dir(&repo_root().join("examples").join(name), &copy);
        let before = list(&copy);
        assert!(
            !before.contains(&written.to_owned()),
            "{name} ships no `{written}/`"
        );
        let file = copy.join("workflow.toml");
        let run = plait(&scratch.path(), &["run", file.to_str().unwrap(), "--json"]);
        let report = run.expect_code(0).json();
        assert_eq!(report.status(), "succeeded", "{name}");
        // What it wrote is under the one directory its defaults name.
        let mut after = list(&copy);
        after.retain(|entry| !before.contains(entry));
        assert_eq!(after, [written], "{name}");
        // Besides the copies, only the store of the runs (`.plait/`, in the working directory).
        assert!(
            list(&scratch.path())
                .iter()
                .all(|entry| entry == ".plait" || EXAMPLES.iter().any(|(n, _)| n == entry))
        );
    }
}

#[test]
fn the_repository_ignores_what_the_examples_write_by_default() {
    let ignore = std::fs::read_to_string(repo_root().join("examples/.gitignore")).unwrap();
    for written in ["/*/out/", "/*/state/"] {
        assert!(ignore.lines().any(|line| line == written), "{written}");
    }
}
