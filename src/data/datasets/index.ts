// flint.datasets: datasets read from their canonical files.
export { MNIST, FashionMNIST, type MNISTOptions } from "./mnist.js";
export { parseIdx, type IdxArray } from "./idx.js";
export { downloadResources, type Resource, type DownloadSpec } from "./download.js";
