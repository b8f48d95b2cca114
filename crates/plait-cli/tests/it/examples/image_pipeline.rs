//! `examples/image-pipeline`: real pictures in, real pictures out, checked pixel by pixel.

use std::path::Path;

use expect_test::expect;
use serde_json::json;

use super::pnm::{Pnm, assert_make_sh_draws};
use crate::support::{
    Scratch, copy_dir, list, normalize, repo_root, run_example, run_example_with_env,
};

const EXAMPLE: &str = "image-pipeline";

#[test]
fn each_picture_is_described_halved_greyed_and_stored_under_its_checksum() {
    for picture in ["sunset", "shapes", "rings"] {
        let scratch = Scratch::new();
        let out_dir = scratch.join("out");
        let image = format!("examples/{EXAMPLE}/images/{picture}.ppm");
        let set_image = format!("image={image}");
        let set_out = format!("out_dir={}", out_dir.display());
        let run = run_example(EXAMPLE, &["--json", "--set", &set_image, "--set", &set_out]);
        let report = run.expect_code(0).json();
        assert_eq!(report.status(), "succeeded");
        for task in ["validate", "metadata", "resize", "grayscale", "store"] {
            assert_eq!(report.state(task), "succeeded", "{task}");
            assert_eq!(report.attempts(task), 1, "{task}");
        }

        let original_bytes = std::fs::read(repo_root().join(&image)).unwrap();
        let original = Pnm::parse(std::str::from_utf8(&original_bytes).unwrap());
        let crc = posix_cksum(&original_bytes);
        let metadata = json!({
            "width": 64,
            "height": 48,
            "max_value": 255,
            "bytes": original_bytes.len(),
            "cksum": crc,
        });
        assert_eq!(report.output("metadata"), &metadata, "{picture}");
        let stored = out_dir.join(crc.to_string());
        assert_eq!(
            report.output("stored"),
            &json!(stored.display().to_string())
        );

        // What was stored, and nothing else: the work directory is cleaned up.
        assert_eq!(list(&out_dir), [crc.to_string()]);
        assert_eq!(list(&stored), ["gray.pgm", "half.ppm", "metadata.json"]);
        let stored_metadata: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(stored.join("metadata.json")).unwrap())
                .unwrap();
        assert_eq!(stored_metadata, metadata);

        let half = Pnm::read(&stored.join("half.ppm"));
        assert_eq!(
            (half.magic.as_str(), half.width, half.height, half.max),
            ("P3", 32, 24, 255)
        );
        for y in 0..half.height {
            for x in 0..half.width {
                assert_eq!(
                    half.pixel(x, y),
                    original.pixel(2 * x, 2 * y),
                    "{picture} half ({x}, {y})"
                );
            }
        }

        let gray = Pnm::read(&stored.join("gray.pgm"));
        assert_eq!(
            (gray.magic.as_str(), gray.width, gray.height, gray.max),
            ("P2", 64, 48, 255)
        );
        for y in 0..gray.height {
            for x in 0..gray.width {
                let [r, g, b] = original.pixel(x, y)[..] else {
                    unreachable!("3 samples")
                };
                let luma = (299 * r + 587 * g + 114 * b + 500) / 1000;
                assert_eq!(gray.pixel(x, y), [luma], "{picture} grey ({x}, {y})");
            }
        }
    }
}

#[test]
fn a_bad_picture_stops_the_run_at_validate_with_the_reason() {
    let scratch = Scratch::new();
    let good =
        std::fs::read_to_string(repo_root().join("examples/image-pipeline/images/shapes.ppm"))
            .unwrap();
    let cases = [
        ("empty.ppm", String::new()),
        ("plain.ppm", "P6\n64 48\n255\n".to_owned()),
        (
            "short.ppm",
            good.lines().take(1000).collect::<Vec<_>>().join("\n"),
        ),
        (
            "bright.ppm",
            good.replacen("\n250 250 245\n", "\n250 256 245\n", 1),
        ),
        ("zero.ppm", "P3\n0 48\n255\n".to_owned()),
    ];
    let mut messages = String::new();
    for (name, text) in cases {
        scratch.write(name, &text);
        let set_image = format!("image={}", scratch.join(name).display());
        let set_out = format!("out_dir={}", scratch.join("out").display());
        let run = run_example(EXAMPLE, &["--json", "--set", &set_image, "--set", &set_out]);
        let report = run.expect_code(1).json();
        expect![[r#"
            status: reverted
            grayscale: pending x0
            metadata: pending x0
            resize: pending x0
            store: pending x0
        "#]]
        .assert_eq(&without_validate(&report.summary()));
        assert_eq!(report.state("validate"), "reverted");
        let error = report.task("validate")["error"].as_str().unwrap();
        let scratch_path = scratch.path().display().to_string();
        messages.push_str(&normalize(error, &[(&scratch_path, "$TMP")]));
        messages.push('\n');
        // The same reason is on stderr, for people.
        assert!(
            run.stderr.contains(error.lines().last().unwrap()),
            "{}",
            run.stderr
        );
        assert!(
            list(&scratch.join("out")).is_empty(),
            "{name}: nothing stored"
        );
    }
    expect![[r#"
        `sh` exited with status 1; stderr:
          validate: $TMP/empty.ppm: the file is empty
        `sh` exited with status 1; stderr:
          validate: $TMP/plain.ppm: not an ASCII PPM image: it starts with `P6`, not `P3`
        `sh` exited with status 1; stderr:
          validate: $TMP/short.ppm: 64x48 pixels need 9216 sample values, found 2988
        `sh` exited with status 1; stderr:
          validate: $TMP/bright.ppm: pixel 0 (x=0, y=0) has the sample value `256`, not from 0 to 255
        `sh` exited with status 1; stderr:
          validate: $TMP/zero.ppm: the width `0` is not a positive integer
    "#]]
    .assert_eq(&messages);
}

/// A picture that is not there is refused before anything runs.
#[test]
fn a_missing_picture_is_refused_before_validate_runs() {
    let scratch = Scratch::new();
    let set_image = format!("image={}", scratch.join("missing.ppm").display());
    let set_out = format!("out_dir={}", scratch.join("out").display());
    let run = run_example(EXAMPLE, &["--set", &set_image, "--set", &set_out]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(&format!(
            "input `image` is a file, and there is nothing at `{}`",
            scratch.join("missing.ppm").display()
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("validate"), "{}", run.stderr);
    assert!(list(&scratch.join("out")).is_empty());
}

#[test]
fn a_store_that_fails_half_way_is_reverted_with_everything_before_it() {
    let scratch = Scratch::new();
    let out_dir = scratch.join("out");
    let set_out = format!("out_dir={}", out_dir.display());
    let first = run_example(EXAMPLE, &["--json", "--set", &set_out]);
    let stored = first
        .expect_code(0)
        .json()
        .output("stored")
        .as_str()
        .unwrap()
        .to_owned();
    let stored_files = list(Path::new(&stored));
    let stored_half = std::fs::read(Path::new(&stored).join("half.ppm")).unwrap();

    // A `cp` that copies the half-size picture and then fails on the grey one: the disk is
    // full half-way through `store`. Commands inherit plait's environment, `PATH` included.
    scratch.write(
        "bin/cp",
        "#!/bin/sh\ncase \"$2\" in\n  *gray.pgm) echo 'cp: no space left on device' >&2; exit 1 ;;\nesac\nexec /bin/cp \"$@\"\n",
    );
    make_executable(&scratch.join("bin/cp"));
    let path = format!(
        "{}:{}",
        scratch.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let run = run_example_with_env(EXAMPLE, &["--json", "--set", &set_out], &[("PATH", path)]);
    let report = run.expect_code(1).json();
    expect![[r#"
        status: reverted
        grayscale: reverted x1
        metadata: reverted x1
        resize: reverted x1
        store: reverted x1 (error: `sh` exited with status 1; stderr:)
        validate: reverted x1
    "#]]
    .assert_eq(&report.summary());
    assert!(
        run.stderr.contains("cp: no space left on device"),
        "{}",
        run.stderr
    );
    // The reverts removed the half-done copy and both work files; what the first run stored
    // is untouched.
    assert_eq!(
        list(&out_dir),
        [Path::new(&stored).file_name().unwrap().to_str().unwrap()]
    );
    assert_eq!(list(Path::new(&stored)), stored_files);
    assert_eq!(
        std::fs::read(Path::new(&stored).join("half.ppm")).unwrap(),
        stored_half
    );
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_shipped_pictures_are_what_make_sh_draws() {
    assert_make_sh_draws(EXAMPLE, &["sunset.ppm", "shapes.ppm", "rings.ppm"]);
}

fn without_validate(summary: &str) -> String {
    summary
        .lines()
        .filter(|line| !line.starts_with("validate:"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// POSIX `cksum`: CRC-32 (polynomial 0x04C11DB7, unreflected) over the data, then its length
/// in as few bytes as it takes, least significant first; the result complemented.
fn posix_cksum(data: &[u8]) -> u32 {
    fn update(crc: u32, byte: u8) -> u32 {
        let mut crc = crc ^ (u32::from(byte) << 24);
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
        crc
    }
    let mut crc = data.iter().fold(0, |crc, &byte| update(crc, byte));
    let mut len = data.len();
    while len > 0 {
        crc = update(crc, (len & 0xff) as u8);
        len >>= 8;
    }
    !crc
}

#[test]
fn posix_cksum_agrees_with_known_values() {
    // `printf '' | cksum` and `printf 'hello\n' | cksum`.
    assert_eq!(posix_cksum(b""), 4294967295);
    assert_eq!(posix_cksum(b"hello\n"), 3015617425);
}

/// Run again unchanged, nothing executes; the stored directory, deleted, comes back from the
/// cache; another picture runs everything that depends on it.
#[test]
fn a_second_run_reuses_everything_and_puts_the_stored_directory_back() {
    let scratch = Scratch::new();
    copy_dir(&repo_root().join("examples").join(EXAMPLE), &scratch.path());
    let run = |args: &[&str]| {
        let mut all = vec!["run", "workflow.toml", "--json"];
        all.extend_from_slice(args);
        let output = scratch.plait(&all);
        let report = output.expect_code(0).json();
        assert!(
            !output.stderr.contains("WARN"),
            "no warning expected: {}",
            output.stderr
        );
        report
    };
    let first = run(&[]);
    assert_eq!(first.0["executed"], 5);
    let stored = Path::new(first.output("stored").as_str().unwrap()).to_owned();
    let stored_files = list(&stored);
    let stored_half = std::fs::read(stored.join("half.ppm")).unwrap();

    let again = run(&[]);
    assert_eq!(
        (again.0["executed"].as_u64(), again.0["cached"].as_u64()),
        (Some(0), Some(5))
    );

    std::fs::remove_dir_all(scratch.join("out")).unwrap();
    let restored = run(&[]);
    assert_eq!(restored.0["executed"], 0);
    assert_eq!(list(&stored), stored_files);
    assert_eq!(std::fs::read(stored.join("half.ppm")).unwrap(), stored_half);

    let other = run(&["--set", "image=images/rings.ppm"]);
    assert_eq!(other.0["executed"], 5, "every task reads the picture");
}
