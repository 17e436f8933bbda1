// PyTorch's torch.nn.utils.rnn: packing helpers for variable-length batches (see nn.LSTM's `lengths`).
export { PackedSequence, packPaddedSequence, padPackedSequence, packSequence, padSequence } from "../modules/rnn.js";
