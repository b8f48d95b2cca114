//! `examples/thumbnails`: one item per picture through `for_each`, each thumbnail checked pixel
//! by pixel, the index in the pictures' order, and a changed picture running its item alone.

use std::path::{Path, PathBuf};

use expect_test::expect;
use serde_json::json;

use super::pnm::{Pnm, assert_make_sh_draws};
use crate::support::{Report, Scratch, copy_dir, list, normalize, repo_root, run_example};

const EXAMPLE: &str = "thumbnails";
const PICTURES: [&str; 4] = ["comet.ppm", "flag.ppm", "tree.ppm", "waves.ppm"];

fn pictures() -> PathBuf {
    repo_root().join("examples/thumbnails/images")
}

#[test]
fn each_picture_gets_a_smaller_thumbnail_and_the_index_lists_them_in_order() {
    let scratch = Scratch::new();
    let out_dir = scratch.join("out");
    let set_out = format!("out_dir={}", out_dir.display());
    let report = run_example(EXAMPLE, &["--json", "--set", &set_out])
        .expect_code(0)
        .json();
    assert_eq!(report.status(), "succeeded");
    for task in ["list", "thumbnail", "index"] {
        assert_eq!(report.state(task), "succeeded", "{task}");
    }
    let thumbs = out_dir.join("thumbs");
    let expected: Vec<String> = PICTURES
        .iter()
        .map(|picture| thumbs.join(picture).display().to_string())
        .collect();
    assert_eq!(report.output("thumbnail"), &json!(expected));
    assert_eq!(
        report.output("index"),
        &json!(out_dir.join("index.md").display().to_string())
    );
    assert_eq!(list(&out_dir), ["index.md", "thumbs"]);
    assert_eq!(list(&thumbs), PICTURES);

    let mut rows = String::new();
    for (i, picture) in PICTURES.iter().enumerate() {
        let item = format!("thumbnail[{i}]");
        assert_eq!(report.state(&item), "succeeded", "{item}");
        assert_eq!(report.attempts(&item), 1, "{item}");

        let original = Pnm::read(&pictures().join(picture));
        let thumbnail = Pnm::read(&thumbs.join(picture));
        assert_eq!(
            (thumbnail.magic.as_str(), thumbnail.max),
            ("P3", 255),
            "{picture}"
        );
        assert_eq!(
            (thumbnail.width, thumbnail.height),
            (original.width.div_ceil(4), original.height.div_ceil(4)),
            "{picture}"
        );
        for y in 0..thumbnail.height {
            for x in 0..thumbnail.width {
                assert_eq!(
                    thumbnail.pixel(x, y),
                    box_average(&original, 4, x, y),
                    "{picture} ({x}, {y})"
                );
            }
        }
        let bytes = |path: &Path| std::fs::metadata(path).unwrap().len();
        let (original_bytes, thumbnail_bytes) = (
            bytes(&pictures().join(picture)),
            bytes(&thumbs.join(picture)),
        );
        assert!(thumbnail_bytes * 10 < original_bytes, "{picture}");
        rows.push_str(&format!(
            "| {} | {picture} | {}x{} | {original_bytes} | thumbs/{picture} | {}x{} | {thumbnail_bytes} |\n",
            i + 1,
            original.width,
            original.height,
            thumbnail.width,
            thumbnail.height,
        ));
    }
    let index = std::fs::read_to_string(out_dir.join("index.md")).unwrap();
    assert_eq!(
        index,
        format!(
            "# Thumbnails\n\n\
             | # | picture | pixels | bytes | thumbnail | pixels | bytes |\n\
             |---|---------|--------|-------|-----------|--------|-------|\n\
             {rows}"
        )
    );
}

#[test]
fn the_shipped_pictures_are_what_make_sh_draws() {
    assert_make_sh_draws(EXAMPLE, &PICTURES);
}

/// The thumbnail's pixel (x, y): the rounded average of the picture's `factor` x `factor`
/// block there, cut at the picture's right and bottom edges.
fn box_average(picture: &Pnm, factor: usize, x: usize, y: usize) -> Vec<u32> {
    let (mut sum, mut count) = ([0u32; 3], 0);
    for py in y * factor..((y + 1) * factor).min(picture.height) {
        for px in x * factor..((x + 1) * factor).min(picture.width) {
            for (total, sample) in sum.iter_mut().zip(picture.pixel(px, py)) {
                *total += sample;
            }
            count += 1;
        }
    }
    // awk's int(sum / count + 0.5): half rounds up.
    sum.iter()
        .map(|total| (2 * total + count) / (2 * count))
        .collect()
}

/// The example and the one whose awk it borrows, copied into a scratch directory, so that
/// its store and what it writes stay there.
fn copy_examples(scratch: &Scratch) -> PathBuf {
    for example in [EXAMPLE, "image-pipeline"] {
        copy_dir(
            &repo_root().join("examples").join(example),
            &scratch.join(example),
        );
    }
    scratch.join(EXAMPLE)
}

/// Whether each item was reused from the cache.
fn cached_items(report: &Report) -> Vec<bool> {
    (0..PICTURES.len())
        .map(|i| report.task(&format!("thumbnail[{i}]"))["cached"] == true)
        .collect()
}

#[test]
fn a_changed_picture_runs_its_item_alone() {
    let scratch = Scratch::new();
    let example = copy_examples(&scratch);
    let run = || {
        crate::support::plait(&example, &["run", "workflow.toml", "--json"])
            .expect_code(0)
            .json()
    };
    let first = run();
    assert_eq!(cached_items(&first), [false; 4]);
    let thumbnails = first.output("thumbnail").clone();

    let again = run();
    assert_eq!(cached_items(&again), [true; 4]);
    assert_eq!(again.output("thumbnail"), &thumbnails);

    // One pixel of `flag.ppm` changed: `list` and `index` run again, and of the items only
    // `thumbnail[1]`.
    let flag = example.join("images/flag.ppm");
    let text = std::fs::read_to_string(&flag).unwrap();
    std::fs::write(&flag, text.replacen("\n0 120 70\n", "\n0 0 0\n", 1)).unwrap();
    let changed = run();
    assert_eq!(cached_items(&changed), [true, false, true, true]);
    assert_eq!(changed.attempts("thumbnail[1]"), 1);
    for task in ["list", "index"] {
        assert_eq!(changed.task(task)["cached"], false, "{task}");
    }
    assert_eq!(changed.output("thumbnail"), &thumbnails);
    let thumbnail = Pnm::read(&example.join("out/thumbs/flag.ppm"));
    let picture = Pnm::read(&flag);
    assert_eq!(thumbnail.pixel(0, 0), box_average(&picture, 4, 0, 0));
    assert_ne!(thumbnail.pixel(0, 0), [0, 120, 70]);
}

#[test]
fn bad_pictures_and_bad_settings_stop_the_run_with_the_reason() {
    let scratch = Scratch::new();
    copy_dir(&pictures(), &scratch.join("pictures"));
    scratch.write("pictures/notes.ppm", "hello\n");
    std::fs::create_dir(scratch.join("empty")).unwrap();
    let tmp = scratch.path().display().to_string();
    let set_out = format!("out_dir={tmp}/out");
    let cases = [
        format!("dir={tmp}/pictures"),
        "factor=0".to_owned(),
        format!("dir={tmp}/empty"),
    ];
    let mut messages = String::new();
    for set in cases {
        let run = run_example(EXAMPLE, &["--json", "--set", &set, "--set", &set_out]);
        let report = run.expect_code(1).json();
        assert_eq!(report.status(), "reverted", "{set}");
        // The task that failed; the items running beside it were cancelled.
        let error = report.0["tasks"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|task| task["error"].as_str())
            .find(|error| error.contains("exited with status"))
            .unwrap_or_else(|| panic!("{set}: no task failed: {}", report.0));
        messages.push_str(&normalize(error, &[(&tmp, "$TMP")]));
        messages.push('\n');
        assert!(
            run.stderr.contains(error.lines().last().unwrap()),
            "{}",
            run.stderr
        );
        // Every item that wrote a thumbnail removed it again.
        assert!(scratch.list("out/thumbs").is_empty(), "{set}");
    }
    expect![[r#"
        `sh` exited with status 1; stderr:
          validate: $TMP/pictures/notes.ppm: not an ASCII PPM image: it starts with `hello`, not `P3`
        `sh` exited with status 1; stderr:
          thumbnail: the factor `0` is not a positive integer
        `sh` exited with status 1; stderr:
          list: $TMP/empty holds no pictures (.ppm files)
    "#]]
    .assert_eq(&messages);
}
