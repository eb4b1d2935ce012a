//! Which Azure OpenAI operation a logged call was, and which deployment it targeted, from the
//! request path, the APIM operation id, a v1 hint, or the response's `object` field.

use crate::record::ApiOperation;

/// The operation and deployment read from a request path such as
/// `/openai/deployments/{deployment}/chat/completions` or `/openai/v1/responses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub operation: Option<ApiOperation>,
    pub deployment: Option<String>,
}

/// Reads a request path (query string allowed). Unknown paths give `operation: None`.
pub(crate) fn route_from_path(path: &str) -> Route {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let deployment = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("deployments"))
        .and_then(|i| segments.get(i + 1))
        .map(|s| s.to_string());
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let ends = |tail: &[&str]| {
        lower.len() >= tail.len()
            && lower[lower.len() - tail.len()..]
                .iter()
                .zip(tail)
                .all(|(a, b)| a == b)
    };
    let operation = if ends(&["chat", "completions"]) {
        Some(ApiOperation::ChatCompletion)
    } else if ends(&["completions"]) {
        Some(ApiOperation::TextCompletion)
    } else if ends(&["embeddings"]) {
        Some(ApiOperation::Embeddings)
    } else if ends(&["responses"]) {
        Some(ApiOperation::Responses)
    } else if ends(&["images", "generations"]) || ends(&["images", "edits"]) {
        Some(ApiOperation::ImageGeneration)
    } else if ends(&["audio", "transcriptions"]) || ends(&["audio", "translations"]) {
        Some(ApiOperation::AudioTranscription)
    } else if ends(&["audio", "speech"]) {
        Some(ApiOperation::AudioSpeech)
    } else {
        None
    };
    Route {
        operation,
        deployment,
    }
}

/// Reads an APIM operation id (`ChatCompletions_Create`, `embeddings_create`, `createResponse`)
/// or a v1 `apiOperation` hint (`ChatCompletion`).
pub(crate) fn operation_from_name(name: &str) -> Option<ApiOperation> {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if n.contains("chatcompletion") {
        Some(ApiOperation::ChatCompletion)
    } else if n.contains("embedding") {
        Some(ApiOperation::Embeddings)
    } else if n.contains("response") {
        Some(ApiOperation::Responses)
    } else if n.contains("completion") {
        Some(ApiOperation::TextCompletion)
    } else if n.contains("image") {
        Some(ApiOperation::ImageGeneration)
    } else if n.contains("transcription") || n.contains("translation") {
        Some(ApiOperation::AudioTranscription)
    } else if n.contains("speech") {
        Some(ApiOperation::AudioSpeech)
    } else {
        None
    }
}

/// Reads a response's `object` field (`chat.completion`, `chat.completion.chunk`,
/// `text_completion`, `list` of embeddings, `response`).
pub(crate) fn operation_from_object(object: &str) -> Option<ApiOperation> {
    match object {
        "chat.completion" | "chat.completion.chunk" => Some(ApiOperation::ChatCompletion),
        "text_completion" => Some(ApiOperation::TextCompletion),
        "list" | "embedding" => Some(ApiOperation::Embeddings),
        "response" => Some(ApiOperation::Responses),
        _ => None,
    }
}

/// HTTP methods that read or delete state rather than run inference (e.g. `GET /responses/{id}`
/// returns a stored response with its usage; billing it again would double-bill).
pub(crate) fn is_non_inference_method(method: &str) -> bool {
    ["GET", "HEAD", "DELETE", "OPTIONS"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_routes_give_operation_and_deployment() {
        let r = route_from_path(
            "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21",
        );
        assert_eq!(r.operation, Some(ApiOperation::ChatCompletion));
        assert_eq!(r.deployment.as_deref(), Some("gpt4o-prod"));
        let r = route_from_path("/openai/deployments/davinci/completions");
        assert_eq!(r.operation, Some(ApiOperation::TextCompletion));
        let r = route_from_path("/openai/deployments/emb/embeddings");
        assert_eq!(r.operation, Some(ApiOperation::Embeddings));
    }

    #[test]
    fn v1_and_responses_routes_are_recognised_without_a_deployment() {
        for p in [
            "/openai/v1/responses",
            "/openai/responses",
            "/aoai/openai/v1/responses/",
        ] {
            let r = route_from_path(p);
            assert_eq!(r.operation, Some(ApiOperation::Responses), "{p}");
            assert_eq!(r.deployment, None);
        }
        assert_eq!(
            route_from_path("/openai/v1/chat/completions").operation,
            Some(ApiOperation::ChatCompletion)
        );
        assert_eq!(
            route_from_path("/openai/v1/embeddings").operation,
            Some(ApiOperation::Embeddings)
        );
    }

    #[test]
    fn retrieving_a_stored_response_is_not_the_responses_operation() {
        assert_eq!(
            route_from_path("/openai/v1/responses/resp_123").operation,
            None
        );
        assert!(is_non_inference_method("get"));
        assert!(!is_non_inference_method("POST"));
    }

    #[test]
    fn operation_ids_and_hints_are_read_loosely() {
        assert_eq!(
            operation_from_name("ChatCompletions_Create"),
            Some(ApiOperation::ChatCompletion)
        );
        assert_eq!(
            operation_from_name("Completions_Create"),
            Some(ApiOperation::TextCompletion)
        );
        assert_eq!(
            operation_from_name("embeddings_create"),
            Some(ApiOperation::Embeddings)
        );
        assert_eq!(
            operation_from_name("createResponse"),
            Some(ApiOperation::Responses)
        );
        assert_eq!(operation_from_name("get-orders"), None);
    }
}
