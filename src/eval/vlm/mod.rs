//! VLM evaluation over OpenAI-compatible chat-completions APIs.
