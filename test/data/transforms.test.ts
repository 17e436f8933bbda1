import { test } from "node:test";
import assert from "node:assert/strict";
import * as flint from "../../src/index.js";
import { assertClose, loadJsonFixture, type Golden } from "../helpers.js";

const T = flint.transforms;
const G = loadJsonFixture<Record<string, Golden>>("lenet/transforms.json");
const fromGolden = (g: Golden) => flint.tensor(Float32Array.from(g.data)).reshape(g.shape);
const gray = fromGolden(G.gray);
const rgb = fromGolden(G.rgb);

test("Normalize matches (x - mean) / std per channel", () => {
  assertClose(new T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3]).forward(rgb), G.normalize_rgb, { atol: 1e-6 });
  assert.throws(() => new T.Normalize([0.5, 0.4], [1, 1]).forward(rgb), /Normalize: mean has 2 values but the image has 3 channels/);
  assert.throws(() => new T.Normalize([0.5], [0]), /division by zero/);
  assert.throws(() => new T.Normalize([0.5], [1]).forward(flint.zeros([4, 4])), /Normalize: expected a tensor image of shape \[\.\.\., C, H, W\], got \[4, 4\]/);
});

test("ToTensor scales 8-bit HWC images to float CHW in [0, 1]", () => {
  const bytes = Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => i * 14);
  const img = new flint.data.RawImage(bytes, 2, 3, 3);
  const t = new T.ToTensor().forward(img);
  assert.deepEqual(t.shape, [3, 2, 3]);
  // element (c, y, x) comes from byte (y * W + x) * C + c
  assert.equal(t.slice(1, 0, 2).item(), Math.fround((2 * 3 + 1) * 14 / 255));
  const fromInt = new T.ToTensor().forward(flint.tensor([[0, 255], [51, 102]], { dtype: "int32" }));
  assertClose(fromInt, flint.tensor([[[0, 1], [0.2, 0.4]]]), { atol: 1e-7 });
  assert.throws(() => new T.ToTensor().forward(flint.zeros([2, 2, 2, 2])), /ToTensor: expected an image of shape \[H, W\] or \[H, W, C\], got \[2, 2, 2, 2\]/);
});

// torchvision orders padding [left, top, right, bottom] (torch F.pad: left, right, top, bottom).
test("pad: constant, reflect, edge and symmetric modes", () => {
  assertClose(T.pad(gray, [1, 3, 2, 0], { fill: 0.5 }), G.pad_constant, { atol: 0 });
  assertClose(T.pad(gray, [2, 0, 1, 3], { paddingMode: "reflect" }), G.pad_reflect, { atol: 0 });
  assertClose(T.pad(gray, [3, 1, 0, 2], { paddingMode: "edge" }), G.pad_edge, { atol: 0 });
  assertClose(T.pad(gray, [1, 2, 3, 1], { paddingMode: "symmetric" }), G.pad_symmetric, { atol: 0 });
  assert.throws(() => T.pad(gray, [9, 0, 0, 0], { paddingMode: "reflect" }), /pad: reflect padding/);
  assert.throws(() => T.pad(gray, [1, 2, 3]), /pad: padding must be/);
});

test("gaussianBlur matches torchvision's separable Gaussian with reflect padding", () => {
  assertClose(T.gaussianBlur(rgb, [5, 3], { sigma: [1.0, 0.7] }), G.blur_5_3_s1, { atol: 1e-6 });
  assertClose(T.gaussianBlur(gray, 3, { sigma: 0.5 }), G.blur_3_gray, { atol: 1e-6 });
  assert.throws(() => T.gaussianBlur(gray, 4, { sigma: 1 }), /odd and positive/);
  assert.throws(() => new T.GaussianBlur(3, { sigma: [2, 1] }), /GaussianBlur: sigma values should be positive and of the form \(min, max\)/);
});

test("colour adjustments match torchvision's tensor functions", () => {
  assertClose(T.adjustBrightness(rgb, 1.3), G.brightness_1_3, { atol: 1e-6 });
  assertClose(T.adjustContrast(rgb, 0.6), G.contrast_0_6_rgb, { atol: 1e-6 });
  assertClose(T.adjustContrast(gray, 1.4), G.contrast_1_4_gray, { atol: 1e-6 });
  assertClose(T.adjustSaturation(rgb, 0.3), G.saturation_0_3, { atol: 1e-6 });
  assertClose(T.adjustHue(rgb, 0.2), G.hue_0_2, { atol: 1e-5 });
  assertClose(T.adjustHue(rgb, -0.45), G.hue_m0_45, { atol: 1e-5 });
  // A one-channel image has no saturation or hue.
  assert.equal(T.adjustSaturation(gray, 0.2), gray);
  assert.equal(T.adjustHue(gray, 0.2), gray);
  assert.throws(() => T.adjustHue(rgb, 0.7), /adjustHue: hue factor \(0.7\) is not in \[-0.5, 0.5\]/);
  assert.throws(() => T.adjustBrightness(flint.zeros([2, 4, 4]), 1), /expected an image with 1 or 3 channels/);
});

test("rotate and affine match torchvision's affine_grid + grid_sample", () => {
  assertClose(T.rotate(gray, 30), G.rotate_30_nearest, { atol: 0 });
  assertClose(T.rotate(rgb, -50, { interpolation: "bilinear", fill: 0.25 }), G.rotate_m50_bilinear, { atol: 1e-5 });
  assertClose(T.affine(gray, 12, [1, -2], 0.9, [5, -3]), G.affine_nearest, { atol: 0 });
  assertClose(T.affine(rgb, -20, [2, 1], 1.2, [10, 0], { interpolation: "bilinear", fill: 0.5, center: [3, 2] }), G.affine_bilinear, { atol: 1e-5 });
  assert.throws(() => T.affine(gray, 0, [0, 0], 0, 0), /affine: scale should be positive, got 0/);
});

test("random transforms are reproducible from the seed and draw from the given generator", () => {
  const pipeline = () =>
    new T.Compose([
      new T.RandomCrop(7, { padding: 2 }),
      new T.RandomHorizontalFlip(),
      new T.ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
      new T.GaussianBlur(3),
      new T.RandomAffine(15, { translate: [0.1, 0.1], scale: [0.9, 1.1], shear: 5 }),
      new T.RandomRotation(10),
    ]);
  const image = rgb.narrow(1, 0, 6).narrow(2, 0, 7);
  flint.manualSeed(7);
  const a = pipeline().forward(image);
  flint.manualSeed(7);
  const b = pipeline().forward(image);
  assertClose(a, b, { atol: 0 });
  assert.deepEqual(a.shape, [3, 7, 7]);
  const c = pipeline().forward(image); // the global generator has moved on
  assert.ok(!c.allclose(a), "a second draw differs");
  // A private generator leaves the global one untouched.
  flint.manualSeed(7);
  new T.RandomRotation(10, { generator: new flint.Generator(1) }).forward(image);
  const afterPrivate = flint.rand([1]).item();
  flint.manualSeed(7);
  assert.equal(flint.rand([1]).item(), afterPrivate);
});

test("RandomRotation and RandomAffine apply the angle they draw", () => {
  const g1 = new flint.Generator(3);
  const g2 = new flint.Generator(3);
  const angle = -10 + 20 * g2.random();
  assertClose(new T.RandomRotation(10, { generator: g1 }).forward(gray), T.rotate(gray, angle), { atol: 0 });
  const affineA = new T.RandomAffine([-30, 30], { translate: [0.2, 0.3], scale: [0.8, 1.2], shear: [-5, 5, -8, 8], generator: new flint.Generator(4) });
  const reference = new T.RandomAffine([-30, 30], { translate: [0.2, 0.3], scale: [0.8, 1.2], shear: [-5, 5, -8, 8], generator: new flint.Generator(4) });
  const p = reference.getParams(9, 7);
  assert.ok(Number.isInteger(p.translate[0]) && Math.abs(p.translate[0]) <= 0.2 * 9 + 0.5);
  assert.ok(p.scale >= 0.8 && p.scale < 1.2 && p.shear[1] >= -8 && p.shear[1] < 8);
  assertClose(affineA.forward(gray), T.affine(gray, p.angle, p.translate, p.scale, p.shear), { atol: 0 });
});

test("RandomCrop picks a window of the padded image; RandomHorizontalFlip flips with probability p", () => {
  const img = flint.arange(0, 20, 1, { dtype: "float32" }).reshape([1, 4, 5]);
  const crop = new T.RandomCrop([4, 5], { padding: 1, generator: new flint.Generator(11) });
  const padded = T.pad(img, 1);
  const g = new flint.Generator(11);
  const top = g.randint(0, 3);
  const left = g.randint(0, 3);
  assertClose(crop.forward(img), padded.narrow(1, top, 4).narrow(2, left, 5), { atol: 0 });
  assert.deepEqual(new T.RandomCrop(6, { padIfNeeded: true }).forward(img).shape, [1, 6, 6]);
  assert.throws(() => new T.RandomCrop(6).forward(img), /RandomCrop: required crop size \(6, 6\) is larger than input image size \(4, 5\)/);
  assertClose(new T.RandomHorizontalFlip({ p: 1 }).forward(img), img.flip([2]), { atol: 0 });
  assertClose(new T.RandomHorizontalFlip({ p: 0 }).forward(img), img, { atol: 0 });
  const flip = new T.RandomHorizontalFlip({ p: 0.5, generator: new flint.Generator(5) });
  let flipped = 0;
  for (let i = 0; i < 400; i++) if (flip.forward(img).storage[0] === 4) flipped++;
  assert.ok(flipped > 150 && flipped < 250, `flipped ${flipped} of 400`);
  assert.throws(() => new T.RandomHorizontalFlip({ p: 2 }), /RandomHorizontalFlip: p should be a probability/);
});

test("ColorJitter validates its ranges and is the identity with no adjustments", () => {
  assert.throws(() => new T.ColorJitter({ brightness: -1 }), /ColorJitter: if brightness is a single number, it must be non negative/);
  assert.throws(() => new T.ColorJitter({ hue: 0.7 }), /ColorJitter: hue values should be between \[-0.5, 0.5\]/);
  assert.deepEqual(new T.ColorJitter({ brightness: 0.5 }).brightness, [0.5, 1.5]);
  assertClose(new T.ColorJitter().forward(rgb), rgb, { atol: 0 });
  // brightness only: the output is the input scaled by one factor in [0.5, 1.5], then clamped.
  const out = new T.ColorJitter({ brightness: 0.5, generator: new flint.Generator(2) }).forward(gray.mul(0.5));
  const factor = out.sum().item() / gray.mul(0.5).sum().item();
  assert.ok(factor >= 0.5 && factor <= 1.5);
  assertClose(out, gray.mul(0.5).mul(factor).clamp(0, 1), { atol: 1e-5 });
});
