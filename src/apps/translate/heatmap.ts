/**
 * The attention matrix as an SVG heatmap: one row per output word, one column per source word,
 * darker = more weight (as the tutorial's showAttention plot).
 */
function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** weights[i][j]: weight of source word j when emitting output word i. */
export function attentionSvg(sourceWords: readonly string[], outputWords: readonly string[], weights: readonly (readonly number[])[]): string {
  const cell = 32;
  const left = 10 + 8 * Math.max(1, ...outputWords.map((w) => w.length));
  const top = 10 + 8 * Math.max(1, ...sourceWords.map((w) => w.length));
  const width = left + cell * sourceWords.length + 10;
  const height = top + cell * outputWords.length + 10;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="13">`];
  sourceWords.forEach((word, j) => {
    const x = left + cell * j + cell / 2;
    parts.push(`<text x="${x}" y="${top - 6}" transform="rotate(-90 ${x} ${top - 6})" dominant-baseline="middle">${escapeXml(word)}</text>`);
  });
  outputWords.forEach((word, i) => {
    const y = top + cell * i + cell / 2;
    parts.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(word)}</text>`);
    sourceWords.forEach((_, j) => {
      const w = Math.min(1, Math.max(0, weights[i]?.[j] ?? 0));
      const shade = Math.round(255 * (1 - w));
      parts.push(`<rect x="${left + cell * j}" y="${top + cell * i}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},${shade})" stroke="#ccc"><title>${w.toFixed(3)}</title></rect>`);
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
