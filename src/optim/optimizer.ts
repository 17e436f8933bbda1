import { enableGrad, noGrad } from "../autograd/grad-mode.js";
import { fail, fmtShape } from "../core/errors.js";
import { sameShape } from "../core/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { stateCopyOf } from "./elements.js";

/** The hyperparameters every optimizer has; each optimizer adds its own (camelCase keys). */
export interface HyperParams {
  lr: number;
}

/**
 * A parameter group as the optimizer holds it: its tensors and every hyperparameter, filled in
 * from the defaults. Mutable, as in PyTorch (`opt.paramGroups[0].lr = 0.01`); schedulers also
 * store their bookkeeping here (`initialLr`, `maxLr`, ...).
 */
export type ParamGroup<H extends HyperParams = HyperParams> = H & { params: Tensor[]; [key: string]: unknown };

/** A parameter group as given to a constructor: tensors plus any hyperparameters overriding the defaults. */
export type ParamGroupSpec<H extends HyperParams = HyperParams> = Partial<H> & { params: Tensor | Iterable<Tensor>; [key: string]: unknown };

/** What an optimizer takes: a list of tensors, or PyTorch-style parameter groups. */
export type Params<H extends HyperParams = HyperParams> = Iterable<Tensor> | Iterable<ParamGroupSpec<H>>;

/** One parameter's optimizer state: moment tensors, step counts, ... under PyTorch's keys. */
export type ParamState = Record<string, Tensor | number | null>;

/**
 * PyTorch's optimizer state dict: per-parameter state keyed by the parameter's position across
 * all groups, and the groups with their hyperparameters (snake_case keys, as in PyTorch) and the
 * positions of their parameters.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: Array<{ params: number[]; [key: string]: unknown }>;
}

/** A hyperparameter as Python prints it, so `toString()` reads like PyTorch's repr. */
function pythonValue(value: unknown): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  if (value === null || value === undefined) return "None";
  if (Array.isArray(value)) return `(${value.map(pythonValue).join(", ")})`;
  return String(value);
}

const toSnakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const toCamelCase = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The base of every optimizer (PyTorch's `torch.optim.Optimizer`): parameter groups with
 * hyperparameters filled in from `defaults`, lazily created per-parameter `state`, `zeroGrad`,
 * and state dicts in PyTorch's structure. Subclasses implement `step()`.
 */
export abstract class Optimizer<H extends HyperParams = HyperParams> {
  readonly defaults: Partial<H>;
  paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, created on a parameter's first update. */
  state = new Map<Tensor, ParamState>();

  constructor(params: Params<H>, defaults: Partial<H>) {
    for (const key of Object.keys(defaults)) {
      if (key.includes("_") && toCamelCase(key) in defaults) fail(this.name, `unknown option "${key}"; flint spells it "${toCamelCase(key)}"`);
    }
    this.defaults = defaults;
    if (params instanceof Tensor) fail(this.name, "params must be an array of Tensors or of parameter groups, got a single Tensor");
    if (params === null || typeof (params as Iterable<unknown>)?.[Symbol.iterator] !== "function") {
      fail(this.name, `params must be an array of Tensors or of parameter groups, got ${params === null ? "null" : typeof params}`);
    }
    const list = [...(params as Iterable<Tensor | ParamGroupSpec<H>>)];
    if (list.length === 0) fail(this.name, "optimizer got an empty parameter list");
    const groups = list[0] instanceof Tensor ? [{ params: list as Tensor[] } as unknown as ParamGroupSpec<H>] : (list as ParamGroupSpec<H>[]);
    for (const group of groups) this.addParamGroup(group);
  }

  /** The optimizer's name in error messages. */
  protected get name(): string {
    return this.constructor.name;
  }

  /** Performs one update of every parameter that has a gradient; `closure` re-evaluates the loss. */
  abstract step(closure?: () => Tensor | number): Tensor | number | undefined;

  /** Adds a group of parameters (e.g. layers unfrozen during fine-tuning) with its own hyperparameters. */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    if (spec === null || typeof spec !== "object" || !("params" in spec)) fail(this.name, "a parameter group must be an object with a params field");
    const params = spec.params instanceof Tensor ? [spec.params] : [...(spec.params as Iterable<Tensor>)];
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) fail(this.name, `can only optimize Tensors, but parameter ${i} of the group is ${p === null ? "null" : typeof p}`);
      if (!p.isLeaf) fail(this.name, `can't optimize a non-leaf Tensor (parameter ${i}, shape ${fmtShape(p.shape)})`);
      if (p.dtype !== "float32") fail(this.name, `can only optimize float32 tensors, got ${p.dtype} (parameter ${i}, shape ${fmtShape(p.shape)})`);
    });
    if (new Set(params).size !== params.length) fail(this.name, "a parameter group contains the same parameter more than once");
    const existing = new Set(this.paramGroups.flatMap((group) => group.params));
    if (params.some((p) => existing.has(p))) fail(this.name, "some parameters appear in more than one parameter group");
    for (const key of Object.keys(spec)) {
      // PyTorch's spelling would silently add an unused key; point to the camelCase name instead.
      if (key.includes("_") && toCamelCase(key) in this.defaults) fail(this.name, `unknown option "${key}"; flint spells it "${toCamelCase(key)}"`);
    }
    const group: Record<string, unknown> = { ...this.defaults, ...spec, params };
    for (const [key, value] of Object.entries(group)) {
      // Each group owns its arrays (betas), so changing one group's never changes another's.
      if (key !== "params" && Array.isArray(value)) group[key] = value.slice();
      if (value === undefined) fail(this.name, `parameter group ${this.paramGroups.length} didn't specify a value of required optimization parameter ${key}`);
    }
    this.validateGroup(group as ParamGroup<H>, this.paramGroups.length);
    this.paramGroups.push(group as ParamGroup<H>);
  }

  /** Checks a group's hyperparameters (invalid values throw); subclasses override. */
  protected validateGroup(_group: ParamGroup<H>, _index: number): void {}

  /**
   * Clears the gradients. By default they become null (PyTorch 2's default, which also makes
   * step() skip parameters that get no gradient); `setToNone: false` zeroes them in place.
   */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    const setToNone = options.setToNone ?? true;
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const grad = p.peekGrad();
        if (grad === null) continue;
        if (setToNone) p.replaceGrad(null);
        else noGrad(() => grad.zero_());
      }
    }
  }

  /** Runs the closure (with grad mode on) before a step, as PyTorch's `step(closure)` does. */
  protected evaluate(closure?: () => Tensor | number): Tensor | number | undefined {
    return closure === undefined ? undefined : enableGrad(closure);
  }

  /** This parameter's state, created by `init` on first use. */
  protected stateOf(param: Tensor, init: () => ParamState): ParamState {
    let s = this.state.get(param);
    if (s === undefined) {
      s = init();
      this.state.set(param, s);
    }
    return s;
  }

  /** The group's parameters that have a gradient, with the gradient checked against the parameter. */
  protected *paramsWithGrad(group: ParamGroup<H>): Generator<[Tensor, Tensor]> {
    for (const p of group.params) {
      const g = p.peekGrad();
      if (g === null) continue;
      if (!sameShape(g.shape, p.shape)) fail(this.name, `gradient of shape ${fmtShape(g.shape)} does not match its parameter of shape ${fmtShape(p.shape)}`);
      if (g.dtype !== "float32") fail(this.name, `gradients must be float32, got ${g.dtype} (parameter shape ${fmtShape(p.shape)})`);
      yield [p, g];
    }
  }

  /**
   * The state as PyTorch's `state_dict()` lays it out. Tensors are copies, so later steps do not
   * change a saved state dict. Step counts are plain numbers.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const packed: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(group)) {
        if (key !== "params") packed[toSnakeCase(key)] = Array.isArray(value) ? value.slice() : value;
      }
      packed.params = group.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return packed as { params: number[] };
    });
    const state: Record<number, ParamState> = {};
    for (const [param, s] of this.state) {
      const i = index.get(param);
      if (i === undefined) continue;
      state[i] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Tensor ? v.detach().clone() : v]));
    }
    return { state, param_groups: paramGroups };
  }

  /**
   * Restores a state dict from `stateDict()` (or PyTorch's, with tensors converted): the groups'
   * hyperparameters and the per-parameter state, matched to this optimizer's parameters by position.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const saved = stateDict?.param_groups;
    if (!Array.isArray(saved) || typeof stateDict.state !== "object" || stateDict.state === null) {
      fail(this.name, "loadStateDict: expected an object with `state` and `param_groups`");
    }
    if (saved.length !== this.paramGroups.length) {
      fail(this.name, `loadStateDict: loaded state dict has ${saved.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    saved.forEach((group, g) => {
      const current = this.paramGroups[g].params;
      if (!Array.isArray(group.params) || group.params.length !== current.length) {
        fail(this.name, `loadStateDict: parameter group ${g} has ${group.params?.length} parameters in the state dict and ${current.length} in the optimizer`);
      }
      group.params.forEach((id, i) => byIndex.set(id, current[i]));
    });
    const state = new Map<Tensor, ParamState>();
    for (const [key, entry] of Object.entries(stateDict.state)) {
      const param = byIndex.get(Number(key));
      if (param === undefined) fail(this.name, `loadStateDict: state for parameter ${key}, which no parameter group lists`);
      const restored: ParamState = {};
      for (const [name, value] of Object.entries(entry)) {
        if (value instanceof Tensor) {
          // The step count may come from PyTorch as a 0-d tensor; flint keeps it as a number.
          if (name === "step") restored[name] = value.item();
          else if (!sameShape(value.shape, param.shape)) fail(this.name, `loadStateDict: state "${name}" of parameter ${key} has shape ${fmtShape(value.shape)}, the parameter has shape ${fmtShape(param.shape)}`);
          else restored[name] = stateCopyOf(value.detach());
        } else {
          restored[name] = value;
        }
      }
      state.set(param, restored);
    }
    this.paramGroups = saved.map((group, g) => {
      const restored: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(group)) {
        if (key !== "params") restored[toCamelCase(key)] = Array.isArray(value) ? value.slice() : value;
      }
      restored.params = this.paramGroups[g].params;
      return restored as ParamGroup<H>;
    });
    this.state = state;
  }

  toString(): string {
    const lines = [`${this.name} (`];
    this.paramGroups.forEach((group, i) => {
      lines.push(`Parameter Group ${i}`);
      for (const key of Object.keys(group).filter((k) => k !== "params").sort()) {
        lines.push(`    ${toSnakeCase(key)}: ${pythonValue(group[key])}`);
      }
    });
    lines.push(")");
    return lines.join("\n");
  }
}

/** Drops undefined options so they do not override the defaults. */
export function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
