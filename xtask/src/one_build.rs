//! One build for the README's two commands: `cargo xtask test` (`cargo test --workspace`)
//! and `cargo xtask demo` (`cargo run -p dyad`) must resolve every dependency with the same
//! features, or the demo recompiles the workspace after the tests (the tests' dev-dependencies
//! can turn on features the binary's dependencies lack; `cli/Cargo.toml` turns those on too).
//! The test compares the two resolutions as `cargo tree` prints them.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::process::Command;

    /// Each package's feature sets (one per build context) in a resolution.
    fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
        // The cargo and the checkout running the test, not those that compiled it: a shared
        // target directory may hold a test binary built from another checkout.
        let var = |name: &str, built: &str| std::env::var_os(name).unwrap_or(built.into());
        let cargo = var("CARGO", env!("CARGO"));
        let manifest =
            std::path::PathBuf::from(var("CARGO_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR")));
        let out = Command::new(cargo)
            .args(["tree", "--locked", "--prefix", "none", "-f", "{p} {f}"])
            .args(args)
            .current_dir(manifest.join(".."))
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo tree: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut sets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let line = line.trim_end_matches(" (*)");
            let mut words = line.split(' ');
            let (Some(name), Some(version)) = (words.next(), words.next()) else {
                continue;
            };
            // A path package prints its directory after the version: not a feature.
            let features: Vec<&str> = words.filter(|w| !w.starts_with('(')).collect();
            sets.entry(format!("{name} {version}"))
                .or_default()
                .insert(features.join(" "));
        }
        sets
    }

    #[test]
    fn the_demo_reuses_the_test_build() {
        let demo = features(&["-p", "dyad", "-e", "normal,build"]);
        let test = features(&["--workspace", "-e", "normal,build,dev"]);
        let differ: Vec<String> = demo
            .iter()
            .filter_map(|(package, sets)| {
                let theirs = test.get(package)?;
                (sets != theirs).then(|| format!("{package}: demo {sets:?}, tests {theirs:?}"))
            })
            .collect();
        assert!(
            differ.is_empty(),
            "the demo would not reuse the test build; turn these features on in \
             cli/Cargo.toml:\n{}",
            differ.join("\n")
        );
    }
}
