// Convolution data movement in WASM memory, NHWC (the same contract as src/kernels/conv.ts):
// im2col gathers receptive fields into rows of KH·KW·C floats; col2im scatter-adds them back.
// With gemmPacked they make the three convolution ops without leaving WASM memory.

/** cols[N·OH·OW, KH·KW·C] ← receptive fields of x[N,H,W,C] (zeros where padded). */
export function im2col(x: usize, n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, cols: usize): void {
  const run = <usize>c << 2;
  let o = cols;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) memory.fill(o, 0, run);
            else memory.copy(o, x + ((<usize>((b * h + iy) * w + ix) * c) << 2), run);
            o += run;
          }
        }
      }
    }
  }
}

/** x[N,H,W,C] ← zero, then += every entry of cols at the position im2col read it from. */
export function col2im(cols: usize, n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, x: usize): void {
  memory.fill(x, 0, (<usize>n * h * w * c) << 2);
  const c4 = c & ~3;
  let o = cols;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              const d = x + ((<usize>((b * h + iy) * w + ix) * c) << 2);
              let j = 0;
              for (; j < c4; j += 4) {
                const off = <usize>j << 2;
                v128.store(d + off, f32x4.add(v128.load(d + off), v128.load(o + off)));
              }
              for (; j < c; j++) {
                const off = <usize>j << 2;
                store<f32>(d + off, load<f32>(d + off) + load<f32>(o + off));
              }
            }
            o += <usize>c << 2;
          }
        }
      }
    }
  }
}
