// TensorFlow.js's gradient definitions ship only as the ES-module sources of tfjs-core
// (dist/register_all_gradients.js, with extensionless imports in a package Node treats as
// CommonJS), not in the Node bundle the package's "main" points at. A small resolve/load hook
// makes Node load those sources; the gradients land in tfjs's global registry, which the
// CommonJS bundle shares.
import { register } from "node:module";

const HOOKS = `
const inTfjsCore = (url) => url.includes("/@tensorflow/tfjs-core/dist/") && !url.endsWith("tf-core.node.js");
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (specifier.startsWith(".") && context.parentURL && inTfjsCore(context.parentURL)) return next(specifier + ".js", context);
    throw error;
  }
}
export async function load(url, context, next) {
  return inTfjsCore(url) ? next(url, { ...context, format: "module" }) : next(url, context);
}`;

export async function registerTfGradients(): Promise<void> {
  register("data:text/javascript," + encodeURIComponent(HOOKS), import.meta.url);
  await import("@tensorflow/tfjs-core/dist/register_all_gradients.js" as string);
}
