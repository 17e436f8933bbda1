import { fail } from "../core/errors.js";

/** One option a command accepts: `--name value`, or a bare `--name` for flags. */
export interface OptionSpec {
  type: "string" | "number" | "integer" | "flag";
  description: string;
  /** Left out of the help text (developer options such as --limit). */
  hidden?: boolean;
}

export type ParsedArgs = { positional: string[]; options: Record<string, string | number | boolean> };

/** Parses `argv` against `spec`; unknown options and malformed values are errors that name them. */
export function parseArgs(command: string, argv: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const positional: string[] = [];
  const options: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const option = spec[name];
    if (!option) fail(command, `unknown option --${name} (see flint ${command} --help)`);
    if (option.type === "flag") {
      if (inline !== undefined) fail(command, `--${name} takes no value`);
      options[name] = true;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined || (inline === undefined && raw.startsWith("--"))) fail(command, `--${name} needs a value`);
    if (option.type === "string") {
      options[name] = raw;
    } else {
      const value = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(value) || (option.type === "integer" && !Number.isInteger(value))) {
        fail(command, `--${name} expects ${option.type === "integer" ? "an integer" : "a number"}, got ${JSON.stringify(raw)}`);
      }
      options[name] = value;
    }
  }
  return { positional, options };
}

export function helpText(usage: string, spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec)
    .filter(([, o]) => !o.hidden)
    .map(([name, o]) => `  --${name}${o.type === "flag" ? "" : " <" + (o.type === "string" ? "value" : o.type === "integer" ? "n" : "x") + ">"}`.padEnd(26) + o.description);
  return `${usage}\n\nOptions:\n${rows.join("\n")}\n`;
}

/**
 * Parses a command that takes options only: prints the help and returns null for --help, and
 * rejects a stray positional argument.
 */
export function parseOptions(command: string, argv: readonly string[], spec: Record<string, OptionSpec>, usage: string, out: (line: string) => void): ParsedArgs["options"] | null {
  const { positional, options } = parseArgs(command, argv, spec);
  if (options.help) {
    out(helpText(usage, spec));
    return null;
  }
  if (positional.length > 0) fail(command, `unexpected argument "${positional[0]}"`);
  return options;
}
