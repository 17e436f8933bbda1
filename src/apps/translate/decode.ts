/**
 * Inference: greedy decoding (a whole batch at once) and beam search (one sentence, its K beams
 * as the batch). Both stop at <eos> or after `maxLength` tokens.
 */
import * as flint from "../../index.js";
import type { Vocab } from "../../text/index.js";
import { sourceBatch } from "./corpus.js";
import type { Translator } from "./model.js";

type Tensor = flint.Tensor;

export interface Decoded {
  /** Output ids, without <eos>. */
  ids: number[];
  /** One row of source weights per output step (<eos> included); empty without attention. */
  attention: number[][];
}

function rows(t: Tensor): number[][] {
  return t.tolist() as number[][];
}

/** Output scores with <pad> and <bos> ruled out: the decoder must never emit them. */
function allowedScores(logits: Tensor, targetVocab: Vocab): Tensor {
  const banned = new Array<boolean>(logits.shape[1]).fill(false);
  for (const id of [targetVocab.padIndex, targetVocab.bosIndex]) if (id >= 0) banned[id] = true;
  return logits.maskedFill(flint.tensor(banned, { dtype: "bool" }), -Infinity);
}

/** Greedy decoding of every source (id lists, each non-empty) in one batch. */
export function greedyDecode(model: Translator, sources: readonly (readonly number[])[], sourceVocab: Vocab, targetVocab: Vocab, maxLength: number): Decoded[] {
  model.eval();
  return flint.noGrad(() => {
    const batch = sourceBatch(sources, sourceVocab.padIndex);
    let [state, memory] = model.encode(batch.ids, batch.lengths, batch.paddingMask);
    const B = sources.length;
    const results: Decoded[] = sources.map(() => ({ ids: [], attention: [] }));
    const done = new Array<boolean>(B).fill(false);
    let input = flint.full([B], targetVocab.bosIndex, { dtype: "int32" });
    for (let t = 0; t < maxLength && done.includes(false); t++) {
      const [next, weights] = model.decoder.step(model.decoder.embedding.forward(input), state, memory);
      state = next;
      input = allowedScores(model.decoder.out.forward(state), targetVocab).argmax(-1).int();
      const chosen = input.tolist() as number[];
      const weightRows = weights === null ? null : rows(weights);
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        if (weightRows !== null) results[b].attention.push(weightRows[b]);
        if (chosen[b] === targetVocab.eosIndex) done[b] = true;
        else results[b].ids.push(chosen[b]);
      }
    }
    return results;
  });
}

interface Hypothesis {
  ids: number[];
  attention: number[][];
  logProb: number;
}

/**
 * Beam search with `beamSize` beams; finished hypotheses are ranked by log-probability per token
 * (<eos> counted). With beamSize 1 it is exactly greedy decoding.
 */
export function beamDecode(model: Translator, source: readonly number[], sourceVocab: Vocab, targetVocab: Vocab, maxLength: number, beamSize: number): Decoded {
  model.eval();
  return flint.noGrad(() => {
    const batch = sourceBatch([source], sourceVocab.padIndex);
    const [firstState, firstMemory] = model.encode(batch.ids, batch.lengths, batch.paddingMask);
    const expandMemory = (count: number) => ({
      states: firstMemory.states.expand([count, ...firstMemory.states.shape.slice(1)]),
      projectedKeys: firstMemory.projectedKeys === null ? null : firstMemory.projectedKeys.expand([count, ...firstMemory.projectedKeys.shape.slice(1)]),
      paddingMask: firstMemory.paddingMask.expand([count, firstMemory.paddingMask.shape[1]]),
    });
    let alive: Hypothesis[] = [{ ids: [], attention: [], logProb: 0 }];
    let state = firstState;
    const finished: Hypothesis[] = [];
    for (let t = 0; t < maxLength && alive.length > 0 && finished.length < beamSize; t++) {
      const inputs = flint.tensor(alive.map((h) => (h.ids.length === 0 ? targetVocab.bosIndex : h.ids[h.ids.length - 1])), { dtype: "int32" });
      const [next, weights] = model.decoder.step(model.decoder.embedding.forward(inputs), state, expandMemory(alive.length));
      const logProbs = rows(flint.nn.functional.logSoftmax(allowedScores(model.decoder.out.forward(next), targetVocab), -1));
      const weightRows = weights === null ? null : rows(weights);
      // The beamSize best continuations over all beams (ties: lower beam, then lower id).
      const candidates: { beam: number; id: number; logProb: number }[] = [];
      logProbs.forEach((row, beam) => row.forEach((lp, id) => {
        if (lp > -Infinity) candidates.push({ beam, id, logProb: alive[beam].logProb + lp });
      }));
      candidates.sort((a, b) => b.logProb - a.logProb || a.beam - b.beam || a.id - b.id);
      const continuing: { beam: number; hypothesis: Hypothesis }[] = [];
      for (const c of candidates.slice(0, beamSize)) {
        const parent = alive[c.beam];
        const attention = weightRows === null ? parent.attention : [...parent.attention, weightRows[c.beam]];
        if (c.id === targetVocab.eosIndex) finished.push({ ids: parent.ids, attention, logProb: c.logProb });
        else continuing.push({ beam: c.beam, hypothesis: { ids: [...parent.ids, c.id], attention, logProb: c.logProb } });
      }
      alive = continuing.map((c) => c.hypothesis);
      if (continuing.length > 0) state = next.indexSelect(0, flint.tensor(continuing.map((c) => c.beam), { dtype: "int32" }));
    }
    const pool = finished.length > 0 ? finished : alive;
    const score = (h: Hypothesis) => h.logProb / (h.ids.length + (finished.includes(h) ? 1 : 0));
    let best = pool[0];
    for (const h of pool) if (score(h) > score(best)) best = h;
    return { ids: best.ids, attention: best.attention };
  });
}
