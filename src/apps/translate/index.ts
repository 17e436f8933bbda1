// Machine translation (English -> French) with a GRU encoder-decoder and Bahdanau attention.
export * from "./data.js";
export * from "./bleu.js";
export * from "./corpus.js";
export * from "./model.js";
export * from "./decode.js";
export * from "./train.js";
export * from "./checkpoint.js";
export * from "./heatmap.js";
