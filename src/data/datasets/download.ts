import { fail, FlintError } from "../../core/errors.js";
import { nodeModules } from "./node.js";

/** A file a dataset can fetch: its name, the mirrors that serve it and its sha256. */
export interface Resource {
  file: string;
  sha256: string;
}

export interface DownloadSpec {
  dataset: string;
  mirrors: string[];
  resources: Resource[];
  directory: string;
}

/**
 * Fetches each missing resource from the first mirror that answers, verifies its sha256 and
 * moves it into place atomically (temp file + rename). Throws, naming the directory the files
 * belong in, when no mirror can be reached (an offline machine).
 */
export async function downloadResources(spec: DownloadSpec): Promise<void> {
  const { fs, path, crypto } = nodeModules(spec.dataset);
  fs.mkdirSync(spec.directory, { recursive: true });
  for (const resource of spec.resources) {
    const target = path.join(spec.directory, resource.file);
    if (fs.existsSync(target)) continue;
    const errors: string[] = [];
    let done = false;
    for (const mirror of spec.mirrors) {
      const url = mirror + resource.file;
      try {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const bytes = new Uint8Array(await response.arrayBuffer());
        const digest = crypto.createHash("sha256").update(bytes).digest("hex");
        if (digest !== resource.sha256) throw new Error(`sha256 mismatch: got ${digest}, expected ${resource.sha256}`);
        const temp = `${target}.${process.pid}.tmp`;
        fs.writeFileSync(temp, bytes);
        fs.renameSync(temp, target);
        done = true;
        break;
      } catch (error) {
        errors.push(`${url}: ${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause: Error }).cause.message})` : ""}`);
      }
    }
    if (!done) {
      fail(spec.dataset, `could not download ${resource.file} (${errors.join("; ")}). If this machine is offline, place the files ${spec.resources.map((r) => r.file).join(", ")} in ${spec.directory}`);
    }
  }
}

/**
 * The synchronous form used by dataset constructors: runs downloadResources in a child Node
 * process (fetch is asynchronous) and rethrows its error message.
 */
export function downloadResourcesSync(spec: DownloadSpec): void {
  const { childProcess } = nodeModules(spec.dataset);
  const script = "const m = await import(process.argv[1]); try { await m.downloadResources(JSON.parse(process.argv[2])); } catch (e) { process.stderr.write(e.message); process.exit(1); }";
  const child = childProcess.spawnSync(process.execPath, ["--input-type=module", "-e", script, import.meta.url, JSON.stringify(spec)], { encoding: "utf8" });
  if (child.status !== 0) {
    const message = (child.stderr || child.error?.message || `download process exited with status ${child.status}`).trim();
    throw new FlintError(message.startsWith(`${spec.dataset}:`) ? message : `${spec.dataset}: ${message}`);
  }
}
