//! Borrowing, lenient readers for stream chunks: the single stream pass reads only the fields it
//! needs, without building a `serde_json::Value` per chunk (`usage` and `response` are kept as
//! raw JSON text and read by the typed usage readers). Every reader has `Value`'s semantics:
//! a field of the wrong type reads as absent (like `Value::as_str` / `as_u64` / `as_array`), a
//! repeated key keeps its last value, and every other value is still fully parsed (`Skip`), so a
//! chunk is rejected exactly when `serde_json::from_str::<Value>` would reject it.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Any JSON value, parsed and discarded. Not `serde::de::IgnoredAny`: serde_json skips an
/// ignored value without checking it (a number such as `1e400` passes), where `Value` — whose
/// semantics these readers keep — rejects it; `Skip` parses every value through
/// `deserialize_any`. The property test `the_stream_reader_reads_what_a_value_walk_reads` pins this.
pub(crate) struct Skip;

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        Skip::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Key>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

/// The keys the readers look at; any other key is `Other`.
#[derive(PartialEq, Eq)]
pub(super) enum Key {
    Type,
    OutputIndex,
    Delta,
    Choices,
    Index,
    Text,
    Content,
    Refusal,
    ToolCalls,
    Function,
    FunctionCall,
    Arguments,
    Model,
    Object,
    Usage,
    Response,
    Other,
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "type" => Key::Type,
            "output_index" => Key::OutputIndex,
            "delta" => Key::Delta,
            "choices" => Key::Choices,
            "index" => Key::Index,
            "text" => Key::Text,
            "content" => Key::Content,
            "refusal" => Key::Refusal,
            "tool_calls" => Key::ToolCalls,
            "function" => Key::Function,
            "function_call" => Key::FunctionCall,
            "arguments" => Key::Arguments,
            "model" => Key::Model,
            "object" => Key::Object,
            "usage" => Key::Usage,
            "response" => Key::Response,
            _ => Key::Other,
        })
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

/// Declares a reader for one JSON shape: `$accept` handles that shape; everything else is
/// parsed with `Skip` and reads as the default.
macro_rules! reader {
    ($name:ident<$de:lifetime>, $val:ty, $expect:literal, { $($accept:tt)* }) => {
        impl<$de> Deserialize<$de> for $name<$de> {
            fn deserialize<D: Deserializer<$de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<$de> Visitor<$de> for V {
                    type Value = $val;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expect)
                    }
                    fn visit_bool<E: de::Error>(self, _: bool) -> Result<$val, E> {
                        Ok(Default::default())
                    }
                    fn visit_i64<E: de::Error>(self, _: i64) -> Result<$val, E> {
                        Ok(Default::default())
                    }
                    fn visit_f64<E: de::Error>(self, _: f64) -> Result<$val, E> {
                        Ok(Default::default())
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<$val, E> {
                        Ok(Default::default())
                    }
                    fn visit_none<E: de::Error>(self) -> Result<$val, E> {
                        Ok(Default::default())
                    }
                    $($accept)*
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// `Value::as_str`.
#[derive(Default, Debug)]
pub(super) struct Str<'a>(pub(crate) Option<Cow<'a, str>>);

reader!(Str<'de>, Str<'de>, "a string", {
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Str<'de>, E> {
        Ok(Str(None))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
        Ok(Str(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
        Ok(Str(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Str<'de>, A::Error> {
        SkipVisitor.visit_seq(seq).map(|_| Str(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Str<'de>, A::Error> {
        SkipVisitor.visit_map(map).map(|_| Str(None))
    }
});

/// `Value::as_u64`.
#[derive(Default, Debug)]
pub(super) struct U64<'a>(pub(crate) Option<u64>, std::marker::PhantomData<&'a ()>);

impl U64<'_> {
    /// The integer `v` (for readers other than serde's, such as `scan`).
    pub(crate) fn of(v: u64) -> Self {
        U64(Some(v), std::marker::PhantomData)
    }
}

reader!(U64<'de>, U64<'de>, "an unsigned integer", {
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<U64<'de>, E> {
        Ok(U64(Some(v), std::marker::PhantomData))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<U64<'de>, E> {
        Ok(U64::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<U64<'de>, A::Error> {
        SkipVisitor.visit_seq(seq).map(|_| U64::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<U64<'de>, A::Error> {
        SkipVisitor.visit_map(map).map(|_| U64::default())
    }
});

/// An array of `T` (`Value::as_array`), `None` for any other value.
#[derive(Debug)]
pub(super) struct Seq<'a, T>(pub(crate) Option<Vec<T>>, std::marker::PhantomData<&'a ()>);

impl<T> Seq<'_, T> {
    /// The array `items` (for readers other than serde's, such as `scan`).
    pub(crate) fn of(items: Vec<T>) -> Self {
        Seq(Some(items), std::marker::PhantomData)
    }
}

impl<T> Default for Seq<'_, T> {
    fn default() -> Self {
        Seq(None, std::marker::PhantomData)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Seq<'de, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Seq<'de, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Seq::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Seq::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Seq::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Seq::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Seq::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Seq::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Seq::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    items.push(item);
                }
                Ok(Seq(Some(items), std::marker::PhantomData))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                SkipVisitor.visit_map(map).map(|_| Seq::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Declares an object reader: fields by key (last one wins), any non-object reads as the
/// default (every field absent).
macro_rules! object {
    ($name:ident { $($field:ident : $ty:ty = $key:ident),* $(,)? }) => {
        #[derive(Default, Debug)]
        pub(crate) struct $name<'a> {
            $(pub(crate) $field: $ty,)*
            _borrow: std::marker::PhantomData<&'a ()>,
        }

        reader!($name<'de>, $name<'de>, "an object", {
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<$name<'de>, E> {
                Ok(Default::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<$name<'de>, E> {
                Ok(Default::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<$name<'de>, A::Error> {
                SkipVisitor.visit_seq(seq).map(|_| Default::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name<'de>, A::Error> {
                let mut out = $name::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        $(Key::$key => out.$field = map.next_value()?,)*
                        _ => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(out)
            }
        });
    };
}

/// Present (with any value, `null` included) or absent, like `Value::get`.
#[derive(Debug)]
pub(super) struct Present<T>(pub(crate) Option<T>);

impl<T> Default for Present<T> {
    fn default() -> Self {
        Present(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Present<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(|t| Present(Some(t)))
    }
}

object!(Part { text: Str<'a> = Text, refusal: Str<'a> = Refusal });
object!(Function { arguments: Str<'a> = Arguments });
object!(Call { index: U64<'a> = Index, function: Function<'a> = Function });
object!(Delta {
    content: Content<'a> = Content,
    refusal: Str<'a> = Refusal,
    tool_calls: Seq<'a, Call<'a>> = ToolCalls,
    function_call: Function<'a> = FunctionCall,
});
object!(Choice {
    index: U64<'a> = Index,
    text: Str<'a> = Text,
    delta: Present<Delta<'a>> = Delta,
});
object!(Chunk {
    kind: Str<'a> = Type,
    output_index: U64<'a> = OutputIndex,
    delta: Str<'a> = Delta,
    choices: Seq<'a, Choice<'a>> = Choices,
    model: Str<'a> = Model,
    object: Str<'a> = Object,
    usage: Raw<'a> = Usage,
    response: Raw<'a> = Response,
});

impl<'a> Chunk<'a> {
    /// The chunk's facts, as the facts-only reader would have read them; `None` when its
    /// `usage` or `response` has a shape that reader rejects (the chunk counts as damaged).
    pub(super) fn head(&self) -> Option<crate::response::ChunkHead<'a>> {
        let usage = match self.usage.0 {
            None => None,
            Some(r) => Some(crate::response::UsageJson::deserialize(r).ok()?),
        };
        let response = match self.response.0 {
            None => None,
            Some(r) => Some(crate::response::DocHead::deserialize(r).ok()?),
        };
        Some(crate::response::ChunkHead {
            model: self.model.0.clone(),
            object: self.object.0.clone(),
            kind: self.kind.0.clone(),
            usage,
            response,
        })
    }
}

/// Any value, kept as its JSON text (borrowed) to be read by a typed reader afterwards;
/// `null` reads as absent, like `Option`.
#[derive(Default, Debug)]
pub(super) struct Raw<'a>(pub(crate) Option<&'a serde_json::value::RawValue>);

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de serde_json::value::RawValue>::deserialize(d)?;
        Ok(Raw((raw.get() != "null").then_some(raw)))
    }
}

/// A message content: a string, or an array of parts (`text` or `refusal`).
#[derive(Default, Debug)]
pub(super) enum Content<'a> {
    #[default]
    None,
    Text(Cow<'a, str>),
    Parts(Vec<Part<'a>>),
}

reader!(
    Content<'de>,
    Content<'de>,
    "a string or an array of parts",
    {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Content<'de>, E> {
            Ok(Content::None)
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Content<'de>, E> {
            Ok(Content::Text(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Content<'de>, E> {
            Ok(Content::Text(Cow::Owned(v.to_owned())))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content<'de>, A::Error> {
            let mut parts = Vec::new();
            while let Some(p) = seq.next_element::<Part<'de>>()? {
                parts.push(p);
            }
            Ok(Content::Parts(parts))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Content<'de>, A::Error> {
            SkipVisitor.visit_map(map).map(|_| Content::None)
        }
    }
);

impl Content<'_> {
    /// `push_content`: the string, or each part's `text` (else its `refusal`).
    pub(super) fn push_to(&self, target: &mut String) {
        match self {
            Content::None => {}
            Content::Text(s) => target.push_str(s),
            Content::Parts(parts) => {
                for p in parts {
                    if let Some(t) = p.text.0.as_deref().or(p.refusal.0.as_deref()) {
                        target.push_str(t);
                    }
                }
            }
        }
    }
}
