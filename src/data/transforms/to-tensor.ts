import { fail, fmtShape } from "../../core/errors.js";
import { fromStorage } from "../../ops/util.js";
import { Tensor } from "../../tensor/tensor.js";
import { RawImage } from "../image.js";

/** Several same-sized 8-bit HWC images packed back to back (a dataset's batch fast path). */
export interface RawImageBatch {
  data: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/**
 * Converts an 8-bit HWC image (a RawImage, or an int32 tensor [H, W] / [H, W, C] holding 0..255,
 * like a uint8 numpy array) to a float32 CHW tensor in [0, 1]. A float32 HWC tensor is only
 * permuted, as torchvision leaves float arrays unscaled.
 */
export class ToTensor {
  forward(image: RawImage | Tensor): Tensor {
    if (image instanceof RawImage) {
      return bytesToTensor(image.data, 1, image.height, image.width, image.channels).reshape([image.channels, image.height, image.width]);
    }
    if (image instanceof Tensor) {
      if (image.ndim !== 2 && image.ndim !== 3) fail("ToTensor", `expected an image of shape [H, W] or [H, W, C], got ${fmtShape(image.shape)}`);
      const hwc = image.ndim === 2 ? image.unsqueeze(-1) : image;
      const chw = hwc.permute([2, 0, 1]).contiguous();
      return image.dtype === "float32" ? chw : chw.float().div(255);
    }
    return fail("ToTensor", `expected a RawImage or a Tensor, got ${typeof image}`);
  }

  /** The same conversion for a whole packed batch: [B, C, H, W]. */
  forwardBatch(batch: RawImageBatch): Tensor {
    return bytesToTensor(batch.data, batch.count, batch.height, batch.width, batch.channels);
  }

  toString(): string {
    return "ToTensor()";
  }
}

/** uint8 HWC images -> float32 [B, C, H, W] / 255 in one pass. */
function bytesToTensor(bytes: Uint8Array, count: number, height: number, width: number, channels: number): Tensor {
  const plane = height * width;
  const out = new Float32Array(count * channels * plane);
  const scale = 1 / 255;
  if (channels === 1) {
    for (let i = 0; i < out.length; i++) out[i] = bytes[i] * scale;
  } else {
    for (let b = 0; b < count; b++) {
      const base = b * channels * plane;
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < channels; c++) out[base + c * plane + p] = bytes[base + p * channels + c] * scale;
      }
    }
  }
  return fromStorage(out, [count, channels, height, width], "float32");
}
