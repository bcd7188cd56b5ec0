//! Opening a source: existence, emptiness, binary sniffing, and streaming readers (lines and
//! bytes) that reject NUL bytes and invalid UTF-8 with the byte offset where they occur.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::IngestError;

/// How many leading bytes are sniffed for the format and for binary content.
pub(crate) const HEAD_LEN: usize = 8 * 1024;
/// The longest line the line reader accepts (a longer one means this is not line-oriented text).
pub const MAX_LINE: usize = 8 * 1024 * 1024;

/// An opened source: its file, size, and first bytes.
pub(crate) struct Opened {
    pub file: File,
    pub bytes: u64,
    pub head: Vec<u8>,
}

/// Opens `path` (shown to users as `name`), rejecting missing, directory, empty, binary and
/// UTF-16 sources before anything is parsed.
pub(crate) fn open(path: &Path, name: &str) -> Result<Opened, IngestError> {
    let io = |source| IngestError::Io {
        file: name.to_owned(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(IngestError::Missing {
                file: name.to_owned(),
                path: path.display().to_string(),
            });
        }
        Err(e) => return Err(io(e)),
    };
    if meta.is_dir() {
        return Err(IngestError::Directory {
            file: name.to_owned(),
        });
    }
    let mut file = File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&mut file)
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    if head.is_empty() {
        return Err(IngestError::Empty {
            file: name.to_owned(),
        });
    }
    if let Some(what) = binary_kind(&head) {
        return Err(IngestError::Binary {
            file: name.to_owned(),
            what,
        });
    }
    if meta.len() <= head.len() as u64 && head.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Empty {
            file: name.to_owned(),
        });
    }
    Ok(Opened {
        file,
        bytes: meta.len(),
        head,
    })
}

/// What a non-text head looks like, or `None` for text. Magic numbers are checked first, then
/// UTF-16 byte-order marks, then NUL bytes (the test `git` and `ripgrep` use for binary files).
fn binary_kind(head: &[u8]) -> Option<String> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (
            b"PK\x03\x04",
            "a ZIP archive (for example .docx, .xlsx or .odt)",
        ),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"\x7FELF", "an ELF executable"),
        (
            b"\xD0\xCF\x11\xE0",
            "an old Microsoft Office document (.doc, .xls)",
        ),
        (b"ID3", "an MP3 audio file"),
        (b"RIFF", "a RIFF media file (.wav, .avi)"),
        (b"OggS", "an Ogg media file"),
        (b"SQLite format 3\0", "an SQLite database"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some((*what).to_owned());
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Some(
            "UTF-16 text (convert it to UTF-8, e.g. `iconv -f utf-16 -t utf-8`)".to_owned(),
        );
    }
    head.iter()
        .position(|&b| b == 0)
        .map(|at| format!("binary data (a NUL byte at byte offset {at})"))
}

/// Reads a source line by line, keeping each line's byte offset. Lines are checked for NUL
/// bytes and UTF-8 as they are read, so only one line is in memory at a time.
pub(crate) struct LineReader {
    reader: BufReader<File>,
    name: String,
    offset: u64,
    buf: Vec<u8>,
}

/// One line: the byte offset of its first byte and its text without the line ending.
pub(crate) struct Line<'a> {
    pub start: u64,
    pub text: &'a str,
}

impl LineReader {
    pub fn new(file: File, name: &str) -> Self {
        Self {
            reader: BufReader::with_capacity(64 * 1024, file),
            name: name.to_owned(),
            offset: 0,
            buf: Vec::new(),
        }
    }

    /// The next line, or `None` at the end. A UTF-8 byte-order mark at the start is skipped
    /// (offsets still count it).
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, IngestError> {
        self.buf.clear();
        let read = (&mut self.reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| IngestError::Io {
                file: self.name.clone(),
                source,
            })?;
        if read == 0 {
            return Ok(None);
        }
        let mut start = self.offset;
        self.offset += read as u64;
        if self.buf.len() > MAX_LINE {
            return Err(IngestError::LineTooLong {
                file: self.name.clone(),
                offset: start,
                limit: MAX_LINE,
            });
        }
        let mut bytes = self.buf.as_slice();
        if start == 0 && bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes = &bytes[3..];
            start = 3;
        }
        if let Some(at) = bytes.iter().position(|&b| b == 0) {
            return Err(IngestError::Binary {
                file: self.name.clone(),
                what: format!(
                    "binary data (a NUL byte at byte offset {})",
                    start + at as u64
                ),
            });
        }
        while let Some((last, rest)) = bytes.split_last()
            && matches!(last, b'\n' | b'\r')
        {
            bytes = rest;
        }
        let text = std::str::from_utf8(bytes).map_err(|e| IngestError::NotUtf8 {
            file: self.name.clone(),
            offset: start + e.valid_up_to() as u64,
        })?;
        Ok(Some(Line { start, text }))
    }
}

/// Reads a source byte by byte through a 64 KiB buffer, tracking the offset; rejects NUL bytes.
pub(crate) struct ByteReader {
    file: File,
    name: String,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Offset of `buf[0]` in the source.
    base: u64,
}

impl ByteReader {
    pub fn new(file: File, name: &str) -> Self {
        Self {
            file,
            name: name.to_owned(),
            buf: vec![0; 64 * 1024],
            pos: 0,
            len: 0,
            base: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The next byte without consuming it.
    pub fn peek(&mut self) -> Result<Option<u8>, IngestError> {
        if self.pos == self.len {
            self.base += self.len as u64;
            self.pos = 0;
            self.len = loop {
                match self.file.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(IngestError::Io {
                            file: self.name.clone(),
                            source,
                        });
                    }
                }
            };
            if let Some(at) = self.buf[..self.len].iter().position(|&b| b == 0) {
                return Err(IngestError::Binary {
                    file: self.name.clone(),
                    what: format!(
                        "binary data (a NUL byte at byte offset {})",
                        self.base + at as u64
                    ),
                });
            }
            if self.len == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.pos]))
    }

    /// The next byte, consumed.
    pub fn next_byte(&mut self) -> Result<Option<u8>, IngestError> {
        let b = self.peek()?;
        if b.is_some() {
            self.pos += 1;
        }
        Ok(b)
    }
}
