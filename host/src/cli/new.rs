//! `voxgate plugin new <backoff|rag|routing> --lang rust|python|js <dir>`: a ready project —
//! the WIT, the build file, a policy with its unit tests, a README — that builds and passes
//! `plugin check` as written. The templates live in `host/templates/<lang>/`; the policy is
//! kept in a plain module (`policy`) so its tests run without WebAssembly, and a thin
//! adapter (`app`, or the `component` module in Rust) binds it to the world.

use anyhow::{Context, bail};
use std::path::Path;

/// The plugin kinds, by world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Backoff,
    Rag,
    Routing,
}

/// The languages a project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

const WIT: &str = include_str!("../../../wit/voxgate.wit");

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Backoff => "backoff",
            Kind::Rag => "rag",
            Kind::Routing => "routing",
        }
    }

    fn world(self) -> &'static str {
        match self {
            Kind::Backoff => "backoff-policy",
            Kind::Rag => "rag-search",
            Kind::Routing => "routing-policy",
        }
    }

    fn deadline(self) -> &'static str {
        match self {
            Kind::Rag => "2 s by default, `RAG_PLUGIN_DEADLINE`",
            _ => "10 ms by default, `BACKOFF_PLUGIN_DEADLINE`",
        }
    }

    /// What an interpreter-carrying component needs of the slot's memory cap.
    fn memory_hint(self) -> &'static str {
        match self {
            Kind::Rag => {
                "its heap plus the index must fit the RAG slot's cap (`RAG_PLUGIN_MEMORY_MIB`, 256 MiB by default; `plugin test` prints the high-water mark)."
            }
            Kind::Backoff | Kind::Routing => {
                "a linear memory of 9–13 MiB (measured by `plugin test`), inside the 16 MiB default cap of `BACKOFF_PLUGIN_MEMORY_MIB` (routing shares it); a policy keeping more state may need a larger cap."
            }
        }
    }
}

/// The files of a project: (path inside it, contents before substitution).
fn files(kind: Kind, lang: Lang) -> Vec<(&'static str, &'static str)> {
    macro_rules! by_kind {
        ($lang:literal, $file:literal, $ext:literal) => {
            match kind {
                Kind::Backoff => include_str!(concat!(
                    "../../templates/",
                    $lang,
                    "/",
                    $file,
                    "-backoff",
                    $ext
                )),
                Kind::Rag => {
                    include_str!(concat!("../../templates/", $lang, "/", $file, "-rag", $ext))
                }
                Kind::Routing => include_str!(concat!(
                    "../../templates/",
                    $lang,
                    "/",
                    $file,
                    "-routing",
                    $ext
                )),
            }
        };
    }
    match lang {
        Lang::Rust => vec![
            (
                "Cargo.toml",
                include_str!("../../templates/rust/Cargo.toml"),
            ),
            ("README.md", include_str!("../../templates/rust/README.md")),
            ("src/lib.rs", by_kind!("rust", "lib", ".rs")),
            (".gitignore", "/target\n"),
        ],
        Lang::Python => vec![
            (
                "README.md",
                include_str!("../../templates/python/README.md"),
            ),
            ("build.sh", include_str!("../../templates/python/build.sh")),
            ("app.py", by_kind!("python", "app", ".py")),
            ("policy.py", by_kind!("python", "policy", ".py")),
            ("test_policy.py", by_kind!("python", "test_policy", ".py")),
            (
                ".gitignore",
                "*.wasm\n__pycache__/\nwit_world/\ncomponentize_py_*\npoll_loop.py\n",
            ),
        ],
        Lang::Js => vec![
            ("README.md", include_str!("../../templates/js/README.md")),
            (
                "package.json",
                include_str!("../../templates/js/package.json"),
            ),
            ("app.js", by_kind!("js", "app", ".js")),
            ("policy.js", by_kind!("js", "policy", ".js")),
            ("policy.test.js", by_kind!("js", "policy", ".test.js")),
            (".gitignore", "*.wasm\nnode_modules/\n"),
        ],
    }
}

/// The project's name: the directory's, as a package name (`a-z0-9-`).
fn project_name(dir: &Path) -> anyhow::Result<String> {
    let raw = dir
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: the directory needs a name", dir.display()))?;
    let name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        bail!(
            "{}: the directory name must start with a letter (it names the package)",
            dir.display()
        );
    }
    Ok(name)
}

/// Write the project into `dir` (which must not exist or be empty); the files written.
pub fn create(kind: Kind, lang: Lang, dir: &Path) -> anyhow::Result<Vec<String>> {
    let name = project_name(dir)?;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} exists and is not empty; nothing written", dir.display());
    }
    let file = match lang {
        Lang::Rust => name.replace('-', "_"),
        Lang::Python | Lang::Js => name.clone(),
    };
    let fill = |text: &str| {
        text.replace("{{name}}", &name)
            .replace("{{file}}", &file)
            .replace("{{world}}", kind.world())
            .replace("{{kind}}", kind.name())
            .replace("{{slot}}", kind.name())
            .replace("{{deadline}}", kind.deadline())
            .replace("{{memory_hint}}", kind.memory_hint())
    };
    let mut written = Vec::new();
    let mut all = files(kind, lang);
    all.push(("wit/voxgate.wit", WIT));
    for (path, text) in all {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, fill(text))
            .with_context(|| format!("cannot write {}", target.display()))?;
        #[cfg(unix)]
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))?;
        }
        written.push(path.to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_language_writes_a_filled_project() {
        for kind in [Kind::Backoff, Kind::Rag, Kind::Routing] {
            for lang in [Lang::Rust, Lang::Python, Lang::Js] {
                let scratch = tempfile::tempdir().unwrap();
                let dir = scratch.path().join("My Policy");
                let written = create(kind, lang, &dir).unwrap();
                assert!(written.contains(&"wit/voxgate.wit".to_string()));
                for path in &written {
                    let text = std::fs::read_to_string(dir.join(path)).unwrap();
                    assert!(
                        !text.contains("{{"),
                        "{kind:?} {lang:?} {path}: an unfilled placeholder"
                    );
                }
                let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
                assert!(
                    readme.contains("my-policy") && readme.contains(kind.world()),
                    "{readme}"
                );
            }
        }
    }

    #[test]
    fn a_non_empty_directory_is_left_alone() {
        let scratch = tempfile::tempdir().unwrap();
        std::fs::write(scratch.path().join("keep.txt"), "mine").unwrap();
        let error = create(Kind::Backoff, Lang::Rust, scratch.path()).unwrap_err();
        assert!(error.to_string().contains("not empty"), "{error}");
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_name_must_start_with_a_letter() {
        assert!(project_name(Path::new("/tmp/42")).is_err());
        assert_eq!(
            project_name(Path::new("/tmp/Retry_Policy v2")).unwrap(),
            "retry-policy-v2"
        );
    }
}
