import { noGrad } from "../autograd/grad-mode.js";
import { fail, fmtShape } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";
import { Parameter } from "./parameter.js";

export interface BufferOptions {
  /** Non-persistent buffers are left out of the state dict (PyTorch's `persistent=False`). */
  persistent?: boolean;
}

export interface NamedOptions {
  /** Prepended (with a dot) to every name. */
  prefix?: string;
  /** Include members of submodules (default true). */
  recurse?: boolean;
  /** Yield a tensor or module shared under several names only once (default true). */
  removeDuplicate?: boolean;
}

export interface LoadStateDictOptions {
  /** Throw on missing or unexpected keys (default true). Shape mismatches always throw. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * The base class of every layer and model (PyTorch's `nn.Module`).
 *
 * Subclasses assign parameters and submodules as properties in the constructor; they are found by
 * walking the instance's own enumerable properties in insertion order, which is the order of the
 * class's field declarations, then of assignment: PyTorch's definition order.
 *
 *   class Net extends nn.Module {
 *     fc1 = new nn.Linear(784, 100);
 *     fc2 = new nn.Linear(100, 10);
 *     forward(x: Tensor): Tensor { return this.fc2.forward(F.relu(this.fc1.forward(x))); }
 *   }
 *
 * - a property holding a `Parameter` is a parameter; one holding a `Module` is a child;
 * - buffers (running statistics and the like) are declared with `registerBuffer(name, tensor)`,
 *   which stores the tensor as the property `name`; reassigning that property keeps it a buffer;
 * - plain Tensors, arrays and other values are ignored (use ModuleList/ModuleDict for collections);
 * - state-dict keys are the property paths (`fc1.weight`), so name properties with PyTorch's exact
 *   attribute names, snake_case included (`running_mean`, `weight_ih_l0`);
 * - each module lists its parameters (property order), then its persistent buffers (registration
 *   order), then its children's entries, as PyTorch's state_dict does. A field declared without an
 *   initialiser still takes its place at the declaration (ES2022 class fields); JavaScript puts
 *   integer-like names ("0", "1", ...) first, in numeric order, which is what Sequential and
 *   ModuleList want (ModuleDict keeps its own insertion-ordered Map).
 *
 * `toString()` prints PyTorch's repr; each layer's `extraRepr()` returns PyTorch's own
 * `extra_repr` text (Python spelling: `bias=True`, `kernel_size=(5, 5)`), using the `py*`
 * helpers below, so a printed model reads exactly as it does in PyTorch.
 */
export abstract class Module {
  /** True in training mode (dropout active, batch statistics used); flip with `train()`/`eval()`. */
  training = true;
  /** Registered buffer names (private fields are not properties, so the walk never sees them). */
  #buffers = new Map<string, { persistent: boolean }>();

  /** The computation. Call `module.forward(x)`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...inputs: any[]): any;

  /** The module's own `[name, value]` pairs in definition order; map-backed containers extend it. */
  protected ownMembers(): [string, unknown][] {
    return Object.entries(this);
  }

  // ---- registration -----------------------------------------------------------------------
  private checkNewName(op: string, name: string, allowed: (value: unknown) => boolean): void {
    if (typeof name !== "string" || name === "") fail(op, `name must be a non-empty string, got ${JSON.stringify(name)}`);
    if (name.includes(".")) fail(op, `name can't contain ".", got "${name}"`);
    if (name in this && !allowed((this as Record<string, unknown>)[name])) fail(op, `attribute "${name}" already exists on ${this.constructor.name}`);
  }

  /**
   * Adds a buffer: state that is not learned but belongs to the module (saved in the state dict
   * unless `persistent: false`). The tensor is stored as the property `name`; null reserves it.
   */
  registerBuffer(name: string, tensor: Tensor | null, options: BufferOptions = {}): void {
    if (tensor !== null && !(tensor instanceof Tensor)) fail("registerBuffer", `cannot assign a ${typeof tensor} as buffer "${name}" (a Tensor or null is required)`);
    this.checkNewName("registerBuffer", name, (v) => this.#buffers.has(name) || v === undefined || v === null);
    this.#buffers.set(name, { persistent: options.persistent ?? true });
    (this as Record<string, unknown>)[name] = tensor;
  }

  /** Adds a parameter under `name` (the same as assigning the property); null reserves the name. */
  registerParameter(name: string, param: Parameter | null): void {
    if (param !== null && !(param instanceof Parameter)) fail("registerParameter", `cannot assign a ${typeof param} as parameter "${name}" (an nn.Parameter or null is required)`);
    this.checkNewName("registerParameter", name, (v) => v === undefined || v === null || v instanceof Parameter);
    (this as Record<string, unknown>)[name] = param;
  }

  /** Adds a child module under `name` (the same as assigning the property). */
  registerModule(name: string, module: Module | null): void {
    if (module !== null && !(module instanceof Module)) fail("registerModule", `${typeof module} is not a Module subclass`);
    this.checkNewName("registerModule", name, (v) => v === undefined || v === null || v instanceof Module);
    (this as Record<string, unknown>)[name] = module;
  }

  /** PyTorch's `add_module`, an alias of registerModule. */
  addModule(name: string, module: Module | null): void {
    this.registerModule(name, module);
  }

  // ---- own members --------------------------------------------------------------------------
  private ownParameters(): [string, Parameter][] {
    return this.ownMembers().filter((e): e is [string, Parameter] => e[1] instanceof Parameter && !this.#buffers.has(e[0]));
  }

  private ownBuffers(persistentOnly: boolean): [string, Tensor][] {
    const found: [string, Tensor][] = [];
    for (const [name, info] of this.#buffers) {
      const value = (this as Record<string, unknown>)[name];
      if (value instanceof Tensor && (!persistentOnly || info.persistent)) found.push([name, value]);
    }
    return found;
  }

  private ownChildren(): [string, Module][] {
    return this.ownMembers().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  // ---- traversal ----------------------------------------------------------------------------
  /** `[name, module]` for this module (name = prefix) and every descendant, depth first. */
  namedModules(options: { prefix?: string; removeDuplicate?: boolean } = {}): [string, Module][] {
    const removeDuplicate = options.removeDuplicate ?? true;
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const visit = (module: Module, prefix: string): void => {
      if (removeDuplicate) {
        if (seen.has(module)) return;
        seen.add(module);
      }
      out.push([prefix, module]);
      for (const [name, child] of module.ownChildren()) visit(child, prefix ? `${prefix}.${name}` : name);
    };
    visit(this, options.prefix ?? "");
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Direct children (each once, even when stored under two names). */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    return this.ownChildren().filter(([, m]) => (seen.has(m) ? false : (seen.add(m), true)));
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  private namedMembers<T>(own: (m: Module) => [string, T][], options: NamedOptions): [string, T][] {
    const removeDuplicate = options.removeDuplicate ?? true;
    const prefix = options.prefix ?? "";
    const modules: [string, Module][] = options.recurse ?? true ? this.namedModules({ prefix, removeDuplicate }) : [[prefix, this]];
    const seen = new Set<T>();
    const out: [string, T][] = [];
    for (const [modulePrefix, module] of modules) {
      for (const [name, value] of own(module)) {
        if (removeDuplicate) {
          if (seen.has(value)) continue;
          seen.add(value);
        }
        out.push([modulePrefix ? `${modulePrefix}.${name}` : name, value]);
      }
    }
    return out;
  }

  /** `[name, parameter]` pairs; a parameter shared by several modules is listed once. */
  namedParameters(options: NamedOptions = {}): [string, Parameter][] {
    return this.namedMembers((m) => m.ownParameters(), options);
  }

  parameters(options: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters(options).map(([, p]) => p);
  }

  /** `[name, buffer]` pairs, non-persistent buffers included (as in PyTorch). */
  namedBuffers(options: NamedOptions = {}): [string, Tensor][] {
    return this.namedMembers((m) => m.ownBuffers(false), options);
  }

  buffers(options: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(options).map(([, b]) => b);
  }

  /** The submodule at a dotted path (`"layer1.0.conv1"`); "" is this module. */
  getSubmodule(target: string): Module {
    if (target === "") return this;
    let module: Module = this;
    for (const part of target.split(".")) {
      const child = module.ownChildren().find(([name]) => name === part);
      if (!child) fail("getSubmodule", `${module.constructor.name} has no submodule "${part}" (path "${target}")`);
      module = child[1];
    }
    return module;
  }

  getParameter(target: string): Parameter {
    const cut = target.lastIndexOf(".");
    const module = this.getSubmodule(cut < 0 ? "" : target.slice(0, cut));
    const found = module.ownParameters().find(([name]) => name === target.slice(cut + 1));
    if (!found) fail("getParameter", `${module.constructor.name} has no parameter "${target.slice(cut + 1)}" (path "${target}")`);
    return found[1];
  }

  getBuffer(target: string): Tensor {
    const cut = target.lastIndexOf(".");
    const module = this.getSubmodule(cut < 0 ? "" : target.slice(0, cut));
    const found = module.ownBuffers(false).find(([name]) => name === target.slice(cut + 1));
    if (!found) fail("getBuffer", `${module.constructor.name} has no buffer "${target.slice(cut + 1)}" (path "${target}")`);
    return found[1];
  }

  // ---- modes and gradients --------------------------------------------------------------
  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.children()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets every parameter's `.grad` to null (PyTorch's default `set_to_none=True`). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Switches gradient tracking of every parameter on or off (freezing a model). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Calls `fn` on every descendant (children first) and then on this module; used for init. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- state dict ---------------------------------------------------------------------------
  /** Parameters then persistent buffers of each module, children after their parent; no dedupe (as PyTorch). */
  private stateEntries(prefix: string, out: [string, Tensor][]): [string, Tensor][] {
    for (const [name, p] of this.ownParameters()) out.push([prefix + name, p]);
    for (const [name, b] of this.ownBuffers(true)) out.push([prefix + name, b]);
    for (const [name, child] of this.ownChildren()) child.stateEntries(`${prefix}${name}.`, out);
    return out;
  }

  /** Every parameter and persistent buffer under its PyTorch key, detached (sharing storage). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [key, t] of this.stateEntries("", [])) out[key] = t.detach();
    return out;
  }

  /**
   * Copies a state dict's values into this module's parameters and buffers, in place. Keys are
   * checked first and nothing is written when anything is wrong: a shape mismatch always throws;
   * missing or unexpected keys throw when `strict` (the default) and are returned otherwise.
   * Values are converted to each target's dtype (float <-> int32), as PyTorch's copy_ does.
   */
  loadStateDict(stateDict: Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const targets = this.stateEntries("", []);
    const targetKeys = new Set(targets.map(([key]) => key));
    const missingKeys: string[] = [];
    const mismatches: string[] = [];
    for (const [key, target] of targets) {
      if (!Object.prototype.hasOwnProperty.call(stateDict, key)) {
        missingKeys.push(key);
        continue;
      }
      const value = stateDict[key];
      if (!(value instanceof Tensor)) {
        mismatches.push(`value for "${key}" is not a Tensor (got ${value === null ? "null" : typeof value})`);
      } else if (value.shape.length !== target.shape.length || value.shape.some((s, i) => s !== target.shape[i])) {
        mismatches.push(`size mismatch for ${key}: copying a param with shape ${fmtShape(value.shape)} from checkpoint, the shape in current model is ${fmtShape(target.shape)}`);
      }
    }
    const unexpectedKeys = Object.keys(stateDict).filter((key) => !targetKeys.has(key));
    const errors = [...mismatches];
    if (strict && unexpectedKeys.length > 0) errors.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`);
    if (strict && missingKeys.length > 0) errors.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`);
    if (errors.length > 0) fail("loadStateDict", `Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join("\n\t")}`);
    noGrad(() => {
      for (const [key, target] of targets) if (Object.prototype.hasOwnProperty.call(stateDict, key)) target.copy_(stateDict[key]);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing -----------------------------------------------------------------------------
  /** The layer's settings for `toString()`, in PyTorch's `extra_repr` text; "" for none. */
  extraRepr(): string {
    return "";
  }

  /** PyTorch's repr: `Name(extra)` or a block listing `(name): child` lines, indented. */
  toString(): string {
    const extraLines = this.extraRepr() ? this.extraRepr().split("\n") : [];
    const childLines = this.ownChildren().map(([name, child]) => `(${name}): ${indentAfterFirstLine(child.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let body = "";
    if (extraLines.length === 1 && childLines.length === 0) body = extraLines[0];
    else if (lines.length > 0) body = "\n  " + lines.join("\n  ") + "\n";
    return `${this.constructor.name}(${body})`;
  }

  /** console.log in Node prints the repr. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function indentAfterFirstLine(text: string, spaces: number): string {
  const lines = text.split("\n");
  return [lines[0], ...lines.slice(1).map((l) => " ".repeat(spaces) + l)].join("\n");
}

// ---- Python-spelled values for extraRepr (so reprs match PyTorch's text) -------------------
/** `True` / `False`. */
export function pyBool(value: boolean): string {
  return value ? "True" : "False";
}

/** A number as Python's repr of a float: `1.0`, `0.5`, `1e-05`, `inf`. */
export function pyFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const magnitude = Math.abs(value);
  if (value !== 0 && (magnitude < 1e-4 || magnitude >= 1e16)) {
    // Python switches to exponent notation outside [1e-4, 1e16) and writes at least two exponent digits.
    const [mantissa, exponent] = value.toExponential().split("e");
    const sign = exponent.startsWith("-") ? "-" : "+";
    return `${mantissa}e${sign}${exponent.replace(/^[-+]/, "").padStart(2, "0")}`;
  }
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

/** A tuple: `(5, 5)`, `(3,)`. */
export function pyTuple(values: readonly (number | string)[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(", ")})`;
}

/** A value as Python would print it: null -> None, booleans, strings quoted, arrays as tuples. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return pyBool(value);
  if (typeof value === "string") return `'${value}'`;
  if (Array.isArray(value)) return pyTuple(value.map((v) => pyRepr(v)));
  return String(value);
}
