/**
 * ABC notation: splitting a tune book into tunes, and the validity rule behind `valid_fraction`.
 *
 * abcjs (a real ABC parser) is lenient: it returns a tune without warnings for an empty string, a
 * header with no music, or text missing the mandatory X: and K: fields. So a tune counts as valid
 * ABC only when all of these hold:
 *   1. `abcjs.parseOnly(text)` returns exactly one tune and that tune has no warnings;
 *   2. its first line is the reference field `X:<number>` (ABC 2.1 section 3.1.1);
 *   3. a key field `K:` closes the header (ABC 2.1: K: is the last header field), before the first
 *      line of music;
 *   4. the parsed tune holds at least one bar of notes: at least one pitched note and at least one
 *      bar line.
 */
import abcjs from "abcjs";

export interface AbcCheck {
  valid: boolean;
  /** Why it is not valid (empty when valid): the first failed rule, or abcjs's warnings. */
  problems: string[];
}

const HEADER_FIELD = /^[A-Za-z+]:/;

/** abcjs's warnings carry HTML markup for its error display; keep the plain text. */
function plain(warning: string): string {
  return warning.replace(/<[^>]*>/g, "").replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}

export function checkAbcTune(text: string): AbcCheck {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  while (lines.length > 0 && lines[0].trim() === "") lines.shift();
  if (lines.length === 0 || !/^X:\s*\d+\s*$/.test(lines[0])) return { valid: false, problems: ["the tune does not start with a reference field X:<number>"] };
  const bodyStart = lines.findIndex((line) => !HEADER_FIELD.test(line) && !line.startsWith("%") && line.trim() !== "");
  const header = bodyStart < 0 ? lines : lines.slice(0, bodyStart);
  const lastField = [...header].reverse().find((line) => HEADER_FIELD.test(line));
  if (lastField === undefined || !lastField.startsWith("K:")) return { valid: false, problems: ["the header does not end with a key field K:"] };
  const tunes = abcjs.parseOnly(text);
  if (tunes.length !== 1) return { valid: false, problems: [`abcjs found ${tunes.length} tunes, expected 1`] };
  const warnings = tunes[0].warnings ?? [];
  if (warnings.length > 0) return { valid: false, problems: warnings.map(plain) };
  let notes = 0;
  let bars = 0;
  for (const line of tunes[0].lines ?? []) {
    for (const staff of line.staff ?? []) {
      for (const voice of staff.voices ?? []) {
        for (const element of voice) {
          if (element.el_type === "note" && (element.pitches?.length ?? 0) > 0) notes++;
          if (element.el_type === "bar") bars++;
        }
      }
    }
  }
  if (notes === 0 || bars === 0) return { valid: false, problems: [`no bar of notes (${notes} notes, ${bars} bar lines)`] };
  return { valid: true, problems: [] };
}

export function isValidAbcTune(text: string): boolean {
  return checkAbcTune(text).valid;
}

/** The tunes of a tune book: blocks that start at an `X:` line (text before the first is dropped). */
export function splitAbcTunes(book: string): string[] {
  const tunes: string[] = [];
  let current: string[] | null = null;
  for (const line of book.replace(/\r\n?/g, "\n").split("\n")) {
    if (/^X:/.test(line)) {
      if (current) tunes.push(current.join("\n").trim());
      current = [line];
    } else if (current) {
      current.push(line);
    }
  }
  if (current) tunes.push(current.join("\n").trim());
  return tunes.filter((t) => t.length > 0);
}
