//! BPE token counting with a model's encoding (`cl100k_base`, `o200k_base`), identical to tiktoken.
//!
//! Counting uses GitHub's `bpe-openai` encoders: the same pre-tokenisation and merges as OpenAI's
//! tiktoken (checked against `tiktoken-rs` in the tests), but a linear-time regex engine and a
//! backtracking BPE counter, so a million spaces neither overflows a stack nor takes quadratic
//! time. Text is always counted as ordinary text: `<|endoftext|>` and other special-token
//! spellings are just characters here, exactly as `encode_ordinary` treats them. Each encoder is
//! built once, lazily, on first use, and shared by every thread; each thread remembers the
//! counts of the words and pieces it has seen (`Memory` below).

use std::cell::RefCell;

use bpe_openai::Tokenizer;
use rustc_hash::FxHashMap;

/// Words and pieces longer than this are not remembered (long runs are rare repeats).
const MAX_REMEMBERED: usize = 64;
/// A thread forgets what it remembers in one map once the map holds this many counts: at most
/// about 1.5 MB a map (64-byte words), 4 maps a thread (words and pieces, two encodings).
const MAX_REMEMBERED_ENTRIES: usize = 1 << 14;

/// Counts a thread has already computed, per encoding (words repeat: Zipf). A lookup in these
/// small, cache-resident maps is several times cheaper than the pre-tokenizer regex and the BPE
/// merge, and cheaper than a lookup in the 200k-token vocabulary, which is therefore not built
/// (start-up is faster, RSS lower). A remembered count is exactly the count it stands for:
///
/// - `words`: the count of a *word*, the text between two word boundaries (see
///   [`word_boundaries`]); the count of a text is the sum of the counts of its words;
/// - `pieces`: the BPE count of a pre-tokenised piece, which never depends on its context.
#[derive(Default)]
struct Memory {
    words: [Remembered; 2],
    pieces: [Remembered; 2],
}

#[derive(Default)]
struct Remembered(FxHashMap<Box<[u8]>, u32>);

impl Remembered {
    fn get_or(&mut self, key: &str, compute: impl FnOnce() -> u64) -> u64 {
        let bytes = key.as_bytes();
        if bytes.len() > MAX_REMEMBERED {
            return compute();
        }
        if let Some(&n) = self.0.get(bytes) {
            return u64::from(n);
        }
        let n = compute();
        if self.0.len() >= MAX_REMEMBERED_ENTRIES {
            self.0.clear();
        }
        // 64 bytes are at most 64 tokens, so a remembered count always fits.
        if let Ok(n32) = u32::try_from(n) {
            self.0.insert(bytes.into(), n32);
        }
        n
    }
}

thread_local! {
    static MEMORY: RefCell<Memory> = RefCell::new(Memory::default());
}

/// Byte offsets where a piece of the pre-tokenizer always starts, whatever surrounds them: an
/// ASCII space right after a character that is not whitespace (Unicode `White_Space`, which is
/// what the patterns' `\s` means and what `char::is_whitespace` tests).
///
/// Why: in both patterns (cl100k_base and o200k_base) a space is only ever the *first*
/// character of a piece (`[^\r\n\p{L}\p{N}]?` before letters, ` ?` before punctuation; the
/// letter, digit, contraction and trailing `[\r\n/]*` parts hold no space) or part of a piece
/// made of whitespace only (`\s*[\r\n]+`, `\s+(?!\S)`, `\s+`). So no piece holds a
/// non-whitespace character followed by a space, and a piece starts at that space. The pieces
/// before it are those of the text cut there: the patterns have no look-behind, their one-
/// character look-ahead and `\s+$` only concern whitespace runs, which cannot end at the cut
/// (its last character is not whitespace). Hence the pieces of a text are the pieces of its
/// words, joined, and its count is the sum of theirs. The tests check every boundary against
/// bpe-openai's own split (examples and a proptest) and the counts against tiktoken-rs.
fn word_boundaries(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b' ', bytes).filter(move |&p| match bytes[..p].last() {
        None => false,
        Some(&b) if b.is_ascii() => !char::from(b).is_whitespace(),
        Some(_) => text[..p]
            .chars()
            .next_back()
            .is_some_and(|c| !c.is_whitespace()),
    })
}

/// Counts `text` word by word, each word piece by piece, through the thread's memory.
fn count_words(tokenizer: &Tokenizer, text: &str, memory: &mut Memory, slot: usize) -> u64 {
    let Memory { words, pieces } = memory;
    let (words, pieces) = (&mut words[slot], &mut pieces[slot]);
    let mut word = |w: &str| {
        words.get_or(w, || {
            tokenizer
                .split(w)
                .map(|piece| pieces.get_or(piece, || tokenizer.bpe.count(piece.as_bytes()) as u64))
                .sum()
        })
    };
    let mut total = 0;
    let mut start = 0;
    for end in word_boundaries(text) {
        total += word(&text[start..end]);
        start = end;
    }
    total + word(&text[start..])
}

/// The BPE encodings Azure OpenAI models use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    /// gpt-4, gpt-4-turbo, gpt-35-turbo, text-embedding-*, davinci-002, babbage-002.
    Cl100kBase,
    /// gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o-series, gpt-oss, codex and later.
    O200kBase,
}

impl Encoding {
    /// The encoding when nothing says which model answered.
    pub const DEFAULT: Encoding = Encoding::O200kBase;

    /// tiktoken's name for the encoding.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Cl100kBase => "cl100k_base",
            Encoding::O200kBase => "o200k_base",
        }
    }

    /// The encoding of a model, by OpenAI or Azure spelling (`gpt-35-turbo`, `gpt-4o-2024-11-20`,
    /// `o3-mini`). `None` when the name is not a model we know; callers then fall back to
    /// [`Encoding::DEFAULT`].
    pub fn for_model(model: &str) -> Option<Encoding> {
        let m = model.trim().to_ascii_lowercase();
        let m = m.rsplit('/').next().unwrap_or(&m);
        let o200k = [
            "gpt-4o",
            "chatgpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "gpt-oss",
            "o1",
            "o3",
            "o4",
            "codex",
            "computer-use",
            "gpt-realtime",
            "gpt-audio",
            "model-router",
        ];
        let cl100k = [
            "gpt-4",
            "gpt-35",
            "gpt-3.5",
            "text-embedding-",
            "davinci-002",
            "babbage-002",
        ];
        // Order matters: "gpt-4o" must win over "gpt-4".
        if o200k.iter().any(|p| m.starts_with(p)) {
            Some(Encoding::O200kBase)
        } else if cl100k.iter().any(|p| m.starts_with(p)) {
            Some(Encoding::Cl100kBase)
        } else {
            None
        }
    }

    /// The `bpe-openai` tokenizer of this encoding (its pre-tokenizer split is what counts are
    /// additive over). Built on first use, then shared by every thread.
    pub fn tokenizer(self) -> &'static Tokenizer {
        match self {
            Encoding::Cl100kBase => bpe_openai::cl100k_base(),
            Encoding::O200kBase => bpe_openai::o200k_base(),
        }
    }

    /// The number of tokens `text` encodes to, as tiktoken's `encode_ordinary` would give.
    pub fn count(self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        let tokenizer = self.tokenizer();
        let slot = self as usize;
        MEMORY.with(|m| match m.try_borrow_mut() {
            Ok(mut memory) => count_words(tokenizer, text, &mut memory, slot),
            // Only reachable re-entrantly (never, today): count with a fresh memory.
            Err(_) => count_words(tokenizer, text, &mut Memory::default(), slot),
        })
    }

    /// Builds the encoder now rather than on the first count (used by `serve` after it is ready).
    pub fn warm_up(self) {
        let _ = self.count("warm up");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_model_spellings_map_to_their_encodings() {
        assert_eq!(
            Encoding::for_model("gpt-35-turbo"),
            Some(Encoding::Cl100kBase)
        );
        assert_eq!(
            Encoding::for_model("gpt-35-turbo-0125"),
            Some(Encoding::Cl100kBase)
        );
        assert_eq!(Encoding::for_model("gpt-4"), Some(Encoding::Cl100kBase));
        assert_eq!(
            Encoding::for_model("gpt-4-turbo-2024-04-09"),
            Some(Encoding::Cl100kBase)
        );
        assert_eq!(
            Encoding::for_model("text-embedding-3-small"),
            Some(Encoding::Cl100kBase)
        );
        assert_eq!(
            Encoding::for_model("gpt-4o-2024-11-20"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(
            Encoding::for_model("GPT-4o-mini"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(
            Encoding::for_model("gpt-4.1-nano"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(Encoding::for_model("gpt-5-mini"), Some(Encoding::O200kBase));
        assert_eq!(Encoding::for_model("o3-mini"), Some(Encoding::O200kBase));
        assert_eq!(Encoding::for_model("o1"), Some(Encoding::O200kBase));
        assert_eq!(Encoding::for_model("my-custom-thing"), None);
    }

    const ENCODINGS: [Encoding; 2] = [Encoding::Cl100kBase, Encoding::O200kBase];

    /// Byte offsets where the pre-tokenizer starts a piece.
    fn piece_starts(enc: Encoding, text: &str) -> Vec<usize> {
        let mut at = 0;
        enc.tokenizer()
            .split(text)
            .map(|piece| {
                let start = at;
                at += piece.len();
                start
            })
            .collect()
    }

    #[test]
    fn every_word_boundary_is_where_the_pre_tokenizer_starts_a_piece() {
        let texts = [
            "Hello world, this is   a test.\n\n  It's   fine   ",
            "don't STOP me now'll it's CamelCase wordsHere x y z",
            "naïve café déjà vu Ärger über Öl — über alles 東京 タワー",
            "fn main() { let total = items.iter().sum(); }  // done",
            "a\tb \r\nc  d\u{a0}e f\u{2003}g 123 4567 h",
            "word\u{301} next  word 'quoted' \"double\" x'y",
            "бюджет прогноз переносит нагрузки, волнами. Ωμέγα λόγος ميزانية التوقعات",
            "e\u{301} x\u{b} y\u{85} z\u{3000} 東京 。 w/ x /y 1 2 3 ' s",
        ];
        for enc in ENCODINGS {
            for text in texts {
                let starts = piece_starts(enc, text);
                for b in word_boundaries(text) {
                    assert!(
                        starts.binary_search(&b).is_ok(),
                        "{}: {text:?} has no piece starting at byte {b}",
                        enc.name()
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn word_boundaries_are_piece_starts_in_any_text(
            text in "([a-zA-Z]{1,6}|[а-яё]{1,5}|[東京タワー]{1,3}|[ \t\n\r\u{b}\u{c}\u{85}\u{a0}\u{2003}\u{3000}]{1,3}|[0-9]{1,4}|['.,!?/\u{301}\u{300}]|\\PC){0,40}"
        ) {
            for enc in ENCODINGS {
                let starts = piece_starts(enc, &text);
                for b in word_boundaries(&text) {
                    proptest::prop_assert!(starts.binary_search(&b).is_ok(), "{}: {:?} at {}", enc.name(), text, b);
                }
            }
        }
    }

    #[test]
    fn a_remembered_count_is_the_count_a_fresh_memory_gives() {
        let text = "The forecast moves workloads in four waves; the forecast moves them again. \
                    Überweisung überweisen Überweisung 東京タワー 東京タワー identifier_name identifier_name";
        for (slot, enc) in ENCODINGS.into_iter().enumerate() {
            let tokenizer = enc.tokenizer();
            let mut warm = Memory::default();
            let first = count_words(tokenizer, text, &mut warm, slot);
            let again = count_words(tokenizer, text, &mut warm, slot);
            assert!(!warm.words[slot].0.is_empty(), "the words were remembered");
            let fresh = count_words(tokenizer, text, &mut Memory::default(), slot);
            let plain: usize = tokenizer
                .split(text)
                .map(|p| tokenizer.bpe.count(p.as_bytes()))
                .sum();
            assert_eq!(
                (first, again, fresh),
                (plain as u64, plain as u64, plain as u64)
            );
        }
    }

    #[test]
    fn the_memory_forgets_rather_than_grows_past_its_bound() {
        let mut m = Remembered::default();
        for i in 0..MAX_REMEMBERED_ENTRIES + 10 {
            assert_eq!(m.get_or(&format!("w{i}"), || 2), 2);
        }
        assert!(m.0.len() <= MAX_REMEMBERED_ENTRIES);
        assert!(!m.0.is_empty());
        let long = "x".repeat(MAX_REMEMBERED + 1);
        m.0.clear();
        assert_eq!(m.get_or(&long, || 7), 7);
        assert!(
            m.0.is_empty(),
            "a word longer than the limit is counted, not remembered"
        );
    }

    #[test]
    fn the_empty_text_has_no_tokens() {
        assert_eq!(Encoding::O200kBase.count(""), 0);
    }

    #[test]
    fn special_token_spellings_count_as_ordinary_text() {
        // tiktoken's encode_ordinary splits "<|endoftext|>" into 7 ordinary tokens in cl100k_base.
        assert!(Encoding::Cl100kBase.count("<|endoftext|>") > 1);
        assert!(Encoding::O200kBase.count("<|endoftext|>") > 1);
    }
}
