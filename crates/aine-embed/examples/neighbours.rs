//! Prints, for each line of a text file, its most similar other line by the cosine of their
//! all-MiniLM-L6-v2 embeddings: `cargo run --release -p aine-embed --example neighbours -- FILE`.
//! Used to choose similarity thresholds by reading (e.g. `requirements.merge`'s).

use aine_embed::{Embedder, cosine, default_model_dir};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: neighbours FILE (one text per line)")?;
    let text = std::fs::read_to_string(&path)?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let embedder = Embedder::load(&default_model_dir())?;
    let e = embedder.embed(&lines)?;
    let mut pairs = Vec::new();
    for i in 0..lines.len() {
        for j in i + 1..lines.len() {
            pairs.push((cosine(&e[i], &e[j]), i, j));
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (c, i, j) in pairs.iter().take_while(|p| p.0 >= 0.5) {
        println!("{c:.3}  [{i}] {}  |  [{j}] {}", lines[*i], lines[*j]);
    }
    Ok(())
}
