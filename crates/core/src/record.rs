//! The usage record: one ledger row per billable call (`docs/record.md`), serialised as camelCase JSON.

use chargeback_pricing::{Cost, DeploymentType};
use serde::{Deserialize, Serialize};

/// Who used the tokens. Never holds a key or a token: a raw v1 key is replaced by its fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_tenant_id: Option<String>,
}

impl Consumer {
    /// The single key a bill is grouped by: the APIM subscription (or its fingerprint), else the
    /// Entra caller application, else the APIM user, else `unattributed`.
    pub fn billing_key(&self) -> &str {
        self.subscription_id
            .as_deref()
            .or(self.caller_app_id.as_deref())
            .or(self.user_id.as_deref())
            .unwrap_or("unattributed")
    }

    /// A human label for tables: the subscription name when APIM gave one, else the billing key.
    pub fn label(&self) -> &str {
        self.subscription_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| self.billing_key())
    }
}

/// The Azure OpenAI operation a call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiOperation {
    ChatCompletion,
    TextCompletion,
    Embeddings,
    Responses,
    ImageGeneration,
    AudioTranscription,
    AudioSpeech,
    Other,
}

impl ApiOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiOperation::ChatCompletion => "ChatCompletion",
            ApiOperation::TextCompletion => "TextCompletion",
            ApiOperation::Embeddings => "Embeddings",
            ApiOperation::Responses => "Responses",
            ApiOperation::ImageGeneration => "ImageGeneration",
            ApiOperation::AudioTranscription => "AudioTranscription",
            ApiOperation::AudioSpeech => "AudioSpeech",
            ApiOperation::Other => "Other",
        }
    }
}

/// Where the token counts came from (`docs/counting.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CountSource {
    /// A `usage` object in a non-streamed response (or a Responses API terminal event).
    Usage,
    /// A `usage` object on a chunk of a streamed response.
    StreamUsage,
    /// Counted with the model's BPE encoding because the response carried no usage.
    Tokenizer,
    /// Counted with the model's encoding over a body that APIM truncated: a lower bound.
    TokenizerTruncated,
}

impl CountSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CountSource::Usage => "usage",
            CountSource::StreamUsage => "streamUsage",
            CountSource::Tokenizer => "tokenizer",
            CountSource::TokenizerTruncated => "tokenizerTruncated",
        }
    }
}

/// One billable call. `request_id` is the idempotency key: readers dedupe on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord {
    pub request_id: String,
    pub event_time: String,
    pub consumer: Consumer,
    pub api_operation: ApiOperation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The deployment's type (Azure SKU name), always written; `GlobalStandard` when an old
    /// ledger row has none.
    #[serde(default = "default_deployment_type")]
    pub deployment_type: DeploymentType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub stream: bool,
    pub status_code: u16,
    /// False only for the zero-token rows written when `CHARGEBACK_RECORD_NON_BILLABLE` is on.
    pub billable: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub count_source: CountSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The exact price (`chargeback_pricing::Cost`); absent for non-billable rows, provisioned
    /// deployments and calls the sheet cannot price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// Why a billable call has no cost (`Unpriced::code()`: `noModel`, `noRateForModel`,
    /// `noRateForType`, `beforeFirstRate`, `provisioned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpriced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enqueued_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// Set to true on the ledger row when the record could not be delivered to Application
    /// Insights on the host's last retry; `chargeback replay --resend` sends such rows later.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub telemetry_undelivered: bool,
}

fn default_deployment_type() -> DeploymentType {
    DeploymentType::DEFAULT
}
