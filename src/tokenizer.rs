//! BPE token counting with a model's encoding (`cl100k_base`, `o200k_base`), identical to tiktoken.
//!
//! Counting uses GitHub's `bpe-openai` encoders: the same pre-tokenisation and merges as OpenAI's
//! tiktoken (checked against `tiktoken-rs` in the tests), but a linear-time regex engine and a
//! backtracking BPE counter, so a million spaces neither overflows a stack nor takes quadratic
//! time. Text is always counted as ordinary text: `<|endoftext|>` and other special-token
//! spellings are just characters here, exactly as `encode_ordinary` treats them. Each encoder is
//! built once, lazily, on first use, and shared by every thread.

use std::sync::OnceLock;

use bpe_openai::Tokenizer;
use rustc_hash::FxHashSet;

/// An encoder plus the set of its token byte strings: a pre-tokenised piece that is itself a
/// token counts 1 without running the BPE (tiktoken takes the same shortcut), which is most
/// words of most texts.
struct Counter {
    tokenizer: &'static Tokenizer,
    tokens: FxHashSet<&'static [u8]>,
    longest: usize,
}

impl Counter {
    fn new(tokenizer: &'static Tokenizer) -> Counter {
        let bpe = &tokenizer.bpe;
        let mut tokens = FxHashSet::with_capacity_and_hasher(bpe.num_tokens(), Default::default());
        let mut longest = 0;
        for id in 0..bpe.num_tokens() {
            let Ok(id) = u32::try_from(id) else { break };
            let bytes = bpe.token_bytes(id);
            longest = longest.max(bytes.len());
            tokens.insert(bytes);
        }
        Counter {
            tokenizer,
            tokens,
            longest,
        }
    }

    fn count(&self, text: &str) -> u64 {
        self.tokenizer
            .split(text)
            .map(|piece| {
                let bytes = piece.as_bytes();
                if bytes.len() <= self.longest && self.tokens.contains(bytes) {
                    1
                } else {
                    self.tokenizer.bpe.count(bytes) as u64
                }
            })
            .sum()
    }
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

    fn counter(self) -> &'static Counter {
        static CL100K: OnceLock<Counter> = OnceLock::new();
        static O200K: OnceLock<Counter> = OnceLock::new();
        match self {
            Encoding::Cl100kBase => CL100K.get_or_init(|| Counter::new(bpe_openai::cl100k_base())),
            Encoding::O200kBase => O200K.get_or_init(|| Counter::new(bpe_openai::o200k_base())),
        }
    }

    /// The `bpe-openai` tokenizer of this encoding (its pre-tokenizer split is what counts are
    /// additive over).
    pub fn tokenizer(self) -> &'static Tokenizer {
        self.counter().tokenizer
    }

    /// The number of tokens `text` encodes to, as tiktoken's `encode_ordinary` would give.
    pub fn count(self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        self.counter().count(text)
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
