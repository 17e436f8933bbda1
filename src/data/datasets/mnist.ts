import { fail } from "../../core/errors.js";
import { fromStorage } from "../../ops/util.js";
import type { Tensor } from "../../tensor/tensor.js";
import { checkIndex, Dataset } from "../dataset.js";
import { RawImage } from "../image.js";
import { batchTransformOf } from "../transforms/batch.js";
import { applyTransform, type Transform } from "../transforms/transform.js";
import { downloadResourcesSync, type Resource } from "./download.js";
import { parseIdx } from "./idx.js";
import { nodeModules } from "./node.js";

export interface MNISTOptions<I> {
  /** The 60k training split (default) or the 10k test split. */
  train?: boolean;
  /** Fetch missing files from the canonical mirrors into `root` and verify their sha256. */
  download?: boolean;
  /** Applied to each RawImage (e.g. transforms.Compose([ToTensor(), Normalize(...)])). */
  transform?: Transform<RawImage, I>;
  targetTransform?: (target: number) => number;
}

/** What distinguishes MNIST from its drop-in replacements: name, files and mirrors. */
interface MNISTSource {
  name: string;
  mirrors: string[];
  resources: Resource[];
  classes: string[];
}

const IMAGES = (train: boolean) => (train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
const LABELS = (train: boolean) => (train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte");

/**
 * An MNIST-format dataset read from the four IDX files (gzipped or raw) in `root` (or in
 * torchvision's layout, `root/<Name>/raw`). The pixels are decoded once into one Uint8Array;
 * `get(i)` returns `[image, label]`, and `getBatch` gathers a whole batch straight from the
 * buffer when the transform allows it (ToTensor, optionally followed by Normalize).
 */
class MNISTLike<I> extends Dataset<[I, number]> {
  readonly root: string;
  readonly train: boolean;
  readonly classes: string[];
  /** All images, row-major [N, 28, 28], one byte per pixel. */
  readonly pixels: Uint8Array;
  /** All labels, one byte each. */
  readonly labels: Uint8Array;
  readonly height: number;
  readonly width: number;
  transform: Transform<RawImage, I> | undefined;
  targetTransform: ((target: number) => number) | undefined;

  protected constructor(source: MNISTSource, root: string, options: MNISTOptions<I>) {
    super();
    const { fs, path, zlib } = nodeModules(source.name);
    if (typeof root !== "string" || root.length === 0) fail(source.name, `root must be a directory path, got ${JSON.stringify(root)}`);
    this.root = root;
    this.train = options.train ?? true;
    this.classes = source.classes;
    this.transform = options.transform;
    this.targetTransform = options.targetTransform;

    const wanted = [IMAGES(this.train), LABELS(this.train)];
    const candidates = [root, path.join(root, source.name, "raw")];
    const locate = (base: string) => {
      for (const dir of candidates) {
        for (const file of [`${base}.gz`, base]) if (fs.existsSync(path.join(dir, file))) return path.join(dir, file);
      }
      return null;
    };
    if (wanted.some((base) => locate(base) === null) && options.download) {
      downloadResourcesSync({ dataset: source.name, mirrors: source.mirrors, resources: source.resources, directory: path.resolve(root) });
    }
    const files = wanted.map((base) => {
      const found = locate(base);
      if (found === null) {
        fail(source.name, `dataset not found: ${base}.gz (or ${base}) is missing from ${path.resolve(root)}. Place the four ${source.name} IDX files (${source.resources.map((r) => r.file).join(", ")}) there, or pass { download: true } to fetch them`);
      }
      return found;
    });
    const read = (file: string) => {
      let bytes: Uint8Array = fs.readFileSync(file);
      if (file.endsWith(".gz")) {
        try {
          bytes = zlib.gunzipSync(bytes);
        } catch (error) {
          fail(source.name, `${file} is not a valid gzip file (${(error as Error).message}); the download may be truncated or corrupt: delete it and fetch it again`);
        }
      }
      return parseIdx(bytes, file);
    };
    const images = read(files[0]);
    const labels = read(files[1]);
    if (images.shape.length !== 3) fail(source.name, `${files[0]}: expected a 3-D IDX array of images, got shape [${images.shape.join(", ")}]`);
    if (labels.shape.length !== 1) fail(source.name, `${files[1]}: expected a 1-D IDX array of labels, got shape [${labels.shape.join(", ")}]`);
    if (images.shape[0] !== labels.shape[0]) fail(source.name, `${files[0]} holds ${images.shape[0]} images but ${files[1]} holds ${labels.shape[0]} labels`);
    const badLabel = labels.data.findIndex((l) => l >= source.classes.length);
    if (badLabel >= 0) fail(source.name, `${files[1]}: label ${labels.data[badLabel]} at index ${badLabel} is out of range for ${source.classes.length} classes`);
    this.pixels = images.data;
    this.labels = labels.data;
    this.height = images.shape[1];
    this.width = images.shape[2];
  }

  get length(): number {
    return this.labels.length;
  }

  /** All labels as an int32 tensor [N] (torchvision's `targets`). */
  get targets(): Tensor {
    return fromStorage(Int32Array.from(this.labels), [this.length], "int32");
  }

  /** All images as an int32 tensor [N, H, W] of 0..255 (torchvision's `data`; built on each call). */
  get data(): Tensor {
    return fromStorage(Int32Array.from(this.pixels), [this.length, this.height, this.width], "int32");
  }

  /** The i-th image as a RawImage (a view into the decoded buffer, no copy). */
  image(index: number): RawImage {
    const i = checkIndex(`${this.constructor.name}.image`, index, this.length);
    const size = this.height * this.width;
    return new RawImage(this.pixels.subarray(i * size, (i + 1) * size), this.height, this.width, 1);
  }

  get(index: number): [I, number] {
    const i = checkIndex(`${this.constructor.name}.get`, index, this.length);
    const raw = this.image(i);
    const image = this.transform ? applyTransform(this.transform, raw) : (raw as unknown as I);
    const label = this.targetTransform ? this.targetTransform(this.labels[i]) : this.labels[i];
    return [image, label];
  }

  /**
   * `[images [B, 1, H, W], labels [B]]` gathered straight from the decoded buffer, when the
   * transform is batchable (see transforms.batchTransformOf); undefined otherwise, so that
   * DataLoader falls back to get(i) per sample.
   */
  override getBatch(indices: readonly number[]): [Tensor, Tensor] | undefined {
    const toBatch = batchTransformOf(this.transform);
    if (toBatch === null) return undefined;
    const size = this.height * this.width;
    const bytes = new Uint8Array(indices.length * size);
    const labels = new Int32Array(indices.length);
    indices.forEach((index, b) => {
      const i = checkIndex(`${this.constructor.name}.getBatch`, index, this.length);
      bytes.set(this.pixels.subarray(i * size, (i + 1) * size), b * size);
      labels[b] = this.targetTransform ? this.targetTransform(this.labels[i]) : this.labels[i];
    });
    const images = toBatch({ data: bytes, count: indices.length, height: this.height, width: this.width, channels: 1 });
    return [images, fromStorage(labels, [indices.length], "int32")];
  }
}

const MNIST_SOURCE: MNISTSource = {
  name: "MNIST",
  mirrors: ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
  resources: [
    { file: "train-images-idx3-ubyte.gz", sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609" },
    { file: "train-labels-idx1-ubyte.gz", sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c" },
    { file: "t10k-images-idx3-ubyte.gz", sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6" },
    { file: "t10k-labels-idx1-ubyte.gz", sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6" },
  ],
  classes: ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"],
};

const FASHION_MNIST_SOURCE: MNISTSource = {
  name: "FashionMNIST",
  mirrors: ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
  resources: [
    { file: "train-images-idx3-ubyte.gz", sha256: "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc" },
    { file: "train-labels-idx1-ubyte.gz", sha256: "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc" },
    { file: "t10k-images-idx3-ubyte.gz", sha256: "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229" },
    { file: "t10k-labels-idx1-ubyte.gz", sha256: "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf" },
  ],
  classes: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
};

/** LeCun's handwritten digits: 60k training and 10k test images, 28x28 grayscale, labels 0-9. */
export class MNIST<I = RawImage> extends MNISTLike<I> {
  /** Where `download: true` looks, in order (replaceable, as torchvision's MNIST.mirrors). */
  static mirrors: string[] = MNIST_SOURCE.mirrors.slice();
  static readonly resources: readonly Resource[] = MNIST_SOURCE.resources;
  constructor(root: string, options: MNISTOptions<I> = {}) {
    super({ ...MNIST_SOURCE, mirrors: MNIST.mirrors }, root, options);
  }
}

/** Zalando's Fashion-MNIST: MNIST's format and sizes, ten clothing classes. */
export class FashionMNIST<I = RawImage> extends MNISTLike<I> {
  static mirrors: string[] = FASHION_MNIST_SOURCE.mirrors.slice();
  static readonly resources: readonly Resource[] = FASHION_MNIST_SOURCE.resources;
  constructor(root: string, options: MNISTOptions<I> = {}) {
    super({ ...FASHION_MNIST_SOURCE, mirrors: FashionMNIST.mirrors }, root, options);
  }
}
