//! The counts of a call: the response's usage object when it has one, else the fallback count
//! with the model's encoding — the prompt from the request (`prompt`), the completion from the
//! generated texts (`response`).

use std::cell::OnceCell;

use serde_json::Value;

use crate::body::Body;
use crate::event::ApimEvent;
use crate::partial_json::parse_prefix;
use crate::prompt::{chat_request_tokens, input_tokens, ModelTraits};
use crate::record::{ApiOperation, CountSource};
use crate::response::{completion_texts, ChoiceText, ResponseFacts, Usage};

/// How much of a call is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Billing {
    Full,
    /// A prompt-side content filter refused it: the prompt is billed, no completion.
    PromptOnly,
    None,
}

/// The counts of a call and where they came from.
pub(crate) struct Counted {
    pub(crate) usage: Usage,
    pub(crate) source: CountSource,
    pub(crate) encoding: Option<&'static str>,
}

/// The request body, decoded and parsed (prefix-repaired) on first use and then lent, never
/// cloned.
pub(crate) struct Request<'a> {
    body: Option<&'a Body<'a>>,
    parsed: OnceCell<Option<(Value, bool)>>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(body: Option<&'a Body<'a>>) -> Request<'a> {
        Request {
            body,
            parsed: OnceCell::new(),
        }
    }

    /// The request as JSON and whether it had to be repaired (it was cut); `None` when there is
    /// none or it is not JSON.
    pub(crate) fn get(&self) -> Option<&(Value, bool)> {
        self.parsed
            .get_or_init(|| self.body.and_then(|b| parse_prefix(&b.text())))
            .as_ref()
    }
}

/// Generated texts already read with the response's facts (a stream read in one pass), and
/// whether they were damaged.
pub(crate) type StreamTexts = Option<(Vec<ChoiceText>, bool)>;

/// The counts of a billable call; `None` for an operation that is not counted when the response
/// carries no usage.
pub(crate) fn count(
    ev: &ApimEvent<'_>,
    facts: &ResponseFacts,
    (billing, operation): (Billing, ApiOperation),
    model: Option<&str>,
    request: &Request<'_>,
    stream_texts: StreamTexts,
) -> Option<Counted> {
    if let Some(u) = facts.usage {
        return Some(from_usage(u, billing, facts.usage_from_stream));
    }
    let counted_ops = [
        ApiOperation::ChatCompletion,
        ApiOperation::TextCompletion,
        ApiOperation::Embeddings,
        ApiOperation::Responses,
    ];
    if !counted_ops.contains(&operation) {
        return None;
    }
    let traits = ModelTraits::for_model(model);
    let mut truncated = ev.request_truncated || ev.response_truncated || facts.damaged;
    let prompt = prompt_tokens(operation, request, traits, &mut truncated);
    let completion = if billing == Billing::PromptOnly || operation == ApiOperation::Embeddings {
        0
    } else {
        completion_tokens(ev.response.as_ref(), stream_texts, traits, &mut truncated)
    };
    Some(Counted {
        usage: Usage {
            prompt,
            completion,
            cached: 0,
            reasoning: 0,
        },
        source: if truncated {
            CountSource::TokenizerTruncated
        } else {
            CountSource::Tokenizer
        },
        encoding: Some(traits.encoding.name()),
    })
}

/// The response's own usage object (the completion dropped when only the prompt is billed).
fn from_usage(u: Usage, billing: Billing, from_stream: bool) -> Counted {
    let usage = match billing {
        Billing::PromptOnly => Usage {
            completion: 0,
            reasoning: 0,
            ..u
        },
        _ => u,
    };
    Counted {
        usage,
        source: if from_stream {
            CountSource::StreamUsage
        } else {
            CountSource::Usage
        },
        encoding: None,
    }
}

/// The prompt counted from the request; never for the Responses API (stored turns are billed
/// but are not in the body). A missing or cut request sets `truncated`.
fn prompt_tokens(
    operation: ApiOperation,
    request: &Request<'_>,
    traits: ModelTraits,
    truncated: &mut bool,
) -> u64 {
    if operation == ApiOperation::Responses {
        return 0;
    }
    let Some((req, repaired)) = request.get() else {
        *truncated = true;
        return 0;
    };
    *truncated |= *repaired;
    match operation {
        ApiOperation::ChatCompletion => chat_request_tokens(req, traits),
        ApiOperation::TextCompletion => req.get("prompt").map_or(0, |p| input_tokens(p, traits)),
        _ => req.get("input").map_or(0, |p| input_tokens(p, traits)),
    }
}

/// The completion counted from the generated texts (a stream's were read in the same pass as its
/// facts). A missing or damaged response sets `truncated`.
fn completion_tokens(
    response: Option<&Body<'_>>,
    stream_texts: StreamTexts,
    traits: ModelTraits,
    truncated: &mut bool,
) -> u64 {
    let Some(body) = response else {
        *truncated = true;
        return 0;
    };
    let (texts, damaged) = stream_texts.unwrap_or_else(|| completion_texts(&body.text()));
    *truncated |= damaged;
    let enc = traits.encoding;
    texts
        .iter()
        .map(|t| enc.count(&t.content) + t.arguments.iter().map(|a| enc.count(a)).sum::<u64>())
        .sum()
}
