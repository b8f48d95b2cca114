//! ASCII PPM and PGM pictures, read independently of the examples' awk, and the pictures
//! the examples ship.

use std::path::Path;

use crate::support::{Scratch, copy_dir, repo_root};

/// `examples/EXAMPLE/images/make.sh` draws exactly the `pictures` shipped beside it.
pub(super) fn assert_make_sh_draws(example: &str, pictures: &[&str]) {
    // Run through plait itself: a one-task workflow beside a copy of `images/`.
    let scratch = Scratch::new();
    let shipped = repo_root().join("examples").join(example).join("images");
    copy_dir(&shipped, &scratch.path());
    for picture in pictures {
        std::fs::remove_file(scratch.join(picture)).unwrap();
    }
    scratch.write(
        "draw.toml",
        "[tasks.draw]\ncommand = [\"sh\", \"make.sh\"]\n",
    );
    scratch.plait(&["run", "draw.toml"]).expect_code(0);
    for picture in pictures {
        let drawn = std::fs::read(scratch.join(picture)).unwrap();
        assert!(
            drawn == std::fs::read(shipped.join(picture)).unwrap(),
            "{example}: {picture}"
        );
    }
}

/// An ASCII PPM (P3) or PGM (P2) picture, parsed independently of the example's awk.
#[derive(Debug)]
pub(super) struct Pnm {
    pub(super) magic: String,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) max: u32,
    samples: Vec<u32>,
}

impl Pnm {
    pub(super) fn read(path: &Path) -> Pnm {
        Pnm::parse(&std::fs::read_to_string(path).unwrap())
    }

    pub(super) fn parse(text: &str) -> Pnm {
        let mut tokens = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default())
            .flat_map(str::split_whitespace);
        let magic = tokens.next().unwrap().to_owned();
        let mut number = || tokens.next().unwrap().parse::<u32>().unwrap();
        let (width, height, max) = (number() as usize, number() as usize, number());
        let samples: Vec<u32> = tokens.map(|token| token.parse().unwrap()).collect();
        let pnm = Pnm {
            magic,
            width,
            height,
            max,
            samples,
        };
        assert_eq!(
            pnm.samples.len(),
            width * height * pnm.channels(),
            "sample count"
        );
        assert!(
            pnm.samples.iter().all(|&s| s <= max),
            "samples within the maximum"
        );
        pnm
    }

    fn channels(&self) -> usize {
        match self.magic.as_str() {
            "P3" => 3,
            "P2" => 1,
            other => panic!("not an ASCII PPM or PGM: {other}"),
        }
    }

    pub(super) fn pixel(&self, x: usize, y: usize) -> Vec<u32> {
        let at = (y * self.width + x) * self.channels();
        self.samples[at..at + self.channels()].to_vec()
    }
}
