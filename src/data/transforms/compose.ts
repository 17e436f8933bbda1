import { fail } from "../../core/errors.js";
import { applyTransform, type Transform } from "./transform.js";

/** Applies transforms one after another: Compose([ToTensor(), Normalize([0.1307], [0.3081])]). */
export class Compose {
  readonly transforms: Transform[];

  constructor(transforms: Transform[]) {
    if (!Array.isArray(transforms)) fail("Compose", "expected an array of transforms");
    this.transforms = transforms;
  }

  forward(input: any): any {
    let x = input;
    for (const t of this.transforms) x = applyTransform(t, x);
    return x;
  }

  toString(): string {
    return `Compose(\n${this.transforms.map((t) => `    ${String(t)}`).join("\n")}\n)`;
  }
}
