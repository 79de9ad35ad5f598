//! The layers' dependency rule, checked on the source: each layer may use only the layers below
//! it. The core is a crate of its own (it cannot reach the SDK or these modules at all); within
//! this crate the rule is held by this test, since Rust modules of one crate can always see each
//! other.
//!
//! ```text
//! main.rs -> commands -> observe -> context -> aws -> core
//!                    \-> apply ---> output, error, interrupt
//! ```

use std::path::{Path, PathBuf};

/// (layer: a file or folder under src/, modules it must not use).
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("aws", &["context", "commands", "observe", "apply", "cli", "output"]),
    ("context.rs", &["commands", "observe"]),
    ("observe", &["commands"]),
    ("apply.rs", &["commands", "observe", "aws", "context"]),
    ("output.rs", &["commands", "observe", "aws", "context", "apply", "cli"]),
    ("error.rs", &["commands", "observe", "aws", "context", "apply", "output"]),
    ("cli.rs", &["commands", "observe", "aws", "context", "apply"]),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

/// The modules of `forbidden` that `text` names as `crate::MODULE::...` or `crate::MODULE;`.
fn uses<'a>(text: &str, forbidden: &[&'a str]) -> Vec<&'a str> {
    forbidden.iter().copied().filter(|m| text.contains(&format!("crate::{m}::")) || text.contains(&format!("crate::{m};"))).collect()
}

#[test]
fn every_layer_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (layer, forbidden) in FORBIDDEN {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no source for layer {layer}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for module in uses(&text, forbidden) {
                violations.push(format!("{} uses crate::{module}", file.strip_prefix(&src).unwrap().display()));
            }
        }
    }
    assert!(violations.is_empty(), "layering broken:\n{}", violations.join("\n"));
}

#[test]
fn a_use_of_a_forbidden_module_is_found_in_any_form() {
    let forbidden: &[&str] = &["context", "commands"];
    assert_eq!(uses("use crate::context::Ctx;\n", forbidden), ["context"]);
    assert_eq!(uses("use crate::commands;\n", forbidden), ["commands"]);
    assert_eq!(uses("let c = crate::context::Ctx::new();", forbidden), ["context"]);
    assert!(uses("use crate::core::names::BucketName;\nuse crate::contexts::X;", forbidden).is_empty());
}
