/**
 * Containers: Sequential (a chain), ModuleList (an indexable list) and ModuleDict (a keyed map)
 * of modules. Their children are registered like any other, so parameters, state-dict keys
 * (`0.weight`, `1.bias`, `encoder.weight`) and repr follow PyTorch.
 */
import { fail } from "../../core/errors.js";
import { Module } from "../module.js";

function checkModule(op: string, value: unknown): Module {
  if (!(value instanceof Module)) fail(op, `expected an nn.Module, got ${value === null ? "null" : typeof value}`);
  return value;
}

/** A container whose children are the properties "0", "1", ... (or given names), in order. */
abstract class IndexedContainer extends Module {
  /** `[name, module]` in order, a module stored twice listed twice. */
  protected entries(): [string, Module][] {
    return this.ownMembers().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  get length(): number {
    return this.entries().length;
  }

  /** The module at position `index`; negative counts from the end. */
  at(index: number): Module {
    const entries = this.entries();
    const i = index < 0 ? index + entries.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= entries.length) fail(`${this.constructor.name}.at`, `index ${index} is out of range for a container of length ${entries.length}`);
    return entries[i][1];
  }

  *[Symbol.iterator](): IterableIterator<Module> {
    for (const [, m] of this.entries()) yield m;
  }

  /** Adds a module at the end, under the next index. */
  append(module: Module): this {
    this.registerModule(String(this.length), checkModule(`${this.constructor.name}.append`, module));
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Replaces the children by `modules`, keyed "0", "1", ... */
  protected renumber(modules: Module[]): void {
    for (const [name] of this.entries()) delete (this as Record<string, unknown>)[name];
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }
}

/**
 * Runs its modules in order, each on the previous one's output. Children are keyed "0", "1", ...
 * (`new nn.Sequential(a, b)`), or named with a Map (`new nn.Sequential(new Map([["conv", a]]))`).
 * `seq.at(i)` (or `seq[i]`) indexes, `seq.length` counts, and `for (const m of seq)` iterates.
 */
export class Sequential extends IndexedContainer {
  readonly [index: number]: Module;

  constructor(...modules: Module[]);
  constructor(named: Map<string, Module>);
  constructor(...args: (Module | Map<string, Module>)[]) {
    super();
    if (args.length === 1 && args[0] instanceof Map) {
      for (const [name, m] of args[0]) this.registerModule(name, checkModule("Sequential", m));
    } else {
      args.forEach((m, i) => this.registerModule(String(i), checkModule("Sequential", m)));
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(input: any): any {
    let x = input;
    for (const [, m] of this.entries()) x = m.forward(x);
    return x;
  }

  /** A new Sequential over modules [start, end) that keeps their names (like PyTorch's seq[a:b]); shares the modules. */
  slice(start?: number, end?: number): Sequential {
    return new Sequential(new Map(this.entries().slice(start, end)));
  }

  /** Inserts a module at position `index` (children are renumbered "0", "1", ...). */
  insert(index: number, module: Module): this {
    const modules = [...this];
    const i = index < 0 ? index + modules.length : index;
    if (!Number.isInteger(i) || i < 0 || i > modules.length) fail("Sequential.insert", `index ${index} is out of range for a Sequential of length ${modules.length}`);
    modules.splice(i, 0, checkModule("Sequential.insert", module));
    this.renumber(modules);
    return this;
  }
}

/** A list of modules, registered as children "0", "1", ...; it has no forward of its own. */
export class ModuleList extends IndexedContainer {
  readonly [index: number]: Module;

  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }

  forward(): never {
    return fail("ModuleList", "a ModuleList has no forward(); iterate over it and call its modules");
  }

  /** Inserts a module before position `index` (children are renumbered). */
  insert(index: number, module: Module): this {
    const modules = [...this];
    const i = index < 0 ? Math.max(0, index + modules.length) : Math.min(index, modules.length);
    modules.splice(i, 0, checkModule("ModuleList.insert", module));
    this.renumber(modules);
    return this;
  }

  /** Replaces the module at `index`. */
  set(index: number, module: Module): this {
    const modules = [...this];
    const i = index < 0 ? index + modules.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= modules.length) fail("ModuleList.set", `index ${index} is out of range for a ModuleList of length ${modules.length}`);
    (this as Record<string, unknown>)[this.entries()[i][0]] = checkModule("ModuleList.set", module);
    return this;
  }
}

/**
 * Modules under string keys, in insertion order (kept in a Map, so numeric-looking keys keep
 * their order too). Iterating yields the keys, as in PyTorch; `get`, `set`, `has`, `delete`,
 * `keys`, `values`, `items`.
 */
export class ModuleDict extends Module {
  readonly #modules = new Map<string, Module>();

  constructor(modules: Map<string, Module> | Record<string, Module> = {}) {
    super();
    this.update(modules);
  }

  protected override ownMembers(): [string, unknown][] {
    return [...super.ownMembers(), ...this.#modules];
  }

  forward(): never {
    return fail("ModuleDict", "a ModuleDict has no forward(); look its modules up and call them");
  }

  get length(): number {
    return this.#modules.size;
  }

  get(key: string): Module {
    const m = this.#modules.get(key);
    if (m === undefined) fail("ModuleDict.get", `no module under key "${key}" (keys: ${[...this.#modules.keys()].join(", ")})`);
    return m;
  }

  set(key: string, module: Module): this {
    if (typeof key !== "string" || key === "" || key.includes(".")) fail("ModuleDict.set", `key must be a non-empty string without ".", got ${JSON.stringify(key)}`);
    this.#modules.set(key, checkModule("ModuleDict.set", module));
    return this;
  }

  has(key: string): boolean {
    return this.#modules.has(key);
  }

  /** Removes and returns the module under `key` (PyTorch's pop). */
  delete(key: string): Module {
    const m = this.get(key);
    this.#modules.delete(key);
    return m;
  }

  keys(): string[] {
    return [...this.#modules.keys()];
  }

  values(): Module[] {
    return [...this.#modules.values()];
  }

  items(): [string, Module][] {
    return [...this.#modules];
  }

  update(modules: Map<string, Module> | Record<string, Module>): this {
    const entries = modules instanceof Map ? [...modules] : Object.entries(modules);
    for (const [key, m] of entries) this.set(key, m);
    return this;
  }

  *[Symbol.iterator](): IterableIterator<string> {
    yield* this.#modules.keys();
  }
}
