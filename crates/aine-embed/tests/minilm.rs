//! The real all-MiniLM-L6-v2 against the Python reference (`numpy` forward pass of the same
//! safetensors with the `tokenizers` package, mean pooling, L2 normalisation): leading components
//! and cosines below were printed by that reference. Needs the model files: fails (never skips)
//! when they are missing, naming `aine models pull local/all-minilm-l6-v2`.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use std::sync::OnceLock;

use aine_embed::{DIM, EmbedError, Embedder, cosine, default_model_dir};

fn embedder() -> &'static Embedder {
    static MODEL: OnceLock<Embedder> = OnceLock::new();
    MODEL.get_or_init(|| {
        Embedder::load(&default_model_dir())
            .unwrap_or_else(|e| panic!("{e} (or run scripts/fetch-embed-model.sh)"))
    })
}

const TEXTS: [&str; 4] = [
    "The remote control shall be small.",
    "We want a small remote.",
    "Let's have lunch.",
    "um so the the battery should last at least a year or so , I think ?",
];

/// Leading four components of each text's embedding, from the Python reference.
const LEADING: [[f32; 4]; 4] = [
    [0.069896, 0.010218, -0.032259, -0.010576],
    [-0.004827, -0.012132, 0.011292, -0.038697],
    [-0.066282, 0.075957, 0.01595, -0.029486],
    [-0.067533, -0.006791, -0.032289, -0.017591],
];

#[test]
fn vectors_match_the_python_reference() {
    let e = embedder().embed(&TEXTS).unwrap();
    assert_eq!(e.len(), TEXTS.len());
    for (v, want) in e.iter().zip(LEADING) {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        for (got, want) in v.iter().zip(want) {
            assert!((got - want).abs() < 2e-5, "{:?} vs {want:?}", &v[..4]);
        }
    }
    for ((a, b), want) in [
        ((0, 1), 0.751_615_5),
        ((0, 2), 0.074_671_1),
        ((1, 3), 0.127_931_2),
    ] {
        let got = cosine(&e[a], &e[b]);
        assert!(
            (got - want).abs() < 1e-4,
            "cos({a},{b}) = {got}, reference {want}"
        );
    }
}

#[test]
fn batching_and_padding_do_not_change_a_vector() {
    let batched = embedder().embed(&TEXTS).unwrap();
    for (text, whole) in TEXTS.iter().zip(&batched) {
        let alone = embedder().embed(&[text]).unwrap();
        assert!(cosine(whole, &alone[0]) > 0.999_999, "{text}");
    }
    // More than one batch of 32, in an order that mixes lengths.
    let many: Vec<&str> = TEXTS.iter().copied().cycle().take(70).collect();
    let e = embedder().embed(&many).unwrap();
    for (i, v) in e.iter().enumerate() {
        assert!(cosine(v, &batched[i % 4]) > 0.999_999, "{i}");
    }
    assert_eq!(embedder().embed(&[]).unwrap().len(), 0);
    assert_eq!(batched[0].len(), DIM);
}

#[test]
fn a_missing_model_names_the_pull_command() {
    let dir = tempfile::tempdir().unwrap();
    let err = Embedder::load(dir.path()).unwrap_err();
    assert!(matches!(err, EmbedError::Missing { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("config.json"), "{message}");
    assert!(
        message.contains("aine models pull local/all-minilm-l6-v2"),
        "{message}"
    );
}
