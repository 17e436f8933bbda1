// flint.text: vocabularies, tokenizers and batching helpers for sequence models.
export * from "./vocab.js";
export * from "./tokenizers.js";
export * from "./batching.js";
