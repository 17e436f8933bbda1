/**
 * Corpus BLEU-4 (Papineni et al. 2002), as NLTK's corpus_bleu with one reference per sentence:
 * clipped n-gram precisions pooled over the corpus, uniform weights, the brevity penalty, and no
 * smoothing (a corpus with no matching 4-gram scores 0).
 */
import { fail } from "../../core/errors.js";

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join("\u0000");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export interface BleuDetails {
  /** BLEU in [0, 1]. */
  bleu: number;
  /** Clipped n-gram precisions p1..p4. */
  precisions: number[];
  brevityPenalty: number;
  hypothesisLength: number;
  referenceLength: number;
}

/** hypotheses[i] is scored against references[i]; both are token lists. */
export function corpusBleu(hypotheses: readonly (readonly string[])[], references: readonly (readonly string[])[], maxOrder = 4): BleuDetails {
  if (hypotheses.length !== references.length) fail("corpusBleu", `${hypotheses.length} hypotheses but ${references.length} references`);
  const matches = new Array<number>(maxOrder).fill(0);
  const totals = new Array<number>(maxOrder).fill(0);
  let hypothesisLength = 0;
  let referenceLength = 0;
  hypotheses.forEach((hypothesis, i) => {
    const reference = references[i];
    hypothesisLength += hypothesis.length;
    referenceLength += reference.length;
    for (let n = 1; n <= maxOrder; n++) {
      const referenceCounts = ngramCounts(reference, n);
      for (const [gram, count] of ngramCounts(hypothesis, n)) matches[n - 1] += Math.min(count, referenceCounts.get(gram) ?? 0);
      totals[n - 1] += Math.max(0, hypothesis.length - n + 1);
    }
  });
  const precisions = matches.map((m, i) => (totals[i] === 0 ? 0 : m / totals[i]));
  const brevityPenalty = hypothesisLength === 0 ? 0 : hypothesisLength > referenceLength ? 1 : Math.exp(1 - referenceLength / hypothesisLength);
  const bleu = precisions.some((p) => p === 0) ? 0 : brevityPenalty * Math.exp(precisions.reduce((s, p) => s + Math.log(p), 0) / maxOrder);
  return { bleu, precisions, brevityPenalty, hypothesisLength, referenceLength };
}
