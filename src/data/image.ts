import { fail } from "../core/errors.js";

/**
 * An 8-bit image in HWC order, what a dataset hands out before `transforms.ToTensor()` (PyTorch's
 * PIL image). `data` may be a view into a larger buffer: nothing is copied.
 */
export class RawImage {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;

  constructor(data: Uint8Array, height: number, width: number, channels = 1) {
    if (data.length !== height * width * channels) {
      fail("RawImage", `expected ${height}x${width}x${channels} = ${height * width * channels} bytes, got ${data.length}`);
    }
    this.data = data;
    this.height = height;
    this.width = width;
    this.channels = channels;
  }
}
