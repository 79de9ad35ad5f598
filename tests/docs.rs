//! The documentation's own tests, no emulator needed: the command reference is what the clap types
//! generate, every link between the Markdown files lands on a file and a heading that exist, and
//! the release configuration (dist-workspace.toml, Cargo.toml's binstall metadata) builds what the
//! README promises.
//!
//! A test target of its own (not a module of tests/it) so that `cargo test --test docs` checks the
//! documentation without building the emulator tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// The one command that rewrites docs/commands.md from the clap types.
const REGENERATE: &str = "FLOWGATE_UPDATE_DOCS=1 cargo test --test docs";

fn project_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

// ---- The command reference ----

/// docs/commands.md as clap-markdown renders the command line of src/cli.rs.
fn command_reference() -> String {
    let options = clap_markdown::MarkdownOptions::new().title("Command reference".to_owned()).show_footer(false);
    let generated = clap_markdown::help_markdown_custom::<flowgate::cli::Cli>(&options);
    format!("<!-- Generated from src/cli.rs by tests/docs.rs; do not edit. Regenerate with: {REGENERATE} -->\n\n{}\n", generated.trim_end())
}

#[test]
fn the_command_reference_is_generated_from_the_cli() {
    let path = project_dir().join("docs/commands.md");
    let generated = command_reference();
    if std::env::var_os("FLOWGATE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference =
            committed.lines().zip(generated.lines()).position(|(a, b)| a != b).unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "docs/commands.md is not what the command line (src/cli.rs) generates; first difference at line {}:\n  file:      {:?}\n  generated: {:?}\nregenerate it with: {REGENERATE}",
            first_difference + 1,
            committed.lines().nth(first_difference).unwrap_or("<end of file>"),
            generated.lines().nth(first_difference).unwrap_or("<end of file>"),
        );
    }
}

// ---- Links ----

/// The Markdown files whose links are checked: the README, ARCHITECTURE.md, CONTRIBUTING.md and
/// everything in docs/.
fn markdown_files() -> Vec<PathBuf> {
    let root = project_dir();
    let mut files: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "CONTRIBUTING.md"].iter().map(|name| root.join(name)).collect();
    let docs = std::fs::read_dir(root.join("docs")).unwrap_or_else(|e| panic!("reading docs/: {e}"));
    let mut in_docs: Vec<PathBuf> =
        docs.filter_map(|entry| entry.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "md")).collect();
    in_docs.sort();
    files.extend(in_docs);
    files
}

/// A heading's anchor as GitHub makes it: lower case, every character but letters, digits, `-`,
/// `_` and spaces dropped, each space a `-` (github-slugger, which GitHub's Markdown uses).
fn github_slug(heading: &str) -> String {
    heading.to_lowercase().chars().filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ')).map(|c| if c == ' ' { '-' } else { c }).collect()
}

/// Every anchor of a Markdown document; a repeated heading gets `-1`, `-2`, ... as on GitHub.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::all()) {
        match (event, heading.as_mut()) {
            (Event::Start(Tag::Heading { .. }), _) => heading = Some(String::new()),
            (Event::Text(text) | Event::Code(text), Some(h)) => h.push_str(&text),
            (Event::End(TagEnd::Heading(_)), Some(h)) => {
                let slug = github_slug(h);
                let unique = (0..).map(|n| if n == 0 { slug.clone() } else { format!("{slug}-{n}") }).find(|s| !anchors.contains(s));
                anchors.extend(unique);
                heading = None;
            }
            _ => {}
        }
    }
    anchors
}

/// Every link and image destination of a Markdown document.
fn destinations(markdown: &str) -> Vec<String> {
    Parser::new_ext(markdown, Options::all())
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => Some(dest_url.into_string()),
            _ => None,
        })
        .collect()
}

/// The links of `markdown` (the text of `file`) that point nowhere: a relative path that does not
/// exist, or an `#anchor` that no heading of the target makes. Links with a scheme (https:,
/// mailto:) are not followed.
fn broken_links(file: &Path, markdown: &str) -> Vec<String> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut broken = Vec::new();
    for destination in destinations(markdown) {
        if destination.contains("://") || destination.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = destination.split_once('#').map_or((destination.as_str(), None), |(p, a)| (p, Some(a)));
        let target = if path.is_empty() { file.to_path_buf() } else { dir.join(path) };
        if !target.exists() {
            broken.push(format!("{destination}: no file {}", target.display()));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        let headings = if path.is_empty() { anchors(markdown) } else { anchors(&read(&target)) };
        if target.extension().is_none_or(|e| e != "md") {
            broken.push(format!("{destination}: an anchor into a file that is not Markdown"));
        } else if !headings.contains(anchor) {
            broken.push(format!("{destination}: no heading makes #{anchor} in {}", target.display()));
        }
    }
    broken
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_lands() {
    let files = markdown_files();
    assert!(files.iter().any(|f| f.ends_with("docs/usage.md")), "{files:?}");
    let broken: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let name = file.strip_prefix(project_dir()).unwrap_or(file).display().to_string();
            broken_links(file, &read(file)).into_iter().map(move |link| format!("{name}: {link}"))
        })
        .collect();
    assert!(broken.is_empty(), "links that point nowhere:\n{}", broken.join("\n"));
}

#[test]
fn the_link_check_finds_a_missing_file_and_a_missing_heading() {
    let file = project_dir().join("README.md");
    let markdown = "# Title\n\n## `flowgate access grant | revoke | list`\n\n\
                    [ok](#title) [ok](#flowgate-access-grant--revoke--list) [ok](docs/usage.md#flowgate-verify) \
                    [ok](https://example.com/#nowhere) ![ok](docs/verify-report.png)\n\
                    [bad](#no-such-heading) [bad](docs/no-such-file.md) [bad](docs/usage.md#no-such-heading)\n";
    let broken = broken_links(&file, markdown);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].starts_with("#no-such-heading"), "{broken:#?}");
    assert!(broken[1].starts_with("docs/no-such-file.md"), "{broken:#?}");
    assert!(broken[2].starts_with("docs/usage.md#no-such-heading"), "{broken:#?}");
}

#[test]
fn headings_get_githubs_anchors() {
    let markdown = "# Live smoke test on a real account: `scripts/test-live`\n\n## Coming from the vendor's script\n\n\
                    ## `flowgate parse FILE... | -`\n\n###### **Options:**\n\n###### **Options:**\n";
    let expected =
        ["coming-from-the-vendors-script", "flowgate-parse-file---", "live-smoke-test-on-a-real-account-scriptstest-live", "options", "options-1"];
    assert_eq!(anchors(markdown), expected.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>());
}

// ---- Release archives ----

/// The platforms the README promises archives for: Linux and macOS, x86_64 and aarch64.
const RELEASE_TARGETS: [&str; 4] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-apple-darwin", "aarch64-apple-darwin"];

fn toml_file(name: &str) -> toml::Table {
    read(&project_dir().join(name)).parse().unwrap_or_else(|e| panic!("{name} is not TOML: {e}"))
}

fn strings(value: Option<&toml::Value>) -> Vec<&str> {
    value.and_then(toml::Value::as_array).map(|items| items.iter().filter_map(toml::Value::as_str).collect()).unwrap_or_default()
}

#[test]
fn the_release_builds_the_four_targets_with_sha256_checksums() {
    let workspace = toml_file("dist-workspace.toml");
    let dist = workspace.get("dist").and_then(toml::Value::as_table).unwrap_or_else(|| panic!("dist-workspace.toml has no [dist]"));
    let mut targets = strings(dist.get("targets"));
    targets.sort_unstable();
    let mut expected = RELEASE_TARGETS.to_vec();
    expected.sort_unstable();
    assert_eq!(targets, expected, "dist-workspace.toml's targets");
    assert_eq!(dist.get("checksum").and_then(toml::Value::as_str), Some("sha256"), "dist-workspace.toml's checksum");
    assert_eq!(strings(workspace.get("workspace").and_then(|w| w.get("members"))), ["cargo:."]);
    let cargo = toml_file("Cargo.toml");
    let shipped = cargo.get("package").and_then(|p| p.get("metadata")).and_then(|m| m.get("dist")).and_then(|d| d.get("dist"));
    assert_eq!(
        shipped.and_then(toml::Value::as_bool),
        Some(true),
        "Cargo.toml's [package.metadata.dist] dist = true (the package is publish = false)"
    );
}

/// dist refuses the shell installer without a host and the repository's URL (it downloads the
/// archives from there): it is configured exactly when Cargo.toml names the repository.
#[test]
fn the_shell_installer_is_configured_exactly_when_the_repository_is_known() {
    let workspace = toml_file("dist-workspace.toml");
    let dist = workspace.get("dist").and_then(toml::Value::as_table).unwrap_or_else(|| panic!("dist-workspace.toml has no [dist]"));
    let installers = strings(dist.get("installers"));
    let cargo = toml_file("Cargo.toml");
    let repository = cargo.get("package").and_then(|p| p.get("repository")).and_then(toml::Value::as_str);
    let hosted =
        dist.get("hosting").and_then(toml::Value::as_str) == Some("github") || dist.get("ci").and_then(toml::Value::as_str) == Some("github");
    match repository {
        None => assert!(installers.is_empty(), "installers {installers:?} need `repository` in Cargo.toml (see dist-workspace.toml)"),
        Some(url) => {
            assert_eq!(installers, ["shell"], "with the repository known ({url}) the shell installer is built");
            assert!(hosted, "the shell installer needs hosting = \"github\" (or ci = \"github\") in dist-workspace.toml");
        }
    }
}

/// `{ var }` of a cargo-binstall template replaced by its value; a variable not given stays.
fn render(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{ {name} }}"), value))
}

/// dist names each archive `APP-TARGET.tar.xz` with the binary under a directory `APP-TARGET/`,
/// attached to the release tagged `vVERSION` (cargo-dist's tasks.rs: the archive's root is the
/// variant id); binstall must ask for exactly those.
#[test]
fn cargo_binstall_asks_for_the_archives_dist_builds() {
    let cargo = toml_file("Cargo.toml");
    let package = cargo.get("package").unwrap_or_else(|| panic!("Cargo.toml has no [package]"));
    let version = package.get("version").and_then(toml::Value::as_str).unwrap_or_else(|| panic!("no package version"));
    let binstall = package.get("metadata").and_then(|m| m.get("binstall")).unwrap_or_else(|| panic!("Cargo.toml has no [package.metadata.binstall]"));
    let field = |name: &str| binstall.get(name).and_then(toml::Value::as_str).unwrap_or_else(|| panic!("binstall metadata has no {name}"));
    let dist = toml_file("dist-workspace.toml");
    let unix_archive = dist.get("dist").and_then(|d| d.get("unix-archive")).and_then(toml::Value::as_str).unwrap_or(".tar.xz");
    assert_eq!((field("pkg-fmt"), unix_archive), ("txz", ".tar.xz"), "binstall's format is dist's unix archive");
    for target in RELEASE_TARGETS {
        let vars = [
            ("repo", "REPO"),
            ("version", version),
            ("name", "flowgate"),
            ("target", target),
            ("archive-suffix", ".tar.xz"),
            ("bin", "flowgate"),
            ("binary-ext", ""),
        ];
        assert_eq!(render(field("pkg-url"), &vars), format!("REPO/releases/download/v{version}/flowgate-{target}.tar.xz"));
        assert_eq!(render(field("bin-dir"), &vars), format!("flowgate-{target}/flowgate"));
    }
}
